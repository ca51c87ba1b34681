"""ledger, stored schedules, idempotency keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_records_scope_key"),
    )
    op.create_table(
        "loan_schedule_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("payer", sa.String(length=12), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("paid_principal", sa.BigInteger(), nullable=False),
        sa.Column("paid_interest", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("interest_posted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_schedule_lines_loan_id_loans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_schedule_lines")),
        sa.UniqueConstraint("loan_id", "due_on", "payer", name="uq_loan_schedule_lines_due"),
    )
    with op.batch_alter_table("loan_schedule_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_schedule_lines_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_schedule_lines_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("reverses_id", ID, nullable=True),
        sa.Column("schedule_line_id", ID, nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_ledger_entries_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["ledger_entries.id"], name=op.f("fk_ledger_entries_reverses_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_line_id"],
            ["loan_schedule_lines.id"],
            name=op.f("fk_ledger_entries_schedule_line_id_loan_schedule_lines"),
        ),
        sa.UniqueConstraint("schedule_line_id", name=op.f("uq_ledger_entries_schedule_line_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_entries_reference")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_ledger_entries_reverses_id")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_entries_loan_id"), ["loan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_entries_posted_on"), ["posted_on"], unique=False)

    op.create_table(
        "ledger_lines",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("account", sa.String(length=24), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name=op.f("ck_ledger_lines_one_side")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_ledger_lines_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_ledger_lines_loan_id_loans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lines")),
    )
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_lines_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ledger_lines_loan_id"), ["loan_id"], unique=False)


def downgrade() -> None:
    op.drop_table("idempotency_records")
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_lines_loan_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_lines_entry_id"))

    op.drop_table("ledger_lines")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_posted_on"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_loan_id"))

    op.drop_table("ledger_entries")
    with op.batch_alter_table("loan_schedule_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_schedule_lines_loan_id"))
        batch_op.drop_index(batch_op.f("ix_loan_schedule_lines_due_on"))

    op.drop_table("loan_schedule_lines")
