"""programmes: first_year_only, for grants to freshmen (新生入学资助)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

A programme for new students (DOMAIN.md: 新生入学资助, freshmen from poor families) takes applications only for
a student's first academic year. Existing programmes keep taking any year (false).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.add_column(sa.Column("first_year_only", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("programs") as batch:
        batch.drop_column("first_year_only")
