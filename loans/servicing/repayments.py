"""Repayments: what is due on the payment date, allocation in the order of DOMAIN.md, the ledger entry.

Interest of a settlement date is recognised in the ledger on that date (the nightly batch does it for
the whole portfolio; a repayment does it for its own contract first, so it never depends on whether
the batch has run yet). Money beyond what is due is held as credit (suspense).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from sqlalchemy import false, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import ACTIVE, SCHEDULE_LINE
from loans.models import LedgerEntry, LinePayment, Loan, ScheduleLineRow
from loans.origination import contracts
from loans.origination.applications import BAD_AMOUNT, parse_amount, policy_rows
from loans.schemas import RepaymentIn, RepaymentOut
from loans.servicing import ledger
from loans.servicing.allocation import Allocation, Dues, Owed, allocate, dues_of, spread
from loans.servicing.booking import schedule_terms
from loans.servicing.prepayment import Quote, accrued_borrower_interest
from loans.servicing.schedule import BORROWER, GOVERNMENT
from service import audit, idempotency
from service.dates import check_date
from service.errors import CONFLICT, Problem
from service.lifecycle import BAD_TRANSITION, step
from service.money import format_yuan

_RECOGNITION = {BORROWER: ("interest", "interest_borrower"), GOVERNMENT: ("subsidy", "interest_government")}


async def recognise_due_interest(session: AsyncSession, loan: Loan, as_of: date, actor: str) -> int:
    """Post the interest of every settlement due on or before `as_of` not yet in the ledger."""
    lines = (
        await session.scalars(
            select(ScheduleLineRow)
            .where(
                ScheduleLineRow.loan_id == loan.id,
                ScheduleLineRow.due_on <= as_of,
                ScheduleLineRow.interest_posted == false(),
            )
            .order_by(ScheduleLineRow.due_on)
        )
    ).all()
    for line in lines:
        if line.interest:
            kind, account = _RECOGNITION[line.payer]
            await ledger.post(
                session,
                loan.id,
                kind,
                line.due_on,
                [ledger.Line(account, debit=line.interest), ledger.Line("interest_income", credit=line.interest)],
                actor=actor,
                schedule_line_id=line.id,
            )
        line.interest_posted = True
    await session.flush()
    return len(lines)


def owed(line: ScheduleLineRow) -> Owed:
    return Owed(line.id, line.due_on, line.interest - line.paid_interest, line.principal - line.paid_principal)


@dataclass(frozen=True)
class Book:
    """A contract's schedule lines (all of them, in due order) and its ledger balances, read once: what is due on
    a day and what settles the contract are both computed from it, with no further round trip."""

    lines: list[ScheduleLineRow]
    balances: dict[str, int]

    def dues(self, on: date) -> tuple[Dues, list[ScheduleLineRow]]:
        """What the borrower owes on `on`: penalty from the ledger, then the unpaid borrower lines due by then."""
        due = [l for l in self.lines if l.payer == BORROWER and l.due_on <= on and l.status != "paid"]
        return dues_of(self.balances["penalty"], [owed(l) for l in due], on), due


async def read_book(session: AsyncSession, loan: Loan) -> Book:
    lines = (
        await session.scalars(
            select(ScheduleLineRow).where(ScheduleLineRow.loan_id == loan.id).order_by(ScheduleLineRow.due_on)
        )
    ).all()
    return Book(list(lines), await ledger.balances(session, loan.id))


async def dues_on(session: AsyncSession, loan: Loan, paid_on: date) -> tuple[Dues, list[ScheduleLineRow]]:
    """What the borrower owes on `paid_on`: penalty from the ledger, then the unpaid borrower lines."""
    return (await read_book(session, loan)).dues(paid_on)


def apply_to_lines(lines: list[ScheduleLineRow], a: Allocation, paid_on: date) -> list[tuple[int, int, int]]:
    """Pay the lines as loans.allocation.spread says. Returns what each line got: (line id, principal, interest)."""
    by_id = {l.id: l for l in lines}
    paid = spread([owed(l) for l in lines], a, paid_on)
    for line_id, principal, interest in paid:
        line = by_id[line_id]
        line.paid_principal += principal
        line.paid_interest += interest
        if line.paid_interest == line.interest and line.paid_principal == line.principal:
            step(SCHEDULE_LINE, line, "paid")
    return paid


async def record_line_payments(session: AsyncSession, entry_id: int, paid: list[tuple[int, int, int]]) -> None:
    """Remember what an entry paid on each line (a reversal gives exactly that back)."""
    if paid:
        await session.execute(
            insert(LinePayment),
            [dict(entry_id=entry_id, schedule_line_id=line_id, principal=p, interest=i) for line_id, p, i in paid],
        )


def credit_lines(a: Allocation) -> list[ledger.Line]:
    """The credit side of a payment's entry: what it paid off, and what is held."""
    credits = [
        ("penalty", a.penalty),
        ("interest_borrower", a.interest),
        ("principal", a.principal),
        ("suspense", a.credit),
    ]
    return [ledger.Line(acc, credit=x) for acc, x in credits if x]


def require_serviced(loan: Loan, on: date, field: str, today: date) -> None:
    """Money moves on a contract only while it is lent out, not before the day it was disbursed, and not after
    the centre's today (service.dates)."""
    if loan.status not in {s.value for s in ACTIVE}:
        raise Problem(
            BAD_TRANSITION,
            "该合同尚未放款或已结清，不能办理还款或提前还款。",
            f"A contract that is {loan.status} takes no payments.",
            extra={"current_status": loan.status},
        )
    check_date(on, field, today=today, after=loan.disbursed_on, after_zh="放款日期", after_en="disbursement")


