"""Importing the centre's contract spreadsheet: the rules against the database, and the write.

Two ways to the same result. On SQLite the file is written as it is read (loans.import_stream): a reader process
types it a block at a time and each block is checked against the database and inserted, inside a savepoint, on
the guess that the file is clean. When the guess fails, for a dry run or `valid_only`, and on PostgreSQL, the
whole-file way here takes the rows read: every rule runs over the whole file and reports every row it finds
wrong, and nothing is written unless all rows pass (or `valid_only` asks for the good ones). Either way the
write is one transaction of chunked Core inserts: no ORM object and no audit record per row, one audit record
for the batch.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from loans.applications import policy_rows
from loans.check_code import check_code
from loans.excel import FIELDS, RowError, Sheet
from loans.import_db import co_borrower_record, insert_records, loan_columns, lookup, raise_counters, student_record
from loans.import_rules import PolicyCheck, Progress, Row, cross_rules, policy_rules
from loans.import_stream import read_all, stream_import
from service.sqlite_checkpoint import defer_checkpoint
from loans.models import Loan
from loans.policy import ContractTerms
from service import audit
from service.bulk import reserve_ids
from service.db import utcnow
from service.registry.models import CoBorrower, Student

WRITE_BATCH = 10_000  # loans inserted together


@dataclass
class ImportResult:
    file: str
    digest: str
    rows: int = 0
    valid: int = 0
    invalid: int = 0
    imported: int = 0
    students_created: int = 0
    co_borrowers_created: int = 0
    payouts: int = 0
    dry_run: bool = False
    valid_only: bool = False
    errors: list[RowError] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        """Invalid rows kept the whole file out (nothing written)."""
        return self.invalid > 0 and (not self.valid_only or self.valid == 0)

    def summary(self, max_errors: int | None = None) -> dict[str, Any]:
        shown = self.errors if max_errors is None else self.errors[:max_errors]
        return {"file": self.file, "rows": self.rows, "valid": self.valid, "invalid": self.invalid,
                "imported": self.imported, "students_created": self.students_created,
                "co_borrowers_created": self.co_borrowers_created, "payouts": self.payouts,
                "dry_run": self.dry_run, "valid_only": self.valid_only, "errors_total": len(self.errors),
                "errors": [e.as_dict() for e in shown]}


def file_digest(source: bytes | Path) -> str:
    h = hashlib.sha256()
    if isinstance(source, bytes):
        h.update(source)
    else:
        with Path(source).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


@dataclass
class Known:
    """What the database already holds for the file's keys."""

    students: dict[str, tuple[int, str]] = field(default_factory=dict)  # id number -> (id, name)
    co_borrowers: dict[str, tuple[int, str]] = field(default_factory=dict)


async def db_rules(session: AsyncSession, sheet: Sheet, rows: list[Row], errors: list[RowError]) -> Known:
    """The rules against the database, as a few IN queries per thousand keys (never one per row)."""
    numbers = {r.contract_no for r in rows} - {None}
    student_ids = {r.id_number for r in rows} - {None}
    co_ids = {r.co_id_number for r in rows} - {None}
    known = Known({n: (i, name) for n, i, name in await lookup(session, "students", student_ids)},
                  {n: (i, name) for n, i, name in await lookup(session, "co_borrowers", co_ids)})
    taken = {n for n, in await lookup(session, "taken", numbers)}
    registered = {c for c, in await lookup(session, "universities", {r.university_code for r in rows} - {None})}
    live = {(sid, year): number or "未签合同" for sid, year, number in
            await lookup(session, "live_loans", (sid for sid, _ in known.students.values()))}
    students_who_co = {n for n, in await lookup(session, "co_on_live", student_ids)}
    co_who_borrow = {n for n, in await lookup(session, "borrowing", co_ids)}

    def err(r: Row, name: str, zh: str, en: str) -> None:
        errors.append(sheet.error(r.row, name, zh, en))

    for r in rows:
        if r.contract_no in taken:
            err(r, "contract_no", f"合同编号 {r.contract_no} 已存在于系统中", f"Contract {r.contract_no} exists already")
        if r.university_code and r.university_code not in registered:
            err(r, "university_code", f"院校代码 {r.university_code} 未登记，请先登记院校",
                f"University {r.university_code} is not registered")
        student = known.students.get(r.id_number) if r.id_number else None
        if student and r.name and student[1] != r.name:
            err(r, "name", f"该身份证号已登记为学生“{student[1]}”，与“{r.name}”不一致",
                "The ID number is registered under another name")
        if student and r.academic_year and (student[0], r.academic_year) in live:
            err(r, "academic_year", f"该生 {r.academic_year} 学年已有贷款（{live[(student[0], r.academic_year)]}）",
                f"The student has a loan for {r.academic_year} already")
        if r.id_number in students_who_co:
            err(r, "id_number", "该学生是系统中他人贷款的共同借款人，不能再作为借款人",
                "The student is a co-borrower of another loan")
        co = known.co_borrowers.get(r.co_id_number) if r.co_id_number else None
        if co and r.co_name and co[1] != r.co_name:
            err(r, "co_name", f"该身份证号已登记为共同借款人“{co[1]}”，与“{r.co_name}”不一致",
                "The co-borrower's ID number is registered under another name")
        if r.co_id_number in co_who_borrow:
            err(r, "co_id_number", "共同借款人本人在系统中有助学贷款，不能担任共同借款人",
                "The co-borrower is a borrower in the system")
    return known


def _latest(rows: list[Row], key: str) -> dict[str, Row]:
    """Per person, the row of the latest academic year: the freshest facts about them."""
    out: dict[str, Row] = {}
    for r in rows:
        k = getattr(r, key)
        prev = out.get(k)
        if prev is None or (r.academic_year or 0) >= (prev.academic_year or 0):
            out[k] = r
    return out


