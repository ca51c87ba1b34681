"""Writing a contract import block by block while the rest of the file is still being read.

The whole-file way (loans.imports) reads and types every row, checks them all, then writes: on a 100,000-row file
the database's seconds come after the reading's, one core idle all the while. Here the rows come from a reader
process (ReaderProcess, loans.import_reader) a block at a time, and each block is checked against the database and
inserted at once, inside a savepoint, while the reader types the next one on the other core. What can only be
known at the end (the rules across rows) is checked at the end.

It is a guess that the file is clean, and it is checked: any error in a block, any rule against the database that
fails, any rule across rows that fails, and the savepoint is rolled back; the caller then runs the whole-file way
on the rows already read, which finds and reports the errors exactly (nothing is read twice). When the guess holds,
the rows written are the ones the whole-file way writes, with the same keys in the same order
(tests/integration/test_loan_import_stream.py compares the two).

Why every finding of the checks here means a real error: they look at the database as it is plus what this import
has written so far, so they find everything the whole-file checks find, and besides only what this import wrote
itself: a contract number, a student or co-borrower repeated in the file, which the rules across rows report.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from loans.excel import RowError, Sheet
from loans.import_db import (CO_COLS, INSERTS, LOOKUP_TABLES, STUDENT_COLS, co_borrower_record, highest_numbers,
                             insert_records, loan_columns, lookup, raise_counters, sqlite_lookup, student_record)
from loans.import_reader import sign
from loans.import_sources import Block, InServiceReader, KeptFrames, ReaderFailed, ReaderProcess
from loans.import_rules import PolicyCheck, Progress, Row, cross_rules, no_rows, policy_rules, read_rows
from loans.models import Loan
from service.bulk import column_statements, insert_statements, reserve_ids
from service.db import SQLITE_CACHE_KIB
from service.registry.models import CoBorrower, Student
from service.sqlite_checkpoint import defer_checkpoint
from service.sqlite_pipeline import SqlitePipeline

IMPORT_CACHE_KIB = 256 * 1024  # SQLite's page cache during a streamed import (_page_cache)
PROCESS_MIN_BYTES = 1_000_000  # smaller files (under ~8,000 rows) are read in the service: a process costs ~0.2 s


class StreamingWrite:
    """Checks each block against the database and writes it; `ok` turns false for good at the first finding."""

    def __init__(self, session: AsyncSession, sheet: Sheet, policy: PolicyCheck, user_id: int, secret: str,
                 now: datetime) -> None:
        self.session, self.sheet, self.policy = session, sheet, policy
        self.user_id, self.secret, self.now = user_id, secret, now
        self.ok = True
        self.student_id: dict[str, int] = {}  # every student met so far: ID number -> key
        self.student_name: dict[str, str] = {}  # of those already in the database: the name registered
        # of those written here: [key, hash of the record written, academic year of their latest row, its record
        # if it differs from the one written, else None]
        self.new_students: dict[str, list[Any]] = {}
        self.co_id: dict[str, int] = {}
        self.co_name: dict[str, str] = {}
        self.new_cos: dict[str, list[Any]] = {}
        self.universities: set[str] = set()
        self.live: set[tuple[int, int]] = set()  # (student key, academic year) of the database's live loans
        self.highest: dict[str, str] = {}  # the highest contract number written, by county and year
        self.imported = self.payouts = 0
        self.pipeline: SqlitePipeline | None = None  # SQLite: inserts queued beside the event loop (start)

    async def start(self) -> None:
        connection = await self.session.connection()
        self.pipeline = await SqlitePipeline.open(
            connection, [Student.__table__, CoBorrower.__table__, Loan.__table__])

    async def stop(self) -> None:
        """Wait for the queued inserts (errors mean the guess failed) and let go of the side reader."""
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            try:
                await pipeline.drain()
            except (IntegrityError, sqlite3.IntegrityError):
                self.ok = False
            finally:
                pipeline.close()

    async def _lookup(self, name: str, keys: Any) -> list[Any]:
        if self.pipeline is None:
            return await lookup(self.session, name, keys)
        if LOOKUP_TABLES[name] & self.pipeline.empty:  # a first import into an empty database, say
            return []
        query = sqlite_lookup(self.session.bind.dialect, name, keys)  # type: ignore[union-attr]
        return self.pipeline.read(*query) if query else []

    async def _ids(self, model: Any, count: int) -> list[int]:
        if self.pipeline is None:
            return await reserve_ids(self.session, model.__table__, count)
        return self.pipeline.take_ids(model.__table__, count)

    async def _insert(self, table: str, records: list[tuple[Any, ...]] | None = None,
                      columns: list[list[Any]] | None = None) -> None:
        """Records, or the same column by column (`columns`), into the table."""
        if self.pipeline is None:
            await insert_records(self.session, table, records, by_column=columns)
            return
        statement, names = INSERTS[table]
        dialect = self.session.bind.dialect  # type: ignore[union-attr]
        statements = (insert_statements(dialect, statement, names, records or []) if columns is None
                      else column_statements(dialect, statement, names, columns))
        assert statements is not None  # planned for SQLite
        if statements:
            await self.pipeline.send(statements)

    async def add(self, block: Block) -> None:
        if block.errors or block.over_limit:
            self.ok = False
        if not self.ok:
            return
        try:
            plans = await self._check(block.rows, block.plans)
            self.ok = plans is not None
            if plans is not None:
                await self._write(block.rows, plans, block.codes or sign(block.rows, self.secret))
        except (IntegrityError, sqlite3.IntegrityError):  # a concurrent write took a key: the whole-file way says
            self.ok = False

    async def _check(self, rows: list[Row], plans: dict[int, Any] | None) -> dict[int, Any] | None:
        """The rows' plans (limits and terms) when the block passes, None at the first finding."""
        if plans is None:
            found: list[RowError] = []
            plans = policy_rules(self.sheet, rows, self.policy, found)
            if found:
                return None
        if await self._lookup("taken", [r.contract_no for r in rows]):
            return None
        universities = {r.university_code for r in rows} - self.universities
        if universities:
            if len(await self._lookup("universities", universities)) < len(universities):
                return None
            self.universities |= universities
        students = {r.id_number for r in rows} - self.student_id.keys()
        if students:
            known = await self._lookup("students", students)
            for number, key, name in known:
                self.student_id[number], self.student_name[number] = key, name
            if known:
                self.live.update((key, year) for key, year, _ in
                                 await self._lookup("live_loans", [key for _, key, _ in known]))
            if await self._lookup("co_on_live", students):
                return None
        cos = {r.co_id_number for r in rows} - self.co_id.keys()
        if cos:
            for number, key, name in await self._lookup("co_borrowers", cos):
                self.co_id[number], self.co_name[number] = key, name
            if await self._lookup("borrowing", cos):
                return None
        student_name, co_name, live, student_id = self.student_name, self.co_name, self.live, self.student_id
        for r in rows:
            if student_name and student_name.get(r.id_number, r.name) != r.name:
                return None
            if co_name and co_name.get(r.co_id_number, r.co_name) != r.co_name:
                return None
            if live and (student_id.get(r.id_number), r.academic_year) in live:
                return None
        return plans

    async def _write(self, rows: list[Row], plans: dict[int, Any], codes: list[str | None]) -> None:
        await self._people(rows, "id_number", self.student_id, self.new_students, Student, "students", student_record)
        await self._people(rows, "co_id_number", self.co_id, self.new_cos, CoBorrower, "co_borrowers",
                           co_borrower_record)
        loan_ids = await self._ids(Loan, len(rows))
        loans, payouts = loan_columns(rows, loan_ids, plans, codes,  # type: ignore[arg-type]
                                      self.student_id, self.co_id, self.user_id, self.now)
        await self._insert("loans", columns=loans)
        await self._insert("loan_payouts", columns=payouts)
        highest_numbers([r.contract_no for r in rows], self.highest)  # type: ignore[misc]
        self.imported += len(rows)
        self.payouts += len(payouts[0])

    async def _people(self, rows: list[Row], key: str, ids: dict[str, int], ours: dict[str, list[Any]],
                      model: Any, table: str, record: Any) -> None:
        """Insert the people first met in this block, with the facts of their latest row in it (as
        loans.imports._latest picks them); remember later rows of people written before, for `finish`."""
        first: dict[str, Row] = {}
        for r in rows:
            number = getattr(r, key)
            mine = ours.get(number)
            if mine is not None:
                if r.academic_year >= mine[2]:  # type: ignore[operator]
                    latest = record(mine[0], r, self.now)
                    mine[2:] = r.academic_year, None if hash(latest) == mine[1] else latest
            elif number not in ids:
                seen = first.get(number)
                if seen is None or r.academic_year >= seen.academic_year:  # type: ignore[operator]
                    first[number] = r  # a dict keeps the first place of a key: people in order of first row
        if not first:
            return
        keys = await self._ids(model, len(first))
        records = [record(k, r, self.now) for k, r in zip(keys, first.values())]
        await self._insert(table, records)
        # Of each person written, the record's hash is kept, not the record: tens of thousands of them added up to a
        # tenth of the import's memory. A later row whose record hashes the same is taken for the same (that two
        # different records hash alike is a chance of one in 2^64).
        for k, (number, r), written in zip(keys, first.items(), records):
            ids[number] = k
            ours[number] = [k, hash(written), r.academic_year, None]

    async def finish(self) -> None:
        """Bring people whose latest row came in a later block up to that row, and lift the contract counters."""
        for ours, table, columns in ((self.new_students, Student.__table__, STUDENT_COLS),
                                     (self.new_cos, CoBorrower.__table__, CO_COLS)):
            changed = []
            for key, _, _, latest in ours.values():
                if latest is not None:
                    changed.append({"b_key": key, **dict(zip(columns[1:], latest[1:]))})
            if changed:
                # No .values(): the SET clause comes from the parameters' keys, as for any executemany UPDATE.
                await self.session.execute(update(table).where(table.c.id == bindparam("b_key")), changed)
        await raise_counters(self.session, self.highest)


