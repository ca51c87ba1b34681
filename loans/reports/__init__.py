"""Loan reports: the portfolio report, aging, default rate, and their tables."""
