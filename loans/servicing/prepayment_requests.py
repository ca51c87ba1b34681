"""Prepayment requests: taken at the counter, executed by the batch on their execution date.

A request names an amount of principal (at least the minimum in force, a policy row) or "everything".
On its execution date (loans.prepayment.execution_date: the 15th/20th/October/November rule) the batch
repays it: the schedule's future is computed again by the generator with the prepayment (equal
principal over the instalments left, residue last), and the money is posted as a `prepayment` entry.
A full settlement also pays what is due and the interest accrued up to that day, which before the
subsidy end date is the state's, so settling early costs the borrower no interest.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import ACTIVE, LOAN, PREPAYMENT, LoanStatus
from loans.models import Loan, PrepaymentRequest, ScheduleLineRow
from loans.origination.applications import policy_rows
from loans.policy import PolicyRow, in_force
from loans.servicing import ledger
from loans.servicing.allocation import allocate
from loans.servicing.booking import schedule_terms
from loans.servicing.credit import credit_holders
from loans.servicing.prepayment import execution_date
from loans.servicing.repayments import (
    apply_to_lines,
    dues_on,
    recognise_due_interest,
    record_line_payments,
    require_serviced,
)
from loans.servicing.schedule import BORROWER, generate
from service import audit, lifecycle
from service.errors import CONFLICT, UNPROCESSABLE, Problem
from service.money import format_yuan

S, R = ScheduleLineRow, PrepaymentRequest


async def future_principal(session: AsyncSession, loan_id: int, after: date) -> int:
    """Principal on borrower lines falling due after `after`, not yet paid."""
    return int(
        await session.scalar(
            select(func.coalesce(func.sum(S.principal - S.paid_principal), 0)).where(
                S.loan_id == loan_id, S.payer == BORROWER, S.due_on > after
            )
        )
        or 0
    )


async def executed_prepayments(session: AsyncSession, loan_id: int) -> tuple[tuple[date, int], ...]:
    """The principal repaid early so far, as the schedule generator takes it: (value date, fen)."""
    rows = (
        await session.execute(
            select(R.execute_on, R.amount)
            .where(R.loan_id == loan_id, R.status == "executed")
            .order_by(R.execute_on, R.id)
        )
    ).all()
    return tuple((d, int(a)) for d, a in rows if a)


async def stored_before(session: AsyncSession, loan_id: int, on: date) -> list[ScheduleLineRow]:
    return list((await session.scalars(select(S).where(S.loan_id == loan_id, S.due_on <= on))).all())


async def request(
    session: AsyncSession, loan: Loan, full: bool, amount: int | None, requested_on: date, actor: str, *, today: date
) -> PrepaymentRequest:
    require_serviced(loan, requested_on, "requested_on", today)
    if full == (amount is not None):
        raise Problem(
            UNPROCESSABLE,
            "请填写提前还款金额，或选择全部结清（二者选一）。",
            "Give either an amount or full=true.",
            field="amount",
        )
    waiting = await session.scalar(select(R.id).where(R.loan_id == loan.id, R.status == "pending"))
    if waiting is not None:
        raise Problem(
            CONFLICT,
            "该合同已有待执行的提前还款申请。",
            "A prepayment request is already pending.",
            extra={"request_id": waiting},
        )
    executes = execution_date(requested_on)
    rows = await policy_rows(session)
    minimum: PolicyRow | None = None
    if amount is not None:
        minimum = in_force(rows, "prepayment_min", requested_on)
        if amount < minimum.parsed:
            raise Problem(
                UNPROCESSABLE,
                f"部分提前还款不少于 {format_yuan(minimum.parsed)} 元。",
                f"A partial prepayment is at least {format_yuan(minimum.parsed)} yuan.",
                field="amount",
                extra={"minimum": format_yuan(minimum.parsed), "policy_id": minimum.id},
            )
        left = await future_principal(session, loan.id, executes)
        if amount > left:
            raise Problem(
                UNPROCESSABLE,
                f"提前还款金额超过 {executes} 之后未到期的本金 {format_yuan(left)} 元。",
                f"The amount exceeds the principal not yet due after {executes} ({format_yuan(left)}).",
                field="amount",
                extra={"principal_not_due": format_yuan(left)},
            )
    item = R(
        loan_id=loan.id,
        full=full,
        amount=amount,
        requested_on=requested_on,
        execute_on=executes,
        status="pending",
        created_by=actor,
        policy_id=None if minimum is None else minimum.id,
    )
    session.add(item)
    await session.flush()
    await audit.record(session, actor, "request-prepayment", "loan", loan.id, None, audit.model_snapshot(item))
    return item


async def _replace_future(
    session: AsyncSession,
    loan: Loan,
    rows: list[PolicyRow],
    on: date,
    full: bool,
    prepayments: tuple[tuple[date, int], ...],
) -> bool:
    """Put the generator's lines after `on` in place of the stored ones; False when the stored future
    is not the generator's (touched by a payment or a relief), and nothing is changed."""
    stored = (await session.scalars(select(S).where(S.loan_id == loan.id, S.due_on > on))).all()
    if any(l.status != "pending" or l.paid_principal or l.paid_interest for l in stored):
        return False
    new = [l for l in generate(schedule_terms(loan, rows, prepayments)) if l.due_on > on]
    was = sum(l.principal for l in stored)
    if sum(l.principal for l in new) + prepayments[-1][1] != was:
        return False
    if full and new:  # what accrued up to the settlement day is due that day, for the days up to it
        first = new[0].due_on
        assert loan.disbursed_on is not None and loan.subsidy_end is not None
        since = max([l.due_on for l in await stored_before(session, loan.id, on)] or [loan.disbursed_on])
        split = loan.subsidy_end + timedelta(days=1)
        days = {"government": max(0, (min(on, split) - since).days), BORROWER: max(0, (on - max(since, split)).days)}
        new = [l._replace(due_on=on, days=days[l.payer]) for l in new if l.due_on == first]
    new = [l for l in new if l.principal or l.interest]
    await session.execute(delete(S).where(S.loan_id == loan.id, S.due_on > on))
    if new:
        await session.execute(
            insert(S),
            [
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
                for l in new
            ],
        )
    return True


