"""Taking a loan: applications, contracts, the 受理证明 and its check code."""
