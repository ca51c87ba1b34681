"""Graduates' own business: contact updates, graduation confirmation (毕业确认) and study extension.

A study extension (就学信息变更: going on to further study) moves the graduation date, so the state keeps
paying interest longer and principal starts later: the subsidy end moves and the unpaid future of each
active contract's schedule is computed again from the day of the change.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import ACTIVE, GRADUATION, LOAN, LoanStatus
from loans.models import GraduationConfirmation, Loan, ScheduleLineRow
from loans.origination.applications import policy_rows
from loans.policy import in_force
from loans.servicing.booking import schedule_terms
from loans.servicing.prepayment_requests import executed_prepayments
from loans.servicing.schedule import generate
from service import audit, lifecycle
from service.auth import AuthUser
from service.dates import check_date
from service.db import utcnow
from service.errors import FORBIDDEN, NOT_FOUND, UNPROCESSABLE, Problem
from service.lookups import get_or_404
from service.registry.models import Student
from service.registry.students import checked_phone
from service.registry.study_dates import extension_fault


async def my_student(session: AsyncSession, user: AuthUser) -> Student:
    if user.role != "graduate" or user.student_id is None:
        raise Problem(FORBIDDEN, "仅借款学生本人可用。", "Only the borrowing student may use this.")
    student = await session.get(Student, user.student_id)
    if student is None:
        raise Problem(NOT_FOUND, "找不到您的学生档案。", "Your student record was not found.")
    return student


async def update_contact(session: AsyncSession, student: Student, phone: str, address: str, actor: str) -> Student:
    before = audit.model_snapshot(student)
    student.phone = checked_phone(phone)
    student.address = address.strip()
    await session.flush()
    await audit.record(session, actor, "update-contact", "student", student.id, before, audit.model_snapshot(student))
    return student


async def confirm_graduation(
    session: AsyncSession, student: Student, employer: str, phone: str, address: str, actor: str
) -> GraduationConfirmation:
    pending = await session.scalar(
        select(GraduationConfirmation.id).where(
            GraduationConfirmation.student_id == student.id, GraduationConfirmation.status == "submitted"
        )
    )
    if pending is not None:
        raise Problem(
            UNPROCESSABLE,
            "您的毕业确认正在等待学校审核。",
            "Your confirmation is awaiting review.",
            extra={"confirmation_id": pending},
        )
    item = GraduationConfirmation(
        student_id=student.id,
        employer=employer.strip(),
        phone=checked_phone(phone),
        address=address.strip(),
        status="submitted",
    )
    session.add(item)
    await session.flush()
    await audit.record(session, actor, "submit", "graduation_confirmation", item.id, None, audit.model_snapshot(item))
    return item


async def review_graduation(
    session: AsyncSession, item_id: int, approve: bool, note: str | None, user: AuthUser
) -> GraduationConfirmation:
    item = await get_or_404(session, GraduationConfirmation, item_id, "毕业确认", "Graduation confirmation")
    student = await session.get(Student, item.student_id)
    assert student is not None
    if user.role == "school" and student.university_code != user.university_code:
        raise Problem(FORBIDDEN, "该学生不在本校。", "This student is not at your university.")
    await lifecycle.move(
        session,
        GRADUATION,
        item,
        "approved" if approve else "rejected",
        actor=user.actor,
        action="review",
        review_note=note,
        reviewed_by=user.id,
        reviewed_at=utcnow(),
    )
    if approve:  # the graduate's new contact details become the ones reminders go to
        student.phone, student.address = item.phone, item.address
        await session.flush()
    return item


async def extend_study(
    session: AsyncSession, student: Student, new_graduation: date, on: date, reason: str, user: AuthUser, *, today: date
) -> list[str]:
    """Move the graduation date; recompute the unpaid future of every active contract from `on`."""
    check_date(on, "on", today=today)  # schedules are recomputed from it
    if new_graduation <= student.expected_graduation:
        raise Problem(
            UNPROCESSABLE,
            "新的毕业日期须晚于原毕业日期。",
            "The new graduation date must be later.",
            field="new_graduation",
        )
    too_late = extension_fault(student.enrolled_on, new_graduation)
    if too_late is not None:
        zh, en = too_late
        raise Problem(UNPROCESSABLE, zh + "。", en + ".", field="new_graduation")
    before = audit.model_snapshot(student)
    student.expected_graduation = new_graduation
    rows = await policy_rows(session)
    changed = []
    loans = (
        await session.scalars(
            select(Loan).where(
                Loan.student_id == student.id,
                Loan.status.in_([*ACTIVE, LoanStatus.CONTRACTED, LoanStatus.RECEIPT_CONFIRMED]),
            )
        )
    ).all()
    for loan in loans:
        month, day = in_force(rows, "subsidy_end", loan.signed_on or on).parsed
        loan.subsidy_end, loan.graduation_year = date(new_graduation.year, month, day), new_graduation.year
        if loan.status == LoanStatus.GRACE:  # back to school: an edge of the state machine
            await lifecycle.move(
                session, LOAN, loan, LoanStatus.IN_SCHOOL, actor=user.actor, action="extend-study", audit_note=reason
            )
        if loan.disbursed_on is not None:
            await session.execute(
                delete(ScheduleLineRow).where(
                    ScheduleLineRow.loan_id == loan.id, ScheduleLineRow.status == "pending", ScheduleLineRow.due_on > on
                )
            )
            kept = set(
                (await session.scalars(select(ScheduleLineRow.due_on).where(ScheduleLineRow.loan_id == loan.id))).all()
            )
            session.add_all(
                ScheduleLineRow(
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
                for l in generate(schedule_terms(loan, rows, await executed_prepayments(session, loan.id)))
                if l.due_on > on and l.due_on not in kept
            )
        changed.append(loan.contract_no or str(loan.id))
    await session.flush()
    await audit.record(
        session,
        user.actor,
        "extend-study",
        "student",
        student.id,
        before,
        audit.model_snapshot(student),
        note=f"{reason}; contracts: {', '.join(changed)}",
    )
    return changed
