"""audit log sealed by one sequencer: records appended unchained, then numbered and chained with a keyed HMAC;
signed checkpoints

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

The old chain (plain SHA-256, every writer extending it under one lock) is dropped: every existing record becomes
unsealed, and the first sealer run chains them all under the audit key, in their old order.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNSEALED = sa.text("seq IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_log_hash", type_="unique")
        batch_op.drop_column("prev_hash")
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_seq"), ["seq"])
    op.execute("UPDATE audit_log SET hash = NULL")
    op.create_index("ix_audit_log_unsealed", "audit_log", ["id"], postgresql_where=UNSEALED, sqlite_where=UNSEALED)
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("count", name=op.f("uq_audit_checkpoints_count")),
    )


def _old_chain_hash(prev: str, row: sa.Row) -> str:
    """0001's chain (frozen here: the code that made it is gone), so that a downgraded database verifies."""
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)  # SQLite hands it back naive
    payload = [
        prev,
        at.astimezone(UTC).isoformat(),
        row.actor,
        row.action,
        row.entity,
        row.entity_id,
        row.before,
        row.after,
        row.note,
    ]
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_log_unsealed", table_name="audit_log")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_constraint("uq_audit_log_seq", type_="unique")
        batch_op.drop_column("seq")
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
    log = sa.table(
        "audit_log",
        *(sa.column(c) for c in ("id", "actor", "action", "entity", "entity_id", "note", "prev_hash", "hash")),
        sa.column("before", sa.JSON()),
        sa.column("after", sa.JSON()),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    conn = op.get_bind()
    prev = "0" * 64
    for row in conn.execute(sa.select(log).order_by(log.c.id)).all():
        digest = _old_chain_hash(prev, row)
        conn.execute(sa.update(log).where(log.c.id == row.id).values(prev_hash=prev, hash=digest))
        prev = digest
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_log_hash"), ["hash"])
