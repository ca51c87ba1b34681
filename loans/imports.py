"""Importing the centre's contract spreadsheet: the rules across rows and against the database, then
one set-based write.

The file is read and typed first (loans.excel), without touching the database, so that a SQLite write
lock is not held while cells are parsed. Every rule then runs over the whole file and reports every row
it finds wrong; nothing is written unless all rows pass (or `valid_only` asks for the good ones). The
write is one transaction of chunked Core inserts: no ORM object and no audit record per row, one audit
record for the batch.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from loans.applications import policy_rows
from loans.contracts import check_code
from loans.excel import BAD_FILE, FIELDS, LEVEL_LABELS, Row, RowError, Sheet, parse_row, read_sheet
from loans.lifecycle import LIVE, LoanStatus
from loans.models import ContractCounter, Loan, LoanPayout
from loans.policy import ContractTerms, Limits, PolicyError, PolicyRow, contract_terms, limits_for
from service import audit
from service.db import utcnow
from service.errors import Problem
from service.money import format_yuan
from service.registry.models import CoBorrower, Student, University

CHUNK = 1000  # the longest IN list and the insert batch
Progress = Callable[[str, int, int], None]  # (phase, done, total)
_LIVE_VALUES = [s.value for s in LIVE]
_OUR_NUMBER = re.compile(r"(\d{6})-(\d{4})-(\d{6})")  # loans.contracts.contract_number's format


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


def read_rows(source: bytes | Path, progress: Progress | None = None) -> tuple[Sheet, list[Row], list[RowError]]:
    """Open, check the header, type every cell and apply the rules within a row. No database."""
    sheet = read_sheet(source)
    rows: list[Row] = []
    errors: list[RowError] = []
    if progress:
        progress("reading", 0, sheet.total_rows)
    for number, values in sheet.data_rows():
        row = parse_row(sheet, number, values, errors)
        row_rules(sheet, row, errors)
        rows.append(row)
        if progress and len(rows) % 5000 == 0:
            progress("reading", number, sheet.total_rows)
    if not rows:
        raise Problem(BAD_FILE, "文件只有表头，没有数据行。", "The file has a header row but no data rows.",
                      field="file")
    if progress:
        progress("reading", sheet.total_rows, sheet.total_rows)
    return sheet, rows, errors


def row_rules(sheet: Sheet, r: Row, errors: list[RowError]) -> None:
    """Rules within one row; a field found wrong is cleared so that later rules skip it."""
    def bad(name: str, zh: str, en: str) -> None:
        errors.append(sheet.error(r.row, name, zh, en))
        setattr(r, name, None)

    if r.enrolled_on and r.expected_graduation and r.expected_graduation <= r.enrolled_on:
        bad("expected_graduation", "预计毕业日期须晚于入学日期", "Expected graduation must be after enrolment")
    # The academic year (1 September to 31 August) must overlap the studies.
    if r.academic_year and r.enrolled_on and r.expected_graduation and not (
            r.enrolled_on <= date(r.academic_year + 1, 8, 31) and r.expected_graduation >= date(r.academic_year, 9, 1)):
        bad("academic_year", f"贷款学年 {r.academic_year} 不在该生在读期间（{r.enrolled_on} 至 {r.expected_graduation}）",
            f"Academic year {r.academic_year} is outside the student's studies")
    if r.signed_on and r.academic_year and not r.academic_year - 1 <= r.signed_on.year <= r.academic_year + 1:
        bad("signed_on", f"签约日期 {r.signed_on} 与贷款学年 {r.academic_year} 不符",
            f"Signing date {r.signed_on} does not fit academic year {r.academic_year}")
    if r.receipt_amount is not None and r.principal is not None and r.receipt_amount > r.principal:
        bad("receipt_amount", "回执金额不能超过合同金额", "The receipt amount cannot exceed the principal")
    if r.disbursed_on and r.signed_on and r.disbursed_on < r.signed_on:
        bad("disbursed_on", "放款日期不能早于签约日期", "Disbursement cannot precede signing")
    if r.co_id_number and r.co_id_number == r.id_number:
        bad("co_id_number", "共同借款人不能是学生本人", "The co-borrower cannot be the student")


class PolicyCheck:
    """Limits and contract terms from the policy rows, each combination worked out once."""

    def __init__(self, rows: list[PolicyRow]) -> None:
        self.rows = rows
        self._limits: dict[tuple[int, str], Limits | PolicyError] = {}
        self._terms: dict[tuple[date, int], ContractTerms | PolicyError] = {}

    def limits(self, year: int, level: str) -> Limits | PolicyError:
        key = (year, level)
        if key not in self._limits:
            try:
                self._limits[key] = limits_for(self.rows, year, level)
            except PolicyError as exc:
                self._limits[key] = exc
        return self._limits[key]

    def terms(self, signed_on: date, graduation_year: int) -> ContractTerms | PolicyError:
        key = (signed_on, graduation_year)
        if key not in self._terms:
            try:
                self._terms[key] = contract_terms(self.rows, signed_on, graduation_year)
            except PolicyError as exc:
                self._terms[key] = exc
        return self._terms[key]


def policy_rules(sheet: Sheet, rows: list[Row], policy: PolicyCheck,
                 errors: list[RowError]) -> dict[int, tuple[tuple[int, int], ContractTerms]]:
    """The limit in force for each row's academic year and level, and its terms; by row number."""
    found: dict[int, tuple[tuple[int, int], ContractTerms]] = {}
    for r in rows:
        limit_ids = terms = None
        if r.academic_year and r.level and r.principal is not None:
            limits = policy.limits(r.academic_year, r.level)
            p = r.principal
            if isinstance(limits, PolicyError):
                errors.append(sheet.error(r.row, "academic_year", limits.message_zh, limits.message_en))
            elif p % 100:
                errors.append(sheet.error(r.row, "principal", f"合同金额 {format_yuan(p)} 元须为整元",
                                          f"The principal {format_yuan(p)} must be whole yuan"))
            elif p > limits.maximum:
                hi = limits.rows[1]
                errors.append(sheet.error(
                    r.row, "principal",
                    f"{r.academic_year} 学年{LEVEL_LABELS[r.level]}学生每年贷款上限为 {format_yuan(limits.maximum)} 元"
                    f"（依据：{hi.source}），合同金额 {format_yuan(p)} 元超出",
                    f"The limit for a {r.level.replace('_', ' ')} student in academic year {r.academic_year} is "
                    f"{format_yuan(limits.maximum)} yuan (policy row {hi.id}); {format_yuan(p)} is over it"))
            elif p < limits.minimum:
                errors.append(sheet.error(r.row, "principal", f"每学年贷款金额不低于 {format_yuan(limits.minimum)} 元",
                                          f"The minimum is {format_yuan(limits.minimum)} yuan a year"))
            else:
                limit_ids = (limits.rows[0].id, limits.rows[1].id)
        if r.signed_on and r.expected_graduation:
            got = policy.terms(r.signed_on, r.expected_graduation.year)
            if isinstance(got, PolicyError):
                errors.append(sheet.error(r.row, "signed_on", got.message_zh, got.message_en))
            else:
                terms = got
        if limit_ids and terms:
            found[r.row] = (limit_ids, terms)
    return found


