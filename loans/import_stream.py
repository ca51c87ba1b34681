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
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import msgspec
from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from loans.excel import RowError, Sheet
from loans.import_db import (CO_COLS, STUDENT_COLS, co_borrower_record, insert_records, loan_records, lookup,
                             raise_counters, student_record)
from loans.import_reader import LENGTH, BlockFrame, EndFrame, Frame, ProblemFrame, Request, SheetFrame, sign
from loans import import_rules
from loans.import_rules import PolicyCheck, Progress, Row, cross_rules, no_rows, policy_rules, read_rows
from loans.models import Loan
from loans.policy import ContractTerms
from service.bulk import reserve_ids
from service.db import SQLITE_CACHE_KIB
from service.problems import Problem, get_problem_type
from service.registry.models import CoBorrower, Student

log = logging.getLogger("zizhu.import")
IMPORT_CACHE_KIB = 256 * 1024  # SQLite's page cache during a streamed import (_page_cache)
PROCESS_MIN_BYTES = 1_000_000  # smaller files (under ~8,000 rows) are read in the service: a process costs ~0.2 s


@dataclass
class Block:
    """Rows as read, with the errors of their cells and of the rules within a row; from the reader process also
    their check codes and their policy: limits and terms by row number (`plans`), and whether any row broke it."""

    rows: list[Row]
    errors: list[RowError]
    codes: list[str | None] | None = None
    plans: dict[int, tuple[tuple[int, int], ContractTerms]] | None = None
    over_limit: bool = False


class ReaderFailed(Exception):
    """The reader process could not be started or broke its protocol: read the file in the service instead."""


class ReaderProcess:
    """A running reader process for one file (loans.import_reader). Leaving the context ends it in any state."""

    command = (sys.executable, "-m", "loans.import_reader")

    def __init__(self, source: bytes | Path, secret: str, policy: PolicyCheck) -> None:
        self.source, self.secret, self.policy = source, secret, policy
        self._process: Any = None
        self._terms: list[ContractTerms] = []
        self._decoder = msgspec.msgpack.Decoder(Frame)  # type: ignore[arg-type]
        self.repeats: bool | None = None  # at the end: whether a rule across rows fails (None: not known)

    async def __aenter__(self) -> ReaderProcess:
        import asyncio

        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.command, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
            path = str(self.source) if isinstance(self.source, Path) else None
            frames = [msgspec.msgpack.encode(Request(self.secret, self.policy.rows, import_rules.BLOCK, path))]
            if path is None:
                frames.append(bytes(self.source))  # type: ignore[arg-type]
            for body in frames:
                self._process.stdin.write(LENGTH.pack(len(body)) + body)
            await self._process.stdin.drain()
            self._process.stdin.close()
        except (OSError, ConnectionResetError) as exc:
            await self.__aexit__()
            raise ReaderFailed(f"cannot start the reader process: {exc}") from exc
        return self

    async def __aexit__(self, *_: Any) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.returncode is None:
                process.kill()
            await process.wait()

    async def _next(self) -> Frame:
        import asyncio

        try:
            (size,) = LENGTH.unpack(await self._process.stdout.readexactly(LENGTH.size))
            return self._decoder.decode(await self._process.stdout.readexactly(size))
        except (asyncio.IncompleteReadError, msgspec.DecodeError) as exc:
            code = await self._process.wait()
            log.warning("import reader process ended with exit code %s; the service reads the file itself", code)
            raise ReaderFailed(f"the reader process ended with {code}") from exc

    async def sheet(self) -> Sheet:
        """The sheet's layout; the file's own Problem (not a workbook, wrong columns, ...) is raised here."""
        frame = await self._next()
        if isinstance(frame, ProblemFrame):
            kind = get_problem_type(frame.slug)
            if kind is None:
                raise ReaderFailed(f"unknown problem type {frame.slug!r}")
            raise Problem(kind, frame.detail_zh, frame.detail_en, field=frame.field, extra=frame.extra)
        if not isinstance(frame, SheetFrame):
            raise ReaderFailed("the reader process did not start with the sheet")
        return Sheet(frame.name, frame.header_row, frame.first_col, frame.columns, frame.total_rows, iter(()), [],
                     frame.report_col)

    async def blocks(self) -> AsyncIterator[Block]:
        while True:
            frame = await self._next()
            if isinstance(frame, EndFrame):
                self.repeats = frame.repeats
                return
            if not isinstance(frame, BlockFrame):
                raise ReaderFailed("unexpected frame from the reader process")
            terms = self._terms
            terms.extend(frame.terms)
            plans = {r.row: ((p[0], p[1]), terms[p[2]]) for r, p in zip(frame.rows, frame.plans) if p is not None}
            yield Block(frame.rows, [RowError(*e) for e in frame.errors], frame.codes, plans, frame.over_limit)


