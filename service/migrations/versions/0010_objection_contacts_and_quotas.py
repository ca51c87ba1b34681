"""objections: a contact (name, masked phone), a reviewer's decision, and a per-client hourly quota

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

An objection no longer sends an application back by itself: a reviewer dismisses or upholds it
(`decided_by`, `decided_at`). Objections taken before this revision have no contact (the columns are
nullable for them; the API requires both). The quota table counts objections per notice, client (a keyed
hash of its address) and clock hour.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("grant_objections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_name", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "grant_objection_quotas",
        sa.Column("notice_id", ID, nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["grant_notices.id"], name=op.f("fk_grant_objection_quotas_notice_id_grant_notices")
        ),
        sa.PrimaryKeyConstraint("notice_id", "client", "hour", name=op.f("pk_grant_objection_quotas")),
    )


def downgrade() -> None:
    op.drop_table("grant_objection_quotas")
    with op.batch_alter_table("grant_objections", schema=None) as batch_op:
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("contact_phone")
        batch_op.drop_column("contact_name")
