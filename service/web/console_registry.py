"""Console pages of the registry: finding, registering and showing students, and taking a loan application."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans import applications as apps
from loans.models import Loan
from loans.schemas import ApplicationIn
from service.auth import allow
from service.errors import Problem
from service.identity import mask_id_number, mask_phone
from service.money import format_yuan
from service.pagination import fetch_page
from service.registry import students as svc
from service.registry.models import CATEGORIES, LEVELS, Student, University
from service.registry.schemas import StudentIn
from service.registry.vocabulary import RELATIONSHIPS
from service.web.console import (
    PAGE_SIZE, STAFF, back_to, form_struct, form_values, page_window, pager, render, texts, today,
)



async def universities(session: AsyncSession) -> dict[str, str]:
    return {u.code: u.name for u in (await session.scalars(select(University).order_by(University.code))).all()}


@get("/console/students", guards=[allow(*STAFF)])
async def student_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    q = request.query_params.get("q", "").strip()[:50] or None
    offset = page_window(request)
    query = svc.student_search(q, None, None, None).order_by(Student.id.desc())
    rows, total = await fetch_page(db_session, query, PAGE_SIZE, offset)
    return render(request, "students.html", q=q or "", unis=await universities(db_session), pager=pager(
        request, total, offset), students=[{
            "id": s.id, "name": s.name, "id_number": mask_id_number(s.id_number), "phone": mask_phone(s.phone),
            "university": s.university_code, "level": s.level, "categories": s.categories or [],
            "graduation": s.expected_graduation} for s in rows])


async def _new_student_page(request: Request[Any, Any, Any], session: AsyncSession, status: int = 200,
                            error: str | None = None, values: dict[str, Any] | None = None) -> Template:
    return render(request, "student_new.html", status, error=error, values=values or {}, levels=LEVELS,
                  category_codes=CATEGORIES, unis=await universities(session))


@get("/console/students/new", guards=[allow("officer")])
async def student_form(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _new_student_page(request, db_session)


@post("/console/students", guards=[allow("officer")])
async def student_register(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    values: dict[str, Any] = await form_values(request)
    values["categories"] = [c for c in (await request.form()).getall("categories", []) if c in CATEGORIES]
    try:
        student = await svc.add_student(db_session, form_struct(StudentIn, values), request.user.actor)
    except Problem as exc:
        return await _new_student_page(request, db_session, exc.kind.status, texts(request).problem(exc), values)
    return back_to(f"/console/students/{student.id}", "done")


async def student_page(request: Request[Any, Any, Any], session: AsyncSession, student_id: int, status: int = 200,
                       error: str | None = None, values: dict[str, Any] | None = None) -> Template:
    student = await svc.get_student(session, student_id)
    loans = (await session.scalars(select(Loan).where(Loan.student_id == student.id)
                                   .order_by(Loan.academic_year))).all()
    uni = await session.get(University, student.university_code)
    return render(request, "student.html", status, error=error, values=values or {}, s=student,
                  id_number=mask_id_number(student.id_number), phone=mask_phone(student.phone),
                  university=uni.name if uni else student.university_code, relationships=RELATIONSHIPS,
                  this_year=_academic_year(request), loans=[{
                      "id": loan.id, "year": loan.academic_year, "amount": format_yuan(loan.amount),
                      "status": loan.status, "contract_no": loan.contract_no} for loan in loans])


def _academic_year(request: Request[Any, Any, Any]) -> int:
    """The academic year a new application is most likely for: the one starting this autumn."""
    on = today(request)
    return on.year if on.month >= 3 else on.year - 1


@get("/console/students/{student_id:int}", guards=[allow(*STAFF)])
async def student_detail(request: Request, student_id: FromPath[int],
                         db_session: NamedDependency[AsyncSession]) -> Template:
    return await student_page(request, db_session, student_id)


@post("/console/students/{student_id:int}/applications", guards=[allow("officer")])
async def application_submit(request: Request, student_id: FromPath[int],
                             db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    values = await form_values(request)
    data = {"student_id": student_id, "academic_year": values.get("academic_year"), "amount": values.get("amount"),
            "co_borrower": {"name": values.get("co_name"), "id_number": values.get("co_id_number"),
                            "phone": values.get("co_phone"), "relationship": values.get("relationship")}}
    try:
        loan = await apps.submit(db_session, form_struct(ApplicationIn, _without_none(data)), request.user)
    except Problem as exc:
        return await student_page(request, db_session, student_id, exc.kind.status, texts(request).problem(exc),
                                  values)
    return back_to(f"/console/applications/{loan.id}", "done")


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    """Leave out fields not filled in, so that the struct names the first missing one."""
    return {k: (_without_none(v) if isinstance(v, dict) else v) for k, v in data.items() if v is not None}


ROUTES: list[Any] = [student_list, student_form, student_register, student_detail, application_submit]
