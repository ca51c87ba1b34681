"""DirectRead: hot one-statement reads by key, straight through the database driver (see DirectRead for why).

Split from service.db, which attaches a _SqliteReader to each SQLite engine it creates (attach_sqlite_reader).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import weakref
from collections import deque, namedtuple
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

import msgspec
from sqlalchemy import JSON, Date, DateTime, Select, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlalchemy.util.concurrency import await_, greenlet_spawn

from service import read_batches


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

    `batch_by=<the key column>` (a statement `WHERE column == bindparam(...)` by an integer key): on PostgreSQL,
    concurrent reads of this statement are coalesced into one `WHERE column = ANY($1::bigint[])` query
    (service.read_batches); elsewhere it reads as without it.
    """

    def __init__(self, statement: Select[Any], batch_by: ColumnElement[Any] | None = None) -> None:
        self.statement = statement
        self.columns = [c.key for c in statement.selected_columns]
        self.row_type = namedtuple("Row", self.columns)  # type: ignore[misc]  # attribute access, like an ORM object
        self._plans: weakref.WeakKeyDictionary[Dialect, _ReadPlan] = weakref.WeakKeyDictionary()
        self.batching = None if batch_by is None else read_batches.KeyBatching(statement, batch_by)
        self._batched_plans: weakref.WeakKeyDictionary[Dialect, _ReadPlan] = weakref.WeakKeyDictionary()

    def _plan(self, dialect: Dialect) -> _ReadPlan:
        plan = self._plans.get(dialect)
        if plan is None:
            plan = self._plans[dialect] = _ReadPlan(self.statement, dialect)
        return plan

    async def all(self, engine: AsyncEngine, **params: Any) -> list[Any]:
        sync_engine = engine.sync_engine
        reader = _SQLITE_READERS.get(sync_engine)
        if reader is None and self.batching is not None:  # SQLite's on-loop read pays no look-up for batching
            pg = _PG_READERS.get(sync_engine)
            if pg is not None:
                return await self._batched_all(engine.dialect, pg, params)
        plan = self._plan(engine.dialect)
        args = plan.arguments(params)
        records = reader.fetch(plan.sql, args) if reader is not None else None
        if records is None:
            pg = _PG_READERS.get(sync_engine)
            records = await (pg.fetch(plan.sql, args) if pg is not None else _pooled_fetch(engine, plan, args))
        make = self.row_type._make
        return [make(plan.convert(record)) for record in records]

    async def first(self, engine: AsyncEngine, **params: Any) -> Any | None:
        rows = await self.all(engine, **params)
        return rows[0] if rows else None

    async def _batched_all(self, dialect: Dialect, pg: _PgReadConnections, params: dict[str, Any]) -> list[Any]:
        batching = self.batching
        assert batching is not None
        if len(params) != 1 or batching.param not in params:  # other values would need a batch of their own
            raise TypeError(f"a batched DirectRead takes only {batching.param}=, not {sorted(params)}")
        key = read_batches.checked_key(params[batching.param])  # before queueing: the 400 is this caller's alone
        plan = self._batched_plans.get(dialect)
        if plan is None:
            plan = self._batched_plans[dialect] = _ReadPlan(batching.statement, dialect)
        records = await read_batches.coalescer(pg, plan, batching).read(key)
        make = self.row_type._make
        return [make(plan.convert(record)) for record in records]


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
        processors = [_fast_sqlite_converter(column.type) if dialect.name == "sqlite" else None
                      for column in statement.selected_columns]
        processors = [fast or column.type.dialect_impl(dialect).result_processor(dialect, None)
                      for fast, column in zip(processors, statement.selected_columns)]
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

def attach_sqlite_reader(engine: AsyncEngine, path: str) -> None:
    """Give an engine on a SQLite database file the plain connection DirectRead reads through; closed with it."""
    reader = _SqliteReader(path)
    _SQLITE_READERS[engine.sync_engine] = reader
    weakref.finalize(engine.sync_engine, reader.close)


# SQLite keeps dates and times as ISO text and JSON as text. SQLAlchemy's own result processors parse them with
# regular expressions and the json module; these do the same with the C parsers, several times faster, and give
# the same values (tests/unit/test_direct_read_converters.py checks them against SQLAlchemy's).
def _iso_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _iso_utc_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


_json_decode = msgspec.json.decode


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _json(value: str | None) -> Any:
    return None if value is None else _json_decode(value)


def _fast_sqlite_converter(type_: TypeEngine[Any]) -> Callable[[Any], Any] | None:
    if isinstance(type_, TypeDecorator):
        # Only a UTC-aware decorator over DateTime (service.db.UtcDateTime) is known to be parse-then-mark-UTC.
        return _iso_utc_datetime if getattr(type_, "aware_utc", False) and isinstance(type_.impl, DateTime) else None
    if isinstance(type_, DateTime):
        return None  # naive datetimes: left to SQLAlchemy
    if isinstance(type_, Date):
        return _iso_date
    if type(type_) is JSON:
        return _json
    return None


