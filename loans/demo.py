"""Demo loans for the demo county: several years of contracts (续贷) through the real workflow.

Every loan goes through the same service functions a clerk's request would (limits, co-borrower
rules, maker-checker, gapless numbers, receipt, disbursement), so the demo shows what the rules make.
"""

from __future__ import annotations

import random
from datetime import date

from faker import Faker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import LoanStatus
from loans.origination import applications, contracts
from loans.policy import limits_for
from loans.schemas import ApplicationIn, CoBorrowerIn
from service.auth import AuthUser, User
from service.identity import make_id_number
from service.money import format_yuan
from service.registry.models import Student


async def _actor(session: AsyncSession, username: str) -> AuthUser:
    user = await session.scalar(select(User).where(User.username == username))
    assert user is not None, f"demo user {username} missing"
    return AuthUser(id=user.id, username=user.username, role=user.role, university_code=user.university_code)


async def load_loan_demo(
    session: AsyncSession, *, county: str, secret: str, today: date, seed: int = 2026, share: float = 0.35
) -> int:
    """Give about `share` of the demo students a loan for every academic year they have studied,
    up to the academic year running on `today` (nothing is dated after `today`)."""
    this_year = today.year if today >= date(today.year, 9, 1) else today.year - 1
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed + 1)
    officer, reviewer = await _actor(session, "officer"), await _actor(session, "reviewer")
    rows = await applications.policy_rows(session)
    students = (await session.scalars(select(Student).order_by(Student.id))).all()
    made = 0
    for student in students:
        if rng.random() > share:
            continue
        parent_id = make_id_number(
            student.id_number[:6],
            date(rng.randint(1965, 1980), rng.randint(1, 12), rng.randint(1, 28)),
            rng.randrange(0, 999),
        )
        parent = CoBorrowerIn(
            name=student.name[0] + fake.first_name(),
            id_number=parent_id,
            phone=f"15{rng.randrange(10**9):09d}",
            relationship=rng.choice(["father", "mother"]),
        )
        last_year = min(this_year, student.expected_graduation.year - 1)
        for year in range(student.enrolled_on.year, last_year + 1):
            top = limits_for(rows, year, student.level).maximum
            amount = rng.choice([top, top, top - 200_000, top - 400_000])
            loan = await applications.submit(
                session,
                ApplicationIn(
                    student_id=student.id, academic_year=year, amount=format_yuan(amount), co_borrower=parent
                ),
                officer,
            )
            made += 1
            if year == this_year and rng.random() < 0.3:
                continue  # this year's applications waiting for the reviewer
            await applications.decide(session, loan, reviewer, True, None)
            if year == this_year and rng.random() < 0.2:
                continue  # approved, contract not yet signed
            signed = date(year, 9, rng.randint(5, 28))
            if signed > today:
                continue
            loan = await contracts.sign(session, loan.id, signed, officer, county, secret, today=today)
            assert loan.contract_no is not None
            tuition = rng.choice([400_000, 500_000, 550_000, 650_000])
            await contracts.confirm_receipt(session, loan.contract_no, format_yuan(min(tuition, amount)), officer)
            paid_on = date(year, 11, rng.randint(10, 25))
            if loan.status == LoanStatus.RECEIPT_CONFIRMED.value and paid_on <= today:
                await contracts.disburse(session, loan.contract_no, paid_on, officer, today=today)
    return made