async def write(session: AsyncSession, rows: list[Row], plans: dict[int, tuple[tuple[int, int], ContractTerms]],
                known: Known, user_id: int, secret: str, result: ImportResult,
                progress: Progress | None = None) -> None:
    now = utcnow()
    total = len(rows)
    if total >= 1000:
        await defer_checkpoint(await session.connection())  # SQLite: the log copied after the commit
    # Keys are taken up front (service.bulk.reserve_ids), so that no row has to be read back for its id.
    new_students = [r for number, r in _latest(rows, "id_number").items() if number not in known.students]
    new_ids = await reserve_ids(session, Student.__table__, len(new_students))
    await insert_records(session, "students", [student_record(sid, r, now) for sid, r in zip(new_ids, new_students)])
    student_id = {number: sid for number, (sid, _) in known.students.items()}
    student_id.update(zip((r.id_number for r in new_students), new_ids))
    new_cos = [r for number, r in _latest(rows, "co_id_number").items() if number not in known.co_borrowers]
    new_ids = await reserve_ids(session, CoBorrower.__table__, len(new_cos))
    await insert_records(session, "co_borrowers", [co_borrower_record(cid, r, now) for cid, r in zip(new_ids, new_cos)])
    co_id = {number: cid for number, (cid, _) in known.co_borrowers.items()}
    co_id.update(zip((r.co_id_number for r in new_cos), new_ids))
    result.students_created, result.co_borrowers_created = len(new_students), len(new_cos)
    if progress:
        progress("writing", 0, total)
    step = WRITE_BATCH
    for start in range(0, total, step):
        batch = rows[start:start + step]
        loan_ids = await reserve_ids(session, Loan.__table__, len(batch))
        codes = [check_code(secret, r.contract_no, r.id_number, r.principal, r.signed_on) for r in batch]
        loans, payouts = loan_columns(batch, loan_ids, plans, codes, student_id, co_id, user_id, now)
        await insert_records(session, "loans", by_column=loans)
        await insert_records(session, "loan_payouts", by_column=payouts)
        result.imported += len(batch)
        result.payouts += len(payouts[0])
        if progress:
            progress("writing", result.imported, total)
    await raise_counters(session, [r.contract_no for r in rows])


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while an import builds its rows.

    An import keeps a few hundred thousand objects alive (typed rows, the records to insert), and every
    time their number grew by a quarter the collector walked all of them again: ~2 s of a 100,000-row
    import went on full collections that found nothing (none of these objects form cycles). Reference
    counting still frees everything as usual; only cycles wait, and only until the import ends. The
    switch is process-wide, so it is put back as it was found (another import may have it off).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def import_contracts(session: AsyncSession, source: bytes | Path, *, filename: str, user_id: int,
                           actor: str, secret: str, valid_only: bool = False, dry_run: bool = False,
                           progress: Progress | None = None) -> ImportResult:
    """Check a contract spreadsheet and, when it passes (or `valid_only`), write it in the caller's
    transaction. File-level problems (not a workbook, wrong columns, no rows) raise Problem."""
    with _cyclic_gc_paused():
        result = ImportResult(file=filename, digest=file_digest(source), dry_run=dry_run, valid_only=valid_only)
        policy = PolicyCheck(await policy_rows(session))
        # Streamed on SQLite only. On PostgreSQL the inserts run in the server's own process already, and checks
        # made block by block after rows this transaction inserted plan badly (those rows have no statistics yet):
        # 27 s instead of 17 for 100,000 rows.
        if dry_run or valid_only or session.bind is None or session.bind.dialect.name != "sqlite":
            # Typing 100,000 rows takes seconds: off the event loop (by the reader process, or a thread), before any
            # database work.
            sheet, rows, errors = await read_all(source, secret=secret, policy=policy, progress=progress)
        else:
            # Written as it is read, on the guess that the file is clean; what is read is kept either way.
            streamed = await stream_import(session, source, secret=secret, user_id=user_id, policy=policy,
                                           now=utcnow(), progress=progress)
            sheet, rows, errors = streamed.sheet, streamed.rows, streamed.errors
            if streamed.written is not None:
                written = streamed.written
                result.rows = result.valid = result.imported = streamed.count
                result.students_created, result.co_borrowers_created = len(written.new_students), len(written.new_cos)
                result.payouts = written.payouts
                await _audit(session, actor, filename, result)
                return result
        if progress:
            progress("checking", 0, len(rows))
        plans = policy_rules(sheet, rows, policy, errors)
        cross_rules(sheet, rows, errors)
        known = await db_rules(session, sheet, rows, errors)
        order = {f: i for i, f in enumerate(FIELDS)}
        result.errors = sorted(set(errors), key=lambda e: (e.row, order[e.field], e.message_zh))
        bad = {e.row for e in result.errors}
        good = [r for r in rows if r.row not in bad]
        result.rows, result.valid, result.invalid = len(rows), len(good), len(rows) - len(good)
        if progress:
            progress("checking", len(rows), len(rows))
        if result.stopped or dry_run or not good:
            return result
        await write(session, good, plans, known, user_id, secret, result, progress)
        await _audit(session, actor, filename, result)
        return result


async def _audit(session: AsyncSession, actor: str, filename: str, result: ImportResult) -> None:
    await audit.record(session, actor, "import", "loan_import", result.digest, None, {
        "rows": result.rows, "imported": result.imported, "students_created": result.students_created,
        "co_borrowers_created": result.co_borrowers_created, "payouts": result.payouts,
        "skipped": result.invalid, "file": filename})
