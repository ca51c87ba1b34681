"""Logging set-up: one format, and a filter that masks personal data in every record."""

from __future__ import annotations

import logging

from service.identity import redact


class RedactingFilter(logging.Filter):
    """ID numbers, phones and bank cards never reach a log line, whoever wrote the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RedactingFormatter(logging.Formatter):
    """The filter sees only the message: a traceback (an exception's text may quote a request's values, e.g. a
    driver error's parameters) is formatted later, so the whole formatted record is masked too."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler says "Running job …" and "… executed successfully" at INFO on every turn (the dispatcher's: every
    # few seconds); what a job did is logged by service.scheduler, so only its warnings and errors are kept.
    for noisy in ("sqlalchemy.engine", "aiosqlite", "asyncio", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
