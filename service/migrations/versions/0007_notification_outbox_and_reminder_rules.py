"""notifications: the outbox and the reminder rules (seeded: 30/7/1 days before, the day after, collection
days, the yearly contact update, graduation confirmation)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The centre's practice as of this migration (notifications.rules.SEED says the same); an admin edits them.
SEED: list[tuple[str, str, int, str, bool]] = [
    # code, anchor, offset_days (negative: before), template, copy to the co-borrower
    ("due_30", "due_date", -30, "before_due", True),
    ("due_7", "due_date", -7, "before_due", True),
    ("due_1", "due_date", -1, "before_due", True),
    ("overdue", "due_date", 1, "overdue", True),
    ("collection", "collection_day", 0, "collection", True),
    ("contact_update", "contact_deadline", -30, "contact_update", False),
    ("graduation", "graduation", 7, "graduation", False),
]


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("occasion_on", sa.Date(), nullable=False),
        sa.Column("recipient_role", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("student_id", ID, nullable=True),
        sa.Column("contract_no", sa.String(length=32), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint(
            "subject", "kind", "due_on", "occasion_on", "recipient_role", "channel", name="uq_notification_outbox_key"
        ),
    )
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_notification_outbox_claim", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_outbox_student_id"), ["student_id"], unique=False)

    op.create_table(
        "notification_rules",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("anchor", sa.String(length=40), nullable=False),
        sa.Column("offset_days", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("copy_co_borrower", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_rules")),
        sa.UniqueConstraint("code", name=op.f("uq_notification_rules_code")),
    )
    rules = sa.table(
        "notification_rules",
        sa.column("code", sa.String),
        sa.column("anchor", sa.String),
        sa.column("offset_days", sa.Integer),
        sa.column("template", sa.String),
        sa.column("channel", sa.String),
        sa.column("copy_co_borrower", sa.Boolean),
        sa.column("enabled", sa.Boolean),
        sa.column("updated_by", sa.String),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        rules,
        [
            {
                "code": code,
                "anchor": anchor,
                "offset_days": offset,
                "template": template,
                "channel": "sms",
                "copy_co_borrower": copy,
                "enabled": True,
                "updated_by": "migration 0007",
                "updated_at": now,
            }
            for code, anchor, offset, template, copy in SEED
        ],
    )


def downgrade() -> None:
    op.drop_table("notification_rules")
    with op.batch_alter_table("notification_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_outbox_student_id"))
        batch_op.drop_index("ix_notification_outbox_claim")

    op.drop_table("notification_outbox")
