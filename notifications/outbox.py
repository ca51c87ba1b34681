"""The outbox: messages written in the caller's transaction, keyed so that none is ever queued twice.

A domain hands over messages with `enqueue` (a list of Message values) or, for a set-based scan over
its own tables, builds an INSERT … SELECT with `insert_new` and selects into `OUTBOX_COLUMNS`. Either way
a message whose key is there already is skipped by the database itself (INSERT … ON CONFLICT DO NOTHING,
on SQLite and PostgreSQL alike), so concurrent or repeated runs cannot double a reminder. The dispatcher
(notifications.dispatcher) sends what is queued, at least once; the stable message id lets the gateway
drop a second copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from notifications.models import CHANNELS, OutboxMessage
from service.db import utcnow
from service.identity import mask_email, mask_phone

# What a set-based scan selects, in this order (status, attempts and times take their defaults).
OUTBOX_COLUMNS = (
    "subject",
    "kind",
    "template",
    "due_on",
    "occasion_on",
    "recipient_role",
    "recipient",
    "channel",
    "student_id",
    "contract_no",
    "amount",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


@dataclass(frozen=True)
class Message:
    """A message a domain wants sent. `occasion_on` repeats a reminder (e.g. each collection day)."""

    subject: str
    kind: str
    template: str
    due_on: date
    recipient_role: str
    recipient: str
    channel: str = "sms"
    occasion_on: date | None = None
    student_id: int | None = None
    contract_no: str | None = None
    amount: int | None = None  # fen

    def row(self) -> dict[str, object]:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        values = asdict(self)
        values["occasion_on"] = self.occasion_on or self.due_on
        values.update(status="queued", attempts=0, next_attempt_at=utcnow(), created_at=utcnow())
        return values


def insert_new(session: AsyncSession) -> Insert:
    """INSERT INTO the outbox … ON CONFLICT DO NOTHING, for the session's database.

    Add `.from_select(OUTBOX_COLUMNS, select(...))` for a scan. On SQLite the SELECT must have a WHERE
    clause (SQLite's parser needs one to tell the upsert's ON from a join's).
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return make(OutboxMessage).on_conflict_do_nothing()


async def enqueue(session: AsyncSession, messages: Iterable[Message]) -> int:
    """Queue messages in the caller's transaction; those already queued (same key) are skipped.
    Returns how many were new."""
    rows = [m.row() for m in messages]
    if not rows:
        return 0
    inserted = 0
    for start in range(0, len(rows), 1000):  # one multi-row INSERT per thousand (SQLite's variable limit)
        chunk = rows[start : start + 1000]
        result = await session.execute(insert_new(session).values(chunk))
        inserted += max(result.rowcount or 0, 0)
    return inserted


def mask_recipient(channel: str, value: str) -> str:
    return mask_email(value) if channel == "email" else mask_phone(value)


async def status_counts(session: AsyncSession) -> dict[str, int]:
    """Messages in the outbox by delivery status."""
    return {
        status: int(n)
        for status, n in await session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)
        )
    }
