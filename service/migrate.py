"""Applying Alembic migrations from code: `zizhu db upgrade`, the start command and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def upgrade(engine: AsyncEngine, settings: Settings, revision: str = "head") -> str | None:
    """Bring the database to `revision`; returns the revision it is at afterwards."""
    if settings.database_schema and not settings.is_sqlite:
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{settings.database_schema}"'))
    cfg = alembic_config()

    def run(sync_conn: object) -> str | None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)
        return MigrationContext.configure(sync_conn).get_current_revision()  # type: ignore[arg-type]

    async with engine.begin() as conn:
        return await conn.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
