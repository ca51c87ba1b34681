"""Close of business: the nightly batch for one business date, set-based over the whole portfolio.

For each business day since the last run (a missed day is caught up; running a day twice changes
nothing): recognise the interest of every settlement due, mark borrower lines due and overdue, and
move contracts along the lifecycle (in school → grace → repaying ⇄ overdue). Contracts imported from
spreadsheets are put on the books (ledger entry and schedule) first. Every statement works on
the whole portfolio at once; nothing loops over contracts.

Pending prepayment requests are executed on their execution dates (loans.prepayment_requests), held
credit is used on what falls due (loans.credit), penalty interest is charged on overdue principal (and
overdue interest when the policy says so) at the contract rate × the penalty factor in force, and each
collection day (the 20th, not in November) records its collection attempts (loans.collections).
Last, the day's reminders go to the outbox (loans.reminders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from loans.batch import collections
from loans.batch.reminders import queue_reminders
from loans.lifecycle import LOAN, SCHEDULE_LINE
from loans.models import LedgerEntry, LedgerLine, Loan, ScheduleLineRow
from loans.origination.applications import policy_rows
from loans.policy import in_force
from loans.servicing import credit, ledger, prepayment_requests
from loans.servicing.booking import book_unbooked
from loans.servicing.ledger import Line
from service import audit, lifecycle
from service.db import utcnow
from service.meta import get_meta, set_meta

LAST_RUN_KEY = "loans.close_of_business.last_date"
_BATCH_LOCK_KEY = 0x5A5A4243  # "ZZBC"
S, E = ScheduleLineRow, LedgerEntry


@dataclass
class BatchReport:
    as_of: date
    days_run: list[date] = field(default_factory=list)
    contracts_booked: int = 0  # imported contracts put on the books (ledger + schedule)
    interest_entries: int = 0
    lines_due: int = 0
    lines_overdue: int = 0
    penalty_entries: int = 0
    status_changes: dict[str, int] = field(default_factory=dict)
    credit_applied: int = 0  # contracts whose held credit paid something due
    prepayments_executed: int = 0
    prepayments_failed: int = 0
    collection_attempts: dict[date, int] = field(default_factory=dict)  # collection day → contracts
    reminders_queued: int = 0  # outbox messages (loans.reminders)


async def _recognise_interest(session: AsyncSession, day: date, actor: str) -> int:
    """One entry per settlement line due by `day` whose interest is not yet in the ledger."""
    todo = and_(S.due_on <= day, S.interest_posted == false(), S.interest > 0)
    is_borrower = S.payer == "borrower"
    created = await session.execute(
        insert(E).from_select(
            ["loan_id", "kind", "posted_on", "actor", "schedule_line_id", "created_at"],
            select(
                S.loan_id,
                case((is_borrower, "interest"), else_="subsidy"),
                S.due_on,
                literal(actor),
                S.id,
                literal(utcnow()),
            ).where(todo),
        )
    )
    # both lines of every entry in one statement: each entry joined to a two-row "side" table
    side = union_all(select(literal(0).label("side")), select(literal(1).label("side"))).subquery("sides")
    debit_side = side.c.side == 0
    account = case((~debit_side, "interest_income"), (is_borrower, "interest_borrower"), else_="interest_government")
    await session.execute(
        insert(LedgerLine).from_select(
            ["entry_id", "loan_id", "account", "debit", "credit"],
            select(
                E.id,
                E.loan_id,
                account,
                case((debit_side, S.interest), else_=0),
                case((debit_side, 0), else_=S.interest),
            )
            .join(S, E.schedule_line_id == S.id)
            .join(side, literal(True))
            .where(todo),
        )
    )
    await session.execute(update(S).where(S.due_on <= day, S.interest_posted == false()).values(interest_posted=True))
    return created.rowcount or 0


async def _mark_lines(session: AsyncSession, day: date) -> tuple[int, int]:
    borrower = S.payer == "borrower"
    overdue = await lifecycle.move_all(
        session, SCHEDULE_LINE, S, "overdue", from_states=("pending", "due"), where=[borrower, S.due_on < day]
    )
    due = await lifecycle.move_all(
        session, SCHEDULE_LINE, S, "due", from_states=("pending",), where=[borrower, S.due_on == day]
    )
    return overdue.count, due.count


def days_between(session: AsyncSession, start: Any, end: date) -> Any:
    """Whole days from `start` (a date column) to `end`, in the database's own date arithmetic."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return literal(end) - start
    return cast(func.julianday(literal(end.isoformat())) - func.julianday(start), BigInteger)


