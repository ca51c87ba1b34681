"""Repayment reminders: a set-based scan that turns schedule lines and borrowers into outbox messages.

Run by the nightly batch in its own transaction (the outbox row commits with the facts that cause it). The
batch for business date D runs in the night after D, so its reminders are those whose send date is D + 1 (or,
when it catches up missed days, any send date from the day after the last run to D + 1); they go out that
morning, after the quiet hours. Each enabled rule (notifications.rules: an anchor date and an offset) becomes
one INSERT … SELECT per recipient role over the whole portfolio; the outbox key makes every reminder
queue exactly once however often the scan runs.

Anchors: `due_date` (a borrower schedule line's due date: before it, and the day after if unpaid),
`collection_day` (the 20th of each month except November, while anything is overdue), `contact_deadline`
(1 December, the yearly contact update) and `graduation` (the expected graduation date, until the graduation
confirmation is in). Government lines never make the borrower owe anything and are never reminded.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import BigInteger, Select, String, cast, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import ACTIVE
from loans.models import GraduationConfirmation, Loan, ScheduleLineRow
from notifications.models import ReminderRule
from notifications.outbox import OUTBOX_COLUMNS, insert_new
from notifications.rules import enabled_rules
from service.db import UtcDateTime, utcnow
from service.registry.models import CoBorrower, Student

S = ScheduleLineRow
_ACTIVE = [s.value for s in ACTIVE]
_OWED = S.principal + S.interest - S.paid_principal - S.paid_interest


def collection_days(first: date, last: date) -> list[date]:
    """The collection days (the 20th of each month, none in November) from `first` to `last`, both counted."""
    days, year, month = [], first.year, first.month
    while date(year, month, 1) <= last:
        day = date(year, month, 20)
        if month != 11 and first <= day <= last:
            days.append(day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return days


def contact_deadline(first: date, last: date, offset: int) -> date | None:
    """The 1 December whose reminder (offset days from it) falls from `first` to `last`, not yet passed."""
    for year in range(last.year + 1, first.year - 2, -1):
        deadline = date(year, 12, 1)
        if first <= deadline + timedelta(days=offset) <= last and last <= deadline:
            return deadline
    return None


def _recipient(role: str) -> tuple[object, list[object]]:
    """The phone column for a recipient role and the joins it needs (from Loan)."""
    if role == "co_borrower":
        return CoBorrower.phone, [(CoBorrower, CoBorrower.id == Loan.co_borrower_id)]
    return Student.phone, [(Student, Student.id == Loan.student_id)]


def _row(
    rule: ReminderRule,
    role: str,
    subject: object,
    due_on: object,
    occasion_on: object,
    recipient: object,
    student_id: object,
    contract_no: object,
    amount: object,
) -> list[object]:
    now = literal(utcnow(), UtcDateTime())
    return [
        subject,
        literal(rule.code),
        literal(rule.template),
        due_on,
        occasion_on,
        literal(role),
        recipient,
        literal(rule.channel),
        student_id,
        contract_no,
        amount,
        literal("queued"),
        literal(0),
        now,
        now,
    ]


def _unpaid_borrower_lines() -> list[object]:
    return [S.payer == "borrower", S.status != "paid", _OWED > 0, Loan.status.in_(_ACTIVE)]


def _due_date(rule: ReminderRule, role: str, first: date, last: date) -> Select[object] | None:
    phone, joins = _recipient(role)
    o = rule.offset_days
    where = [*_unpaid_borrower_lines(), S.due_on >= first - timedelta(days=o), S.due_on <= last - timedelta(days=o)]
    if o < 0:
        where.append(S.due_on >= last)  # a catch-up does not announce a date that has passed
    query = (
        select(
            *_row(
                rule,
                role,
                Loan.contract_no,
                S.due_on,
                S.due_on,
                phone,
                Loan.student_id,
                Loan.contract_no,
                cast(_OWED, BigInteger),
            )
        )
        .select_from(S)
        .join(Loan, Loan.id == S.loan_id)
    )
    for table, on in joins:
        query = query.join(table, on)
    return query.where(*where)


def _collection_day(rule: ReminderRule, role: str, first: date, last: date) -> Select[object] | None:
    o = timedelta(days=rule.offset_days)
    days = collection_days(first - o, last - o)
    if not days:
        return None
    day = days[-1]  # a catch-up reminds once, of the latest collection day
    phone, joins = _recipient(role)
    query = (
        select(
            *_row(
                rule,
                role,
                Loan.contract_no,
                func.min(S.due_on),
                literal(day),
                phone,
                Loan.student_id,
                Loan.contract_no,
                cast(func.sum(_OWED), BigInteger),
            )
        )
        .select_from(S)
        .join(Loan, Loan.id == S.loan_id)
    )
    for table, on in joins:
        query = query.join(table, on)
    # lines due the day before a collection day get the day-after reminder that day instead
    return query.where(*_unpaid_borrower_lines(), S.due_on < day - timedelta(days=1)).group_by(
        Loan.id, Loan.contract_no, Loan.student_id, phone
    )


def _student_rows(rule: ReminderRule, due_on: object, extra: list[object]) -> Select[object]:
    subject = literal("student-") + cast(Student.id, String(20))
    has_loan = exists().where(Loan.student_id == Student.id, Loan.status.in_(_ACTIVE))
    return select(
        *_row(
            rule,
            "graduate",
            subject,
            due_on,
            due_on,
            Student.phone,
            Student.id,
            literal(None, String()),
            literal(None, BigInteger()),
        )
    ).where(has_loan, *extra)


def _contact_deadline(rule: ReminderRule, role: str, first: date, last: date) -> Select[object] | None:
    deadline = contact_deadline(first, last, rule.offset_days)
    return None if deadline is None else _student_rows(rule, literal(deadline), [])


def _graduation(rule: ReminderRule, role: str, first: date, last: date) -> Select[object] | None:
    o = timedelta(days=rule.offset_days)
    confirmed = exists().where(
        GraduationConfirmation.student_id == Student.id, GraduationConfirmation.status.in_(("submitted", "approved"))
    )
    return _student_rows(
        rule,
        Student.expected_graduation,
        [Student.expected_graduation >= first - o, Student.expected_graduation <= last - o, ~confirmed],
    )


_BY_ANCHOR = {
    "due_date": _due_date,
    "collection_day": _collection_day,
    "contact_deadline": _contact_deadline,
    "graduation": _graduation,
}
_PER_STUDENT = {"contact_deadline", "graduation"}  # not about one contract: no co-borrower copy


async def queue_reminders(session: AsyncSession, first_day: date, as_of: date) -> int:
    """Queue the reminders of the batch days `first_day` … `as_of` (send dates one day later); returns how
    many were new."""
    first, last = first_day + timedelta(days=1), as_of + timedelta(days=1)
    queued = 0
    for rule in await enabled_rules(session):
        build = _BY_ANCHOR.get(rule.anchor)
        if build is None:
            continue
        roles = (
            ["graduate", "co_borrower"] if rule.copy_co_borrower and rule.anchor not in _PER_STUDENT else ["graduate"]
        )
        for role in roles:
            query = build(rule, role, first, last)
            if query is not None:
                result = await session.execute(insert_new(session).from_select(OUTBOX_COLUMNS, query))
                queued += max(result.rowcount or 0, 0)
    return queued
