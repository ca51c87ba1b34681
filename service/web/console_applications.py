"""Console pages of loan applications: the list, the reviewer's queue, deciding and signing the contract."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans import applications as apps
from loans import contracts
from loans.api import application_out
from loans.lifecycle import LoanStatus
from loans.models import Loan
from loans.schemas import ReasonIn, SignIn
from service.auth import User, allow
from service.errors import Problem
from service.money import format_yuan
from service.registry.models import Student
from service.web.console import (
    STAFF, back_to, fetch_rows, form_struct, form_values, page_window, pager, render, texts, today,
)


async def usernames(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


@get("/console/applications", guards=[allow(*STAFF)])
async def application_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    status = request.query_params.get("status") or None
    if status not in {s.value for s in LoanStatus}:
        status = None
    offset = page_window(request)
    query = (select(Loan, Student.name).join(Student, Student.id == Loan.student_id)
             .order_by(Loan.id.desc() if status is None else Loan.id))
    if status:
        query = query.where(Loan.status == status)
    total_rows, total = await fetch_rows(db_session, query, offset)
    names = await usernames(db_session, {loan.prepared_by for loan, _ in total_rows})
    return render(request, "applications.html", status=status or "", statuses=[s.value for s in LoanStatus],
                  pager=pager(request, total, offset), items=[{
                      "id": loan.id, "student_id": loan.student_id, "student": name, "year": loan.academic_year,
                      "amount": format_yuan(loan.amount), "status": loan.status, "contract_no": loan.contract_no,
                      "prepared_by": names.get(loan.prepared_by, loan.prepared_by)} for loan, name in total_rows])


async def application_page(request: Request[Any, Any, Any], session: AsyncSession, loan_id: int, status: int = 200,
                           error: str | None = None) -> Template:
    loan = await apps.get_loan(session, loan_id)
    out = await application_out(session, loan)
    student = await session.get(Student, loan.student_id)
    names = await usernames(session, {loan.prepared_by, loan.decided_by})
    return render(request, "application.html", status, error=error, a=out, student=student,
                  prepared_by=names.get(loan.prepared_by, ""), decided_by=names.get(loan.decided_by or 0, ""),
                  today=today(request))


@get("/console/applications/{loan_id:int}", guards=[allow(*STAFF)])
async def application_detail(request: Request, loan_id: FromPath[int],
                             db_session: NamedDependency[AsyncSession]) -> Template:
    return await application_page(request, db_session, loan_id)


@post("/console/applications/{loan_id:int}/approve", guards=[allow("reviewer")])
async def application_approve(request: Request, loan_id: FromPath[int],
                              db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    try:
        await apps.decide(db_session, await apps.get_loan(db_session, loan_id), request.user, True, None)
    except Problem as exc:
        return await _refused(request, db_session, loan_id, exc)
    return back_to(f"/console/applications/{loan_id}", "done")


@post("/console/applications/{loan_id:int}/reject", guards=[allow("reviewer")])
async def application_reject(request: Request, loan_id: FromPath[int],
                             db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    try:
        data = form_struct(ReasonIn, await form_values(request))
        await apps.decide(db_session, await apps.get_loan(db_session, loan_id), request.user, False, data.reason)
    except Problem as exc:
        return await _refused(request, db_session, loan_id, exc)
    return back_to(f"/console/applications/{loan_id}", "done")


@post("/console/applications/{loan_id:int}/contract", guards=[allow("officer")])
async def application_sign(request: Request, loan_id: FromPath[int],
                           db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    settings = request.app.state.settings
    try:
        data = form_struct(SignIn, await form_values(request))
        loan = await contracts.sign(db_session, loan_id, data.signed_on, request.user, settings.county_code,
                                    settings.secret_key)
    except Problem as exc:
        return await _refused(request, db_session, loan_id, exc)
    return back_to(f"/console/contracts/{loan.contract_no}", "done")


async def _refused(request: Request[Any, Any, Any], session: AsyncSession, loan_id: int, exc: Problem) -> Template:
    """The application again, with why the step was refused; the status rolls the request's changes back."""
    await session.rollback()  # the page must show the application as it was, not as it half became
    return await application_page(request, session, loan_id, exc.kind.status, texts(request).problem(exc))


ROUTES: list[Any] = [application_list, application_detail, application_approve, application_reject,
                     application_sign]
