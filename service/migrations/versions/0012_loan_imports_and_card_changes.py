"""maker-checker for money: import batches (loan_imports) and bank card changes (grant_card_changes)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

An import writes its contracts as a batch in `pending_review`; they count only once a second person accepts the
batch. A bank card change for an award is proposed by one user and approved by another before a payment uses it.
Contracts imported before this revision were written as counted by the importer alone: they get no batch.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)
_LIVE = "status NOT IN ('rejected', 'withdrawn')"


def upgrade() -> None:
    op.create_table(
        "loan_imports",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("disbursed", sa.BigInteger(), nullable=False),
        sa.Column("imported_by", ID, nullable=False),
        sa.Column("imported_by_name", sa.String(length=64), nullable=False),
        sa.Column("imported_at", WHEN, nullable=False),
        sa.Column("decided_by", ID, nullable=True),
        sa.Column("decided_by_name", sa.String(length=64), nullable=True),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_imports")),
    )
    op.create_index(op.f("ix_loan_imports_status"), "loan_imports", ["status"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # a plain ADD COLUMN … REFERENCES: no rebuild of the table (and of its partial unique index)
        op.execute("ALTER TABLE loans ADD COLUMN import_batch_id INTEGER REFERENCES loan_imports (id)")
    else:
        fk = sa.ForeignKey("loan_imports.id", name=op.f("fk_loans_import_batch_id_loan_imports"))
        op.add_column("loans", sa.Column("import_batch_id", ID, fk, nullable=True))
    op.create_index(op.f("ix_loans_import_batch_id"), "loans", ["import_batch_id"], unique=False)
    op.create_table(
        "grant_card_changes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("award_id", ID, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("bank_card", sa.String(length=19), nullable=False),
        sa.Column("previous_card", sa.String(length=19), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("proposed_by", ID, nullable=False),
        sa.Column("proposed_by_name", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", WHEN, nullable=False),
        sa.Column("decided_by", ID, nullable=True),
        sa.Column("decided_by_name", sa.String(length=64), nullable=True),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["award_id"], ["grant_awards.id"], name=op.f("fk_grant_card_changes_award_id_grant_awards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_card_changes")),
    )
    op.create_index(op.f("ix_grant_card_changes_award_id"), "grant_card_changes", ["award_id"], unique=False)
    op.create_index(op.f("ix_grant_card_changes_status"), "grant_card_changes", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_grant_card_changes_status"), table_name="grant_card_changes")
    op.drop_index(op.f("ix_grant_card_changes_award_id"), table_name="grant_card_changes")
    op.drop_table("grant_card_changes")
    op.drop_index(op.f("ix_loans_import_batch_id"), table_name="loans")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("fk_loans_import_batch_id_loan_imports"), "loans", type_="foreignkey")
        op.drop_column("loans", "import_batch_id")
    else:  # SQLite drops no column that a foreign key uses: the table is rebuilt, its partial index made again
        op.drop_index("uq_loans_student_year_live", table_name="loans")
        with op.batch_alter_table("loans") as batch:
            batch.drop_column("import_batch_id")
        op.create_index(
            "uq_loans_student_year_live",
            "loans",
            ["student_id", "academic_year"],
            unique=True,
            sqlite_where=sa.text(_LIVE),
        )
    op.drop_index(op.f("ix_loan_imports_status"), table_name="loan_imports")
    op.drop_table("loan_imports")