class InServiceReader:
    """The same interface over loans.import_rules.read_rows in a worker thread: one block, no check codes."""

    def __init__(self, source: bytes | Path) -> None:
        self.source = source
        self._read: tuple[Sheet, list[Row], list[RowError]] | None = None
        self.repeats: bool | None = None

    async def __aenter__(self) -> InServiceReader:
        return self

    async def __aexit__(self, *_: Any) -> None:
        self._read = None

    async def sheet(self) -> Sheet:
        self._read = await anyio.to_thread.run_sync(read_rows, self.source)
        return self._read[0]

    async def blocks(self) -> AsyncIterator[Block]:
        assert self._read is not None
        _, rows, errors = self._read
        size = import_rules.BLOCK
        for start in range(0, len(rows), size):  # the errors go with the first block: they stop the writing
            yield Block(rows[start:start + size], errors if start == 0 else [])


class StreamingWrite:
    """Checks each block against the database and writes it; `ok` turns false for good at the first finding."""

    def __init__(self, session: AsyncSession, sheet: Sheet, policy: PolicyCheck, user_id: int, secret: str,
                 now: datetime) -> None:
        self.session, self.sheet, self.policy = session, sheet, policy
        self.user_id, self.secret, self.now = user_id, secret, now
        self.ok = True
        self.plans: dict[int, Any] = {}
        self.student_id: dict[str, int] = {}  # every student met so far: ID number -> key
        self.student_name: dict[str, str] = {}  # of those already in the database: the name registered
        self.new_students: dict[str, list[Any]] = {}  # of those written here: [key, row written, latest row]
        self.co_id: dict[str, int] = {}
        self.co_name: dict[str, str] = {}
        self.new_cos: dict[str, list[Any]] = {}
        self.universities: set[str] = set()
        self.live: set[tuple[int, int]] = set()  # (student key, academic year) of the database's live loans
        self.numbers: list[str] = []
        self.imported = self.payouts = 0

    async def add(self, block: Block) -> None:
        if block.errors or block.over_limit:
            self.ok = False
        if not self.ok:
            return
        try:
            self.ok = await self._check(block.rows, block.plans)
            if self.ok:
                await self._write(block.rows, block.codes or sign(block.rows, self.secret))
        except IntegrityError:  # a concurrent write took a key: the whole-file way will say which
            self.ok = False

    async def _check(self, rows: list[Row], plans: dict[int, Any] | None) -> bool:
        if plans is None:
            found: list[RowError] = []
            plans = policy_rules(self.sheet, rows, self.policy, found)
            if found:
                return False
        self.plans.update(plans)
        session = self.session
        if await lookup(session, "taken", [r.contract_no for r in rows]):
            return False
        universities = {r.university_code for r in rows} - self.universities
        if universities:
            if len(await lookup(session, "universities", universities)) < len(universities):
                return False
            self.universities |= universities
        students = {r.id_number for r in rows} - self.student_id.keys()
        if students:
            known = await lookup(session, "students", students)
            for number, key, name in known:
                self.student_id[number], self.student_name[number] = key, name
            if known:
                self.live.update((key, year) for key, year, _ in
                                 await lookup(session, "live_loans", [key for _, key, _ in known]))
            if await lookup(session, "co_on_live", students):
                return False
        cos = {r.co_id_number for r in rows} - self.co_id.keys()
        if cos:
            for number, key, name in await lookup(session, "co_borrowers", cos):
                self.co_id[number], self.co_name[number] = key, name
            if await lookup(session, "borrowing", cos):
                return False
        student_name, co_name, live, student_id = self.student_name, self.co_name, self.live, self.student_id
        for r in rows:
            if student_name and student_name.get(r.id_number, r.name) != r.name:
                return False
            if co_name and co_name.get(r.co_id_number, r.co_name) != r.co_name:
                return False
            if live and (student_id.get(r.id_number), r.academic_year) in live:
                return False
        return True

    async def _write(self, rows: list[Row], codes: list[str | None]) -> None:
        session, now = self.session, self.now
        await self._people(rows, "id_number", self.student_id, self.new_students, Student, "students", student_record)
        await self._people(rows, "co_id_number", self.co_id, self.new_cos, CoBorrower, "co_borrowers",
                           co_borrower_record)
        loan_ids = await reserve_ids(session, Loan.__table__, len(rows))
        loans, payouts = loan_records(rows, loan_ids, self.plans, codes, self.student_id, self.co_id,  # type: ignore[arg-type]
                                      self.user_id, now)
        await insert_records(session, "loans", loans)
        await insert_records(session, "loan_payouts", payouts)
        self.numbers.extend(r.contract_no for r in rows)  # type: ignore[misc]
        self.imported += len(rows)
        self.payouts += len(payouts)

    async def _people(self, rows: list[Row], key: str, ids: dict[str, int], ours: dict[str, list[Any]],
                      model: Any, table: str, record: Any) -> None:
        """Insert the people first met in this block, with the facts of their latest row in it (as
        loans.imports._latest picks them); remember later rows of people written before, for `finish`."""
        first: dict[str, Row] = {}
        for r in rows:
            number = getattr(r, key)
            mine = ours.get(number)
            if mine is not None:
                if r.academic_year >= mine[2].academic_year:  # type: ignore[operator]
                    mine[2] = r
            elif number not in ids:
                seen = first.get(number)
                if seen is None or r.academic_year >= seen.academic_year:  # type: ignore[operator]
                    first[number] = r  # a dict keeps the first place of a key: people in order of first row
        if not first:
            return
        keys = await reserve_ids(self.session, model.__table__, len(first))
        await insert_records(self.session, table, [record(k, r, self.now) for k, r in zip(keys, first.values())])
        for k, (number, r) in zip(keys, first.items()):
            ids[number] = k
            ours[number] = [k, r, r]

    async def finish(self) -> None:
        """Bring people whose latest row came in a later block up to that row, and lift the contract counters."""
        for ours, table, columns, record in ((self.new_students, Student.__table__, STUDENT_COLS, student_record),
                                             (self.new_cos, CoBorrower.__table__, CO_COLS, co_borrower_record)):
            changed = []
            for key, written, latest in ours.values():
                if latest is not written and (fresh := record(key, latest, self.now)) != record(key, written, self.now):
                    changed.append({"b_key": key, **dict(zip(columns[1:], fresh[1:]))})
            if changed:
                # No .values(): the SET clause comes from the parameters' keys, as for any executemany UPDATE.
                await self.session.execute(update(table).where(table.c.id == bindparam("b_key")), changed)
        await raise_counters(self.session, self.numbers)


@dataclass
class Streamed:
    sheet: Sheet
    rows: list[Row]
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


async def _stream(session: AsyncSession, reader: Any, secret: str, user_id: int, policy: PolicyCheck,
                  now: datetime, progress: Progress | None) -> Streamed:
    connection = await session.connection()
    rows: list[Row] = []
    errors: list[RowError] = []
    async with reader, _savepoint(connection) as savepoint, _page_cache(connection):
        sheet = await reader.sheet()
        writer = StreamingWrite(session, sheet, policy, user_id, secret, now)
        if progress:
            progress("reading", 0, sheet.total_rows)
        async for block in reader.blocks():
            rows.extend(block.rows)
            errors.extend(block.errors)
            await writer.add(block)
            if progress:
                progress("reading", block.rows[-1].row, sheet.total_rows)
        if not rows:
            raise no_rows()
        if writer.ok:
            if progress:
                progress("checking", 0, len(rows))
            if reader.repeats is None:
                crossed: list[RowError] = []
                cross_rules(sheet, rows, crossed)
                writer.ok = not crossed
            else:
                writer.ok = not reader.repeats
        if writer.ok:
            await writer.finish()
            savepoint.keep = True
    return Streamed(sheet, rows, errors, writer if savepoint.keep else None)


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