async def _execute(session: AsyncSession, item: PrepaymentRequest, rows: list[PolicyRow], actor: str) -> None:
    loan = await session.get(Loan, item.loan_id)
    assert loan is not None
    day = item.execute_on
    if loan.status not in {s.value for s in ACTIVE}:
        await _fail(session, item, f"contract is {loan.status}", actor)
        return
    await recognise_due_interest(session, loan, day, actor)
    left = await future_principal(session, loan.id, day)
    full = item.full or (item.amount or 0) >= left
    prepaid = left if full else int(item.amount or 0)
    if prepaid > left or (not full and prepaid <= 0):
        await _fail(session, item, f"principal not yet due is {format_yuan(left)}", actor)
        return
    prepayments = await executed_prepayments(session, loan.id) + ((day, prepaid),)
    if prepaid and not await _replace_future(session, loan, rows, day, full, prepayments):
        await _fail(session, item, "the schedule's future was changed by a payment or a relief", actor)
        return
    lines, debit = [ledger.Line("principal", credit=prepaid)] if prepaid else [], [ledger.Line("cash", debit=prepaid)]
    paid: list[tuple[int, int, int]] = []
    if full:
        await recognise_due_interest(session, loan, day, actor)  # the interest accrued to today
        dues, due_lines = await dues_on(session, loan, day)
        held = (await credit_holders(session, [loan.id])).get(loan.id, 0)
        total = prepaid + dues.total
        used = min(held, total)
        debit = [ledger.Line(acc, debit=x) for acc, x in (("suspense", used), ("cash", total - used)) if x]
        if dues.total:
            a = allocate(dues.total, dues)
            paid = apply_to_lines(due_lines, a, day)
            lines = [
                ledger.Line(acc, credit=x)
                for acc, x in (
                    ("penalty", a.penalty),
                    ("interest_borrower", a.interest),
                    ("principal", a.principal + prepaid),
                )
                if x
            ]
        prepaid_total = total
        await lifecycle.move(
            session,
            LOAN,
            loan,
            LoanStatus.SETTLED,
            actor=actor,
            action="prepay-in-full",
            audit_note=f"prepayment request {item.id}",
        )
    else:
        prepaid_total = prepaid
    if lines:
        entry = await ledger.post(
            session, loan.id, "prepayment", day, [*debit, *lines], actor=actor, note=f"prepayment request {item.id}"
        )
        await record_line_payments(session, entry.id, paid)
        item.entry_id = entry.id
    await lifecycle.move(
        session,
        PREPAYMENT,
        item,
        "executed",
        actor=actor,
        action="execute-prepayment",
        paid=prepaid_total,
        amount=prepaid,
    )


async def _fail(session: AsyncSession, item: PrepaymentRequest, note: str, actor: str) -> None:
    await lifecycle.move(session, PREPAYMENT, item, "failed", actor=actor, action="fail-prepayment", note=note)


async def execute_due(session: AsyncSession, as_of: date, actor: str) -> tuple[int, int]:
    """Execute every pending request whose execution date has come, each on its own date."""
    todo = (
        await session.scalars(
            select(R).where(R.status == "pending", R.execute_on <= as_of).order_by(R.execute_on, R.id)
        )
    ).all()
    if not todo:
        return 0, 0
    rows = await policy_rows(session)
    for item in todo:
        await _execute(session, item, rows, actor)
        await session.flush()
    return sum(1 for i in todo if i.status == "executed"), sum(1 for i in todo if i.status == "failed")
