"""A contract on the books: schedule, ledger, payments, prepayment, credit, reversal, subsidy."""
