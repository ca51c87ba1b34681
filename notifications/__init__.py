"""Outbox, channels (SMS over HTTP, e-mail, webhook), templates and the dispatcher."""
