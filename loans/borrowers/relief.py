"""Relief measures as data (2022–2025 notices): graduates of year Y or earlier pay no interest for Y (the
state pays it), Y's principal is deferred by one year, and no penalty is charged on them.

A relief is a row (proposed by an officer, approved by a reviewer who did not propose it) and, once
applied, one item per schedule line it changed, saying exactly what moved:
- the borrower's unpaid interest of the year's line moves to the government's line of the same date
  (created if there was none); once recognised in the ledger, a `relief` entry moves it between the
  receivables (interest_borrower → interest_government);
- the unpaid principal moves to the borrower's line one year later (created if there was none); the
  principal account does not change (it is still owed). The deferred principal bears no extra interest;
- penalty charged on that line since its due date is waived in the same `relief` entry.
Reversing a relief puts every item back and mirrors every relief entry (a `reversal`), so the ledger
and the schedules are as before. It is refused for an item the state has since paid or whose deferred
principal the borrower has since paid.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import ACTIVE, RELIEF, SCHEDULE_LINE
from loans.models import LedgerEntry, LedgerLine, Loan, Relief, ReliefItem, ScheduleLineRow
from loans.servicing import ledger
from loans.servicing.ledger import Line
from loans.servicing.reversal import status_after_reversal
from loans.servicing.schedule import BORROWER, GOVERNMENT, SETTLEMENT_DAY, SETTLEMENT_MONTH
from service import lifecycle
from service.dates import check_date
from service.errors import UNPROCESSABLE, Problem
from service.lifecycle import step

S = ScheduleLineRow


def _settled(line: ScheduleLineRow) -> bool:
    return line.paid_interest == line.interest and line.paid_principal == line.principal


def _new_line(loan_id: int, due_on: date, payer: str, posted: bool) -> ScheduleLineRow:
    return ScheduleLineRow(
        loan_id=loan_id,
        due_on=due_on,
        payer=payer,
        principal=0,
        interest=0,
        days=0,
        paid_principal=0,
        paid_interest=0,
        status="pending",
        interest_posted=posted,
    )


async def _penalty_since(session: AsyncSession, loan_id: int, since: date) -> int:
    """Penalty charged on a contract after `since`, at most what is still owed."""
    charged = await session.scalar(
        select(func.coalesce(func.sum(LedgerLine.debit), 0))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(
            LedgerEntry.loan_id == loan_id,
            LedgerEntry.kind == "penalty",
            LedgerEntry.posted_on > since,
            LedgerLine.account == "penalty",
        )
    )
    owed = await session.scalar(
        select(func.coalesce(func.sum(LedgerLine.debit - LedgerLine.credit), 0)).where(
            LedgerLine.loan_id == loan_id, LedgerLine.account == "penalty"
        )
    )
    return max(0, min(int(charged or 0), int(owed or 0)))


async def apply(session: AsyncSession, relief: Relief, on: date, actor: str, *, today: date) -> int:
    """Apply to the cohort; returns the number of contracts changed."""
    check_date(on, "on", today=today)  # it posts refunds and waivers dated `on`
    y = relief.year
    lines = (
        await session.scalars(
            select(S)
            .join(Loan, Loan.id == S.loan_id)
            .where(
                Loan.graduation_year <= relief.graduated_by,
                Loan.status.in_([s.value for s in ACTIVE]),
                S.payer == BORROWER,
                S.due_on >= date(y, 1, 1),
                S.due_on <= date(y, 12, 31),
                (S.interest > S.paid_interest) | (S.principal > S.paid_principal),
            )
            .order_by(S.loan_id, S.due_on)
        )
    ).all()
    if not lines:
        return 0
    later = {l.due_on: date(l.due_on.year + 1, SETTLEMENT_MONTH, SETTLEMENT_DAY) for l in lines}
    wanted = {(l.loan_id, l.due_on, GOVERNMENT) for l in lines} | {
        (l.loan_id, later[l.due_on], BORROWER) for l in lines
    }
    others = {
        (o.loan_id, o.due_on, o.payer): o
        for o in (await session.scalars(select(S).where(tuple_(S.loan_id, S.due_on, S.payer).in_(list(wanted))))).all()
    }
    entries: dict[int, list[Line]] = defaultdict(list)
    items: list[tuple[ReliefItem, ScheduleLineRow | None, ScheduleLineRow | None]] = []
    for line in lines:
        moved, deferred = line.interest - line.paid_interest, line.principal - line.paid_principal
        item = ReliefItem(
            relief_id=relief.id,
            loan_id=line.loan_id,
            line_id=line.id,
            interest_moved=moved,
            principal_deferred=deferred,
            previous_status=line.status,
        )
        gov = target = None
        if moved:
            gov = others.get((line.loan_id, line.due_on, GOVERNMENT))
            if gov is None:
                gov = others[(line.loan_id, line.due_on, GOVERNMENT)] = _new_line(
                    line.loan_id, line.due_on, GOVERNMENT, line.interest_posted
                )
                session.add(gov)
            gov.interest += moved
            if gov.status == "paid":
                step(SCHEDULE_LINE, gov, "pending")  # the state owes more on it now
            line.interest -= moved
            if line.interest_posted:
                entries[line.loan_id] += [
                    Line("interest_government", debit=moved),
                    Line("interest_borrower", credit=moved),
                ]
        if deferred:
            key = (line.loan_id, later[line.due_on], BORROWER)
            target = others.get(key)
            if target is None:
                target = others[key] = _new_line(line.loan_id, key[1], BORROWER, True)
                session.add(target)
            target.principal += deferred
            if target.status == "paid":
                step(SCHEDULE_LINE, target, status_after_reversal(target.due_on, on))
            line.principal -= deferred
        if line.due_on < on:
            item.penalty_waived = await _penalty_since(session, line.loan_id, line.due_on)
            if item.penalty_waived:
                entries[line.loan_id] += [
                    Line("penalty_income", debit=item.penalty_waived),
                    Line("penalty", credit=item.penalty_waived),
                ]
        if _settled(line):
            step(SCHEDULE_LINE, line, "paid")
        items.append((item, gov, target))
    await session.flush()  # the new lines get their ids
    loan_ids = sorted(entries)
    entry_ids = dict(
        zip(
            loan_ids,
            await ledger.post_many(
                session,
                "relief",
                on,
                [(k, entries[k]) for k in loan_ids],
                actor=actor,
                note=f"relief {relief.id} ({y})",
            ),
            strict=True,
        )
    )
    for item, gov, target in items:
        item.government_line_id = gov.id if gov is not None else None
        item.deferred_line_id = target.id if target is not None else None
        item.entry_id = entry_ids.get(item.loan_id)
        session.add(item)
    await session.flush()
    return len({l.loan_id for l in lines})


async def reverse(session: AsyncSession, relief: Relief, on: date, actor: str, *, today: date) -> int:
    """Undo every item of an applied relief; returns the number of contracts changed back."""
    check_date(on, "on", today=today, after=relief.applied_on, after_zh="减免实施日期", after_en="relief's application")
    items = (
        await session.scalars(select(ReliefItem).where(ReliefItem.relief_id == relief.id).order_by(ReliefItem.id))
    ).all()
    ids = (
        {i.line_id for i in items}
        | {i.government_line_id for i in items if i.government_line_id}
        | {i.deferred_line_id for i in items if i.deferred_line_id}
    )
    lines = {l.id: l for l in (await session.scalars(select(S).where(S.id.in_(ids)))).all()} if ids else {}
    for item in items:
        gov, target = lines.get(item.government_line_id or 0), lines.get(item.deferred_line_id or 0)
        if gov is not None and gov.paid_interest > gov.interest - item.interest_moved:
            raise Problem(
                UNPROCESSABLE,
                "国家已结算该减免转入的贴息，不能撤销。",
                "The state has paid the interest this relief moved to it; it cannot be reversed.",
                extra={"contract_id": item.loan_id},
            )
        if target is not None and target.paid_principal > target.principal - item.principal_deferred:
            raise Problem(
                UNPROCESSABLE,
                "借款人已归还延期的本金，不能撤销。",
                "The borrower has repaid the deferred principal; the relief cannot be reversed.",
                extra={"contract_id": item.loan_id},
            )
    transfers: dict[int, list[Line]] = defaultdict(list)
    mirrored = set()
    for item in items:
        line, gov, target = (
            lines[item.line_id],
            lines.get(item.government_line_id or 0),
            lines.get(item.deferred_line_id or 0),
        )
        if gov is not None:
            gov.interest -= item.interest_moved
            line.interest += item.interest_moved
            if item.entry_id is None and line.interest_posted:  # recognised after the relief: move it back
                transfers[item.loan_id] += [
                    Line("interest_borrower", debit=item.interest_moved),
                    Line("interest_government", credit=item.interest_moved),
                ]
            if _settled(gov):
                step(SCHEDULE_LINE, gov, "paid")
        if target is not None:
            target.principal -= item.principal_deferred
            line.principal += item.principal_deferred
            if _settled(target):
                step(SCHEDULE_LINE, target, "paid")  # nothing left on it (a line the relief created)
        step(SCHEDULE_LINE, line, "paid" if _settled(line) else status_after_reversal(line.due_on, on))
        if item.entry_id is not None and item.entry_id not in mirrored:
            mirrored.add(item.entry_id)
            original = (await session.scalars(select(LedgerLine).where(LedgerLine.entry_id == item.entry_id))).all()
            await ledger.post(
                session,
                item.loan_id,
                "reversal",
                on,
                ledger.mirror([Line(l.account, l.debit, l.credit) for l in original]),
                actor=actor,
                reverses_id=item.entry_id,
                note=f"reversal of relief {relief.id}",
            )
    loan_ids = sorted(transfers)
    await ledger.post_many(
        session,
        "relief",
        on,
        [(k, transfers[k]) for k in loan_ids],
        actor=actor,
        note=f"reversal of relief {relief.id}",
    )
    await session.flush()
    return len({i.loan_id for i in items})


async def totals(session: AsyncSession, relief_id: int) -> dict[str, int]:
    contracts, interest, principal, penalty = (
        await session.execute(
            select(
                func.count(func.distinct(ReliefItem.loan_id)),
                func.coalesce(func.sum(ReliefItem.interest_moved), 0),
                func.coalesce(func.sum(ReliefItem.principal_deferred), 0),
                func.coalesce(func.sum(ReliefItem.penalty_waived), 0),
            ).where(ReliefItem.relief_id == relief_id)
        )
    ).one()
    return {
        "contracts": int(contracts),
        "interest_moved": int(interest),
        "principal_deferred": int(principal),
        "penalty_waived": int(penalty),
    }


async def move(
    session: AsyncSession,
    relief: Relief,
    wanted: str,
    action: str,
    actor: str,
    before: dict | None,
    note: str | None = None,
    **changes: object,
) -> None:
    """The relief's step along its lifecycle, audited with what it changed (its totals)."""
    await lifecycle.move(
        session,
        RELIEF,
        relief,
        wanted,
        actor=actor,
        action=action,
        before=before,
        also=await totals(session, relief.id),
        audit_note=note,
        **changes,
    )
