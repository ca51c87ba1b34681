"""donations and grants

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "donors",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_donors")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_donors_credit_code")),
        sa.UniqueConstraint("id_number", name=op.f("uq_donors_id_number")),
    )
    op.create_table(
        "programs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("family", sa.String(length=100), nullable=False),
        sa.Column("funding", sa.String(length=12), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("once_only", sa.Boolean(), nullable=False),
        sa.Column("eligible_categories", sa.JSON(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=True),
        sa.Column("budget", sa.BigInteger(), nullable=True),
        sa.Column("opens_on", sa.Date(), nullable=True),
        sa.Column("closes_on", sa.Date(), nullable=True),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("pooling", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programs")),
    )
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_programs_family"), ["family"], unique=False)

    op.create_table(
        "receipt_counters",
        sa.Column("series", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("series", "year", name=op.f("pk_receipt_counters")),
    )
    op.create_table(
        "fundings",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=14), nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("donor_id", ID, nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("document_no", sa.String(length=100), nullable=True),
        sa.Column("directed", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("(kind = 'donation') = (donor_id IS NOT NULL)", name=op.f("ck_fundings_donor_iff_donation")),
        sa.CheckConstraint("allocated >= 0 AND allocated <= amount", name=op.f("ck_fundings_within_amount")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_fundings_positive")),
        sa.ForeignKeyConstraint(["donor_id"], ["donors.id"], name=op.f("fk_fundings_donor_id_donors")),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_fundings_program_id_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fundings")),
        sa.UniqueConstraint("document_no", "program_id", name="uq_fundings_document_program"),
        sa.UniqueConstraint("reference", name=op.f("uq_fundings_reference")),
    )
    with op.batch_alter_table("fundings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fundings_donor_id"), ["donor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fundings_program_id"), ["program_id"], unique=False)

    op.create_table(
        "grant_notices",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_grant_notices_program_id_programs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_notices")),
    )
    with op.batch_alter_table("grant_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_notices_program_id"), ["program_id"], unique=False)

    op.create_table(
        "funding_students",
        sa.Column("funding_id", ID, nullable=False),
        sa.Column("student_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["funding_id"], ["fundings.id"], name=op.f("fk_funding_students_funding_id_fundings")),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], name=op.f("fk_funding_students_student_id_students")),
        sa.PrimaryKeyConstraint("funding_id", "student_id", name=op.f("pk_funding_students")),
    )
    op.create_table(
        "grant_applications",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("student_id", ID, nullable=False),
        sa.Column("academic_year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rule_note", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("bank_card", sa.String(length=19), nullable=True),
        sa.Column("prepared_by", ID, nullable=False),
        sa.Column("reviewed_by", ID, nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("notice_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["grant_notices.id"], name=op.f("fk_grant_applications_notice_id_grant_notices")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_grant_applications_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_grant_applications_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_applications")),
    )
    with op.batch_alter_table("grant_applications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_applications_notice_id"), ["notice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grant_applications_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grant_applications_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_grant_applications_student_id"), ["student_id"], unique=False)
        batch_op.create_index(
            "uq_grant_applications_live",
            ["program_id", "student_id", "academic_year"],
            unique=True,
            sqlite_where=sa.text("status NOT IN ('rejected', 'withdrawn')"),
            postgresql_where=sa.text("status NOT IN ('rejected', 'withdrawn')"),
        )

    op.create_table(
        "receipts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("receipt_no", sa.String(length=24), nullable=False),
        sa.Column("series", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("funding_id", ID, nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("verify_code", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("replaces_no", sa.String(length=24), nullable=True),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["funding_id"], ["fundings.id"], name=op.f("fk_receipts_funding_id_fundings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("receipt_no", name=op.f("uq_receipts_receipt_no")),
        sa.UniqueConstraint("replaces_no", name=op.f("uq_receipts_replaces_no")),
        sa.UniqueConstraint("series", "year", "seq", name="uq_receipts_series_year_seq"),
        sa.UniqueConstraint("verify_code", name=op.f("uq_receipts_verify_code")),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipts_funding_id"), ["funding_id"], unique=False)

    op.create_table(
        "grant_awards",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("application_id", ID, nullable=False),
        sa.Column("program_id", ID, nullable=False),
        sa.Column("student_id", ID, nullable=False),
        sa.Column("academic_year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("funded", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("finalized_on", sa.Date(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("payment_reference", sa.String(length=64), nullable=True),
        sa.Column("bank_card", sa.String(length=19), nullable=True),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column("flag", sa.Text(), nullable=True),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status <> 'paid' OR funded = amount", name=op.f("ck_grant_awards_paid_only_funded")),
        sa.CheckConstraint("funded >= 0 AND funded <= amount", name=op.f("ck_grant_awards_funded_within_amount")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["grant_applications.id"],
            name=op.f("fk_grant_awards_application_id_grant_applications"),
        ),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"], name=op.f("fk_grant_awards_program_id_programs")),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], name=op.f("fk_grant_awards_student_id_students")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_awards")),
        sa.UniqueConstraint("application_id", name=op.f("uq_grant_awards_application_id")),
        sa.UniqueConstraint("payment_reference", name=op.f("uq_grant_awards_payment_reference")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Awards are updated in place (funded, paid, acknowledged): room on each page lets PostgreSQL keep the new
        # row version on the same page without touching the six indexes (a HOT update).
        op.execute("ALTER TABLE grant_awards SET (fillfactor = 80)")
    with op.batch_alter_table("grant_awards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_awards_paid_on"), ["paid_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_grant_awards_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grant_awards_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_grant_awards_student_id"), ["student_id"], unique=False)

    op.create_table(
        "grant_objections",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("notice_id", ID, nullable=False),
        sa.Column("application_id", ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["grant_applications.id"],
            name=op.f("fk_grant_objections_application_id_grant_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["grant_notices.id"], name=op.f("fk_grant_objections_notice_id_grant_notices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_objections")),
    )
    with op.batch_alter_table("grant_objections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_objections_application_id"), ["application_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grant_objections_notice_id"), ["notice_id"], unique=False)

    op.create_table(
        "grant_allocations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("funding_id", ID, nullable=False),
        sa.Column("award_id", ID, nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.String(length=12), nullable=False),
        sa.Column("reverses_id", ID, nullable=True),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_grant_allocations_nonzero")),
        sa.ForeignKeyConstraint(
            ["award_id"], ["grant_awards.id"], name=op.f("fk_grant_allocations_award_id_grant_awards")
        ),
        sa.ForeignKeyConstraint(["funding_id"], ["fundings.id"], name=op.f("fk_grant_allocations_funding_id_fundings")),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["grant_allocations.id"], name=op.f("fk_grant_allocations_reverses_id_grant_allocations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_allocations")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_grant_allocations_reverses_id")),
    )
    with op.batch_alter_table("grant_allocations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_allocations_award_id"), ["award_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grant_allocations_funding_id"), ["funding_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grant_allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_allocations_funding_id"))
        batch_op.drop_index(batch_op.f("ix_grant_allocations_award_id"))

    op.drop_table("grant_allocations")
    with op.batch_alter_table("grant_objections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_objections_notice_id"))
        batch_op.drop_index(batch_op.f("ix_grant_objections_application_id"))

    op.drop_table("grant_objections")
    with op.batch_alter_table("grant_awards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_awards_student_id"))
        batch_op.drop_index(batch_op.f("ix_grant_awards_status"))
        batch_op.drop_index(batch_op.f("ix_grant_awards_program_id"))
        batch_op.drop_index(batch_op.f("ix_grant_awards_paid_on"))

    op.drop_table("grant_awards")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_funding_id"))

    op.drop_table("receipts")
    with op.batch_alter_table("grant_applications", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_grant_applications_live",
            sqlite_where=sa.text("status NOT IN ('rejected', 'withdrawn')"),
            postgresql_where=sa.text("status NOT IN ('rejected', 'withdrawn')"),
        )
        batch_op.drop_index(batch_op.f("ix_grant_applications_student_id"))
        batch_op.drop_index(batch_op.f("ix_grant_applications_status"))
        batch_op.drop_index(batch_op.f("ix_grant_applications_program_id"))
        batch_op.drop_index(batch_op.f("ix_grant_applications_notice_id"))

    op.drop_table("grant_applications")
    op.drop_table("funding_students")
    with op.batch_alter_table("grant_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_notices_program_id"))

    op.drop_table("grant_notices")
    with op.batch_alter_table("fundings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fundings_program_id"))
        batch_op.drop_index(batch_op.f("ix_fundings_donor_id"))

    op.drop_table("fundings")
    op.drop_table("receipt_counters")
    with op.batch_alter_table("programs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_programs_family"))

    op.drop_table("programs")
    op.drop_table("donors")
