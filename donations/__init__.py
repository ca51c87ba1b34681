"""Donations and government grants: donors, programmes, awards, allocation, receipts."""
