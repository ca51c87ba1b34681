"""Letting a long SQLite write run beside the Python that prepares it: queued statements and a side reader.

Why: through aiosqlite every statement is a call into the connection's thread that the event loop waits for, so a
bulk import alternated between preparing rows (Python) and inserting them (SQLite), one core busy at a time. Here
the inserts are queued to that thread without waiting (aiosqlite runs them in order), and since a statement of
many rows runs inside SQLite without Python's lock (service.bulk), the event loop prepares the next rows meanwhile.
Reads cannot queue behind the writes, so they go to a separate read-only connection: in WAL mode it reads the
database as last committed, which is what an import's checks are about (its own rows are checked within the file).
Errors of a queued statement surface at `drain`, which must be awaited before the transaction goes on.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

MAX_QUEUED = 32  # statements queued and not yet done (each up to ~1,000 rows): bounds the memory they hold


class SqlitePipeline:
    def __init__(self, driver_connection: Any, reader: sqlite3.Connection, next_ids: dict[str, int]) -> None:
        self._driver = driver_connection  # the aiosqlite connection of the caller's transaction
        self._reader = reader
        self._next_ids = next_ids
        # Tables without a row when the pipeline opened. What the side reader sees of them stays so: it reads what
        # is committed, and no one else commits while this transaction holds the write lock.
        self.empty = {name for name, next_id in next_ids.items() if next_id == 1}
        self._queued: list[asyncio.Future[None]] = []

    @classmethod
    async def open(cls, connection: AsyncConnection, tables: list[Table]) -> SqlitePipeline | None:
        """For a SQLite database file (None otherwise): keys for `tables` are given out from the highest one in
        use, which only this transaction may do (it holds SQLite's one write lock, BEGIN IMMEDIATE)."""
        path = connection.engine.url.database
        if connection.dialect.name != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
            return None
        next_ids = {}
        for table in tables:
            highest = (await connection.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar_one()
            next_ids[table.name] = highest + 1
        raw = await connection.get_raw_connection()
        reader = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        reader.execute("PRAGMA query_only=ON")
        return cls(raw.driver_connection, reader, next_ids)

    def read(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        """A read of what is committed, on the event loop's thread (for a few indexed lookups: milliseconds)."""
        return self._reader.execute(sql, parameters).fetchall()

    def take_ids(self, table: Table, count: int) -> list[int]:
        start = self._next_ids[table.name]
        self._next_ids[table.name] = start + count
        return list(range(start, start + count))

    async def send(self, statements: list[tuple[str, Any]]) -> None:
        """Queue the statements (in order, after everything queued before) and return once they are queued."""
        for sql, parameters in statements:
            if len(self._queued) >= MAX_QUEUED:
                await self._queued.pop(0)
            self._queued.append(asyncio.ensure_future(self._run(sql, parameters)))
        await asyncio.sleep(0)  # let the new tasks hand their statements to the connection's thread

    async def _run(self, sql: str, parameters: Any) -> None:
        many = bool(parameters) and isinstance(parameters, list)
        cursor = await (self._driver.executemany(sql, parameters) if many else self._driver.execute(sql, parameters))
        await cursor.close()

    async def drain(self) -> None:
        """Wait for every queued statement; the first one that failed raises its error (after all are done)."""
        queued, self._queued = self._queued, []
        results = await asyncio.gather(*queued, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def close(self) -> None:
        self._reader.close()
