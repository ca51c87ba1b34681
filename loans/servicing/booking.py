"""Putting a disbursed contract on the books: its ledger entry and its stored schedule.

The schedule's inputs come from the contract and the policy rows: the rate floats with the 5-year LPR
and the spread in force on each repricing date (default 1 January), the first period at the contract
rate; day count and repricing date are the policy rows in force when the contract was signed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, exists, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import ACTIVE
from loans.models import LedgerEntry, LedgerLine, Loan, ScheduleLineRow
from loans.origination.applications import policy_rows
from loans.policy import PolicyRow, in_force
from loans.servicing import ledger
from loans.servicing.schedule import ScheduleLine, ScheduleTerms, generate
from service.db import utcnow

BASIS = {"ACT/365": 365, "ACT/360": 360}


def floating_rate(rows: list[PolicyRow], contract_rate: Decimal, first_reprice: date) -> Callable[[date], Decimal]:
    """Rate in force on a day: the contract rate until the first repricing, then LPR + spread then."""
    memo: dict[date, Decimal] = {}

    def rate_on(day: date) -> Decimal:
        if day < first_reprice:
            return contract_rate
        if day not in memo:
            memo[day] = in_force(rows, "lpr_5y", day).parsed + Decimal(in_force(rows, "spread_bp", day).parsed) / 100
        return memo[day]

    return rate_on


def schedule_terms(loan: Loan, rows: list[PolicyRow], prepayments: tuple[tuple[date, int], ...] = ()) -> ScheduleTerms:
    assert loan.disbursed_on and loan.maturity_date and loan.subsidy_end and loan.signed_on
    assert loan.rate is not None and loan.graduation_year is not None and loan.grace_years is not None
    month, day = in_force(rows, "repricing_date", loan.signed_on).parsed
    basis = BASIS[in_force(rows, "day_count", loan.signed_on).parsed]
    reprices = [
        date(y, month, day)
        for y in range(loan.disbursed_on.year, loan.maturity_date.year + 1)
        if loan.disbursed_on < date(y, month, day) < loan.maturity_date
    ]
    first = reprices[0] if reprices else loan.maturity_date
    return ScheduleTerms(
        principal=loan.amount,
        disbursed_on=loan.disbursed_on,
        maturity_date=loan.maturity_date,
        subsidy_end=loan.subsidy_end,
        first_principal_year=loan.graduation_year + loan.grace_years,
        rate_on=floating_rate(rows, Decimal(loan.rate), first),
        repricing_dates=reprices,
        basis=basis,
        prepayments=prepayments,
    )


async def store_schedule(session: AsyncSession, loan: Loan, lines: list[ScheduleLine]) -> None:
    """Replace the unpaid future of the stored schedule with `lines` (first time: all of it)."""
    await session.execute(
        delete(ScheduleLineRow).where(ScheduleLineRow.loan_id == loan.id, ScheduleLineRow.status == "pending")
    )
    session.add_all(
        ScheduleLineRow(
            loan_id=loan.id,
            due_on=l.due_on,
            payer=l.payer,
            principal=l.principal,
            interest=l.interest,
            days=l.days,
            paid_principal=0,
            paid_interest=0,
            interest_posted=False,
            status="pending",
        )
        for l in lines
    )
    await session.flush()


async def book_disbursement(session: AsyncSession, loan: Loan, rows: list[PolicyRow], actor: str) -> None:
    """The disbursement entry and the schedule, in the disbursing transaction."""
    assert loan.disbursed_on is not None
    await ledger.post(
        session, loan.id, "disbursement", loan.disbursed_on, ledger.disbursement_lines(loan.amount), actor=actor
    )
    await store_schedule(session, loan, generate(schedule_terms(loan, rows)))


async def stored_schedule(session: AsyncSession, loan_id: int) -> list[ScheduleLineRow]:
    return list(
        (
            await session.scalars(
                select(ScheduleLineRow)
                .where(ScheduleLineRow.loan_id == loan_id)
                .order_by(ScheduleLineRow.due_on, ScheduleLineRow.payer.desc())
            )
        ).all()
    )


async def book_unbooked(session: AsyncSession, actor: str, chunk: int = 2000) -> int:
    """Put on the books every disbursed contract that has no disbursement entry yet: the ones that
    came in from the centre's spreadsheets (the import writes contracts fast and leaves this to the
    batch). Schedules are computed in Python, in chunks, and inserted in bulk; the ledger entries are
    written set-based."""
    unbooked = (
        select(Loan)
        .where(
            Loan.disbursed_on.is_not(None),
            Loan.status.in_([s.value for s in ACTIVE]),
            ~exists().where(LedgerEntry.loan_id == Loan.id, LedgerEntry.kind == "disbursement"),
        )
        .order_by(Loan.id)
    )
    loans = list((await session.scalars(unbooked)).all())
    if not loans:
        return 0
    rows = await policy_rows(session)
    for start in range(0, len(loans), chunk):
        batch = [
            dict(
                loan_id=loan.id,
                due_on=l.due_on,
                payer=l.payer,
                principal=l.principal,
                interest=l.interest,
                days=l.days,
                paid_principal=0,
                paid_interest=0,
                status="pending",
                interest_posted=False,
            )
            for loan in loans[start : start + chunk]
            for l in generate(schedule_terms(loan, rows))
        ]
        await session.execute(insert(ScheduleLineRow), batch)
    ids = [loan.id for loan in loans]
    now = utcnow()
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        await session.execute(
            insert(LedgerEntry).from_select(
                ["loan_id", "kind", "posted_on", "actor", "note", "created_at"],
                select(
                    Loan.id,
                    literal("disbursement"),
                    Loan.disbursed_on,
                    literal(actor),
                    literal("imported contract"),
                    literal(now),
                ).where(Loan.id.in_(part)),
            )
        )
        for account, debit, credit in (("principal", Loan.amount, literal(0)), ("cash", literal(0), Loan.amount)):
            await session.execute(
                insert(LedgerLine).from_select(
                    ["entry_id", "loan_id", "account", "debit", "credit"],
                    select(LedgerEntry.id, Loan.id, literal(account), debit, credit)
                    .join(Loan, Loan.id == LedgerEntry.loan_id)
                    .where(Loan.id.in_(part), LedgerEntry.kind == "disbursement"),
                )
            )
    return len(loans)
