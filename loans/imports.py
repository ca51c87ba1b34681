"""Importing the centre's contract spreadsheet: the rules against the database, then one set-based write.

The file is read, typed and checked within itself first (loans.import_rules), without touching the
database, so that a SQLite write lock is not held while cells are parsed. Every rule runs over the whole
file and reports every row it finds wrong; nothing is written unless all rows pass (or `valid_only` asks
for the good ones). The write is one transaction of chunked Core inserts: no ORM object and no audit
record per row, one audit record for the batch.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import re
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from loans.applications import policy_rows
from loans.contracts import check_code
from loans.excel import FIELDS, RowError, Sheet
from loans.import_rules import PolicyCheck, Progress, Row, cross_rules, policy_rules, read_rows
from loans.lifecycle import LIVE, LoanStatus
from loans.models import ContractCounter, Loan, LoanPayout
from loans.policy import ContractTerms
from service import audit
from service.bulk import bulk_insert, reserve_ids
from service.db import utcnow
from service.registry.models import CoBorrower, Student, University

CHUNK = 1000  # the longest IN list and the insert batch
_LIVE_VALUES = [s.value for s in LIVE]
_OUR_NUMBER = re.compile(r"[0-9]{6}-[0-9]{4}-[0-9]{6}")  # loans.contracts.contract_number's format


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


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(values))
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _keys(column: Any) -> Any:
    # One statement per lookup, its IN list a single expanding parameter: building `column.in_(chunk)`
    # anew coerced each of the thousand values every time. (Tried on PostgreSQL: `= ANY($1)` with one
    # array parameter plans faster on an empty table, but rows inserted earlier in this transaction
    # have no statistics yet, the planner scans, and a parameter array is searched linearly row by
    # row: 90 s instead of 2. A literal IN list is hashed.)
    return column.in_(bindparam("keys", expanding=True))


_LIVE = Loan.status.in_(_LIVE_VALUES)
_QUERIES: dict[str, Any] = {
    "taken": select(Loan.contract_no).where(_keys(Loan.contract_no)),
    "universities": select(University.code).where(_keys(University.code)),
    "students": select(Student.id_number, Student.id, Student.name).where(_keys(Student.id_number)),
    "co_borrowers": select(CoBorrower.id_number, CoBorrower.id, CoBorrower.name).where(_keys(CoBorrower.id_number)),
    "live_loans": select(Loan.student_id, Loan.academic_year, Loan.contract_no).where(_keys(Loan.student_id), _LIVE),
    "co_on_live": select(CoBorrower.id_number).join(Loan, Loan.co_borrower_id == CoBorrower.id)
                  .where(_keys(CoBorrower.id_number), _LIVE),
    "borrowing": select(Student.id_number).join(Loan, Loan.student_id == Student.id)
                 .where(_keys(Student.id_number), _LIVE),
}


# Per dialect, per lookup and IN-list length: the statement as the driver takes it, and its parameters.
_PLANS: weakref.WeakKeyDictionary[Any, dict[tuple[str, int], Any]] = weakref.WeakKeyDictionary()


def _plan(dialect: Any, name: str, size: int) -> tuple[str, list[Any], int] | None:
    """The named lookup for `size` keys, rendered once: (SQL, its parameters, where the keys go among
    them). None, for the ordinary path, when a parameter needs converting (none here does, on SQLite
    or asyncpg) or the dialect's parameters are not positional."""
    plans = _PLANS.setdefault(dialect, {})
    if (name, size) not in plans:
        compiled, plan = _QUERIES[name].compile(dialect=dialect), None
        if compiled.positional:
            state = compiled.construct_expanded_state({"keys": [None] * size})
            names, keys = list(state.positiontup or ()), state.parameter_expansion["keys"]
            start = names.index(keys[0])
            if names[start:start + size] == keys and not state.processors:
                plan = (state.statement, [state.parameters[n] for n in names], start)
        plans[(name, size)] = plan
    return plans[(name, size)]


async def lookup(session: AsyncSession, name: str, keys: Iterable[Any]) -> list[Any]:
    """Rows of the named lookup for all keys, a thousand keys per query.

    Executed at the driver level with a statement rendered once per IN-list length: rendering the
    thousand expanded parameters on every execution was most of a lookup's time (~2 ms of ~2.5).
    """
    conn = await session.connection()
    found: list[Any] = []
    for chunk in _chunks(keys):
        plan = _plan(conn.dialect, name, len(chunk))
        if plan is None:
            found.extend(await session.execute(_QUERIES[name], {"keys": chunk}))
        else:
            sql, values, start = plan
            params = (*values[:start], *chunk, *values[start + len(chunk):])
            found.extend((await conn.exec_driver_sql(sql, params)).all())
    return found


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


_STUDENT_COLS = ("id", "name", "id_number", "phone", "address", "household_province", "household_county", "categories",
                 "university_code", "level", "study_years", "enrolled_on", "expected_graduation", "version",
                 "created_at", "updated_at")
_CO_COLS = ("id", "name", "id_number", "phone", "created_at", "updated_at")
_LOAN_COLS = ("id", "student_id", "academic_year", "amount", "co_borrower_id", "co_borrower_relationship", "status",
              "prepared_by", "decided_by", "decided_at", "reason", "limit_policy_ids", "contract_no", "signed_on",
              "rate", "lpr", "spread_bp", "term_years", "maturity_date", "grace_years", "subsidy_end",
              "graduation_year", "contract_policy_ids", "check_code", "receipt_amount", "receipt_by", "receipt_at",
              "disbursed_on", "imported", "version", "created_at", "updated_at")
