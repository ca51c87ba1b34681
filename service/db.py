"""The database: declarative base, engine, sessions and the Litestar SQLAlchemy plugin.

SQLite (the embedded default) runs in WAL mode with foreign keys on. Its write transactions start with
BEGIN IMMEDIATE so that two writers queue on the lock instead of failing half-way with "database is
locked" after one of them has already read; read-only requests keep a plain deferred BEGIN so that they
never wait for a writer. The choice is carried by the `write_intent` context variable, which the HTTP
middleware sets for unsafe methods and the command line sets for its write commands.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from service.settings import Settings

write_intent: ContextVar[bool] = ContextVar("zizhu_write_intent", default=False)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time, stored in UTC and always handed back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


# Surrogate keys: BIGINT on PostgreSQL, but INTEGER on SQLite, where only "INTEGER PRIMARY KEY" is the
# auto-incrementing rowid alias. (Money columns are plain BigInteger: integer fen, 64-bit everywhere.)
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def create_engine(settings: Settings) -> AsyncEngine:
    connect_args: dict[str, Any] = {}
    kwargs: dict[str, Any] = {"echo": settings.sql_echo}
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        connect_args["timeout"] = 30
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=False)
        if settings.database_schema:
            connect_args["server_settings"] = {"search_path": settings.database_schema}
    engine = create_async_engine(settings.database_url, connect_args=connect_args, **kwargs)
    if settings.is_sqlite:
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN is ours (SQLAlchemy's recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@contextlib.asynccontextmanager
async def write_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for a command-line or scheduled write: committed on success, rolled back on error."""
    token = write_intent.set(True)
    try:
        async with session_factory(engine)() as session, session.begin():
            yield session
    finally:
        write_intent.reset(token)


def sqlalchemy_plugin(engine: AsyncEngine) -> SQLAlchemyPlugin:
    config = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit",
        session_dependency_key="db_session",
        set_default_exception_handler=False,
        enable_touch_updated_timestamp_listener=False,
        create_all=False,
    )
    return SQLAlchemyPlugin(config=config)
