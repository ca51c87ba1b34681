"""What the import writes, read back by natural keys: people with the facts of their latest row, people already in
the database reused, payouts and contract counters; and nothing when any row is wrong."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from loans.imports.importer import ImportResult, import_contracts
from loans.models import ContractCounter, Loan, LoanPayout
from service.auth import User
from service.db import session_factory, utcnow, write_intent
from service.registry.models import CoBorrower, Student, University

from .test_loan_import import person, row, workbook

SECRET = "s" * 43
TODAY = date(2026, 6, 1)  # the business date the sheets are checked on


async def prepare(db: AsyncEngine) -> int:
    """Two universities, an admin, and a student and a co-borrower who are in the database already."""
    async with session_factory(db)() as s, s.begin():
        now = utcnow()
        await s.execute(
            insert(University),
            [
                {"code": "10126", "name": "内蒙古大学", "province": "内蒙古", "created_at": now},
                {"code": "10027", "name": "北京师范大学", "province": "北京", "created_at": now},
            ],
        )
        user = User(username="importer", password_hash="x", role="admin")
        s.add(user)
        s.add(
            Student(
                name="学生3",
                id_number=person(3, date(2005, 1, 1), 11),
                phone="13800000003",
                household_province="内蒙古",
                household_county="示范县",
                university_code="10126",
                level="undergraduate",
                study_years=4,
                enrolled_on=date(2023, 9, 1),
                expected_graduation=date(2027, 6, 30),
                categories=[],
            )
        )
        s.add(CoBorrower(name="家长5", id_number=person(5, date(1975, 1, 1), 21), phone="13900000005"))
        await s.flush()
        return user.id


def contracts(seed: int = 7) -> list[dict[str, Any]]:
    """About 60 contracts of 25 students over academic years 2023-2025, shuffled so that a student's rows are
    spread over blocks, some latest years first; student 4 changed phone and university in 2025."""
    rng = random.Random(seed)
    rows = []
    seq = 0
    for n in range(1, 26):
        for year in range(2023, 2023 + rng.choice((1, 2, 3))):
            seq += 1
            over: dict[str, Any] = {
                "academic_year": year,
                "contract_no": f"150430-{year}-{seq:06d}",
                "signed_on": date(year, 9, 20),
                "enrolled_on": date(2023, 9, 1),
                "expected_graduation": date(2027, 6, 30),
                "principal": rng.choice((8000, 12000, 16000)),
            }
            if year == 2025:
                over["disbursed_on"] = None if n % 3 == 0 else date(year, 11, 20)
                over["receipt_amount"] = None if n % 5 == 0 else 6000
            if n == 4 and year == 2025:
                over.update(phone="13712345678", university_code="10027")
            rows.append(row(n, **over))
    rng.shuffle(rows)
    return rows


async def run(db: AsyncEngine, user_id: int, content: bytes, **options: Any) -> tuple[ImportResult, dict[str, Any]]:
    """Import in a transaction, read back what it wrote, and roll it back."""
    token = write_intent.set(True)
    try:
        async with session_factory(db)() as s:
            transaction = await s.begin()
            result = await import_contracts(
                s, content, filename="x.xlsx", user_id=user_id, actor="test", secret=SECRET, today=TODAY, **options
            )
            state = await written(s)
            await transaction.rollback()
            return result, state
    finally:
        write_intent.reset(token)


async def written(s: Any) -> dict[str, Any]:
    """The import's rows by their natural keys, and the order of their keys (ids compared by rank only: a
    PostgreSQL sequence does not go back on rollback)."""
    students = {r.id: r for r in (await s.scalars(select(Student).order_by(Student.id))).all()}
    cos = {r.id: r for r in (await s.scalars(select(CoBorrower).order_by(CoBorrower.id))).all()}
    loans = (await s.scalars(select(Loan).order_by(Loan.id))).all()
    contract_of = {loan.id: loan.contract_no for loan in loans}
    payouts = (await s.scalars(select(LoanPayout).order_by(LoanPayout.id))).all()
    skip = {
        "id",
        "created_at",
        "updated_at",
        "decided_at",
        "receipt_at",
        "student_id",
        "co_borrower_id",
        "prepared_by",
        "decided_by",
        "import_batch_id",
        "receipt_by",
    }

    def facts(obj: Any) -> dict[str, Any]:
        return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in skip}

    return {
        "students": [facts(r) for r in students.values()],
        "co_borrowers": [facts(r) for r in cos.values()],
        "loans": [
            (facts(loan), students[loan.student_id].id_number, cos[loan.co_borrower_id].id_number) for loan in loans
        ],
        "payouts": [
            (
                contract_of[p.loan_id],
                p.payee,
                p.amount,
                p.paid_on,
                students[int(p.payee_ref)].id_number if p.payee == "student" else p.payee_ref,
            )
            for p in payouts
        ],
        "counters": sorted((c.county, c.year, c.last_seq) for c in (await s.scalars(select(ContractCounter))).all()),
    }


async def test_people_get_their_latest_rows_facts_and_known_people_are_reused(db: AsyncEngine) -> None:
    user_id = await prepare(db)
    result, state = await run(db, user_id, workbook(contracts()))
    assert result.invalid == 0 and result.imported == len(contracts()) == len(state["loans"])
    students = {s["id_number"]: s for s in state["students"]}
    four = students[person(4, date(2005, 1, 1), 11)]
    assert (four["phone"], four["university_code"]) == ("13712345678", "10027")  # its 2025 row, wherever it is
    assert (
        result.students_created == len(students) - 1 and result.co_borrowers_created == len(state["co_borrowers"]) - 1
    )
    # an import never moves the counter of the centre's own series (issue 16, finding 19)
    assert len(state["payouts"]) == result.payouts and state["counters"] == []
    bad = contracts()
    bad[-1] = {**bad[-1], "phone": "12"}
    result, state = await run(db, user_id, workbook(bad))
    assert result.stopped and result.imported == 0 and len(state["loans"]) == 0 and len(state["students"]) == 1
