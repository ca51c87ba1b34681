"""Console pages for the people outside the centre: a university's aid office (its 回执 queue and the graduation
confirmations of its own students) and the graduate's portal (contracts, what is due, contact, 毕业确认)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.borrowers import graduates
from loans.models import GraduationConfirmation, Loan, ScheduleLineRow
from loans.origination import contracts
from loans.schemas import ContactIn, GraduationIn, ReceiptIn
from service.auth import AuthUser, allow
from service.errors import Problem
from service.identity import mask_phone
from service.money import format_yuan
from service.registry.models import Student
from service.web.console import back_to, form_struct, form_values, render, texts


def _own_students(query: Any, user: AuthUser) -> Any:
    """A school sees its own university's students (admin and reviewers see all)."""
    if user.role == "school":
        return query.where(Student.university_code == user.university_code)
    return query


async def receipts_page(
    request: Request[Any, Any, Any], session: AsyncSession, status: int = 200, error: str | None = None
) -> Template:
    query = _own_students(
        select(Loan, Student.name)
        .join(Student, Student.id == Loan.student_id)
        .where(Loan.status == "contracted")
        .order_by(Loan.contract_no),
        request.user,
    )
    rows = (await session.execute(query.limit(500))).all()
    return render(
        request,
        "school_receipts.html",
        status,
        error=error,
        items=[
            {
                "no": loan.contract_no,
                "student": name,
                "year": loan.academic_year,
                "principal": format_yuan(loan.amount),
                "signed_on": loan.signed_on,
            }
            for loan, name in rows
        ],
    )


@get("/console/school/receipts", guards=[allow("school")])
async def receipt_queue(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await receipts_page(request, db_session)


@post("/console/school/receipts/{contract_no:str}", guards=[allow("school")])
async def receipt_confirm(
    request: Request, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    try:
        data = form_struct(ReceiptIn, await form_values(request))
        await contracts.confirm_receipt(db_session, contract_no, data.amount, request.user)
    except Problem as exc:
        await db_session.rollback()
        return await receipts_page(request, db_session, exc.kind.status, texts(request).problem(exc))
    return back_to("/console/school/receipts", "done")


async def graduations_page(
    request: Request[Any, Any, Any], session: AsyncSession, status: int = 200, error: str | None = None
) -> Template:
    wanted = request.query_params.get("status", "submitted")
    query = _own_students(
        select(GraduationConfirmation, Student.name)
        .join(Student, Student.id == GraduationConfirmation.student_id)
        .order_by(GraduationConfirmation.id.desc()),
        request.user,
    )
    if wanted in ("submitted", "approved", "rejected"):
        query = query.where(GraduationConfirmation.status == wanted)
    tz = request.app.state.settings.tz
    rows = (await session.execute(query.limit(500))).all()
    return render(
        request,
        "graduations.html",
        status,
        error=error,
        wanted=wanted,
        items=[
            {
                "id": c.id,
                "student": name,
                "employer": c.employer,
                "phone": mask_phone(c.phone),
                "address": c.address,
                "status": c.status,
                "note": c.review_note,
                "submitted_at": c.submitted_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            }
            for c, name in rows
        ],
    )


@get("/console/graduations", guards=[allow("school", "reviewer")])
async def graduation_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await graduations_page(request, db_session)


@post("/console/graduations/{item_id:int}/review", guards=[allow("school", "reviewer")])
async def graduation_review(
    request: Request, item_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    values = await form_values(request)
    try:
        await graduates.review_graduation(
            db_session, item_id, values.get("decision") == "approve", values.get("note"), request.user
        )
    except Problem as exc:
        await db_session.rollback()
        return await graduations_page(request, db_session, exc.kind.status, texts(request).problem(exc))
    return back_to("/console/graduations", "done")


async def my_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    status: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    student = await graduates.my_student(session, request.user)
    loans = (
        await session.scalars(
            select(Loan)
            .where(Loan.student_id == student.id, Loan.contract_no.is_not(None))
            .order_by(Loan.academic_year)
        )
    ).all()
    # the first unpaid borrower line of each contract: one query for all of them
    first_due = (
        select(ScheduleLineRow.loan_id, func.min(ScheduleLineRow.due_on).label("due_on"))
        .where(
            ScheduleLineRow.loan_id.in_([loan.id for loan in loans]),
            ScheduleLineRow.payer == "borrower",
            ScheduleLineRow.status != "paid",
        )
        .group_by(ScheduleLineRow.loan_id)
        .subquery()
    )
    next_lines = {
        line.loan_id: line
        for line in (
            await session.scalars(
                select(ScheduleLineRow)
                .join(
                    first_due,
                    (first_due.c.loan_id == ScheduleLineRow.loan_id) & (first_due.c.due_on == ScheduleLineRow.due_on),
                )
                .where(ScheduleLineRow.payer == "borrower")
            )
        ).all()
    }
    pending = await session.scalar(
        select(GraduationConfirmation.status)
        .where(GraduationConfirmation.student_id == student.id)
        .order_by(GraduationConfirmation.id.desc())
        .limit(1)
    )
    items = []
    for loan in loans:
        line = next_lines.get(loan.id)
        owed = 0 if line is None else line.principal + line.interest - line.paid_principal - line.paid_interest
        items.append(
            {
                "no": loan.contract_no,
                "year": loan.academic_year,
                "principal": format_yuan(loan.amount),
                "status": loan.status,
                "maturity": loan.maturity_date,
                "next_due_on": line.due_on if line else None,
                "next_due": format_yuan(owed),
            }
        )
    return render(
        request,
        "me.html",
        status,
        error=error,
        values=values or {},
        student=student,
        phone=mask_phone(student.phone),
        items=items,
        confirmation=pending,
    )


@get("/console/me", guards=[allow("graduate")])
async def my_loans(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await my_page(request, db_session)


@post("/console/me/contact", guards=[allow("graduate")])
async def my_contact(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    values = await form_values(request)
    try:
        data = form_struct(ContactIn, values)
        student = await graduates.my_student(db_session, request.user)
        await graduates.update_contact(db_session, student, data.phone, data.address, request.user.actor)
    except Problem as exc:
        await db_session.rollback()
        return await my_page(request, db_session, exc.kind.status, texts(request).problem(exc), values)
    return back_to("/console/me", "contact_saved")


@post("/console/me/graduation", guards=[allow("graduate")])
async def my_graduation(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    values = await form_values(request)
    try:
        data = form_struct(GraduationIn, {k[5:]: v for k, v in values.items() if k.startswith("grad_")})
        student = await graduates.my_student(db_session, request.user)
        await graduates.confirm_graduation(
            db_session, student, data.employer, data.phone, data.address, request.user.actor
        )
    except Problem as exc:
        await db_session.rollback()
        return await my_page(request, db_session, exc.kind.status, texts(request).problem(exc), values)
    return back_to("/console/me", "graduation_sent")


ROUTES: list[Any] = [
    receipt_queue,
    receipt_confirm,
    graduation_list,
    graduation_review,
    my_loans,
    my_contact,
    my_graduation,
]