@dataclass(frozen=True)
class RepaymentResult:
    entry_id: int
    allocation: Allocation


def require_within_owed(amount: int, quote: Quote, max_credit: int) -> None:
    """A repayment pays at most what settles the contract plus `max_credit` held for the borrower (credit
    already held counts): a typo of 999,999,999,999.99 on an 8,000 contract is refused, not held."""
    owed = quote.principal + quote.due_unpaid + quote.penalty + quote.accrued_interest
    limit = max(0, owed + max_credit - quote.credit)
    if amount > limit:
        raise Problem(
            BAD_AMOUNT,
            f"还款金额 {format_yuan(amount)} 元超过该合同全部欠款加可预存额度，最多 {format_yuan(limit)} 元。",
            f"The amount {format_yuan(amount)} exceeds what is owed plus the credit allowed: at most "
            f"{format_yuan(limit)}.",
            field="amount",
            extra={"maximum": format_yuan(limit), "max_credit": format_yuan(max_credit)},
        )


async def repay(
    session: AsyncSession,
    loan: Loan,
    amount: int,
    paid_on: date,
    reference: str,
    actor: str,
    *,
    today: date,
    max_credit: int,
) -> RepaymentResult:
    require_serviced(loan, paid_on, "paid_on", today)
    if await session.scalar(select(LedgerEntry.id).where(LedgerEntry.reference == reference)) is not None:
        raise Problem(
            CONFLICT,
            f"银行流水号 {reference} 已入账。",
            f"Bank reference {reference} is already posted.",
            field="reference",
        )
    await recognise_due_interest(session, loan, paid_on, actor)
    book = await read_book(session, loan)
    require_within_owed(amount, await quote_of(session, loan, book, paid_on, today=today), max_credit)
    dues, lines = book.dues(paid_on)
    a = allocate(amount, dues)
    paid = apply_to_lines(lines, a, paid_on)
    entry = await ledger.post(
        session,
        loan.id,
        "repayment",
        paid_on,
        [ledger.Line("cash", debit=amount), *credit_lines(a)],
        actor=actor,
        reference=reference,
    )
    await record_line_payments(session, entry.id, paid)
    return RepaymentResult(entry.id, a)


async def settlement_quote(session: AsyncSession, loan: Loan, as_of: date, *, today: date) -> Quote:
    """What the borrower pays to settle the contract on `as_of` (a prepayment of everything)."""
    return await quote_of(session, loan, await read_book(session, loan), as_of, today=today)


async def quote_of(session: AsyncSession, loan: Loan, book: Book, as_of: date, *, today: date) -> Quote:
    """The settlement quote from the contract's book: from the disbursement to its maturity (or today, when that
    has passed): a quote may look ahead, not past the end."""
    assert loan.disbursed_on is not None and loan.subsidy_end is not None and loan.signed_on is not None
    check_date(
        as_of,
        "as_of",
        today=today,
        after=loan.disbursed_on,
        after_zh="放款日期",
        after_en="disbursement",
        latest=max(today, loan.maturity_date or today),
    )
    fallen_due = [l for l in book.lines if l.due_on <= as_of]
    unpaid_due = sum(
        l.principal - l.paid_principal + l.interest - l.paid_interest for l in fallen_due if l.payer == BORROWER
    )
    last_settlement = max((l.due_on for l in fallen_due), default=loan.disbursed_on)
    # principal falling due on the settlement dates already passed is in unpaid_due, not outstanding
    outstanding = loan.amount - sum(l.principal for l in fallen_due)
    rate = schedule_terms(loan, await policy_rows(session)).rate_on(last_settlement)
    return Quote(
        as_of=as_of,
        principal=max(0, outstanding),
        due_unpaid=unpaid_due,
        penalty=max(0, book.balances["penalty"]),
        accrued_interest=accrued_borrower_interest(
            outstanding, int(rate * 10**4), last_settlement, as_of, loan.subsidy_end
        ),
        credit=max(0, -book.balances["suspense"]),
    )


async def record_repayment(
    session: AsyncSession,
    contract_no: str,
    data: RepaymentIn,
    key: str | None,
    actor: str,
    *,
    today: date,
    max_credit: int,
) -> tuple[int, dict[str, Any]]:
    """Post a repayment (the API's and the console's): with an idempotency key, a repeat gives the first answer."""
    scope = f"repayment:{contract_no}"
    if key is not None:
        first = await idempotency.claim(session, scope, key, idempotency.request_hash(msgspec.json.encode(data)))
        if first is not None:
            return first
    loan = await contracts.get_contract(session, contract_no)
    # one repayment at a time per contract (PostgreSQL row lock; SQLite's write lock already serializes)
    await session.refresh(loan, with_for_update=True)
    amount = parse_amount(data.amount)
    if amount <= 0:
        raise Problem(BAD_AMOUNT, "还款金额须大于零。", "The amount must be positive.", field="amount")
    result = await repay(session, loan, amount, data.paid_on, data.reference, actor, today=today, max_credit=max_credit)
    a = result.allocation
    body = msgspec.to_builtins(
        RepaymentOut(
            id=result.entry_id,
            contract_no=contract_no,
            amount=format_yuan(amount),
            paid_on=data.paid_on,
            allocated={
                "penalty": format_yuan(a.penalty),
                "interest": format_yuan(a.interest),
                "principal": format_yuan(a.principal),
            },
            credit=format_yuan(a.credit),
        )
    )
    if key is not None:
        await idempotency.remember(session, scope, key, 201, body)
    await audit.record(session, actor, "repay", "loan", loan.id, None, body)
    return 201, body
