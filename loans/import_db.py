"""What a contract import reads from and writes to the database: the lookups by key, a thousand keys at a time,
and the records it inserts, built the same way whether the rows are written after the whole file is checked
(loans.imports) or block by block as they are read (loans.import_stream).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, func, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from loans.import_rules import Row
from loans.lifecycle import LIVE, LoanStatus
from loans.models import ContractCounter, Loan, LoanPayout
from service.bulk import bulk_insert
from loans.policy import ContractTerms
from service.registry.models import CoBorrower, Student, University

CHUNK = 1000  # the longest IN list
_LIVE_VALUES = [s.value for s in LIVE]
_OUR_NUMBER = re.compile(r"[0-9]{6}-[0-9]{4}-[0-9]{6}")  # loans.contracts.contract_number's format


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    """The distinct keys a thousand at a time, each chunk padded (with its last key again) to a power of two:
    a statement is rendered per IN-list length (_plan), and an import checked block by block would otherwise
    render one for nearly every block."""
    items = sorted(set(values))
    for i in range(0, len(items), CHUNK):
        chunk = items[i:i + CHUNK]
        size = min(CHUNK, 1 << (len(chunk) - 1).bit_length())
        yield chunk + chunk[-1:] * (size - len(chunk))


def _keys(column: Any) -> Any:
    # One statement per lookup, its IN list a single expanding parameter: building `column.in_(chunk)`
    # anew coerced each of the thousand values every time. (Tried on PostgreSQL: `= ANY($1)` with one
    # array parameter plans faster on an empty table, but rows inserted earlier in this transaction
    # have no statistics yet, the planner scans, and a parameter array is searched linearly row by
    # row: 90 s instead of 2. A literal IN list is hashed.)
    return column.in_(bindparam("keys", expanding=True))


def _json_keys(column: Any) -> Any:
    # SQLite: every key in one parameter, a JSON array unpacked by json_each. One statement whatever the number of
    # keys, executed in one call into SQLite (which lets go of Python's lock for all of it), nothing rendered anew.
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam("keys", value="[]"))))


def _lookups(keys: Callable[[Any], Any]) -> dict[str, Any]:
    live = Loan.status.in_(_LIVE_VALUES)
    return {
        "taken": select(Loan.contract_no).where(keys(Loan.contract_no)),
        "universities": select(University.code).where(keys(University.code)),
        "students": select(Student.id_number, Student.id, Student.name).where(keys(Student.id_number)),
        "co_borrowers": select(CoBorrower.id_number, CoBorrower.id, CoBorrower.name).where(keys(CoBorrower.id_number)),
        "live_loans": select(Loan.student_id, Loan.academic_year, Loan.contract_no).where(keys(Loan.student_id), live),
        "co_on_live": select(CoBorrower.id_number).join(Loan, Loan.co_borrower_id == CoBorrower.id)
                      .where(keys(CoBorrower.id_number), live),
        "borrowing": select(Student.id_number).join(Loan, Loan.student_id == Student.id)
                     .where(keys(Student.id_number), live),
    }


# The tables each lookup reads: with any of them empty it finds nothing (StreamingWrite skips it then).
LOOKUP_TABLES = {"taken": {"loans"}, "universities": {"universities"}, "students": {"students"},
                 "co_borrowers": {"co_borrowers"}, "live_loans": {"loans"}, "co_on_live": {"co_borrowers", "loans"},
                 "borrowing": {"students", "loans"}}

_QUERIES = _lookups(_keys)
_SQLITE_QUERIES = _lookups(_json_keys)
_SQLITE_SQL: weakref.WeakKeyDictionary[Any, dict[str, tuple[str, list[Any], int]]] = weakref.WeakKeyDictionary()


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


def sqlite_lookup(dialect: Any, name: str, keys: Iterable[Any]) -> tuple[str, tuple[Any, ...]] | None:
    """SQLite: the named lookup for all keys as one statement and its parameters (None: no keys)."""
    rendered = _SQLITE_SQL.setdefault(dialect, {})
    if name not in rendered:
        compiled = _SQLITE_QUERIES[name].compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        names = list(compiled.positiontup or ())
        rendered[name] = (compiled.string, [compiled.params.get(n) for n in names], names.index("keys"))
    sql, params, at = rendered[name]
    values = sorted(set(keys))
    if not values:
        return None
    return sql, (*params[:at], msgspec.json.encode(values).decode(), *params[at + 1:])


async def lookup(session: AsyncSession, name: str, keys: Iterable[Any]) -> list[Any]:
    """Rows of the named lookup for all keys, a thousand keys per query.

    Executed at the driver level with a statement rendered once per IN-list length: rendering the
    thousand expanded parameters on every execution was most of a lookup's time (~2 ms of ~2.5).
    """
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        query = sqlite_lookup(conn.dialect, name, keys)
        return (await conn.exec_driver_sql(*query)).all() if query else []
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


STUDENT_COLS = ("id", "name", "id_number", "phone", "address", "household_province", "household_county", "categories",
                 "university_code", "level", "study_years", "enrolled_on", "expected_graduation", "version",
                 "created_at", "updated_at")
CO_COLS = ("id", "name", "id_number", "phone", "created_at", "updated_at")
LOAN_COLS = ("id", "student_id", "academic_year", "amount", "co_borrower_id", "co_borrower_relationship", "status",
              "prepared_by", "decided_by", "decided_at", "reason", "limit_policy_ids", "contract_no", "signed_on",
              "rate", "lpr", "spread_bp", "term_years", "maturity_date", "grace_years", "subsidy_end",
              "graduation_year", "contract_policy_ids", "check_code", "receipt_amount", "receipt_by", "receipt_at",
              "disbursed_on", "imported", "version", "created_at", "updated_at")
PAYOUT_COLS = ("loan_id", "payee", "payee_ref", "amount", "paid_on", "created_at")



INSERTS = {"students": (insert(Student.__table__), STUDENT_COLS),
           "co_borrowers": (insert(CoBorrower.__table__), CO_COLS),
           "loans": (insert(Loan.__table__), LOAN_COLS), "loan_payouts": (insert(LoanPayout.__table__), PAYOUT_COLS)}


async def insert_records(session: AsyncSession, table: str, records: list[tuple[Any, ...]] | None = None, *,
                         by_column: list[list[Any]] | None = None) -> None:
    """Records built by the functions below (or by loan_columns, column by column), into their table
    (service.bulk.bulk_insert)."""
    statement, columns = INSERTS[table]
    await bulk_insert(session, statement, columns, records, by_column=by_column)


def student_record(sid: int, r: Row, now: datetime) -> tuple[Any, ...]:
    return (sid, r.name, r.id_number, r.phone, None, r.household_province, r.household_county, r.categories or (),
            r.university_code, r.level, r.study_years, r.enrolled_on, r.expected_graduation, 1, now, now)


def co_borrower_record(cid: int, r: Row, now: datetime) -> tuple[Any, ...]:
    return (cid, r.co_name, r.co_id_number, r.co_phone, now, now)


_STATUSES = (LoanStatus.CONTRACTED.value, LoanStatus.RECEIPT_CONFIRMED.value, LoanStatus.IN_SCHOOL.value)


def loan_columns(rows: list[Row], loan_ids: list[int], plans: dict[int, tuple[tuple[int, int], ContractTerms]],
                 codes: list[str], student_id: dict[str, int], co_id: dict[str, int], user_id: int,
                 now: datetime) -> tuple[list[list[Any]], list[list[Any]]]:
    """The loans of rows that passed every rule (so have all their required fields), and their payouts, column by
    column in LOAN_COLS and PAYOUT_COLS order (service.bulk takes them so): a column the same for every row is one
    list repeated, the rest one comprehension each, and no tuple is built per row."""
    n = len(rows)
    taken = [plans[r.row] for r in rows]
    terms = [t for _, t in taken]
    receipts = [r.receipt_amount for r in rows]
    has_receipt = [a is not None for a in receipts]
    disbursed = [r.disbursed_on for r in rows]
    statuses = _STATUSES
    students = [student_id[r.id_number] for r in rows]
    principals = [r.principal for r in rows]
    loans = [
        loan_ids, students, [r.academic_year for r in rows], principals, [co_id[r.co_id_number] for r in rows],
        [r.relationship for r in rows],
        [statuses[2 if d else 1 if h else 0] for d, h in zip(disbursed, has_receipt)],
        [user_id] * n, [user_id] * n, [now] * n, [None] * n, [ids for ids, _ in taken],
        [r.contract_no for r in rows], [r.signed_on for r in rows],
        [t.rate for t in terms], [t.lpr for t in terms], [t.spread_bp for t in terms], [t.term_years for t in terms],
        [t.maturity_date for t in terms], [t.grace_years for t in terms], [t.subsidy_end for t in terms],
        [r.expected_graduation.year for r in rows],  # type: ignore[union-attr]
        [t.policy_ids for t in terms], codes, receipts,
        [user_id if h else None for h in has_receipt], [now if h else None for h in has_receipt], disbursed,
        [True] * n, [1] * n, [now] * n, [now] * n]
    payouts: list[list[Any]] = [[], [], [], [], [], []]
    loan_id, payee, payee_ref, amount, paid_on, _ = payouts
    for i, day in enumerate(disbursed):
        if day is None:
            continue
        # The university is paid the tuition and accommodation of its receipt, the student the rest.
        to_university = receipts[i] or 0
        if to_university:
            loan_id.append(loan_ids[i])
            payee.append("university")
            payee_ref.append(rows[i].university_code)
            amount.append(to_university)
            paid_on.append(day)
        to_student = principals[i] - to_university  # type: ignore[operator]
        if to_student:
            loan_id.append(loan_ids[i])
            payee.append("student")
            payee_ref.append(str(students[i]))
            amount.append(to_student)
            paid_on.append(day)
    payouts[5] = [now] * len(loan_id)
    return loans, payouts


def highest_numbers(numbers: Iterable[str], highest: dict[str, str]) -> dict[str, str]:
    """Fold contract numbers into `highest`: "county-year" -> the highest of our numbers among them (zero-padded:
    text order works); numbers not of our form are left out."""
    for number in filter(_OUR_NUMBER.fullmatch, numbers):
        if number > highest.get(number[:11], ""):
            highest[number[:11]] = number
    return highest


async def raise_counters(session: AsyncSession, numbers: list[str] | dict[str, str]) -> None:
    """New contracts must never reuse an imported number: lift each counter to the highest imported one (of the
    numbers, or of a `highest_numbers` already folded)."""
    highest = numbers if isinstance(numbers, dict) else highest_numbers(numbers, {})
    for county, year, seq in sorted((n[:6], int(n[7:11]), int(n[12:])) for n in highest.values()):
        where = (ContractCounter.county == county, ContractCounter.year == year)
        current = await session.scalar(select(ContractCounter.last_seq).where(*where))
        if current is None:
            await session.execute(insert(ContractCounter.__table__).values(county=county, year=year, last_seq=seq))
        elif current < seq:
            await session.execute(update(ContractCounter).where(*where).values(last_seq=seq))


