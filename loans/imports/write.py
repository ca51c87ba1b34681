"""The import's write: the rows that passed every rule, with their new students and co-borrowers, inserted in bulk
(service.bulk: COPY on PostgreSQL, many-row INSERTs on SQLite) in the caller's transaction. No ORM object and no
audit record per row: one audit record for the batch (importer). The contracts wait for a reviewer's acceptance of
their batch (loans.imports.review) and never move the counter of the centre's own series (contracts.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from loans.imports.lookups import Known
from loans.imports.rows import Row
from loans.lifecycle import LoanStatus
from loans.models import Loan, LoanPayout
from loans.origination.check_code import check_code
from loans.policy import ContractTerms
from service.bulk import bulk_insert, reserve_ids
from service.db import utcnow
from service.registry.models import CoBorrower, Student

BATCH = 10_000  # loans built and inserted together
Plans = dict[int, tuple[tuple[int, int], ContractTerms]]  # row number -> (limit policy ids, terms)
STUDENT_COLS = (
    "id",
    "name",
    "id_number",
    "phone",
    "address",
    "household_province",
    "household_county",
    "categories",
    "university_code",
    "level",
    "study_years",
    "enrolled_on",
    "expected_graduation",
    "version",
    "created_at",
    "updated_at",
)
CO_COLS = ("id", "name", "id_number", "phone", "created_at", "updated_at")
LOAN_COLS = (
    "id",
    "student_id",
    "academic_year",
    "amount",
    "co_borrower_id",
    "co_borrower_relationship",
    "status",
    "prepared_by",
    "decided_by",
    "decided_at",
    "reason",
    "limit_policy_ids",
    "contract_no",
    "signed_on",
    "rate",
    "lpr",
    "spread_bp",
    "term_years",
    "maturity_date",
    "grace_years",
    "subsidy_end",
    "graduation_year",
    "contract_policy_ids",
    "check_code",
    "receipt_amount",
    "receipt_by",
    "receipt_at",
    "disbursed_on",
    "imported",
    "import_batch_id",
    "version",
    "created_at",
    "updated_at",
)
PAYOUT_COLS = ("loan_id", "payee", "payee_ref", "amount", "paid_on", "created_at")


INSERTS = {
    "students": (insert(Student.__table__), STUDENT_COLS),
    "co_borrowers": (insert(CoBorrower.__table__), CO_COLS),
    "loans": (insert(Loan.__table__), LOAN_COLS),
    "loan_payouts": (insert(LoanPayout.__table__), PAYOUT_COLS),
}


def student_record(sid: int, r: Row, now: datetime) -> tuple[Any, ...]:
    return (
        sid,
        r.name,
        r.id_number,
        r.phone,
        None,
        r.household_province,
        r.household_county,
        r.categories or (),
        r.university_code,
        r.level,
        r.study_years,
        r.enrolled_on,
        r.expected_graduation,
        1,
        now,
        now,
    )


def co_borrower_record(cid: int, r: Row, now: datetime) -> tuple[Any, ...]:
    return (cid, r.co_name, r.co_id_number, r.co_phone, now, now)


# Every imported contract waits for its batch's acceptance (loans.imports.review), which gives it the status its
# row says: signed, receipted or disbursed (in school).
PENDING = LoanStatus.PENDING_REVIEW.value


def loan_columns(
    rows: list[Row],
    loan_ids: list[int],
    plans: Plans,
    codes: list[str],
    student_id: dict[str, int],
    co_id: dict[str, int],
    user_id: int,
    now: datetime,
    batch_id: int | None = None,
) -> tuple[list[list[Any]], list[list[Any]]]:
    """The loans of rows that passed every rule (so have all their required fields), and their payouts, column by
    column in LOAN_COLS and PAYOUT_COLS order (service.bulk takes them so): a column the same for every row is one
    list repeated, the rest one comprehension each, and no tuple is built per row."""
    n = len(rows)
    taken = [plans[r.row] for r in rows]
    terms = [t for _, t in taken]
    receipts = [r.receipt_amount for r in rows]
    has_receipt = [a is not None for a in receipts]
    disbursed = [r.disbursed_on for r in rows]
    students = [student_id[r.id_number] for r in rows]
    principals = [r.principal for r in rows]
    loans = [
        loan_ids,
        students,
        [r.academic_year for r in rows],
        principals,
        [co_id[r.co_id_number] for r in rows],
        [r.relationship for r in rows],
        [PENDING] * n,
        [user_id] * n,
        [None] * n,  # decided by the reviewer who accepts the batch
        [None] * n,
        [None] * n,
        [ids for ids, _ in taken],
        [r.contract_no for r in rows],
        [r.signed_on for r in rows],
        [t.rate for t in terms],
        [t.lpr for t in terms],
        [t.spread_bp for t in terms],
        [t.term_years for t in terms],
        [t.maturity_date for t in terms],
        [t.grace_years for t in terms],
        [t.subsidy_end for t in terms],
        [r.expected_graduation.year for r in rows],  # type: ignore[union-attr]
        [t.policy_ids for t in terms],
        codes,
        receipts,
        [user_id if h else None for h in has_receipt],
        [now if h else None for h in has_receipt],
        disbursed,
        [True] * n,
        [batch_id] * n,
        [1] * n,
        [now] * n,
        [now] * n,
    ]
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


async def _insert(
    session: AsyncSession,
    table: str,
    records: list[tuple[Any, ...]] | None = None,
    *,
    by_column: list[list[Any]] | None = None,
) -> None:
    statement, columns = INSERTS[table]
    await bulk_insert(session, statement, columns, records, by_column=by_column)


def _latest(rows: list[Row], key: str) -> dict[str, Row]:
    """Per person, the row of the latest academic year: the freshest facts about them."""
    out: dict[str, Row] = {}
    for r in rows:
        k = getattr(r, key)
        prev = out.get(k)
        if prev is None or (r.academic_year or 0) >= (prev.academic_year or 0):
            out[k] = r
    return out


async def _people(
    session: AsyncSession,
    rows: list[Row],
    key: str,
    known: dict[str, tuple[int, str]],
    model: Any,
    table: str,
    record: Callable[[int, Row, datetime], tuple[Any, ...]],
    now: datetime,
) -> dict[str, int]:
    """Ids of everyone in the rows by ID number, the new ones inserted (with their latest row's facts)."""
    new = [r for number, r in _latest(rows, key).items() if number not in known]
    ids = await reserve_ids(session, model.__table__, len(new))  # taken up front: nothing is read back
    await _insert(session, table, [record(i, r, now) for i, r in zip(ids, new, strict=False)])
    found = {number: i for number, (i, _) in known.items()}
    found.update(zip((getattr(r, key) for r in new), ids, strict=False))
    return found


async def write(
    session: AsyncSession,
    rows: list[Row],
    plans: Plans,
    known: Known,
    user_id: int,
    secret: str,
    progress: Callable[[int], None] | None = None,
    batch_id: int | None = None,
) -> tuple[int, int, int]:
    """Insert the rows' people, loans and payouts; (students created, co-borrowers created, payouts)."""
    now = utcnow()
    student_id = await _people(session, rows, "id_number", known.students, Student, "students", student_record, now)
    co_id = await _people(
        session, rows, "co_id_number", known.co_borrowers, CoBorrower, "co_borrowers", co_borrower_record, now
    )
    payouts_written = 0
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        loan_ids = await reserve_ids(session, Loan.__table__, len(batch))
        codes = [check_code(secret, r.contract_no, r.id_number, r.principal, r.signed_on) for r in batch]
        loans, payouts = loan_columns(batch, loan_ids, plans, codes, student_id, co_id, user_id, now, batch_id)
        await _insert(session, "loans", by_column=loans)
        await _insert(session, "loan_payouts", by_column=payouts)
        payouts_written += len(payouts[0])
        if progress:
            progress(start + len(batch))
    return len(student_id) - len(known.students), len(co_id) - len(known.co_borrowers), payouts_written
