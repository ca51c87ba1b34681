"""Reversing a repayment: a mirror entry (nothing is updated or deleted) and the lines it paid restored.

What the repayment paid on each schedule line was recorded with it (loans.models.LinePayment), so the
reversal gives exactly that back. A repayment whose held credit has already been used cannot be
reversed on its own: the credit's use would have to be undone first, and the borrower would owe it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import SCHEDULE_LINE
from loans.models import LedgerEntry, LedgerLine, LinePayment, Loan, ScheduleLineRow
from loans.servicing import ledger
from loans.servicing.credit import credit_holders
from service import audit
from service.dates import check_date
from service.errors import CONFLICT, NOT_FOUND, UNPROCESSABLE, Problem
from service.lifecycle import step
from service.money import format_yuan

REVERSIBLE = ("repayment",)


def status_after_reversal(due_on: date, on: date) -> str:
    return "overdue" if due_on < on else "due" if due_on == on else "pending"


async def reverse_repayment(
    session: AsyncSession, loan: Loan, entry_id: int, reason: str, on: date, actor: str, *, today: date
) -> LedgerEntry:
    entry = await session.get(LedgerEntry, entry_id)
    if entry is None or entry.loan_id != loan.id or entry.kind not in REVERSIBLE:
        raise Problem(NOT_FOUND, f"该合同没有编号为 {entry_id} 的还款。", f"This contract has no repayment {entry_id}.")
    done = await session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry.id))
    if done is not None:
        raise Problem(CONFLICT, "该笔还款已冲正。", "This repayment was reversed already.", extra={"reversal_id": done})
    check_date(on, "reversed_on", today=today, after=entry.posted_on, after_zh="还款日期", after_en="repayment")
    lines = (await session.scalars(select(LedgerLine).where(LedgerLine.entry_id == entry.id))).all()
    held_then = sum(l.credit for l in lines if l.account == "suspense")
    if held_then:
        held_now = (await credit_holders(session, [loan.id])).get(loan.id, 0)
        if held_now < held_then:
            raise Problem(
                UNPROCESSABLE,
                f"该笔还款形成的预存款 {format_yuan(held_then)} 元已部分抵扣到期款项（现余 "
                f"{format_yuan(held_now)} 元），不能单独冲正。",
                f"The credit this repayment left ({format_yuan(held_then)}) has been used "
                f"(held now: {format_yuan(held_now)}); it cannot be reversed on its own.",
            )
    reversal = await ledger.post(
        session,
        loan.id,
        "reversal",
        on,
        ledger.mirror([ledger.Line(l.account, l.debit, l.credit) for l in lines]),
        actor=actor,
        reverses_id=entry.id,
        note=reason,
    )
    paid = (
        await session.execute(
            select(LinePayment, ScheduleLineRow)
            .join(ScheduleLineRow, ScheduleLineRow.id == LinePayment.schedule_line_id)
            .where(LinePayment.entry_id == entry.id)
        )
    ).all()
    restored = []
    for payment, line in paid:
        line.paid_principal -= payment.principal
        line.paid_interest -= payment.interest
        step(SCHEDULE_LINE, line, status_after_reversal(line.due_on, on))
        restored.append(
            {
                "due_on": line.due_on.isoformat(),
                "payer": line.payer,
                "principal": payment.principal,
                "interest": payment.interest,
            }
        )
    await session.flush()
    await audit.record(
        session,
        actor,
        "reverse-repayment",
        "loan",
        loan.id,
        {"entry_id": entry.id, "reference": entry.reference},
        {"reversal_id": reversal.id, "lines_restored": restored},
        note=reason,
    )
    return reversal
