"""Held credit (suspense) used at a due date: the money a borrower paid before anything was due.

The batch asks once, over the whole portfolio, who holds credit (a small partial index on the ledger
lines of the suspense account answers it); only those contracts are then worked one by one, with the
allocation order of loans.allocation. Contracts without credit cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans import ledger
from loans.allocation import allocate
from loans.lifecycle import ACTIVE
from loans.models import LedgerLine, Loan
from loans.repayments import apply_to_lines, credit_lines, dues_on, record_line_payments

L = LedgerLine


async def credit_holders(session: AsyncSession, loan_ids: Sequence[int] | None = None) -> dict[int, int]:
    """loan id → credit held (fen), for every contract holding some (or those of `loan_ids`)."""
    held = func.sum(L.credit - L.debit)
    query = select(L.loan_id, held).where(L.account == "suspense").group_by(L.loan_id).having(held > 0)
    if loan_ids is not None:
        query = query.where(L.loan_id.in_(loan_ids))
    rows = await session.execute(query)
    return {loan_id: int(amount) for loan_id, amount in rows}


async def apply_held_credit(session: AsyncSession, day: date, actor: str) -> int:
    """Use each holder's credit on what it owes on `day` (penalty → overdue interest → overdue principal
    → current interest → current principal); one `credit_applied` entry per contract that used some."""
    holders = await credit_holders(session)
    if not holders:
        return 0
    applied = 0
    active = [s.value for s in ACTIVE]
    ids = sorted(holders)
    for start in range(0, len(ids), 1000):
        loans = (await session.scalars(select(Loan).where(Loan.id.in_(ids[start:start + 1000]),
                                                          Loan.status.in_(active)))).all()
        for loan in loans:
            dues, lines = await dues_on(session, loan, day)
            amount = min(holders[loan.id], dues.total)
            if amount <= 0:
                continue
            a = allocate(amount, dues)
            paid = apply_to_lines(lines, a, day)
            entry = await ledger.post(session, loan.id, "credit_applied", day,
                                      [ledger.Line("suspense", debit=amount), *credit_lines(a)], actor=actor,
                                      note="held credit used at a due date")
            await record_line_payments(session, entry.id, paid)
            applied += 1
    return applied
