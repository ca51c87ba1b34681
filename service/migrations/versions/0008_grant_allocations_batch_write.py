"""batch allocation on PostgreSQL: room for HOT updates of awards and fundings; reverses_id unique only where set

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

A batch allocation (bench/allocation.py: 100,000 awards from 10,000 donations) writes in one transaction:
- `funded` on every award it pays. With fillfactor 80 a page had room for new versions of about a quarter of its
  rows; the other three quarters were non-HOT updates, each a new entry in all seven indexes of grant_awards
  (2.7-3.2 s on a loaded machine, against 0.45 s when every update stays on its page). Half a page free holds a
  new version of every row on it, at twice the table's size (some 22 MB per 100,000 awards). The same for
  `allocated` on fundings (ten thousand rows, five indexes).
- one allocation line per award, where `reverses_id` is NULL on all but reversals: a unique index over only the
  rows that have it (the same rule: a line is reversed at most once) saves an index entry per line.
Pages written before the fillfactor change keep their layout until rewritten (VACUUM FULL); donations are new in
this release. SQLite has no fillfactor; it gets the partial index too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SET = sa.text("reverses_id IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE grant_awards SET (fillfactor = 50)")
        op.execute("ALTER TABLE fundings SET (fillfactor = 50)")
    with op.batch_alter_table("grant_allocations", schema=None) as batch_op:
        batch_op.drop_constraint("uq_grant_allocations_reverses_id", type_="unique")
    op.create_index(
        "uq_grant_allocations_reverses_id",
        "grant_allocations",
        ["reverses_id"],
        unique=True,
        postgresql_where=_SET,
        sqlite_where=_SET,
    )


def downgrade() -> None:
    op.drop_index(
        "uq_grant_allocations_reverses_id", table_name="grant_allocations", postgresql_where=_SET, sqlite_where=_SET
    )
    with op.batch_alter_table("grant_allocations", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_grant_allocations_reverses_id", ["reverses_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE grant_awards SET (fillfactor = 80)")
        op.execute("ALTER TABLE fundings RESET (fillfactor)")
