"""Writing many rows at once: driver-level executemany with each value converted once, and keys taken up front.

Used by imports, where a hundred thousand rows go into one transaction.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
import weakref
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

BATCH = 10_000  # records per executemany call
COPY_MIN_ROWS = 100  # PostgreSQL: from this many records, COPY instead of INSERT


async def reserve_ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """`count` new values for the table's integer key `id`, taken in the caller's transaction.

    PostgreSQL: from the column's own sequence (safe beside concurrent inserts; a rollback leaves a gap in
    the numbers, as any insert's would). SQLite: the next ids after the highest, which only the caller can
    use: its write transaction (BEGIN IMMEDIATE) holds the database's one write lock until it ends.
    """
    if count <= 0:
        return []
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        sql = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)")
        name = f"{table.schema}.{table.name}" if table.schema else table.name
        return list((await conn.execute(sql, {"table": name, "count": count})).scalars())
    highest = (await conn.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar_one()
    return list(range(highest + 1, highest + 1 + count))


async def bulk_insert(
    session: AsyncSession,
    stmt: Any,
    columns: tuple[str, ...],
    records: list[tuple[Any, ...]] | None = None,
    *,
    by_column: list[list[Any]] | None = None,
    table_insert: bool = True,
) -> None:
    """Execute a Core INSERT for many records (tuples in `columns` order, or the same given column by column as
    `by_column`) at the driver level (insert_statements, column_statements)."""
    count = len(records) if records is not None else len(by_column[0]) if by_column else 0
    if not count:
        return
    conn = await session.connection()
    statements = (
        insert_statements(conn.dialect, stmt, columns, records, table_insert=table_insert)
        if records is not None
        else column_statements(conn.dialect, stmt, columns, by_column, table_insert=table_insert)
    )
    if statements is None:  # a dialect we did not plan for
        rows = records if records is not None else list(zip(*by_column, strict=False))  # type: ignore[misc]
        await session.execute(stmt, [dict(zip(columns, r, strict=True)) for r in rows])
        return
    if conn.dialect.driver == "asyncpg" and table_insert and count >= COPY_MIN_ROWS:
        # PostgreSQL: COPY, not INSERT. The rows are the ones executemany would bind (values converted as above),
        # streamed in binary to the server, which then skips parsing, planning and executing a statement per row:
        # a 100,000-contract import's writing went from 11 s to a few.
        plan = _plan(stmt, columns, conn.dialect, table_insert)
        assert plan is not None  # insert_statements made its statements from it
        names = [columns[i] for i in plan[1]]
        driver = (await conn.get_raw_connection()).driver_connection
        for _, rows in statements:
            await driver.copy_records_to_table(
                stmt.table.name, records=rows, columns=names, schema_name=stmt.table.schema
            )
        return
    for sql, parameters in statements:
        await conn.exec_driver_sql(sql, parameters)


def insert_statements(
    dialect: Any, stmt: Any, columns: tuple[str, ...], records: list[tuple[Any, ...]], *, table_insert: bool = True
) -> list[tuple[str, Any]] | None:
    """What the driver executes to insert the records: (SQL, parameters) pairs, the parameters a list of rows
    for executemany, or one flat tuple for a SQLite statement of many rows. None for a dialect not planned for.

    SQLAlchemy's own executemany converts every value of every row through the column's type (dates to
    text on SQLite, JSON to text, times to UTC): per row and per column, which was most of the import's
    time. Here the same converters, taken from the compiled statement, run once per distinct value (a
    batch has a few hundred distinct dates and one timestamp). Every NOT NULL column must be given:
    Python-side column defaults are not applied.
    """
    plan = _plan(stmt, columns, dialect, table_insert)
    if plan is None:
        return None
    writer = _Statements(dialect, plan, len(columns))
    for start in range(0, len(records), BATCH):
        writer.add(records[start : start + BATCH], None)
    return writer.statements


def column_statements(
    dialect: Any, stmt: Any, columns: tuple[str, ...], values: list[list[Any]], *, table_insert: bool = True
) -> list[tuple[str, Any]] | None:
    """The same as insert_statements for records given column by column (a list per column, in `columns`' order):
    for callers that build them so, it saves making a tuple per record and taking them apart again."""
    plan = _plan(stmt, columns, dialect, table_insert)
    if plan is None:
        return None
    writer = _Statements(dialect, plan, len(columns))
    for start in range(0, len(values[0]) if values else 0, BATCH):
        writer.add(None, [column[start : start + BATCH] for column in values])
    return writer.statements


class _Statements:
    def __init__(self, dialect: Any, plan: tuple[str, list[int], list[tuple[int, Any]]], width: int) -> None:
        self.sql, self.order, processors = plan
        self.convert = [(index, processor, {None: None}) for index, processor in processors]
        self.multi = None
        if dialect.name == "sqlite" and " VALUES (" in self.sql:
            self.multi = min(SQLITE_ROWS, max(1, _SQLITE_VARIABLES // width))
        self.same_order = self.order == list(range(len(self.order)))
        self.statements: list[tuple[str, Any]] = []

    def add(self, batch: list[tuple[Any, ...]] | None, cells: list[Any] | None) -> None:
        """One batch, given as records or as columns (in the columns' order, not yet converted)."""
        if cells is not None or self.convert or not self.same_order:
            # Column by column: each converter sees each distinct value once, and `map` does the rest.
            cells = list(zip(*batch, strict=False)) if cells is None else list(cells)  # type: ignore[misc]
            for index, processor, seen in self.convert:
                column = cells[index]
                try:
                    for value in set(column).difference(seen):
                        seen[value] = processor(value)
                except TypeError:  # a value that cannot be remembered (a list for a JSON column)
                    cells[index] = [None if v is None else processor(v) for v in column]
                else:
                    cells[index] = list(map(seen.__getitem__, column))
            if not self.same_order:
                cells = [cells[i] for i in self.order]
        size_of = len(batch) if batch is not None else len(cells[0]) if cells else 0  # type: ignore[index]
        if self.multi is None:
            self.statements.append((self.sql, batch if cells is None else list(zip(*cells, strict=False))))
            return
        at = 0  # SQLite: many rows a statement (see _multi_row)
        while at < size_of:
            # `multi` rows at a time, then the rest in powers of two: a few statement texts, each prepared once
            # and kept in the driver's statement cache (where a text per remainder size piled up hundreds of MB).
            rest = size_of - at
            size = self.multi if rest >= self.multi else 1 << (rest.bit_length() - 1)
            # The rows' values one after another, straight from the columns (no list of row tuples in between).
            rows = (
                batch[at : at + size]
                if cells is None  # type: ignore[index]
                else zip(*[column[at : at + size] for column in cells], strict=False)
            )
            self.statements.append((_multi_row(self.sql, size), tuple(itertools.chain.from_iterable(rows))))
            at += size


SQLITE_ROWS = 1024  # rows a SQLite INSERT statement at most (fewer if its columns need it: 999 or 32,766 parameters)
# The most parameters a SQLite statement may have: 32766 since SQLite 3.32, 999 before.
_SQLITE_VARIABLES = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999


@functools.lru_cache(maxsize=64)
def _multi_row(sql: str, rows: int) -> str:
    """One INSERT of `rows` rows (VALUES (…), (…), …) from the one-row statement.

    On SQLite, executemany binds and runs the statement once a row, and takes Python's lock back for every
    row; one statement of a thousand rows is bound once and runs as one call into SQLite, without the lock:
    a third less time for an import's inserts, and the other thread runs meanwhile."""
    head, one = sql.rsplit(" VALUES ", 1)
    return f"{head} VALUES {', '.join([one] * rows)}"


# Per statement (kept by the caller, e.g. loans.imports.write) and dialect: its SQL, parameter order and converters.
# An import inserts into the same four tables block after block; compiling each time cost a few ms a block.
_PLANS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()


def _plan(
    stmt: Any, columns: tuple[str, ...], dialect: Any, table_insert: bool
) -> tuple[str, list[int], list[tuple[int, Any]]] | None:
    plans = _PLANS.setdefault(stmt, {})
    key = (dialect, columns, table_insert)
    if key not in plans:
        kw: dict[str, Any] = {"column_keys": list(columns)} if table_insert else {}
        compiled = stmt.compile(dialect=dialect, for_executemany=True, **kw)
        names = list(compiled.positiontup or ())
        plan = None
        if compiled.positional and sorted(names) == sorted(columns):
            processors = []
            for name in names:
                processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors.append((columns.index(name), processor))
            plan = (compiled.string, [columns.index(n) for n in names], processors)
        plans[key] = plan
    return plans[key]