def _rows_text(numbers: list[int]) -> tuple[str, str]:
    shown = "、".join(str(n) for n in numbers[:5]) + ("等" if len(numbers) > 5 else "")
    return shown, ", ".join(str(n) for n in numbers[:5]) + (" …" if len(numbers) > 5 else "")


def cross_rules(sheet: Sheet, rows: list[Row], errors: list[RowError]) -> None:
    """Rules across rows: repeated contracts, one loan per student and year, consistent names, and a
    borrower who is someone's co-borrower. Every row involved is marked: which one is right is the
    clerk's call, not ours. One pass with dictionaries; groups are only built for the repeats."""
    contracts: dict[str, Row] = {}
    years: dict[tuple[str, int], Row] = {}
    student_names: dict[str, str] = {}
    co_names: dict[str, str] = {}
    borrowers: dict[str, int] = {}
    repeated: dict[Any, list[Row]] = {}
    odd: set[tuple[str, str]] = set()  # (field, ID number) seen with two names
    for r in rows:
        if r.contract_no is not None and contracts.setdefault(r.contract_no, r) is not r:
            repeated.setdefault(("contract_no", r.contract_no), [contracts[r.contract_no]]).append(r)
        sid = r.id_number
        if sid is not None:
            borrowers.setdefault(sid, r.row)
            if r.academic_year and years.setdefault((sid, r.academic_year), r) is not r:
                repeated.setdefault(("academic_year", sid, r.academic_year), [years[(sid, r.academic_year)]]).append(r)
            if r.name and student_names.setdefault(sid, r.name) != r.name:
                odd.add(("id_number", sid))
        if r.co_id_number is not None and r.co_name and co_names.setdefault(r.co_id_number, r.co_name) != r.co_name:
            odd.add(("co_id_number", r.co_id_number))
    for key, group in repeated.items():
        for r in group:
            zh, en = _rows_text([o.row for o in group if o is not r])
            if key[0] == "contract_no":
                errors.append(sheet.error(r.row, "contract_no", f"合同编号与第 {zh} 行重复",
                                          f"Same contract number as row {en}"))
            else:
                errors.append(sheet.error(r.row, "academic_year", f"同一学生同一学年只能有一笔贷款，与第 {zh} 行重复",
                                          f"One loan per student and academic year; also in row {en}"))
    if odd:
        named: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for r in rows:
            for key in (("id_number", r.id_number), ("co_id_number", r.co_id_number)):
                if key in odd:
                    named[key].append(r)
        for (id_field, _), group in named.items():
            name_field, who = ("name", "学生") if id_field == "id_number" else ("co_name", "共同借款人")
            names = "、".join(dict.fromkeys(getattr(r, name_field) for r in group if getattr(r, name_field)))
            for r in group:
                errors.append(sheet.error(r.row, name_field, f"同一{who}身份证号在文件中有不同姓名：{names}",
                                          f"The same {id_field} appears with different names"))
    for r in rows:
        cid = r.co_id_number
        if cid is not None and cid in borrowers and cid != r.id_number:
            errors.append(sheet.error(r.row, "co_id_number",
                                      f"共同借款人本人是借款学生（第 {borrowers[cid]} 行），借款人不能担任共同借款人",
                                      f"The co-borrower is a borrower in row {borrowers[cid]}"))


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
    # Reading back new keys needs statements of its own: PostgreSQL caches a plan per statement, and
    # the "students" plan was made while the table was still empty (a scan that then took a minute).
    "new_students": select(Student.id_number, Student.id).where(_keys(Student.id_number)),
    "new_co_borrowers": select(CoBorrower.id_number, CoBorrower.id).where(_keys(CoBorrower.id_number)),
}