_PAYOUT_COLS = ("loan_id", "payee", "payee_ref", "amount", "paid_on", "created_at")


async def write(session: AsyncSession, rows: list[Row], plans: dict[int, tuple[tuple[int, int], ContractTerms]],
                known: Known, user_id: int, secret: str, result: ImportResult,
                progress: Progress | None = None) -> None:
    now = utcnow()
    total = len(rows)
    # Keys are taken up front (service.bulk.reserve_ids), so that no row has to be read back for its id.
    new_students = [r for number, r in _latest(rows, "id_number").items() if number not in known.students]
    new_ids = await reserve_ids(session, Student.__table__, len(new_students))
    await bulk_insert(session, insert(Student.__table__), _STUDENT_COLS, [(
        sid, r.name, r.id_number, r.phone, None, r.household_province, r.household_county, r.categories or (),
        r.university_code, r.level, r.study_years, r.enrolled_on, r.expected_graduation, 1, now, now)
        for sid, r in zip(new_ids, new_students)])
    student_id = {number: sid for number, (sid, _) in known.students.items()}
    student_id.update(zip((r.id_number for r in new_students), new_ids))
    new_cos = [r for number, r in _latest(rows, "co_id_number").items() if number not in known.co_borrowers]
    new_ids = await reserve_ids(session, CoBorrower.__table__, len(new_cos))
    await bulk_insert(session, insert(CoBorrower.__table__), _CO_COLS,
                      [(cid, r.co_name, r.co_id_number, r.co_phone, now, now) for cid, r in zip(new_ids, new_cos)])
    co_id = {number: cid for number, (cid, _) in known.co_borrowers.items()}
    co_id.update(zip((r.co_id_number for r in new_cos), new_ids))
    result.students_created, result.co_borrowers_created = len(new_students), len(new_cos)
    if progress:
        progress("writing", 0, total)

    statuses = (LoanStatus.CONTRACTED.value, LoanStatus.RECEIPT_CONFIRMED.value, LoanStatus.IN_SCHOOL.value)
    step = CHUNK * 10
    for start in range(0, total, step):
        batch = rows[start:start + step]
        loans, payouts = [], []
        loan_ids = await reserve_ids(session, Loan.__table__, len(batch))
        for loan_id, r in zip(loan_ids, batch):  # a row that passed every rule has all its required fields
            limit_ids, t = plans[r.row]
            receipt = r.receipt_amount is not None
            number, principal = r.contract_no, r.principal
            loans.append((
                loan_id, student_id[r.id_number], r.academic_year, principal, co_id[r.co_id_number], r.relationship,
                statuses[2 if r.disbursed_on else 1 if receipt else 0], user_id, user_id, now, None, limit_ids,
                number, r.signed_on, t.rate, t.lpr, t.spread_bp, t.term_years, t.maturity_date, t.grace_years,
                t.subsidy_end, r.expected_graduation.year, t.policy_ids,
                check_code(secret, number, r.id_number, principal, r.signed_on),
                r.receipt_amount, user_id if receipt else None, now if receipt else None, r.disbursed_on, True, 1,
                now, now))
            if r.disbursed_on is not None:
                # The university is paid the tuition and accommodation of its receipt, the student the rest.
                to_university = r.receipt_amount or 0
                if to_university:
                    payouts.append((loan_id, "university", r.university_code, to_university, r.disbursed_on, now))
                to_student = principal - to_university
                if to_student:
                    payouts.append((loan_id, "student", str(student_id[r.id_number]), to_student, r.disbursed_on, now))
        await bulk_insert(session, insert(Loan.__table__), _LOAN_COLS, loans)
        await bulk_insert(session, insert(LoanPayout.__table__), _PAYOUT_COLS, payouts)
        result.imported += len(batch)
        result.payouts += len(payouts)
        if progress:
            progress("writing", result.imported, total)
    await _raise_counters(session, [r.contract_no for r in rows])


async def _raise_counters(session: AsyncSession, numbers: list[str]) -> None:
    """New contracts must never reuse an imported number: lift each counter to the highest imported one."""
    highest: dict[str, str] = {}  # "county-year" -> the highest of our numbers (zero-padded: text order works)
    for number in filter(_OUR_NUMBER.fullmatch, numbers):
        if number > highest.get(number[:11], ""):
            highest[number[:11]] = number
    for county, year, seq in sorted((n[:6], int(n[7:11]), int(n[12:])) for n in highest.values()):
        where = (ContractCounter.county == county, ContractCounter.year == year)
        current = await session.scalar(select(ContractCounter.last_seq).where(*where))
        if current is None:
            await session.execute(insert(ContractCounter.__table__).values(county=county, year=year, last_seq=seq))
        elif current < seq:
            await session.execute(update(ContractCounter).where(*where).values(last_seq=seq))


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
        # Typing 100,000 rows takes seconds: off the event loop, before any database work.
        sheet, rows, errors = await anyio.to_thread.run_sync(read_rows, source, progress)
        if progress:
            progress("checking", 0, len(rows))
        plans = policy_rules(sheet, rows, PolicyCheck(await policy_rows(session)), errors)
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
        await audit.record(session, actor, "import", "loan_import", result.digest, None, {
            "rows": result.rows, "imported": result.imported, "students_created": result.students_created,
            "co_borrowers_created": result.co_borrowers_created, "payouts": result.payouts,
            "skipped": result.invalid, "file": filename})
        return result