async def _charge_penalty(session: AsyncSession, day: date, actor: str, factor: Fraction, on_interest: bool) -> int:
    """Penalty interest (罚息) on overdue principal (and, when the policy says so, overdue interest):
    contract rate × factor, per day, from the day after the due date (or the last charge) through `day`.
    One statement sums each contract's unpaid × days exactly in integers and rounds half up once per
    contract, (2n + d) div 2d; the entries and their lines go in as two bulk inserts."""
    owing = (
        (S.paid_principal < S.principal) | (S.paid_interest < S.interest)
        if on_interest
        else (S.paid_principal < S.principal)
    )
    unpaid = (
        (S.principal - S.paid_principal) + (S.interest - S.paid_interest)
        if on_interest
        else (S.principal - S.paid_principal)
    )
    start = func.coalesce(S.penalty_to, S.due_on)
    overdue = and_(S.payer == "borrower", S.status == "overdue", owing)
    # rate in percent with 4 decimals → ten-thousandths; × factor p/q; / 100 (percent) / 365 (days)
    p, q = factor.numerator, factor.denominator
    denominator = 100 * 10**4 * 365 * q
    rate_units = cast(func.round(Loan.rate * 10**4), BigInteger)
    exact = cast(func.sum(unpaid * days_between(session, start, day)), BigInteger) * rate_units * p
    amount = ((exact * 2 + denominator) // (2 * denominator)).label("amount")
    charges = (
        await session.execute(
            select(S.loan_id, amount)
            .join(Loan, Loan.id == S.loan_id)
            .where(overdue, start < day)
            .group_by(S.loan_id, Loan.rate)
        )
    ).all()
    charges = [(loan_id, int(x)) for loan_id, x in charges if x > 0]
    await ledger.post_many(
        session,
        "penalty",
        day,
        [(loan_id, [Line("penalty", debit=x), Line("penalty_income", credit=x)]) for loan_id, x in charges],
        actor=actor,
        note=f"penalty to {day.isoformat()}",
    )
    await session.execute(update(S).where(overdue, start < day).values(penalty_to=day))
    return len(charges)


async def _move_contracts(session: AsyncSession, day: date, actor: str) -> dict[str, int]:
    """The lifecycle steps a date causes, each one set-based and each one an edge of loans.lifecycle."""
    has_overdue = exists().where(S.loan_id == Loan.id, S.status == "overdue")
    principal_started = exists().where(S.loan_id == Loan.id, S.principal > 0, S.due_on <= day)
    steps = [
        ("in_school", "grace", Loan.subsidy_end < day),
        ("grace", "repaying", principal_started),
        ("grace", "overdue", has_overdue),
        ("repaying", "overdue", has_overdue),
        ("overdue", "repaying", and_(~has_overdue, principal_started)),
        ("overdue", "grace", and_(~has_overdue, ~principal_started)),
    ]
    changes: dict[str, int] = {}
    for before, after, condition in steps:
        moved = await lifecycle.move_all(
            session,
            LOAN,
            Loan,
            after,
            from_states=(before,),
            where=[condition],
            values={"version": Loan.version + 1, "updated_at": utcnow()},
            actor=actor,
            action="close-of-business",
            ref=day.isoformat(),
        )
        if moved.count:
            changes[f"{before}->{after}"] = changes.get(f"{before}->{after}", 0) + moved.count
    return changes


async def close_of_business(session: AsyncSession, as_of: date, actor: str) -> BatchReport:
    """Run every business day from the day after the last run up to `as_of` (or just `as_of` the
    first time). A day already run is not run again."""
    report = BatchReport(as_of=as_of)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # several processes may run the batch (workers, the API): one at a time, the others then find
        # the date done (SQLite's write lock does the same)
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _BATCH_LOCK_KEY})
    last = await get_meta(session, LAST_RUN_KEY)
    first_day = as_of if last is None else date.fromisoformat(last) + timedelta(days=1)
    if first_day > as_of:
        return report
    report.days_run = [first_day + timedelta(days=n) for n in range((as_of - first_day).days + 1)]
    # Each step below only asks "is it due on or before the day?", so one pass at the last day of
    # the gap leaves the books exactly as one pass per missed day would. (Steps that accrue per day,
    # such as penalty interest, will walk the days themselves.)
    report.contracts_booked = await book_unbooked(session, actor)
    report.prepayments_executed, report.prepayments_failed = await prepayment_requests.execute_due(
        session, as_of, actor
    )  # each on its own execution date
    report.interest_entries = await _recognise_interest(session, as_of, actor)
    report.credit_applied = await credit.apply_held_credit(session, as_of, actor)
    report.lines_overdue, report.lines_due = await _mark_lines(session, as_of)
    rows = await policy_rows(session)
    factor = Fraction(in_force(rows, "penalty_factor", as_of).parsed)
    on_interest = in_force(rows, "penalty_on_interest", as_of).parsed == "true"
    report.penalty_entries = await _charge_penalty(session, as_of, actor, factor, on_interest)
    report.collection_attempts = await collections.record_attempts(session, report.days_run)
    report.status_changes = await _move_contracts(session, as_of, actor)
    report.reminders_queued = await queue_reminders(session, first_day, as_of)
    if report.days_run:
        await set_meta(session, LAST_RUN_KEY, as_of.isoformat())
        await audit.record(
            session,
            actor,
            "close-of-business",
            "batch",
            as_of.isoformat(),
            None,
            {
                "days": [d.isoformat() for d in report.days_run],
                "contracts_booked": report.contracts_booked,
                "interest_entries": report.interest_entries,
                "penalty_entries": report.penalty_entries,
                "lines_due": report.lines_due,
                "lines_overdue": report.lines_overdue,
                "credit_applied": report.credit_applied,
                "prepayments_executed": report.prepayments_executed,
                "prepayments_failed": report.prepayments_failed,
                "collection_attempts": {d.isoformat(): n for d, n in report.collection_attempts.items()},
                "status_changes": report.status_changes,
                "reminders_queued": report.reminders_queued,
            },
        )
    return report