async def lookup(session: AsyncSession, name: str, keys: Iterable[Any]) -> list[Any]:
    """Rows of the named lookup for all keys, a thousand keys per query."""
    stmt = _QUERIES[name]
    found: list[Any] = []
    for chunk in _chunks(keys):
        found.extend(await session.execute(stmt, {"keys": chunk}))
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


_MISSING = object()
_STUDENT_COLS = ("name", "id_number", "phone", "address", "household_province", "household_county", "categories",
                 "university_code", "level", "study_years", "enrolled_on", "expected_graduation", "version",
                 "created_at", "updated_at")
_CO_COLS = ("name", "id_number", "phone", "created_at", "updated_at")
_LOAN_COLS = ("student_id", "academic_year", "amount", "co_borrower_id", "co_borrower_relationship", "status",
              "prepared_by", "decided_by", "decided_at", "reason", "limit_policy_ids", "contract_no", "signed_on",
              "rate", "lpr", "spread_bp", "term_years", "maturity_date", "grace_years", "subsidy_end",
              "graduation_year", "contract_policy_ids", "check_code", "receipt_amount", "receipt_by", "receipt_at",
              "disbursed_on", "imported", "version", "created_at", "updated_at")
_PAYOUT_COLS = ("contract_no", "payee", "payee_ref", "amount", "paid_on", "created_at")
# A payout finds its loan by contract number inside the INSERT: no loan ids to read back.
_PAYOUT_INSERT = insert(LoanPayout.__table__).values(
    loan_id=select(Loan.id).where(Loan.contract_no == bindparam("contract_no")).scalar_subquery(),
    **{c: bindparam(c) for c in _PAYOUT_COLS[1:]})


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
    convert = []
    for position, name in enumerate(names):
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            convert.append((position, processor, {}))
    same_order = order == list(range(len(order)))
    for start in range(0, len(records), CHUNK * 10):
        batch = []
        for record in records[start:start + CHUNK * 10]:
            values = list(record) if same_order else [record[i] for i in order]
            for position, processor, seen in convert:
                value = values[position]
                if value is not None:
                    done = seen.get(value, _MISSING)
                    if done is _MISSING:
                        done = seen[value] = processor(value)
                    values[position] = done
            batch.append(tuple(values))
        await conn.exec_driver_sql(compiled.string, batch)


