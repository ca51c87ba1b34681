"""The migrations go up from nothing, down to nothing and up again, on the database under test."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service.db import create_engine
from service.migrate import alembic_config, current_revision, head_revision, upgrade
from service.models import metadata
from service.settings import Settings


def test_up_down_up(cli_env):
    settings = Settings.from_env(cli_env)

    async def run() -> None:
        engine = create_engine(settings)
        assert await upgrade(engine, settings) == head_revision()
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert {t.name for t in metadata.sorted_tables} <= tables  # every model has its table
        async with engine.connect() as conn:  # and the migrations say what the models say
            diffs = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), metadata))
        assert diffs == [], diffs

        def down(sync_conn: object) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = sync_conn
            command.downgrade(cfg, "base")

        async with engine.begin() as conn:
            await conn.run_sync(down)
        assert await current_revision(engine) is None
        assert await upgrade(engine, settings) == head_revision()
        await engine.dispose()

    asyncio.run(run())