class _PgReadConnections:
    """A few plain asyncpg connections of one process, kept for DirectRead on PostgreSQL.

    Why: a read through the engine's pool costs a greenlet bridge, a checkout with its events, and a reset on
    return; on the hottest read that was more CPU than asyncpg's own round trip. Here a read takes a free
    connection from a list (or waits its turn), runs one prepared statement (asyncpg's statement cache), and puts
    it back. Connections are opened when first needed, at most `size` of them, with the engine's own URL and server
    settings (the search_path), and belong to the event loop that opened them: on another loop (a new `asyncio.run`)
    the old ones are dropped. A connection that fails is terminated, not reused.
    """

    def __init__(self, connect_kwargs: dict[str, Any], size: int) -> None:
        self.connect_kwargs = connect_kwargs
        self.size = size
        self._free: list[Any] = []
        self._all: set[Any] = set()  # every open connection, lent or free: close() ends them all
        self._opened = 0
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        # per connection, its prepared statements by SQL: asyncpg's own statement cache costs a lookup and an
        # LRU update per call; a prepared statement object is called straight away.
        self._prepared: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
        self.coalescers: dict[Any, Any] = {}  # batched reads' queues by plan (service.read_batches.coalescer)

    async def fetch(self, sql: str, args: tuple[Any, ...]) -> Any:
        connection = await self._take()
        try:
            statements = self._prepared.setdefault(connection, {})
            prepared = statements.get(sql)
            if prepared is None:
                prepared = statements[sql] = await connection.prepare(sql)
            records = await prepared.fetch(*args)
        except OverflowError:
            self._give_back(connection)
            raise
        except BaseException as exc:
            if "out of int64 range" in str(exc):  # asyncpg refused an argument before sending: as SQLite does
                self._give_back(connection)
                raise OverflowError(str(exc)) from exc
            connection.terminate()  # an interrupted call leaves it in an unknown state
            self._all.discard(connection)
            self._opened -= 1
            self._wake(None)
            raise
        self._give_back(connection)
        return records

    async def _take(self) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._loop = loop
        if self._free:
            return self._free.pop()
        if self._opened < self.size:
            self._opened += 1
            try:
                import asyncpg  # only PostgreSQL deployments need it loaded

                connection = await asyncpg.connect(**self.connect_kwargs)
                self._all.add(connection)
                for json_type in ("json", "jsonb"):  # decoded as SQLAlchemy's asyncpg dialect has them decoded
                    await connection.set_type_codec(json_type, schema="pg_catalog", encoder=_json_text,
                                                    decoder=_json_decode, format="text")
                return connection
            except BaseException:
                self._opened -= 1
                raise
        waiter = loop.create_future()
        self._waiters.append(waiter)
        try:
            connection = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed over just as we were cancelled: pass it on
                handed = waiter.result()
                if handed is not None:
                    self._give_back(handed)
                else:
                    self._wake(None)
            raise
        return connection if connection is not None else await self._take()  # None: a slot freed, open anew

    def _give_back(self, connection: Any) -> None:
        if connection not in self._all or connection.is_closed():
            return  # ended by close() while it was lent (a new event loop, the engine disposed)
        if not self._wake(connection):
            self._free.append(connection)

    def _wake(self, connection: Any) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    def close(self) -> None:
        # Lent ones too: a request abandoned with its event loop would otherwise keep its connection, and the
        # locks of its half-finished statement, until the process ends.
        for connection in self._all:
            try:
                connection.terminate()
            except Exception:  # noqa: BLE001  # at exit its loop may be gone already: nothing left to free
                pass
        self._all.clear()
        self._free.clear()
        self._opened = 0
        self._waiters.clear()


# sync engine → its _PgReadConnections (set up by service.db for a PostgreSQL engine); gone with the engine.
_PG_READERS: weakref.WeakKeyDictionary[Any, _PgReadConnections] = weakref.WeakKeyDictionary()


def attach_pg_readers(engine: AsyncEngine, connect_args: dict[str, Any], size: int = 8) -> None:
    """Give a PostgreSQL engine (asyncpg) the few plain connections DirectRead reads through."""
    _cargs, params = engine.dialect.create_connect_args(engine.url)
    params = {k: v for k, v in params.items() if k in _ASYNCPG_CONNECT_KEYS}
    readers = _PgReadConnections({**params, **connect_args}, size)
    _PG_READERS[engine.sync_engine] = readers
    weakref.finalize(engine.sync_engine, readers.close)
    # engine.dispose() ends them with the pool's connections (a schema dropped next must not wait on them)
    event.listen(engine.sync_engine, "engine_disposed", lambda _engine: readers.close())


_ASYNCPG_CONNECT_KEYS = frozenset({"host", "port", "user", "password", "database", "ssl", "timeout",
                                   "command_timeout", "server_settings", "statement_cache_size"})
