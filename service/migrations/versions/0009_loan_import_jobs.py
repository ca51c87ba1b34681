"""loan import jobs: a large contract import runs in the background; its status and progress in a table

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Every API process answers GET /api/v1/loan-imports/jobs/{id} from this table, whichever process runs the job.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "loan_import_jobs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("file", sa.String(length=255), nullable=False),
        sa.Column("created_by", ID, nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("valid_only", sa.Boolean(), nullable=False),
        sa.Column("phase", sa.String(length=10), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("problem", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_import_jobs")),
    )


def downgrade() -> None:
    op.drop_table("loan_import_jobs")
