"""The contract ledger: double entry, append-only, balances derived from entries.

Every money movement of a contract is one journal entry whose lines sum to zero (debits = credits).
Nothing is updated or deleted: a correction is a reversal entry that mirrors the lines it undoes.
A stored balance would be a cache; here balances are always summed from the lines.

Accounts, per contract (assets are debit-normal, the rest credit-normal):
    principal            principal the borrower owes (asset)
    interest_borrower    interest due from the borrower (asset)
    interest_government  subsidy interest due from the state (财政贴息, asset)
    penalty              penalty interest due from the borrower (罚息, asset)
    cash                 the centre's money at the bank (asset)
    suspense             money the borrower paid before it was due: held as credit (liability)
    interest_income      interest earned
    penalty_income       penalty interest earned
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.models import LedgerEntry, LedgerLine
from service.db import utcnow

ACCOUNTS = (
    "principal",
    "interest_borrower",
    "interest_government",
    "penalty",
    "cash",
    "suspense",
    "interest_income",
    "penalty_income",
)
KINDS = (
    "disbursement",
    "interest",
    "subsidy",
    "penalty",
    "repayment",
    "credit_applied",
    "subsidy_settlement",
    "relief",
    "reversal",
    "prepayment",
)


class UnbalancedEntry(ValueError):
    pass


@dataclass(frozen=True)
class Line:
    account: str
    debit: int = 0
    credit: int = 0


def check_lines(lines: Sequence[Line]) -> None:
    """An entry is valid when every line is one-sided and non-negative and the sides are equal."""
    if not lines:
        raise UnbalancedEntry("an entry needs lines")
    for line in lines:
        if line.account not in ACCOUNTS:
            raise UnbalancedEntry(f"unknown account {line.account!r}")
        if (
            isinstance(line.debit, bool)
            or isinstance(line.credit, bool)
            or not (isinstance(line.debit, int) and isinstance(line.credit, int))
        ):
            raise UnbalancedEntry("amounts are integer fen")
        if line.debit < 0 or line.credit < 0 or (line.debit > 0) == (line.credit > 0):
            raise UnbalancedEntry(f"line on {line.account} must have exactly one positive side")
    if sum(l.debit for l in lines) != sum(l.credit for l in lines):
        raise UnbalancedEntry("debits and credits differ")


def mirror(lines: Iterable[Line]) -> list[Line]:
    """The lines of a reversal: every debit becomes a credit and back."""
    return [Line(l.account, debit=l.credit, credit=l.debit) for l in lines]


def disbursement_lines(principal: int) -> list[Line]:
    return [Line("principal", debit=principal), Line("cash", credit=principal)]


async def post(
    session: AsyncSession,
    loan_id: int,
    kind: str,
    posted_on: date,
    lines: Sequence[Line],
    *,
    actor: str,
    reference: str | None = None,
    reverses_id: int | None = None,
    schedule_line_id: int | None = None,
    note: str | None = None,
) -> LedgerEntry:
    """Append one balanced entry (in the caller's transaction)."""
    if kind not in KINDS:
        raise ValueError(f"unknown entry kind {kind!r}")
    check_lines(lines)
    entry = LedgerEntry(
        loan_id=loan_id,
        kind=kind,
        posted_on=posted_on,
        reference=reference,
        reverses_id=reverses_id,
        schedule_line_id=schedule_line_id,
        actor=actor,
        note=note,
    )
    session.add(entry)
    await session.flush()
    session.add_all(
        LedgerLine(entry_id=entry.id, loan_id=loan_id, account=l.account, debit=l.debit, credit=l.credit) for l in lines
    )
    await session.flush()
    return entry


async def balances(session: AsyncSession, loan_id: int) -> dict[str, int]:
    """Debit-minus-credit per account for one contract, summed from the lines."""
    rows = await session.execute(
        select(LedgerLine.account, func.sum(LedgerLine.debit - LedgerLine.credit))
        .where(LedgerLine.loan_id == loan_id)
        .group_by(LedgerLine.account)
    )
    found = {account: int(total or 0) for account, total in rows}
    return {a: found.get(a, 0) for a in ACCOUNTS}


async def entries(session: AsyncSession, loan_id: int) -> list[tuple[LedgerEntry, list[LedgerLine]]]:
    es = (
        await session.scalars(select(LedgerEntry).where(LedgerEntry.loan_id == loan_id).order_by(LedgerEntry.id))
    ).all()
    ls = (await session.scalars(select(LedgerLine).where(LedgerLine.loan_id == loan_id).order_by(LedgerLine.id))).all()
    by_entry: dict[int, list[LedgerLine]] = {}
    for line in ls:
        by_entry.setdefault(line.entry_id, []).append(line)
    return [(e, by_entry.get(e.id, [])) for e in es]


async def post_many(
    session: AsyncSession,
    kind: str,
    posted_on: date,
    items: Sequence[tuple[int, Sequence[Line]]],
    *,
    actor: str,
    note: str | None = None,
) -> list[int]:
    """Append one balanced entry per (loan id, lines) in two bulk inserts: the set-based steps (penalty,
    held credit, subsidy settlement) post thousands at once. Returns the entry ids, in order."""
    if kind not in KINDS:
        raise ValueError(f"unknown entry kind {kind!r}")
    if not items:
        return []
    for _, lines in items:
        check_lines(lines)
    now = utcnow()
    made = await session.execute(
        insert(LedgerEntry).returning(LedgerEntry.id, sort_by_parameter_order=True),
        [
            dict(loan_id=loan_id, kind=kind, posted_on=posted_on, actor=actor, note=note, created_at=now)
            for loan_id, _ in items
        ],
    )
    ids = list(made.scalars())
    await session.execute(
        insert(LedgerLine),
        [
            dict(entry_id=entry_id, loan_id=loan_id, account=l.account, debit=l.debit, credit=l.credit)
            for entry_id, (loan_id, lines) in zip(ids, items, strict=True)
            for l in lines
        ],
    )
    return ids
