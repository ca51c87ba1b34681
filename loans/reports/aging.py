"""Aging of overdue contracts: days past due of each contract's oldest unpaid borrower line, in the
buckets the centre reports (1–30, 31–90, 91–180, 181–365, over 365 days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.models import ScheduleLineRow
from loans.servicing.schedule import BORROWER

S = ScheduleLineRow
# (key, first day, last day or None, label)
BUCKETS = (
    ("1-30", 1, 30, "1–30天"),
    ("31-90", 31, 90, "31–90天"),
    ("91-180", 91, 180, "91–180天"),
    ("181-365", 181, 365, "181–365天"),
    ("over-365", 366, None, "365天以上"),
)


def bucket_of(days_past_due: int) -> str | None:
    """The bucket of a contract `days_past_due` days past its oldest due date (None when not overdue)."""
    for key, first, last, _ in BUCKETS:
        if days_past_due >= first and (last is None or days_past_due <= last):
            return key
    return None


@dataclass(frozen=True)
class AgingRow:
    bucket: str
    label: str
    contracts: int
    principal: int  # overdue principal of those contracts (fen)
    interest: int  # overdue interest


async def aging(session: AsyncSession, as_of: date) -> list[AgingRow]:
    """One row per bucket (empty ones too). Lines due before `as_of` and not fully paid are overdue."""
    per_loan = (
        select(
            S.loan_id,
            func.min(S.due_on).label("oldest"),
            func.sum(S.principal - S.paid_principal).label("principal"),
            func.sum(S.interest - S.paid_interest).label("interest"),
        )
        .where(S.payer == BORROWER, S.due_on < as_of, S.status != "paid")
        .group_by(S.loan_id)
        .subquery()
    )
    # a bucket is a range of the oldest due date: portable date arithmetic, done here once
    bucket = case(
        *[
            (per_loan.c.oldest >= as_of - timedelta(days=last), literal(key))
            for key, _, last, _ in BUCKETS
            if last is not None
        ],
        else_=literal(BUCKETS[-1][0]),
    )
    rows = {
        key: (int(n), int(p or 0), int(i or 0))
        for key, n, p, i in await session.execute(
            select(bucket, func.count(), func.sum(per_loan.c.principal), func.sum(per_loan.c.interest)).group_by(bucket)
        )
    }
    return [AgingRow(key, label, *rows.get(key, (0, 0, 0))) for key, _, _, label in BUCKETS]
