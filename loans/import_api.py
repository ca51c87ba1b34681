"""Excel import and export of loan contracts (being written)."""

ROUTES: list = []
