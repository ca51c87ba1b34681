"""Collection retries: overdue amounts are collected again on the 20th of each month except November.

On each such day the batch records one collection attempt per contract with overdue lines (what is
overdue and since when), keyed by contract and day, so that a reminder hook can read exactly the
attempts of a run and a day can never be recorded twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, exists, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.models import CollectionAttempt, ScheduleLineRow

COLLECTION_DAY = 20
NO_COLLECTION_MONTH = 11  # no deductions in November (DOMAIN.md)
S, C = ScheduleLineRow, CollectionAttempt


def is_collection_day(day: date) -> bool:
    return day.day == COLLECTION_DAY and day.month != NO_COLLECTION_MONTH


async def record_attempts(session: AsyncSession, days: Iterable[date]) -> dict[date, int]:
    """For each collection day among `days`: one attempt per contract owing lines due before it."""
    done: dict[date, int] = {}
    for day in days:
        if not is_collection_day(day):
            continue
        overdue = and_(S.payer == "borrower", S.status == "overdue", S.due_on < day)
        result = await session.execute(
            insert(C).from_select(
                ["loan_id", "collect_on", "overdue_principal", "overdue_interest", "oldest_due_on"],
                select(
                    S.loan_id,
                    literal(day),
                    func.sum(S.principal - S.paid_principal),
                    func.sum(S.interest - S.paid_interest),
                    func.min(S.due_on),
                )
                .where(overdue, ~exists().where(C.loan_id == S.loan_id, C.collect_on == day))
                .group_by(S.loan_id),
            )
        )
        done[day] = result.rowcount or 0
    return done


async def attempts_on(session: AsyncSession, day: date) -> list[CollectionAttempt]:
    return list((await session.scalars(select(C).where(C.collect_on == day).order_by(C.loan_id))).all())
