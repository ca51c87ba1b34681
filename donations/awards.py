"""Paying awards out of the programme's money, line by line, and taking them back.

The allocation itself is donations.allocation (pure); this module reads what each funding still holds,
writes the lines set-based and keeps the two cached sums (`fundings.allocated`, `grant_awards.funded`)
whose CHECK constraints make the database refuse an over-allocated donation or a paid award that is not
fully funded. All allocation for a programme happens under a lock on the programme's row (PostgreSQL:
SELECT … FOR UPDATE; SQLite's write lock serialises anyway), so two payments never draw on the same fen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

from sqlalchemy import BigInteger, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from donations.allocation import Need, Result, Source, allocate
from donations.cards import card_for_payment
from donations.funding import get_program
from donations.lifecycle import AWARD, AwardStatus
from donations.models import Allocation, Award, DirectedStudent, Funding, Program
from service import audit, lifecycle
from service.dates import check_date
from service.db import utcnow
from service.errors import CONFLICT, FORBIDDEN, Problem, problem_type
from service.lifecycle import BAD_TRANSITION
from service.lookups import get_or_404
from service.money import format_yuan

SHORTFALL = problem_type("award-not-fully-funded", 422, "资金不足，不能发放", "The award is not fully funded")
DUPLICATE_PAYMENT = problem_type(
    "duplicate-payment-reference", 409, "发放流水号已使用", "Payment reference already used"
)


async def get_award(session: AsyncSession, award_id: int) -> Award:
    award = await get_or_404(session, Award, award_id, "资助", "Award")
    return award


async def program_sources(session: AsyncSession, program_id: int, as_of: date) -> list[Source]:
    """What each funding of the programme received by `as_of` still holds, with its named students."""
    rows = (
        await session.execute(
            select(Funding.id, Funding.received_on, Funding.amount - Funding.allocated, Funding.directed).where(
                Funding.program_id == program_id, Funding.received_on <= as_of, Funding.allocated < Funding.amount
            )
        )
    ).all()
    named: dict[int, set[int]] = defaultdict(set)
    directed_ids = [r[0] for r in rows if r[3]]
    for chunk in range(0, len(directed_ids), 5000):
        for funding_id, student_id in (
            await session.execute(
                select(DirectedStudent.funding_id, DirectedStudent.student_id).where(
                    DirectedStudent.funding_id.in_(directed_ids[chunk : chunk + 5000])
                )
            )
        ).all():
            named[funding_id].add(student_id)
    return [Source(r[0], r[1], int(r[2]), frozenset(named[r[0]]) if r[3] else None) for r in rows]


class Fundable(Protocol):
    id: int
    student_id: int
    amount: int
    funded: int


async def allocate_awards(
    session: AsyncSession, program: Program, awards: Sequence[Fundable], posted_on: date, actor: str
) -> Result:
    """Fund the awards (in the order given: oldest first) from the programme's money; write every line and
    update both sums, set-based. `awards` may be ORM awards or plain rows; an ORM award's `funded` is not
    refreshed here (the caller sets it). Awards that cannot be funded in full are left untouched and come back
    in `shortfalls`.
    """
    sources = await program_sources(session, program.id, posted_on)
    needs = [Need(a.id, a.student_id, a.amount - a.funded) for a in awards]
    result = allocate(needs, sources, program.pooling)  # type: ignore[arg-type]
    if not result.lines:
        return result
    now = utcnow()
    await _insert_lines(
        session, [(x.source_id, x.award_id, x.amount, x.rule, posted_on, actor, now) for x in result.lines]
    )
    by_funding: dict[int, int] = defaultdict(int)
    for line in result.lines:
        by_funding[line.source_id] += line.amount
    await _add_to(session, Funding.__table__, "allocated", by_funding)
    # All or nothing: every award with lines is now funded in full.
    funded = sorted({x.award_id for x in result.lines})
    fill = update(Award).values(funded=Award.amount).execution_options(synchronize_session=False)
    if session.get_bind().dialect.name == "postgresql":  # one array parameter, not 5,000 bind parameters
        await session.execute(fill.where(Award.id == any_(bindparam("ids", type_=ARRAY(BigInteger)))), {"ids": funded})
    else:
        for i in range(0, len(funded), 5000):
            await session.execute(fill.where(Award.id.in_(funded[i : i + 5000])))
    return result


_LINE_COLUMNS = ("funding_id", "award_id", "amount", "rule", "posted_on", "actor", "created_at")
COPY_FROM = 1000  # lines; below this an INSERT is as quick


async def _insert_lines(session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
    """Insert allocation lines. A batch allocation writes 100,000 of them: past COPY_FROM they go straight to the
    driver (PostgreSQL: COPY; SQLite: one prepared INSERT run many times), in the session's transaction, with
    values converted by the columns' own types exactly as SQLAlchemy would bind them."""
    connection = await session.connection()
    if len(rows) < COPY_FROM:
        await session.execute(insert(Allocation), [dict(zip(_LINE_COLUMNS, row, strict=False)) for row in rows])
        return
    dialect = connection.dialect
    driver = (await connection.get_raw_connection()).driver_connection
    if dialect.name == "postgresql":
        await driver.copy_records_to_table(
            Allocation.__tablename__,
            records=rows,  # type: ignore[union-attr]
            columns=_LINE_COLUMNS,
        )
        return
    columns = [Allocation.__table__.c[name] for name in _LINE_COLUMNS]
    binds = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    converted = [tuple(v if b is None else b(v) for v, b in zip(row, binds, strict=False)) for row in rows]
    sql = (
        f"INSERT INTO {Allocation.__tablename__} ({', '.join(_LINE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_LINE_COLUMNS))})"
    )
    await driver.executemany(sql, converted)  # type: ignore[union-attr]


