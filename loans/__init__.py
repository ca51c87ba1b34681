"""Origin-based credit student loans (生源地信用助学贷款): policy, contracts, schedule, ledger."""
