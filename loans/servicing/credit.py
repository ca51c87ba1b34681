"""Held credit (suspense) used at a due date: the money a borrower paid before anything was due.

The batch asks once, over the whole portfolio, who holds credit (a small partial index on the ledger
lines of the suspense account answers it). For the holders, a handful of statements per thousands of
contracts read what they owe, the pure allocation (loans.allocation) decides, and the line updates,
entries and entry lines are written in bulk. Contracts without credit cost nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import ACTIVE, SCHEDULE_LINE
from loans.models import LedgerLine, LinePayment, Loan, ScheduleLineRow
from loans.servicing.allocation import Owed, allocate, dues_of, spread
from loans.servicing.ledger import Line, post_many
from loans.servicing.repayments import credit_lines
from service import lifecycle

L, S = LedgerLine, ScheduleLineRow
CHUNK = 5000


async def credit_holders(session: AsyncSession, loan_ids: Sequence[int] | None = None) -> dict[int, int]:
    """loan id → credit held (fen), for every contract holding some (or those of `loan_ids`)."""
    held = func.sum(L.credit - L.debit)
    query = select(L.loan_id, held).where(L.account == "suspense").group_by(L.loan_id).having(held > 0)
    if loan_ids is not None:
        query = query.where(L.loan_id.in_(loan_ids))
    return {loan_id: int(amount) for loan_id, amount in await session.execute(query)}


async def apply_held_credit(session: AsyncSession, day: date, actor: str) -> int:
    """Use each holder's credit on what it owes on `day` (penalty → overdue interest → overdue principal
    → current interest → current principal): one `credit_applied` entry per contract that used some."""
    holders = await credit_holders(session)
    applied = 0
    ids = sorted(holders)
    for start in range(0, len(ids), CHUNK):
        applied += await _apply_chunk(session, ids[start : start + CHUNK], holders, day, actor)
    return applied


async def _apply_chunk(session: AsyncSession, ids: list[int], held: dict[int, int], day: date, actor: str) -> int:
    active = set(
        (
            await session.scalars(select(Loan.id).where(Loan.id.in_(ids), Loan.status.in_([s.value for s in ACTIVE])))
        ).all()
    )
    penalty = dict(
        (
            await session.execute(
                select(L.loan_id, func.sum(L.debit - L.credit))
                .where(L.loan_id.in_(ids), L.account == "penalty")
                .group_by(L.loan_id)
            )
        ).all()
    )
    lines: dict[int, list[Owed]] = defaultdict(list)
    for line_id, loan_id, due_on, interest, principal in await session.execute(
        select(S.id, S.loan_id, S.due_on, S.interest - S.paid_interest, S.principal - S.paid_principal).where(
            S.loan_id.in_(ids), S.payer == "borrower", S.due_on <= day, S.status != "paid"
        )
    ):
        lines[loan_id].append(Owed(line_id, due_on, int(interest), int(principal)))
    entries: list[tuple[int, list[Line], list[tuple[int, int, int]]]] = []
    for loan_id in sorted(active & (set(lines) | set(penalty))):
        dues = dues_of(int(penalty.get(loan_id) or 0), lines[loan_id], day)
        amount = min(held[loan_id], dues.total)
        if amount <= 0:
            continue
        a = allocate(amount, dues)
        entry_lines = [Line("suspense", debit=amount), *credit_lines(a)]
        entries.append((loan_id, entry_lines, spread(lines[loan_id], a, day)))
    if not entries:
        return 0
    owed = {o.line_id: o for ls in lines.values() for o in ls}
    t = S.__table__.c  # a Core executemany (the ORM's bulk update wants whole rows by primary key)
    paid_lines = [(line_id, p, i) for _, _, paid in entries for line_id, p, i in paid]
    await session.execute(
        update(S.__table__)
        .where(t.id == bindparam("line_id"))
        .values(paid_principal=t.paid_principal + bindparam("p"), paid_interest=t.paid_interest + bindparam("i")),
        [dict(line_id=line_id, p=p, i=i) for line_id, p, i in paid_lines],
    )
    await lifecycle.move_all(
        session,
        SCHEDULE_LINE,
        S,
        "paid",
        where=[t.id == bindparam("line_id")],
        params=[
            {"line_id": line_id}
            for line_id, p, i in paid_lines
            if (p, i) == (owed[line_id].principal, owed[line_id].interest)
        ],
    )
    entry_ids = await post_many(
        session,
        "credit_applied",
        day,
        [(loan_id, ls) for loan_id, ls, _ in entries],
        actor=actor,
        note="held credit used at a due date",
    )
    payments = [
        dict(entry_id=entry_id, schedule_line_id=line_id, principal=p, interest=i)
        for entry_id, (_, _, paid) in zip(entry_ids, entries, strict=True)
        for line_id, p, i in paid
    ]
    if payments:
        await session.execute(insert(LinePayment), payments)
    return len(entries)