async def _add_to(session: AsyncSession, table: object, column: str, amounts: dict[int, int]) -> None:
    t = table  # a Table: UPDATE t SET column = column + :delta WHERE id = :key, executed many times
    col = t.c[column]  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":  # one statement joining two arrays: 10,000 rows in one go
        deltas = (
            func.unnest(bindparam("keys", type_=ARRAY(BigInteger)), bindparam("deltas", type_=ARRAY(BigInteger)))
            .table_valued("key", "delta")
            .render_derived(name="d")
        )
        joined = update(t).where(t.c.id == deltas.c.key).values({column: col + deltas.c.delta})  # type: ignore[attr-defined]
        await session.execute(
            joined.execution_options(synchronize_session=False),
            {"keys": list(amounts), "deltas": list(amounts.values())},
        )
        return
    stmt = update(t).where(t.c.id == bindparam("key")).values({column: col + bindparam("delta")})  # type: ignore[attr-defined]
    await session.execute(
        stmt.execution_options(synchronize_session=False), [{"key": k, "delta": v} for k, v in amounts.items()]
    )


async def pay(
    session: AsyncSession,
    award_id: int,
    paid_on: date,
    reference: str,
    card: str | None,
    actor: str,
    *,
    today: date,
) -> tuple[Award, list[Allocation]]:
    """Allocate the award's money and record its payment to the student's card; 422 with the shortfall."""
    award = await get_award(session, award_id)
    program = await get_program(session, award.program_id, lock=True)
    await session.refresh(award)  # read again under the programme's lock
    AWARD.check(award.status, AwardStatus.PAID)
    check_date(paid_on, "paid_on", today=today, after=award.finalized_on, after_zh="资助确定日期", after_en="award")
    if await session.scalar(select(Award.id).where(Award.payment_reference == reference)) is not None:
        raise Problem(
            DUPLICATE_PAYMENT,
            f"发放流水号 {reference} 已用于另一笔发放。",
            f"Payment reference {reference} is already used.",
            field="reference",
        )
    card = card_for_payment(award, card)  # another card than the one on file: 409 (donations.cards)
    before = audit.model_snapshot(award)
    result = await allocate_awards(session, program, [award], paid_on, actor)
    award.funded += sum(x.amount for x in result.lines)  # what the UPDATE wrote, so the flush below keeps it
    if result.shortfalls:
        s = result.shortfalls[0]
        raise Problem(
            SHORTFALL,
            f"资助金额 {format_yuan(s.needed)} 元，截至 {paid_on} 可用资金 {format_yuan(s.found)} 元，"
            f"尚缺 {format_yuan(s.missing)} 元，未发放。",
            f"The award needs {format_yuan(s.needed)}; {format_yuan(s.found)} is available on {paid_on}: "
            f"{format_yuan(s.missing)} short. Nothing was paid.",
            extra={
                "needed": format_yuan(s.needed),
                "available": format_yuan(s.found),
                "shortfall": format_yuan(s.missing),
            },
        )
    await lifecycle.move(
        session,
        AWARD,
        award,
        AwardStatus.PAID,
        actor=actor,
        action="pay",
        before=before,
        paid_on=paid_on,
        payment_reference=reference,
        bank_card=card,
    )
    return award, await lines_of(session, award.id)


