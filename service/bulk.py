"""Writing many rows at once: driver-level executemany with each value converted once, and keys taken up front.

Used by imports, where a hundred thousand rows go into one transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

BATCH = 10_000  # records per executemany call


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


async def bulk_insert(session: AsyncSession, stmt: Any, columns: tuple[str, ...], records: list[tuple[Any, ...]],
                      *, table_insert: bool = True) -> None:
    """Execute a Core INSERT for many records (tuples in `columns` order) as driver-level executemany.

    SQLAlchemy's own executemany converts every value of every row through the column's type (dates to
    text on SQLite, JSON to text, times to UTC): per row and per column, which was most of the import's
    time. Here the same converters, taken from the compiled statement, run once per distinct value (a
    batch has a few hundred distinct dates and one timestamp). Every NOT NULL column must be given:
    Python-side column defaults are not applied.
    """
    if not records:
        return
    conn = await session.connection()
    dialect = conn.dialect
    kw: dict[str, Any] = {"column_keys": list(columns)} if table_insert else {}
    compiled = stmt.compile(dialect=dialect, for_executemany=True, **kw)
    names = list(compiled.positiontup or ())
    if not compiled.positional or sorted(names) != sorted(columns):  # a dialect we did not plan for
        await session.execute(stmt, [dict(zip(columns, r, strict=True)) for r in records])
        return
    order = [columns.index(n) for n in names]
    convert: list[tuple[int, Any, dict[Any, Any]]] = []  # (index in a record, converter, what it gave)
    for name in names:
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            convert.append((columns.index(name), processor, {None: None}))
    same_order = order == list(range(len(order)))
    step = BATCH
    for start in range(0, len(records), step):
        batch = records[start:start + step]
        if convert or not same_order:
            # Column by column: each converter sees each distinct value once, and `map` does the rest.
            cells = list(zip(*batch))
            for index, processor, seen in convert:
                column = cells[index]
                try:
                    for value in set(column).difference(seen):
                        seen[value] = processor(value)
                except TypeError:  # a value that cannot be remembered (a list for a JSON column)
                    cells[index] = [None if v is None else processor(v) for v in column]
                else:
                    cells[index] = list(map(seen.__getitem__, column))
            batch = list(zip(*(cells[i] for i in order)))
        await conn.exec_driver_sql(compiled.string, batch)
