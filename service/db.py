"""The database: declarative base, engine, sessions and the Litestar SQLAlchemy plugin.

SQLite (the embedded default) runs in WAL mode with foreign keys on. Its write transactions start with
BEGIN IMMEDIATE so that two writers queue on the lock instead of failing half-way with "database is
locked" after one of them has already read; read-only requests keep a plain deferred BEGIN so that they
never wait for a writer. The choice is carried by the `write_intent` context variable, which the HTTP
middleware sets for unsafe methods and the command line sets for its write commands.

A request that asks for the `db_session` dependency gets a session of its own (DatabasePlugin, a few lines
instead of advanced-alchemy's plugin), ended in end_request_session as the response starts: committed only for a
successful unsafe request.

A read-only request (GET, HEAD, OPTIONS) runs outside any transaction: no BEGIN and no ROLLBACK, which were two of its
round trips on PostgreSQL and four hops to aiosqlite's thread on SQLite. Each of its statements sees the data as of
that statement. Its session refuses to write (ReadOnlySession); a GET that must leave a trace (a receipt's first
print, the cross-check export's audit record) writes in a write_session of its own (write_beside: one connection
at a time).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from litestar.config.app import AppConfig
from litestar.constants import HTTP_RESPONSE_START
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol
from litestar.types import Message, Scope
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.pool import PoolResetState
from sqlalchemy.types import TypeDecorator

from service.datadir import private_sqlite, tighten
from service.settings import Settings

write_intent: ContextVar[bool] = ContextVar("zizhu_write_intent", default=False)

READ_ONLY_OPTION = "zizhu_read_only"  # execution option of read_engine(): on SQLite, no BEGIN
SQLITE_CACHE_KIB = 64 * 1024
# aiosqlite runs each connection's calls in a thread of its own: every call hands the GIL over and back. While the
# event loop is busy with other requests, that thread waits for the interpreter's switch interval (5 ms by default)
# before it may run, several times per statement. 1 ms measured 1.4-1.9x the throughput of the SQLite reads under load
# (bench/api.py), bare requests unchanged. PostgreSQL (asyncpg) has no such thread and keeps Python's default.
SQLITE_GIL_SWITCH_SECONDS = 0.001  # each SQLite connection's page cache (PRAGMA cache_size), in KiB

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
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# Surrogate keys: BIGINT on PostgreSQL, but INTEGER on SQLite, where only "INTEGER PRIMARY KEY" is the
# auto-incrementing rowid alias. (Money columns are plain BigInteger: integer fen, 64-bit everywhere.)
IdType = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_engine(settings: Settings) -> AsyncEngine:
    connect_args: dict[str, Any] = {}
    kwargs: dict[str, Any] = {"echo": settings.sql_echo}
    # Pools without overflow: SQLAlchemy closes an overflow connection as soon as it comes back, so under steady
    # load beyond pool_size nearly every request opened and closed a connection of its own (on PostgreSQL a
    # backend forked per request; on SQLite a new thread, the file opened, the PRAGMAs run). The sizes are the
    # earlier ceilings (SQLite: SQLAlchemy's default 5 + 10; PostgreSQL: 10 + 20): no more connections than
    # before, but kept open once made.
    if settings.is_sqlite or settings.data_dir.is_dir():
        tighten(settings.data_dir)  # the data folder 0700 and its files 0600 (service.datadir), from the start
    if settings.is_sqlite:
        if (database := settings.sqlite_file) is not None:
            private_sqlite(database)  # 0600 before SQLite first opens it; its -wal and -shm inherit the mode
        connect_args["timeout"] = 30
        kwargs["pool_reset_on_return"] = None  # the "reset" listener in _configure_sqlite does it, when needed
        kwargs["skip_autocommit_rollback"] = True  # no ROLLBACK without a transaction (see _configure_sqlite)
        kwargs.update(pool_size=15, max_overflow=0)
        sys.setswitchinterval(min(sys.getswitchinterval(), SQLITE_GIL_SWITCH_SECONDS))  # process-wide, see above
    else:
        kwargs.update(pool_size=30, max_overflow=0, pool_pre_ping=False)
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
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY_OPTION):
            return  # a read-only request's statements each run on their own (see read_engine)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")

    # skip_autocommit_rollback asks the dialect whether the connection is in autocommit mode; pysqlite's answer
    # (isolation_level is None) is always yes here, since the connect listener takes transaction control. The true
    # answer is sqlite3's own flag, read without a trip to aiosqlite's thread: no transaction open, nothing to roll
    # back, no ROLLBACK sent (the read-only requests' case; a write's rollback still happens).
    def _no_transaction(dbapi_connection: Any) -> bool:
        return not dbapi_connection.driver_connection.in_transaction

    engine.sync_engine.dialect.detect_autocommit_setting = _no_transaction  # type: ignore[method-assign]

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, reset_state: PoolResetState) -> None:
        # Instead of the pool's unconditional rollback when a connection comes back: roll back only if a
        # transaction is really open. Connections nearly always come back with their transaction already ended
        # by SQLAlchemy (a session's commit or rollback) or never begun, and through aiosqlite every
        # needless rollback is a round trip to the connection's thread. `in_transaction` is sqlite3's own flag
        # (sqlite3_get_autocommit), read without that trip. Like the pool itself, nothing is awaited when the
        # reset comes from garbage collection (asyncio_safe false): such a connection is discarded, not reused.
        if not reset_state.asyncio_safe:
            return
        if engine.dialect.get_driver_connection(dbapi_connection).in_transaction:
            dbapi_connection.rollback()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def read_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, for reads outside a transaction: PostgreSQL's AUTOCOMMIT (asyncpg then sends no
    BEGIN and no ROLLBACK), on SQLite no BEGIN (the connect listener already took transaction control)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{READ_ONLY_OPTION: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


_TX_BIND = "zizhu_transactional_bind"  # a ReadOnlySession's info: the engine for its streamed reads


class ReadOnlyWriteError(RuntimeError):
    """A read-only request's session was asked to write: outside a transaction the write would stick."""