@dataclass
class Streamed:
    sheet: Sheet
    rows: list[Row]  # all of them when nothing stays written (else perhaps none: not kept)
    count: int
    errors: list[RowError]
    written: StreamingWrite | None  # None: nothing stays written, the caller checks the whole file


async def stream_import(session: AsyncSession, source: bytes | Path, *, secret: str, user_id: int,
                        policy: PolicyCheck, now: datetime, progress: Progress | None = None) -> Streamed:
    """Read the file and write it as it comes (see the module); the rows and their errors in any case."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size >= PROCESS_MIN_BYTES:
        try:
            return await _stream(session, ReaderProcess(source, secret, policy), secret, user_id, policy, now,
                                 progress)
        except ReaderFailed:
            pass  # logged; the savepoint is rolled back
    return await _stream(session, InServiceReader(source), secret, user_id, policy, now, progress)


async def read_all(source: bytes | Path, *, secret: str, policy: PolicyCheck,
                   progress: Progress | None = None) -> tuple[Sheet, list[Row], list[RowError]]:
    """Every row and its errors, as import_rules.read_rows gives them, read by the reader process (in chunks, for
    a large sheet: loans.import_chunked) while the service waits; for the imports that check the whole file before
    they write (PostgreSQL, a dry run, the valid rows only). A small file, or a reader that fails: read_rows."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    if size >= PROCESS_MIN_BYTES:
        rows: list[Row] = []
        errors: list[RowError] = []
        try:
            async with ReaderProcess(source, secret, policy) as reader:
                sheet = await reader.sheet()
                if progress:
                    progress("reading", 0, sheet.total_rows)
                async for block in reader.blocks():
                    rows.extend(block.rows)
                    errors.extend(block.errors)
                    if progress:
                        progress("reading", block.rows[-1].row, sheet.total_rows)
            if not rows:
                raise no_rows()
            return sheet, rows, errors
        except ReaderFailed:
            pass  # logged
    return await anyio.to_thread.run_sync(read_rows, source, progress)