async def _ids(session: AsyncSession, name: str, keys: Iterable[Any]) -> dict[str, int]:
    return {key: pk for key, pk in await lookup(session, name, keys)}


async def write(session: AsyncSession, rows: list[Row], plans: dict[int, tuple[tuple[int, int], ContractTerms]],
                known: Known, user_id: int, secret: str, result: ImportResult,
                progress: Progress | None = None) -> None:
    now = utcnow()
    total = len(rows)
    new_students = [r for number, r in _latest(rows, "id_number").items() if number not in known.students]
    await bulk_insert(session, insert(Student.__table__), _STUDENT_COLS, [(
        r.name, r.id_number, r.phone, None, r.household_province, r.household_county, r.categories or (),
        r.university_code, r.level, r.study_years, r.enrolled_on, r.expected_graduation, 1, now, now)
        for r in new_students])
    student_id = {number: sid for number, (sid, _) in known.students.items()}
    student_id.update(await _ids(session, "new_students", (r.id_number for r in new_students)))
    new_cos = [r for number, r in _latest(rows, "co_id_number").items() if number not in known.co_borrowers]
    await bulk_insert(session, insert(CoBorrower.__table__), _CO_COLS,
                      [(r.co_name, r.co_id_number, r.co_phone, now, now) for r in new_cos])
    co_id = {number: cid for number, (cid, _) in known.co_borrowers.items()}
    co_id.update(await _ids(session, "new_co_borrowers", (r.co_id_number for r in new_cos)))
    result.students_created, result.co_borrowers_created = len(new_students), len(new_cos)
    if progress:
        progress("writing", 0, total)

    tops: dict[tuple[str, int], int] = {}
    statuses = (LoanStatus.CONTRACTED.value, LoanStatus.RECEIPT_CONFIRMED.value, LoanStatus.IN_SCHOOL.value)
    step = CHUNK * 10
    for start in range(0, total, step):
        batch = rows[start:start + step]
        loans, payouts = [], []
        for r in batch:  # a row that passed every rule has all its required fields
            limit_ids, t = plans[r.row]
            receipt = r.receipt_amount is not None
            number, principal = r.contract_no, r.principal
            loans.append((
                student_id[r.id_number], r.academic_year, principal, co_id[r.co_id_number], r.relationship,
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
                    payouts.append((number, "university", r.university_code, to_university, r.disbursed_on, now))
                to_student = principal - to_university
                if to_student:
                    payouts.append((number, "student", str(student_id[r.id_number]), to_student, r.disbursed_on, now))
            if m := _OUR_NUMBER.fullmatch(number or ""):
                key = (m[1], int(m[2]))
                tops[key] = max(tops.get(key, 0), int(m[3]))
        await bulk_insert(session, insert(Loan.__table__), _LOAN_COLS, loans)
        await bulk_insert(session, _PAYOUT_INSERT, _PAYOUT_COLS, payouts, table_insert=False)
        result.imported += len(batch)
        result.payouts += len(payouts)
        if progress:
            progress("writing", result.imported, total)
    await _raise_counters(session, tops)


async def _raise_counters(session: AsyncSession, tops: dict[tuple[str, int], int]) -> None:
    """New contracts must never reuse an imported number: lift each counter to the highest imported one."""
    for (county, year), seq in sorted(tops.items()):
        where = (ContractCounter.county == county, ContractCounter.year == year)
        current = await session.scalar(select(ContractCounter.last_seq).where(*where))
        if current is None:
            await session.execute(insert(ContractCounter.__table__).values(county=county, year=year, last_seq=seq))
        elif current < seq:
            await session.execute(update(ContractCounter).where(*where).values(last_seq=seq))


async def import_contracts(session: AsyncSession, source: bytes | Path, *, filename: str, user_id: int,
                           actor: str, secret: str, valid_only: bool = False, dry_run: bool = False,
                           progress: Progress | None = None) -> ImportResult:
    """Check a contract spreadsheet and, when it passes (or `valid_only`), write it in the caller's
    transaction. File-level problems (not a workbook, wrong columns, no rows) raise Problem."""
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