class ReadOnlySession(Session):
    """The session of a read-only request (outside a transaction): it refuses to flush changes or run DML."""


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        raise ReadOnlyWriteError("a read-only request may not write; use service.db.write_session")


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _on_execute(state: Any) -> Any:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlyWriteError("a read-only request may not write; use service.db.write_session")
    options = state.execution_options
    if (options.get("stream_results") or options.get("yield_per")) and "bind" not in state.bind_arguments:
        # A streamed read (a server-side cursor) needs a transaction on PostgreSQL, and an export should see one
        # snapshot anyway: it runs on a transactional connection of the session's own, rolled back when it closes.
        return state.invoke_statement(bind_arguments={**state.bind_arguments, "bind": state.session.info[_TX_BIND]})
    return None


@contextlib.asynccontextmanager
async def write_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for a command-line or scheduled write: committed on success, rolled back on error."""
    token = write_intent.set(True)
    try:
        async with session_factory(engine)() as session, session.begin():
            yield session
    finally:
        write_intent.reset(token)


@contextlib.asynccontextmanager
async def write_beside(read_session: AsyncSession, engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """The write of a read-only request (a receipt's first print, an export's audit record): a write_session of its
    own, opened only after the request's session has handed its connection back to the pool. A request holding one
    connection while it waits for a second deadlocks the pool as soon as every connection belongs to such a request
    (SQLite's 15: twenty parallel first prints hung until the clients gave up). The objects the request read stay
    loaded (detached); using its session again takes a connection anew."""
    await read_session.close()
    async with write_session(engine) as session:
        yield session


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


SESSION_SCOPE_KEY = "zizhu.db_session"  # where a request's session waits in its ASGI scope for the response
_SESSION_ENDS = frozenset({HTTP_RESPONSE_START, "http.disconnect", "websocket.disconnect", "websocket.close"})


async def end_request_session(message: Message, scope: Scope) -> None:
    """End the request's session as its response starts: commit a successful write, roll back anything else.

    A commit needs an unsafe method (not GET/HEAD/OPTIONS) and a 2xx/3xx status. A read-only request never
    commits: it has nothing to commit, and a COMMIT is a round trip (and on SQLite a thread hop) for nothing.
    A failed request rolls back (the login endpoint commits its failure counter itself before raising). A failing
    commit is not swallowed: the exception reaches Litestar, which answers 500, so the response never says
    "saved" when nothing was.
    """
    if message["type"] not in _SESSION_ENDS:
        return
    session: AsyncSession | None = scope.pop(SESSION_SCOPE_KEY, None)  # type: ignore[misc]
    if session is None:  # this request never asked for a session
        return
    try:
        if (
            message["type"] == HTTP_RESPONSE_START
            and scope.get("method") not in READ_ONLY_METHODS
            and 200 <= message["status"] < 400
        ):
            await session.commit()
        else:
            await session.rollback()
    finally:
        await session.close()


class DatabasePlugin(InitPluginProtocol):
    """The `db_session` dependency: one session per request that asks for it (a ReadOnlySession outside a transaction
    for GET, HEAD and OPTIONS), ended by end_request_session."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)
        self.read_sessions = async_sessionmaker(
            read_engine(engine),
            expire_on_commit=False,
            sync_session_class=ReadOnlySession,
            info={_TX_BIND: engine.sync_engine},
        )

    def _provide(self, scope: Scope) -> AsyncSession:
        session = (self.read_sessions if scope.get("method") in READ_ONLY_METHODS else self.sessions)()
        scope[SESSION_SCOPE_KEY] = session  # type: ignore[literal-required]
        return session

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.dependencies["db_session"] = Provide(self._provide, sync_to_thread=False)
        app_config.before_send.append(end_request_session)
        app_config.signature_namespace["AsyncSession"] = AsyncSession
        return app_config
