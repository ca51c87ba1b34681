"""The database: declarative base, engine, sessions and the Litestar SQLAlchemy plugin.

SQLite (the embedded default) runs in WAL mode with foreign keys on. Its write transactions start with
BEGIN IMMEDIATE so that two writers queue on the lock instead of failing half-way with "database is
locked" after one of them has already read; read-only requests keep a plain deferred BEGIN so that they
never wait for a writer. The choice is carried by the `write_intent` context variable, which the HTTP
middleware sets for unsafe methods and the command line sets for its write commands.

A request's session ends in transaction_handler: committed only for a successful unsafe request. Hot
one-statement reads can skip sessions altogether with DirectRead.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import weakref
from collections import namedtuple
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
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Select, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import PoolResetState
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util.concurrency import await_, greenlet_spawn

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
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    path = engine.url.database
    if path and path != ":memory:" and not path.startswith("file:"):
        reader = _SqliteReader(path)
        _SQLITE_READERS[engine.sync_engine] = reader
        weakref.finalize(engine.sync_engine, reader.close)

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

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, reset_state: PoolResetState) -> None:
        # Instead of the pool's unconditional rollback when a connection comes back: roll back only if a
        # transaction is really open. Connections nearly always come back with their transaction already ended
        # by SQLAlchemy (a session's commit or rollback) or never begun (DirectRead), and through aiosqlite every
        # needless rollback is a round trip to the connection's thread. `in_transaction` is sqlite3's own flag
        # (sqlite3_get_autocommit), read without that trip. Like the pool itself, nothing is awaited when the
        # reset comes from garbage collection (asyncio_safe false): such a connection is discarded, not reused.
        if reset_state.asyncio_safe and engine.dialect.get_driver_connection(dbapi_connection).in_transaction:
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


class DirectRead:
    """A fixed read-only SELECT for lookups by key, run as a single driver call: no ORM, no Connection, no BEGIN.

    Why: on a small machine SQLAlchemy's per-statement machinery costs several times the read itself. Reading one
    row through an ORM session on SQLite took nine thread hops into aiosqlite (cursor, BEGIN, close, cursor, SELECT,
    fetchall, close, COMMIT, the pool's rollback) and about a millisecond of CPU; through a Core Connection it is
    still most of those hops and half a millisecond. Here the statement is compiled once per dialect and handed straight to the
    driver, and the values come back converted by the columns' own SQLAlchemy types, exactly as a Core or ORM read
    gives them (SQLite's date strings parsed, JSON decoded, UtcDateTime made aware).

    - PostgreSQL: one round trip (asyncpg's `fetch`, whose statement cache keeps the statement prepared) on a
      connection from the engine's pool, with the pool's set-up (search_path) and limits.
    - SQLite (a database file): the read runs right here on the event loop's thread, on a plain sqlite3
      connection kept for it (_SqliteReader): a row by primary key takes ~15 µs, while handing the call to
      aiosqlite's thread and back costs several times that in CPU and, under load, queues behind other threads
      for the GIL. That connection never waits for a lock: if SQLite says busy (in WAL mode readers almost never
      do), the read goes through the pool and aiosqlite instead, which may wait.

    No transaction is opened (both drivers are in autocommit mode here; service.db issues SQLite's BEGIN itself),
    and a single SELECT is atomic by itself: so this is only for one-statement reads that need no consistency with
    another statement, and, since on SQLite it runs on the event loop, only for reads of a few rows by an index.
    Bind parameters must be plain values (no IN-list expansion).
    """

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self.columns = [c.key for c in statement.selected_columns]
        self.row_type = namedtuple("Row", self.columns)  # type: ignore[misc]  # attribute access, like an ORM object
        self._plans: weakref.WeakKeyDictionary[Dialect, _ReadPlan] = weakref.WeakKeyDictionary()

    def _plan(self, dialect: Dialect) -> _ReadPlan:
        plan = self._plans.get(dialect)
        if plan is None:
            plan = self._plans[dialect] = _ReadPlan(self.statement, dialect)
        return plan

    async def all(self, engine: AsyncEngine, **params: Any) -> list[Any]:
        plan = self._plan(engine.dialect)
        args = plan.arguments(params)
        reader = _SQLITE_READERS.get(engine.sync_engine)
        records = reader.fetch(plan.sql, args) if reader is not None else None
        if records is None:
            records = await _pooled_fetch(engine, plan, args)
        make = self.row_type._make
        return [make(plan.convert(record)) for record in records]

    async def first(self, engine: AsyncEngine, **params: Any) -> Any | None:
        rows = await self.all(engine, **params)
        return rows[0] if rows else None


async def _pooled_fetch(engine: AsyncEngine, plan: _ReadPlan, args: tuple[Any, ...]) -> Any:
    sync_engine = engine.sync_engine

    def fetch() -> Any:
        # Runs in SQLAlchemy's greenlet bridge (as all of its asyncio extension does), so that the pool may await
        # while checking a connection out (a new one connects) and in (its reset): one bridge, not two.
        raw = sync_engine.raw_connection()
        try:
            return await_(plan.fetch(raw.driver_connection, plan.sql, args))
        except BaseException:
            raw.invalidate()  # an interrupted driver call leaves the connection in an unknown state
            raise
        finally:
            raw.close()

    return await greenlet_spawn(fetch)


async def _fetch_aiosqlite(connection: Any, sql: str, args: tuple[Any, ...]) -> Any:
    return await connection.execute_fetchall(sql, args)


async def _fetch_asyncpg(connection: Any, sql: str, args: tuple[Any, ...]) -> Any:
    return await connection.fetch(sql, *args)


_FETCH_BY_DRIVER = {"aiosqlite": _fetch_aiosqlite, "asyncpg": _fetch_asyncpg}


class _ReadPlan:
    """DirectRead's statement for one dialect: its SQL text, parameter order and value converters."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        try:
            self.fetch = _FETCH_BY_DRIVER[dialect.driver]
        except KeyError:
            raise NotImplementedError(f"DirectRead does not know the driver {dialect.driver!r}") from None
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise NotImplementedError(f"DirectRead needs a positional paramstyle, not {dialect.paramstyle!r}")
        self.sql = str(compiled)
        self.names = list(compiled.positiontup)
        self.defaults = {name: bind.value for name, bind in compiled.binds.items()}
        self.bind_processors = [
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in self.names
        ]
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                      for column in statement.selected_columns]
        self.conversions = [(i, process) for i, process in enumerate(processors) if process is not None]

    def arguments(self, params: dict[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, process in zip(self.names, self.bind_processors):
            value = params[name] if name in params else self.defaults[name]
            values.append(value if process is None else process(value))
        return tuple(values)

    def convert(self, record: Any) -> list[Any]:
        values = list(record)
        for i, process in self.conversions:
            values[i] = process(values[i])
        return values


class _SqliteReader:
    """One plain sqlite3 connection to a database file, for DirectRead (see there for why).

    In autocommit mode (each SELECT is its own snapshot of what is committed), read-only (query_only), and it never
    waits: not for SQLite's locks (busy timeout 0) nor for another thread using it (the lock is only tried). In
    either case `fetch` answers None and the caller takes the pooled way. Closed when its engine is collected.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any] | None:
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(self.path, timeout=0, isolation_level=None,
                                                   check_same_thread=False)  # the lock keeps it to one at a time
                self._connection.execute("PRAGMA query_only=ON")
            return self._connection.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None
            raise
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


# sync engine → its _SqliteReader (set up by _configure_sqlite for a database file); gone with the engine.
_SQLITE_READERS: weakref.WeakKeyDictionary[Any, _SqliteReader] = weakref.WeakKeyDictionary()

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