async def lines_of(session: AsyncSession, award_id: int) -> list[Allocation]:
    return list(
        (await session.scalars(select(Allocation).where(Allocation.award_id == award_id).order_by(Allocation.id))).all()
    )


async def revoke(session: AsyncSession, award: Award, on: date, reason: str, actor: str, *, today: date) -> Award:
    """Take the award back: every allocation line is reversed and the money returns to its funding."""
    await get_program(session, award.program_id, lock=True)
    await session.refresh(award)
    AWARD.check(award.status, AwardStatus.REVOKED)
    if award.paid_on is not None:
        check_date(on, "revoked_on", today=today, after=award.paid_on, after_zh="发放日期", after_en="payment")
    else:
        check_date(on, "revoked_on", today=today, after=award.finalized_on, after_zh="资助确定日期", after_en="award")
    before = audit.model_snapshot(award)
    reversed_ids = select(Allocation.reverses_id).where(
        Allocation.award_id == award.id, Allocation.reverses_id.is_not(None)
    )
    live = (
        await session.scalars(
            select(Allocation)
            .where(
                Allocation.award_id == award.id, Allocation.reverses_id.is_(None), Allocation.id.not_in(reversed_ids)
            )
            .order_by(Allocation.id)
        )
    ).all()
    by_funding: dict[int, int] = defaultdict(int)
    for line in live:
        session.add(
            Allocation(
                funding_id=line.funding_id,
                award_id=award.id,
                amount=-line.amount,
                rule="reversal",
                reverses_id=line.id,
                posted_on=on,
                actor=actor,
            )
        )
        by_funding[line.funding_id] -= line.amount
    await session.flush()
    if by_funding:
        await _add_to(session, Funding.__table__, "allocated", by_funding)
    await lifecycle.move(
        session,
        AWARD,
        award,
        AwardStatus.REVOKED,
        actor=actor,
        action="revoke",
        before=before,
        funded=0,
        revoked_on=on,
        revoke_reason=reason,
    )
    return award


async def flag(session: AsyncSession, award: Award, finding: str, actor: str) -> Award:
    """A cross-check finding: the award goes under review (a second flag only adds to the note)."""
    return await lifecycle.move(
        session,
        AWARD,
        award,
        AwardStatus.UNDER_REVIEW,
        actor=actor,
        action="flag",
        flag=finding if not award.flag or award.flag == finding else f"{award.flag}；{finding}",
    )


async def review_flag(
    session: AsyncSession, award: Award, confirmed: bool, reason: str, on: date, actor: str, *, today: date
) -> Award:
    """Confirmed: the finding does not stand and the award is back where it was. Otherwise it is revoked."""
    if award.status != AwardStatus.UNDER_REVIEW.value:
        raise Problem(
            BAD_TRANSITION,
            "该资助不在复查中。",
            "The award is not under review.",
            extra={"current_status": award.status},
        )
    if not confirmed:
        return await revoke(session, award, on, reason, actor, today=today)
    return await lifecycle.move(
        session,
        AWARD,
        award,
        AwardStatus.PAID if award.paid_on is not None else AwardStatus.AWARDED,
        actor=actor,
        action="clear-flag",
        audit_note=reason,
        flag=None,
    )


async def acknowledge(
    session: AsyncSession, award: Award, on: date, actor: str, student_id: int | None = None, *, today: date
) -> Award:
    """The student signs for the money (受助回执): recorded by the centre, or by the graduate user."""
    if student_id is not None and award.student_id != student_id:
        raise Problem(FORBIDDEN, "只能确认本人的资助。", "You can acknowledge only your own award.")
    if award.status != AwardStatus.PAID.value or award.paid_on is None:
        raise Problem(
            BAD_TRANSITION,
            "资助尚未发放，不能签收。",
            "The award is not paid yet.",
            extra={"current_status": award.status},
        )
    check_date(on, "acknowledged_on", today=today, after=award.paid_on, after_zh="发放日期", after_en="payment")
    if award.acknowledged_on is not None:
        raise Problem(CONFLICT, f"已于 {award.acknowledged_on} 签收。", f"Acknowledged on {award.acknowledged_on}.")
    before = audit.model_snapshot(award)
    award.acknowledged_on = on
    await session.flush()
    await audit.record(session, actor, "acknowledge", "grant_award", award.id, before, audit.model_snapshot(award))
    return award
