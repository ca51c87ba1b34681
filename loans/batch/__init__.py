"""Close of business: the nightly batch and what it runs (collections, reminders)."""
