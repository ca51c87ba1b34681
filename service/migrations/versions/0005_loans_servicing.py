"""loans servicing

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loan_reliefs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("graduated_by", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", ID, nullable=True),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("applied_on", sa.Date(), nullable=True),
        sa.Column("reversed_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("contracts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_reliefs")),
    )
    op.create_table(
        "loan_subsidy_settlements",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("contracts", sa.Integer(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_subsidy_settlements")),
        sa.UniqueConstraint("reference", name=op.f("uq_loan_subsidy_settlements_reference")),
    )
    with op.batch_alter_table("loan_subsidy_settlements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_subsidy_settlements_year"), ["year"], unique=False)

    op.create_table(
        "loan_collection_attempts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("collect_on", sa.Date(), nullable=False),
        sa.Column("overdue_principal", sa.BigInteger(), nullable=False),
        sa.Column("overdue_interest", sa.BigInteger(), nullable=False),
        sa.Column("oldest_due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_collection_attempts_loan_id_loans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_collection_attempts")),
        sa.UniqueConstraint("loan_id", "collect_on", name="uq_loan_collection_attempts_day"),
    )
    with op.batch_alter_table("loan_collection_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_collection_attempts_collect_on"), ["collect_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_collection_attempts_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "loan_line_payments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("entry_id", ID, nullable=False),
        sa.Column("schedule_line_id", ID, nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_loan_line_payments_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_line_id"],
            ["loan_schedule_lines.id"],
            name=op.f("fk_loan_line_payments_schedule_line_id_loan_schedule_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_line_payments")),
    )
    with op.batch_alter_table("loan_line_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_line_payments_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_line_payments_schedule_line_id"), ["schedule_line_id"], unique=False)

    op.create_table(
        "loan_prepayment_requests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("execute_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("entry_id", ID, nullable=True),
        sa.Column("paid", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("policy_id", ID, nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_loan_prepayment_requests_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_prepayment_requests_loan_id_loans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_prepayment_requests")),
    )
    with op.batch_alter_table("loan_prepayment_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_prepayment_requests_execute_on"), ["execute_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_prepayment_requests_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "loan_relief_items",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("relief_id", ID, nullable=False),
        sa.Column("loan_id", ID, nullable=False),
        sa.Column("line_id", ID, nullable=False),
        sa.Column("government_line_id", ID, nullable=True),
        sa.Column("deferred_line_id", ID, nullable=True),
        sa.Column("interest_moved", sa.BigInteger(), nullable=False),
        sa.Column("principal_deferred", sa.BigInteger(), nullable=False),
        sa.Column("penalty_waived", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", ID, nullable=True),
        sa.Column("previous_status", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["deferred_line_id"],
            ["loan_schedule_lines.id"],
            name=op.f("fk_loan_relief_items_deferred_line_id_loan_schedule_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_loan_relief_items_entry_id_ledger_entries")
        ),
        sa.ForeignKeyConstraint(
            ["government_line_id"],
            ["loan_schedule_lines.id"],
            name=op.f("fk_loan_relief_items_government_line_id_loan_schedule_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["loan_schedule_lines.id"], name=op.f("fk_loan_relief_items_line_id_loan_schedule_lines")
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_loan_relief_items_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["relief_id"], ["loan_reliefs.id"], name=op.f("fk_loan_relief_items_relief_id_loan_reliefs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_relief_items")),
    )
    with op.batch_alter_table("loan_relief_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_loan_relief_items_loan_id"), ["loan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_loan_relief_items_relief_id"), ["relief_id"], unique=False)

    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_lines_suspense",
            ["loan_id"],
            unique=False,
            sqlite_where=sa.text("account = 'suspense'"),
            postgresql_where=sa.text("account = 'suspense'"),
        )

    with op.batch_alter_table("loan_schedule_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_schedule_lines_loan_id"))
        batch_op.create_index(
            "ix_loan_schedule_lines_open",
            ["due_on"],
            unique=False,
            sqlite_where=sa.text("payer = 'borrower' AND status IN ('pending', 'due')"),
            postgresql_where=sa.text("payer = 'borrower' AND status IN ('pending', 'due')"),
        )
        batch_op.create_index(
            "ix_loan_schedule_lines_overdue",
            ["loan_id"],
            unique=False,
            sqlite_where=sa.text("status = 'overdue'"),
            postgresql_where=sa.text("status = 'overdue'"),
        )
        batch_op.create_index(
            "ix_loan_schedule_lines_unposted",
            ["due_on"],
            unique=False,
            sqlite_where=sa.text("interest_posted = 0"),
            postgresql_where=sa.text("interest_posted = false"),
        )


def downgrade() -> None:
    with op.batch_alter_table("loan_schedule_lines", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_loan_schedule_lines_unposted",
            sqlite_where=sa.text("interest_posted = 0"),
            postgresql_where=sa.text("interest_posted = false"),
        )
        batch_op.drop_index(
            "ix_loan_schedule_lines_overdue",
            sqlite_where=sa.text("status = 'overdue'"),
            postgresql_where=sa.text("status = 'overdue'"),
        )
        batch_op.drop_index(
            "ix_loan_schedule_lines_open",
            sqlite_where=sa.text("payer = 'borrower' AND status IN ('pending', 'due')"),
            postgresql_where=sa.text("payer = 'borrower' AND status IN ('pending', 'due')"),
        )
        batch_op.create_index(batch_op.f("ix_loan_schedule_lines_loan_id"), ["loan_id"], unique=False)

    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_ledger_lines_suspense",
            sqlite_where=sa.text("account = 'suspense'"),
            postgresql_where=sa.text("account = 'suspense'"),
        )

    with op.batch_alter_table("loan_relief_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_relief_items_relief_id"))
        batch_op.drop_index(batch_op.f("ix_loan_relief_items_loan_id"))

    op.drop_table("loan_relief_items")
    with op.batch_alter_table("loan_prepayment_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_prepayment_requests_loan_id"))
        batch_op.drop_index(batch_op.f("ix_loan_prepayment_requests_execute_on"))

    op.drop_table("loan_prepayment_requests")
    with op.batch_alter_table("loan_line_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_line_payments_schedule_line_id"))
        batch_op.drop_index(batch_op.f("ix_loan_line_payments_entry_id"))

    op.drop_table("loan_line_payments")
    with op.batch_alter_table("loan_collection_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_collection_attempts_loan_id"))
        batch_op.drop_index(batch_op.f("ix_loan_collection_attempts_collect_on"))

    op.drop_table("loan_collection_attempts")
    with op.batch_alter_table("loan_subsidy_settlements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loan_subsidy_settlements_year"))

    op.drop_table("loan_subsidy_settlements")
    op.drop_table("loan_reliefs")
