"""Loan reports, as the county centre's yearly report writes them: set-based queries, figures in fen."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import NOT_COUNTED
from loans.models import LedgerLine, Loan
from service.registry.models import Student

_SIGNED = tuple(sorted(s.value for s in NOT_COUNTED))  # not (or not yet) a contract: imports awaiting review neither


@dataclass(frozen=True)
class Totals:
    students: int
    contracts: int
    amount: int


async def _totals(session: AsyncSession, *conditions: object, poor_only: bool = False) -> Totals:
    query = select(
        func.count(func.distinct(Loan.student_id)), func.count(Loan.id), func.coalesce(func.sum(Loan.amount), 0)
    ).where(Loan.contract_no.is_not(None), Loan.status.not_in(_SIGNED), *conditions)
    if poor_only:
        query = query.join(Student, Student.id == Loan.student_id).where(
            cast(Student.categories, String).contains('"registered_poor"')
        )
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


@dataclass(frozen=True)
class Portfolio:
    """The portfolio at a glance (the dashboard's): a handful of set-based queries whatever its size."""

    by_status: dict[str, int]  # contracts by status
    by_year: list[tuple[int, int, int]]  # academic year, contracts, amount (fen)
    outstanding: int  # principal not yet repaid, summed from the ledger
    waiting: int  # applications awaiting a decision or a contract


async def portfolio(session: AsyncSession) -> Portfolio:
    signed = (Loan.contract_no.is_not(None), Loan.status.not_in(_SIGNED))
    by_status = (
        await session.execute(
            select(Loan.status, func.count(Loan.id)).where(*signed).group_by(Loan.status).order_by(Loan.status)
        )
    ).all()
    by_year = (
        await session.execute(
            select(Loan.academic_year, func.count(Loan.id), func.sum(Loan.amount))
            .where(*signed)
            .group_by(Loan.academic_year)
            .order_by(Loan.academic_year)
        )
    ).all()
    outstanding = await session.scalar(
        select(func.coalesce(func.sum(LedgerLine.debit - LedgerLine.credit), 0)).where(
            LedgerLine.account == "principal"
        )
    )
    waiting = await session.scalar(select(func.count(Loan.id)).where(Loan.status.in_(("submitted", "approved"))))
    return Portfolio(
        by_status={status: int(n) for status, n in by_status},
        by_year=[(int(y), int(n), int(amount or 0)) for y, n, amount in by_year],
        outstanding=int(outstanding or 0),
        waiting=int(waiting or 0),
    )