async def _stream(session: AsyncSession, reader: Any, secret: str, user_id: int, policy: PolicyCheck,
                  now: datetime, progress: Progress | None) -> Streamed:
    connection = await session.connection()
    rows: list[Row] = []  # as read, or
    frames = KeptFrames()  # or as they came from the reader process
    errors: list[RowError] = []
    count = 0
    try:
        async with reader, _savepoint(connection) as savepoint, _page_cache(connection):
            sheet = await reader.sheet()
            writer = StreamingWrite(session, sheet, policy, user_id, secret, now)
            if progress:
                progress("reading", 0, sheet.total_rows)
            await writer.start()
            try:
                async for block in reader.blocks():
                    count += len(block.rows)
                    if block.frame is None:
                        rows.extend(block.rows)
                    else:
                        frames.add(block.frame)
                    errors.extend(block.errors)
                    await writer.add(block)
                    if progress:
                        progress("reading", block.rows[-1].row, sheet.total_rows)
            finally:
                await writer.stop()  # every queued insert done before the savepoint is kept or rolled back
            if not count:
                raise no_rows()
            if writer.ok:
                if progress:
                    progress("checking", 0, count)
                if reader.repeats is None:
                    crossed: list[RowError] = []
                    cross_rules(sheet, rows, crossed)
                    writer.ok = not crossed
                else:
                    writer.ok = not reader.repeats
            if writer.ok:
                await writer.finish()
                savepoint.keep = True
        if savepoint.keep:
            return Streamed(sheet, rows, count, errors, writer)
        return Streamed(sheet, rows or frames.rows(), count, errors, None)
    finally:
        frames.close()


@contextlib.asynccontextmanager
async def _page_cache(connection: Any) -> AsyncIterator[None]:
    """SQLite: a page cache big enough for what a large import changes, for as long as it runs.

    With the usual 64 MB (service.db), a 100,000-row import (about 70 MB of pages) spills changed pages to the
    write-ahead log before it commits and reads some back: a tenth of its time. The cache grows only as pages are
    used, and goes back to the usual size when the import ends (the connection returns to the pool)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    await connection.exec_driver_sql(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")
    await defer_checkpoint(connection)  # ~70 MB of log to copy: after the commit, not before it returns
    try:
        yield
    finally:
        await connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


class _Savepoint:
    keep = False


@contextlib.asynccontextmanager
async def _savepoint(connection: Any) -> AsyncIterator[_Savepoint]:
    """A savepoint released if `keep` is set by the end of the block, rolled back otherwise (errors too).

    Raw SAVEPOINT statements rather than AsyncSession.begin_nested(): only Core inserts happen inside, and the
    session's own objects are not involved."""
    state = _Savepoint()
    await connection.exec_driver_sql("SAVEPOINT loan_import")
    try:
        yield state
    finally:
        if not state.keep:
            await connection.exec_driver_sql("ROLLBACK TO SAVEPOINT loan_import")
        await connection.exec_driver_sql("RELEASE SAVEPOINT loan_import")
