"""The government's subsidy bill (财政贴息) per year and its settlement.

The state's share of each settlement is a `government` schedule line. Those lines are billed by the
calendar year they fall due in and settled all at once when the state pays: one `subsidy_settlement`
entry per contract (cash in, the government's receivable gone) and the lines marked paid. The amount
paid must equal the bill to the fen; the bank reference makes a repeated settlement a no-op. Government
lines never make a borrower overdue (the batch marks only borrower lines).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import SCHEDULE_LINE
from loans.models import Loan, ScheduleLineRow, SubsidySettlement
from loans.servicing import ledger
from loans.servicing.ledger import Line
from loans.servicing.schedule import GOVERNMENT
from service import audit, lifecycle
from service.dates import check_date
from service.errors import CONFLICT, UNPROCESSABLE, Problem
from service.money import format_yuan
from service.registry.models import Student, University

S = ScheduleLineRow


def _of_year(year: int) -> object:
    return and_(S.payer == GOVERNMENT, S.due_on >= date(year, 1, 1), S.due_on <= date(year, 12, 31))


@dataclass(frozen=True)
class Bill:
    year: int
    billed: int  # everything the state owes for the year's settlements (fen)
    settled: int
    contracts: int
    lines: int
    unrecognised: int  # lines whose date the batch has not reached yet
    by_university: list[tuple[str, str, int, int]]  # code, name, contracts, unsettled amount

    @property
    def unsettled(self) -> int:
        return self.billed - self.settled


async def bill(session: AsyncSession, year: int) -> Bill:
    billed, settled, contracts, lines, unrecognised = (
        await session.execute(
            select(
                func.coalesce(func.sum(S.interest), 0),
                func.coalesce(func.sum(S.paid_interest), 0),
                func.count(func.distinct(S.loan_id)),
                func.count(S.id),
                func.coalesce(func.sum(case((S.interest_posted == False, 1), else_=0)), 0),  # noqa: E712
            ).where(_of_year(year))
        )
    ).one()
    per_uni = (
        await session.execute(
            select(
                Student.university_code,
                University.name,
                func.count(func.distinct(S.loan_id)),
                func.sum(S.interest - S.paid_interest),
            )
            .join(Loan, Loan.id == S.loan_id)
            .join(Student, Student.id == Loan.student_id)
            .join(University, University.code == Student.university_code)
            .where(_of_year(year))
            .group_by(Student.university_code, University.name)
            .order_by(Student.university_code)
        )
    ).all()
    return Bill(
        year,
        int(billed),
        int(settled),
        int(contracts),
        int(lines),
        int(unrecognised),
        [(code, name, int(n), int(x or 0)) for code, name, n, x in per_uni],
    )


async def settle(
    session: AsyncSession, year: int, amount: int, reference: str, on: date, actor: str, *, today: date
) -> tuple[SubsidySettlement, bool]:
    """Settle the year's government lines; (settlement, created). The same reference again returns the
    first settlement when it was for the same year and amount, else 409."""
    check_date(on, "settled_on", today=today)
    first = await session.scalar(select(SubsidySettlement).where(SubsidySettlement.reference == reference))
    if first is not None:
        if (first.year, first.amount) != (year, amount):
            raise Problem(
                CONFLICT,
                f"银行流水号 {reference} 已用于另一笔贴息结算。",
                f"Reference {reference} settled another bill.",
                field="reference",
            )
        return first, False
    due = await bill(session, year)
    if due.unrecognised:
        raise Problem(
            UNPROCESSABLE,
            f"{year} 年还有 {due.unrecognised} 笔贴息尚未到结息日入账，请先跑批到该日期。",
            f"{due.unrecognised} subsidy lines of {year} are not yet recognised; run the batch first.",
            field="year",
        )
    if due.unsettled == 0:
        raise Problem(
            UNPROCESSABLE, f"{year} 年没有待结算的贴息。", f"Nothing is left to settle for {year}.", field="year"
        )
    if amount != due.unsettled:
        difference = amount - due.unsettled
        raise Problem(
            UNPROCESSABLE,
            f"结算金额 {format_yuan(amount)} 元与应结贴息 {format_yuan(due.unsettled)} 元不符，"
            f"相差 {format_yuan(difference)} 元。",
            f"The amount {format_yuan(amount)} differs from the bill {format_yuan(due.unsettled)} by "
            f"{format_yuan(difference)}.",
            field="amount",
            extra={"bill": format_yuan(due.unsettled), "difference": format_yuan(difference)},
        )
    per_loan = (
        await session.execute(
            select(S.loan_id, func.sum(S.interest - S.paid_interest))
            .where(_of_year(year), S.status != "paid")
            .group_by(S.loan_id)
            .order_by(S.loan_id)
        )
    ).all()
    items = [
        (loan_id, [Line("cash", debit=int(x)), Line("interest_government", credit=int(x))])
        for loan_id, x in per_loan
        if x
    ]
    await ledger.post_many(
        session, "subsidy_settlement", on, items, actor=actor, note=f"subsidy settlement {year} {reference}"
    )
    settled = await lifecycle.move_all(
        session, SCHEDULE_LINE, S, "paid", where=[_of_year(year)], values={"paid_interest": S.interest}
    )
    item = SubsidySettlement(
        year=year,
        amount=amount,
        reference=reference,
        contracts=len(items),
        lines=settled.count,
        settled_on=on,
        created_by=actor,
    )
    session.add(item)
    await session.flush()
    await audit.record(
        session, actor, "settle-subsidy", "subsidy_settlement", item.id, None, audit.model_snapshot(item)
    )
    return item, True
