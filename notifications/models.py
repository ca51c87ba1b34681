"""Tables of the notifications package: the outbox and the reminder rules.

Nothing here knows what a loan or a donation is: the domains hand over messages (notifications.outbox)
and read the rules as plain data (an anchor name, an offset in days, a channel).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UtcDateTime, utcnow

STATUSES = ("queued", "sending", "sent", "failed", "delivered")
CHANNELS = ("sms", "email", "webhook")
RECIPIENT_ROLES = ("graduate", "co_borrower", "staff", "donor")


class OutboxMessage(Base):
    """One message to one recipient over one channel, written in the transaction of the fact that causes it.

    The key (subject, kind, due_on, occasion_on, recipient_role, channel) makes the same reminder impossible to
    queue twice: a one-off reminder has occasion_on = due_on, a repeated one (each collection day) carries the
    day it repeats on. The recipient's address is not in the key, so a changed phone number does not make an
    old reminder new. The row's `message_id` is what the gateway sees, so a resend carries the same id.
    """

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint(
            "subject", "kind", "due_on", "occasion_on", "recipient_role", "channel", name="uq_notification_outbox_key"
        ),
        Index("ix_notification_outbox_claim", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(40))  # what it is about: a contract number, "student-12", …
    kind: Mapped[str] = mapped_column(String(40))  # the rule (or the caller's name for the message)
    template: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[date] = mapped_column(Date)
    occasion_on: Mapped[date] = mapped_column(Date)
    recipient_role: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(254))  # personal data: phone, e-mail address; shown masked
    channel: Mapped[str] = mapped_column(String(10))
    student_id: Mapped[int | None] = mapped_column(IdType, index=True, default=None)
    contract_no: Mapped[str | None] = mapped_column(String(32), default=None)
    amount: Mapped[int | None] = mapped_column(BigInteger, default=None)  # fen
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    provider_id: Mapped[str | None] = mapped_column(String(64), default=None)  # the gateway's own id, if it gives one
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def message_id(self) -> str:
        return message_id(self.id)


def message_id(row_id: int) -> str:
    """The id the channels send (SMS `id`, e-mail Message-ID, webhook header): stable for the row's life."""
    return f"zizhu-{row_id}"


def row_id(message: str) -> int | None:
    prefix, _, number = message.partition("-")
    return int(number) if prefix == "zizhu" and number.isdigit() else None


class ReminderRule(Base):
    """When a reminder goes out: `offset_days` after its anchor date (negative: before), over a channel.

    The anchor names a date the domain that scans for reminders understands (loans: a due date, a collection
    day, the contact-update deadline, the graduation date). Seeded by the migration, edited by an admin.
    """

    __tablename__ = "notification_rules"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    anchor: Mapped[str] = mapped_column(String(40))
    offset_days: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(10), default="sms")
    copy_co_borrower: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str] = mapped_column(String(64), default="migration")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
