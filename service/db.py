"""The database: declarative base, engine, sessions and the Litestar SQLAlchemy plugin.

SQLite (the embedded default) runs in WAL mode with foreign keys on. Its write transactions start with
BEGIN IMMEDIATE so that two writers queue on the lock instead of failing half-way with "database is
locked" after one of them has already read; read-only requests keep a plain deferred BEGIN so that they
never wait for a writer. The choice is carried by the `write_intent` context variable, which the HTTP
middleware sets for unsafe methods and the command line sets for its write commands.

A request's session ends in transaction_handler: committed only for a successful unsafe request. Hot
one-statement reads can skip sessions altogether with DirectRead (service.direct_read).
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
# How advanced-alchemy's own before-send handlers find the request's session in the scope; it has no public
# accessor for it (its public handler makers swallow commit errors, see transaction_handler).
from advanced_alchemy.extensions.litestar._utils import get_aa_scope_state
from advanced_alchemy.extensions.litestar.plugins.init.config.common import SESSION_TERMINUS_ASGI_EVENTS
from litestar.constants import HTTP_RESPONSE_START
from litestar.types import BeforeMessageSendHookHandler, Message, Scope
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import PoolResetState
from sqlalchemy.types import TypeDecorator

from service.direct_read import attach_pg_readers, attach_sqlite_reader
from service.settings import Settings

write_intent: ContextVar[bool] = ContextVar("zizhu_write_intent", default=False)

SQLITE_CACHE_KIB = 64 * 1024  # each SQLite connection's page cache (PRAGMA cache_size), in KiB

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
    aware_utc = True  # service.direct_read parses it the fast way on SQLite

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
    # Pools without overflow: SQLAlchemy closes an overflow connection as soon as it comes back, so under steady
    # load beyond pool_size nearly every request opened and closed a connection of its own (on PostgreSQL a
    # backend forked per request; on SQLite a new thread, the file opened, the PRAGMAs run). The sizes are the
    # earlier ceilings (SQLite: SQLAlchemy's default 5 + 10; PostgreSQL: 10 + 20): no more connections than
    # before, but kept open once made.
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        connect_args["timeout"] = 30
        kwargs["pool_reset_on_return"] = None  # the "reset" listener in _configure_sqlite does it, when needed
        kwargs.update(pool_size=15, max_overflow=0)
    else:
        kwargs.update(pool_size=30, max_overflow=0, pool_pre_ping=False)
        if settings.database_schema:
            connect_args["server_settings"] = {"search_path": settings.database_schema}
    engine = create_async_engine(settings.database_url, connect_args=connect_args, **kwargs)
    if settings.is_sqlite:
        _configure_sqlite(engine)
    elif engine.dialect.driver == "asyncpg":
        attach_pg_readers(engine, connect_args)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    path = engine.url.database
    if path and path != ":memory:" and not path.startswith("file:"):
        attach_sqlite_reader(engine, path)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN is ours (SQLAlchemy's recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, reset_state: PoolResetState) -> None:
        # Instead of the pool's unconditional rollback when a connection comes back: roll back only if a
        # transaction is really open. Connections nearly always come back with their transaction already ended
        # by SQLAlchemy (a session's commit or rollback) or never begun (DirectRead), and through aiosqlite every
        # needless rollback is a round trip to the connection's thread. `in_transaction` is sqlite3's own flag
        # (sqlite3_get_autocommit), read without that trip. Like the pool itself, nothing is awaited when the
        # reset comes from garbage collection (asyncio_safe false): such a connection is discarded, not reused.
        if not reset_state.asyncio_safe:
            return
        if engine.dialect.get_driver_connection(dbapi_connection).in_transaction:
            dbapi_connection.rollback()


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



READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def transaction_handler(session_scope_key: str) -> BeforeMessageSendHookHandler:
    """End the request's session as its response starts: commit a successful write, roll back anything else.

    A commit needs an unsafe method (not GET/HEAD/OPTIONS) and a 2xx/3xx status. A read-only request never
    commits: it has nothing to commit, and a COMMIT is a round trip (and on SQLite a thread hop) for nothing.
    (advanced-alchemy's "autocommit" handler commits every 2xx, GETs included.) A failed request rolls back
    (the login endpoint commits its failure counter itself before raising). Unlike that handler, a failing commit
    is not swallowed: the response must not say "saved" when nothing was.
    """

    async def handler(message: Message, scope: Scope) -> None:
        if message["type"] not in SESSION_TERMINUS_ASGI_EVENTS:
            return
        session: AsyncSession | None = get_aa_scope_state(scope, session_scope_key, pop=True)
        if session is None:  # this request never asked for a session
            return
        try:
            if (message["type"] == HTTP_RESPONSE_START and scope.get("method") not in READ_ONLY_METHODS
                    and 200 <= message["status"] < 400):
                await session.commit()
            else:
                await session.rollback()
        finally:
            await session.close()

    return handler


def sqlalchemy_plugin(engine: AsyncEngine) -> SQLAlchemyPlugin:
    config = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        session_dependency_key="db_session",
        set_default_exception_handler=False,
        enable_touch_updated_timestamp_listener=False,
        create_all=False,
    )
    # The config makes its scope key unique per instance (each app has its own), so the handler is attached
    # once the config exists.
    config.before_send_handler = transaction_handler(config.session_scope_key)
    return SQLAlchemyPlugin(config=config)
