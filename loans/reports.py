"""Loan reports, as the county centre's yearly report writes them: set-based queries, figures in fen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.models import Loan
from service.registry.models import Student

_SIGNED = ("rejected", "withdrawn", "submitted", "approved")  # not (or not yet) a contract


@dataclass(frozen=True)
class Totals:
    students: int
    contracts: int
    amount: int


async def _totals(session: AsyncSession, *conditions: object, poor_only: bool = False) -> Totals:
    query = select(func.count(func.distinct(Loan.student_id)), func.count(Loan.id),
                   func.coalesce(func.sum(Loan.amount), 0)).where(Loan.contract_no.is_not(None),
                                                                   Loan.status.not_in(_SIGNED), *conditions)
    if poor_only:
        query = query.join(Student, Student.id == Loan.student_id).where(
            cast(Student.categories, String).contains('"registered_poor"'))
    students, contracts, amount = (await session.execute(query)).one()
    return Totals(int(students), int(contracts), int(amount))


async def loans_report(session: AsyncSession, year: int) -> dict[str, Totals]:
    """Contracts of academic year `year`: students, contracts (笔) and amount; of which 建档立卡 students;
    and cumulative since the first contract (累计)."""
    return {
        "year": await _totals(session, Loan.academic_year == year),
        "registered_poor": await _totals(session, Loan.academic_year == year, poor_only=True),
        "cumulative": await _totals(session, Loan.academic_year <= year),
    }
