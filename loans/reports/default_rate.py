"""The default rate (违约率) that drives the risk-compensation fund, by county, university, graduation
year and contract year, in both common measures:

- by amount: overdue principal / principal due to date;
- by borrowers: defaulting borrowers / borrowers in repayment (a borrower is in repayment once any of
  their borrower lines has fallen due, and defaulting while one due before the date is unpaid).
Government lines never count: the state's share never makes a borrower overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.models import Loan, ScheduleLineRow
from loans.servicing.schedule import BORROWER
from service.registry.models import Student, University

S = ScheduleLineRow
DIMENSIONS = {
    "county": ("户籍县", Student.household_county),
    "university": ("高校", Student.university_code),
    "graduation_year": ("毕业年份", Loan.graduation_year),
    "contract_year": ("合同学年", Loan.academic_year),
}


def percent(numerator: int, denominator: int) -> str | None:
    """A ratio in percent with two decimals, half up ("3.57"); None when nothing is due yet."""
    if denominator == 0:
        return None
    return str((Decimal(100 * numerator) / Decimal(denominator)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class DefaultRow:
    group: str
    label: str
    principal_due: int
    overdue_principal: int
    borrowers: int
    defaulting: int

    @property
    def amount_rate(self) -> str | None:
        return percent(self.overdue_principal, self.principal_due)

    @property
    def borrower_rate(self) -> str | None:
        return percent(self.defaulting, self.borrowers)


async def default_rates(session: AsyncSession, by: str, as_of: date) -> list[DefaultRow]:
    key = DIMENSIONS[by][1]
    overdue = S.due_on < as_of
    unpaid = or_(S.paid_principal < S.principal, S.paid_interest < S.interest)
    rows = await session.execute(
        select(
            key,
            func.sum(S.principal),
            func.sum(case((overdue, S.principal - S.paid_principal), else_=0)),
            func.count(func.distinct(Loan.student_id)),
            func.count(func.distinct(case((and_(overdue, unpaid), Loan.student_id)))),
        )
        .join(Loan, Loan.id == S.loan_id)
        .join(Student, Student.id == Loan.student_id)
        .where(S.payer == BORROWER, S.due_on <= as_of)
        .group_by(key)
        .order_by(key)
    )
    names: dict[Any, str] = {}
    if by == "university":
        names = dict((await session.execute(select(University.code, University.name))).all())
    return [
        DefaultRow(str(k), names.get(k, str(k)), int(due or 0), int(od or 0), int(b), int(d))
        for k, due, od, b, d in rows
    ]


def total(rows: list[DefaultRow]) -> DefaultRow:
    """The whole county's row. Borrowers are summed over groups: a student is in one county, one
    university and one graduation year; by contract year a student with several contracts counts once per year."""
    return DefaultRow(
        "total",
        "合计",
        sum(r.principal_due for r in rows),
        sum(r.overdue_principal for r in rows),
        sum(r.borrowers for r in rows),
        sum(r.defaulting for r in rows),
    )
