"""Console pages of loan applications: taking one on a student's page (and that page's loans panel), the list, the
reviewer's queue, deciding and signing the contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import LoanStatus
from loans.models import Loan
from loans.origination import applications as apps
from loans.origination import contracts
from loans.schemas import ApplicationIn, ReasonIn, SignIn
from loans.views import application_out
from service.auth import allow
from service.errors import Problem
from service.money import format_yuan
from service.registry import vocabulary
from service.registry.models import Student
from service.web.console import (
    STAFF,
    back_to,
    fetch_rows,
    form_struct,
    form_values,
    page_window,
    pager,
    render,
    texts,
    today,
    usernames,
)
from service.web.console_registry import student_page


@get("/console/applications", guards=[allow(*STAFF)])
async def application_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    status = request.query_params.get("status") or None
    if status not in {s.value for s in LoanStatus}:
        status = None
    offset = page_window(request)
    query = (
        select(Loan, Student.name)
        .join(Student, Student.id == Loan.student_id)
        .order_by(Loan.id.desc() if status is None else Loan.id)
    )
    if status:
        query = query.where(Loan.status == status)
    total_rows, total = await fetch_rows(db_session, query, offset)
    names = await usernames(db_session, {loan.prepared_by for loan, _ in total_rows})
    return render(
        request,
        "applications.html",
        status=status or "",
        statuses=[s.value for s in LoanStatus],
        pager=pager(request, total, offset),
        items=[
            {
                "id": loan.id,
                "student_id": loan.student_id,
                "student": name,
                "year": loan.academic_year,
                "amount": format_yuan(loan.amount),
                "status": loan.status,
                "contract_no": loan.contract_no,
                "prepared_by": names.get(loan.prepared_by, loan.prepared_by),
            }
            for loan, name in total_rows
        ],
    )


async def application_page(
    request: Request[Any, Any, Any], session: AsyncSession, loan_id: int, status: int = 200, error: str | None = None
) -> Template:
    loan = await apps.get_loan(session, loan_id)
    out = await application_out(session, loan)
    student = await session.get(Student, loan.student_id)
    names = await usernames(session, {loan.prepared_by, loan.decided_by})
    return render(
        request,
        "application.html",
        status,
        error=error,
        a=out,
        student=student,
        prepared_by=names.get(loan.prepared_by, ""),
        decided_by=names.get(loan.decided_by or 0, ""),
        today=today(request),
    )


@get("/console/applications/{loan_id:int}", guards=[allow(*STAFF)])
async def application_detail(
    request: Request, loan_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Template:
    return await application_page(request, db_session, loan_id)


async def _decision(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    loan_id: int,
    act: Callable[[dict[str, str]], Awaitable[Any]],
    then: str | None = None,
) -> Response[Any]:
    """One step on an application from its form: done and on to `then` (or the application), or refused there."""
    try:
        done = await act(await form_values(request))
    except Problem as exc:
        return await _refused(request, session, loan_id, exc)
    return back_to(then.format(loan=done) if then else f"/console/applications/{loan_id}", "done")


@post("/console/applications/{loan_id:int}/approve", guards=[allow("reviewer")])
async def application_approve(
    request: Request, loan_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    async def approve(_: dict[str, str]) -> Any:
        return await apps.decide(db_session, await apps.get_loan(db_session, loan_id), request.user, True, None)

    return await _decision(request, db_session, loan_id, approve)


@post("/console/applications/{loan_id:int}/reject", guards=[allow("reviewer")])
async def application_reject(
    request: Request, loan_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    async def reject(values: dict[str, str]) -> Any:
        reason = form_struct(ReasonIn, values).reason
        return await apps.decide(db_session, await apps.get_loan(db_session, loan_id), request.user, False, reason)

    return await _decision(request, db_session, loan_id, reject)


@post("/console/applications/{loan_id:int}/contract", guards=[allow("officer")])
async def application_sign(
    request: Request, loan_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    settings = request.app.state.settings

    async def sign(values: dict[str, str]) -> Any:
        return await contracts.sign(
            db_session,
            loan_id,
            form_struct(SignIn, values).signed_on,
            request.user,
            settings.county_code,
            settings.secret_key,
            today=settings.today(),
        )

    return await _decision(request, db_session, loan_id, sign, then="/console/contracts/{loan.contract_no}")


async def _refused(request: Request[Any, Any, Any], session: AsyncSession, loan_id: int, exc: Problem) -> Template:
    """The application again, with why the step was refused; the status rolls the request's changes back."""
    await session.rollback()  # the page must show the application as it was, not as it half became
    return await application_page(request, session, loan_id, exc.kind.status, texts(request).problem(exc))


async def student_loans(request: Request[Any, Any, Any], session: AsyncSession, student: Student) -> dict[str, Any]:
    """A student's page (the registry's): the student's loans and the form taking a new application."""
    loans = (
        await session.scalars(select(Loan).where(Loan.student_id == student.id).order_by(Loan.academic_year))
    ).all()
    return {
        "relationships": vocabulary.CO_BORROWER_RELATIONSHIPS,
        "this_year": _academic_year(request),
        "loans": [
            {
                "id": loan.id,
                "year": loan.academic_year,
                "amount": format_yuan(loan.amount),
                "status": loan.status,
                "contract_no": loan.contract_no,
            }
            for loan in loans
        ],
    }


def _academic_year(request: Request[Any, Any, Any]) -> int:
    """The academic year a new application is most likely for: the one starting this autumn."""
    on = today(request)
    return on.year if on.month >= 3 else on.year - 1


@post("/console/students/{student_id:int}/applications", guards=[allow("officer")])
async def application_submit(
    request: Request, student_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    values = await form_values(request)
    data = {
        "student_id": student_id,
        "academic_year": values.get("academic_year"),
        "amount": values.get("amount"),
        "co_borrower": {
            "name": values.get("co_name"),
            "id_number": values.get("co_id_number"),
            "phone": values.get("co_phone"),
            "relationship": values.get("relationship"),
        },
    }
    try:
        loan = await apps.submit(db_session, form_struct(ApplicationIn, _without_none(data)), request.user)
    except Problem as exc:
        return await student_page(request, db_session, student_id, exc.kind.status, texts(request).problem(exc), values)
    return back_to(f"/console/applications/{loan.id}", "done")


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out fields not filled in, so that the struct names the first missing one."""
    return {k: (_without_none(v) if isinstance(v, dict) else v) for k, v in data.items() if v is not None}


ROUTES: list[Any] = [
    application_submit,
    application_list,
    application_detail,
    application_approve,
    application_reject,
    application_sign,
]
