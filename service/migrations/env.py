"""Alembic environment: runs on the connection the caller hands over (see service.migrate)."""

from __future__ import annotations

from alembic import context

from service.models import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we always call alembic through service.migrate
    raise RuntimeError("run migrations with `zizhu db upgrade`, which supplies the database connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
