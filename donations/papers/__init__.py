"""What donations print: receipts, acknowledgements, notices, donor reports (PDF)."""
