"""graduation confirmations; penalty charged-to date on schedule lines

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# Surrogate keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "graduation_confirmations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("student_id", ID, nullable=False),
        sa.Column("employer", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reviewed_by", ID, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_graduation_confirmations_student_id_students")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_graduation_confirmations")),
    )
    with op.batch_alter_table("graduation_confirmations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_graduation_confirmations_student_id"), ["student_id"], unique=False)
    with op.batch_alter_table("loan_schedule_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("penalty_to", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("loan_schedule_lines", schema=None) as batch_op:
        batch_op.drop_column("penalty_to")
    with op.batch_alter_table("graduation_confirmations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_graduation_confirmations_student_id"))

    op.drop_table("graduation_confirmations")
