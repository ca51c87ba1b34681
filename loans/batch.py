"""Close of business: the nightly batch for one business date, set-based over the whole portfolio.

For each business day since the last run (a missed day is caught up; running a day twice changes
nothing): recognise the interest of every settlement due, mark borrower lines due and overdue, and
move contracts along the lifecycle (in school → grace → repaying ⇄ overdue). Contracts imported from
spreadsheets are put on the books (ledger entry and schedule) first. Every statement works on
the whole portfolio at once; nothing loops over contracts.

Penalty interest is charged on overdue principal at the contract rate × the penalty factor in force.
Not yet here (see the open issue): applying held credit at a due date, penalty on overdue interest
(a policy setting, default no) and relief measures. Last, the day's reminders go to the outbox (loans.reminders).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from sqlalchemy import and_, case, exists, func, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from loans.applications import policy_rows
from loans.models import LedgerEntry, LedgerLine, Loan, ScheduleLineRow
from loans.policy import in_force
from loans.reminders import queue_reminders
from loans.servicing import book_unbooked
from service import audit
from service.db import utcnow
from service.meta import get_meta, set_meta
from service.money import round_half_up

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
    reminders_queued: int = 0  # outbox messages (loans.reminders)


async def _recognise_interest(session: AsyncSession, day: date, actor: str) -> int:
    """One entry per settlement line due by `day` whose interest is not yet in the ledger."""
    todo = and_(S.due_on <= day, S.interest_posted.is_(False), S.interest > 0)
    is_borrower = S.payer == "borrower"
    created = await session.execute(insert(E).from_select(
        ["loan_id", "kind", "posted_on", "actor", "schedule_line_id", "created_at"],
        select(S.loan_id, case((is_borrower, "interest"), else_="subsidy"), S.due_on, literal(actor), S.id,
               literal(utcnow())).where(todo)))
    for account, debit, credit in (
        (case((is_borrower, "interest_borrower"), else_="interest_government"), S.interest, literal(0)),
        (literal("interest_income"), literal(0), S.interest),
    ):
        await session.execute(insert(LedgerLine).from_select(
            ["entry_id", "loan_id", "account", "debit", "credit"],
            select(E.id, E.loan_id, account, debit, credit).join(S, E.schedule_line_id == S.id).where(todo)))
    await session.execute(update(S).where(S.due_on <= day, S.interest_posted.is_(False))
                          .values(interest_posted=True))
    return created.rowcount or 0


async def _mark_lines(session: AsyncSession, day: date) -> tuple[int, int]:
    unpaid = S.status.in_(("pending", "due"))
    overdue = await session.execute(update(S).where(S.payer == "borrower", S.due_on < day, unpaid)
                                    .values(status="overdue"))
    due = await session.execute(update(S).where(S.payer == "borrower", S.due_on == day, S.status == "pending")
                                .values(status="due"))
    return overdue.rowcount or 0, due.rowcount or 0


async def _charge_penalty(session: AsyncSession, day: date, actor: str, factor: Fraction) -> int:
    """Penalty interest (罚息) on overdue principal: contract rate × factor, per day, from the day after
    the due date (or the last charge) through `day`. One query finds every overdue line, Python rounds
    each contract's charge with the one rounding function, and the entries go in in bulk."""
    start = func.coalesce(S.penalty_to, S.due_on)
    found = (await session.execute(
        select(S.loan_id, S.principal - S.paid_principal, Loan.rate, start)
        .join(Loan, Loan.id == S.loan_id)
        .where(S.payer == "borrower", S.status == "overdue", S.paid_principal < S.principal, start < day))).all()
    exact: dict[int, Fraction] = {}
    for loan_id, unpaid, rate, since in found:
        days = (day - since).days
        exact[loan_id] = exact.get(loan_id, Fraction(0)) + Fraction(unpaid * days) * Fraction(rate) / 100 * factor / 365
    charges = {loan_id: round_half_up(x) for loan_id, x in exact.items()}
    charges = {k: v for k, v in charges.items() if v > 0}
    marker = f"penalty to {day.isoformat()}"
    if charges:
        await session.execute(insert(E), [dict(loan_id=k, kind="penalty", posted_on=day, actor=actor, note=marker,
                                               created_at=utcnow()) for k in charges])
        entry_ids = dict((await session.execute(select(E.loan_id, E.id).where(E.kind == "penalty",
                                                                              E.note == marker))).all())
        await session.execute(insert(LedgerLine), [
            dict(entry_id=entry_ids[k], loan_id=k, account=account, debit=d, credit=c)
            for k, amount in charges.items()
            for account, d, c in (("penalty", amount, 0), ("penalty_income", 0, amount))])
    await session.execute(update(S).where(S.payer == "borrower", S.status == "overdue",
                                          S.paid_principal < S.principal).values(penalty_to=day))
    return len(charges)


async def _move_contracts(session: AsyncSession, day: date) -> dict[str, int]:
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
        result = await session.execute(update(Loan).where(Loan.status == before, condition)
                                       .values(status=after, version=Loan.version + 1, updated_at=utcnow()),
                                       execution_options={"synchronize_session": False})
        if result.rowcount:
            changes[f"{before}->{after}"] = changes.get(f"{before}->{after}", 0) + result.rowcount
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
    report.interest_entries = await _recognise_interest(session, as_of, actor)
    report.lines_overdue, report.lines_due = await _mark_lines(session, as_of)
    factor = Fraction(in_force(await policy_rows(session), "penalty_factor", as_of).parsed)
    report.penalty_entries = await _charge_penalty(session, as_of, actor, factor)
    report.status_changes = await _move_contracts(session, as_of)
    report.reminders_queued = await queue_reminders(session, first_day, as_of)
    if report.days_run:
        await set_meta(session, LAST_RUN_KEY, as_of.isoformat())
        await audit.record(session, actor, "close-of-business", "batch", as_of.isoformat(), None, {
            "days": [d.isoformat() for d in report.days_run], "contracts_booked": report.contracts_booked,
            "interest_entries": report.interest_entries, "penalty_entries": report.penalty_entries,
            "lines_due": report.lines_due, "lines_overdue": report.lines_overdue,
            "status_changes": report.status_changes, "reminders_queued": report.reminders_queued})
    return report
