"""Console pages of the registry (the shared kernel): finding, registering and showing students; a student's page
shows what each domain adds to it (loans: the student's loans and the application form)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import allow
from service.errors import Problem
from service.identity import mask_id_number, mask_phone
from service.pagination import fetch_page
from service.registry import students as svc
from service.registry.models import CATEGORIES, LEVELS, Student, University
from service.registry.schemas import StudentIn
from service.web.console import (
    PAGE_SIZE,
    STAFF,
    back_to,
    console_of,
    form_struct,
    form_values,
    page_window,
    pager,
    render,
    texts,
)
from service.web.sections import panel_context


async def universities(session: AsyncSession) -> dict[str, str]:
    return {u.code: u.name for u in (await session.scalars(select(University).order_by(University.code))).all()}


@get("/console/students", guards=[allow(*STAFF)])
async def student_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    q = request.query_params.get("q", "").strip()[:50] or None
    offset = page_window(request)
    query = svc.student_search(q, None, None, None).order_by(Student.id.desc())
    rows, total = await fetch_page(db_session, query, PAGE_SIZE, offset)
    return render(
        request,
        "students.html",
        q=q or "",
        unis=await universities(db_session),
        pager=pager(request, total, offset),
        students=[
            {
                "id": s.id,
                "name": s.name,
                "id_number": mask_id_number(s.id_number),
                "phone": mask_phone(s.phone),
                "university": s.university_code,
                "level": s.level,
                "categories": s.categories or [],
                "graduation": s.expected_graduation,
            }
            for s in rows
        ],
    )


async def _new_student_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    status: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    return render(
        request,
        "student_new.html",
        status,
        error=error,
        values=values or {},
        levels=LEVELS,
        category_codes=CATEGORIES,
        unis=await universities(session),
    )


@get("/console/students/new", guards=[allow("officer")])
async def student_form(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _new_student_page(request, db_session)


@post("/console/students", guards=[allow("officer")])
async def student_register(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    values: dict[str, Any] = await form_values(request)
    values["categories"] = [c for c in (await request.form()).getall("categories", []) if c in CATEGORIES]
    try:
        student = await svc.add_student(
            db_session, form_struct(StudentIn, values), request.user.actor, today=request.app.state.settings.today()
        )
    except Problem as exc:
        return await _new_student_page(request, db_session, exc.kind.status, texts(request).problem(exc), values)
    return back_to(f"/console/students/{student.id}", "done")


async def student_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    student_id: int,
    status: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    """A student's facts, then what each domain shows of them (the loans and the application form)."""
    student = await svc.get_student(session, student_id)
    uni = await session.get(University, student.university_code)
    panels, figures = await panel_context(console_of(request).student, request, session, student=student)
    return render(
        request,
        "student.html",
        status,
        error=error,
        values=values or {},
        s=student,
        id_number=mask_id_number(student.id_number),
        phone=mask_phone(student.phone),
        university=uni.name if uni else student.university_code,
        panels=panels,
        **figures,
    )


@get("/console/students/{student_id:int}", guards=[allow(*STAFF)])
async def student_detail(
    request: Request, student_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Template:
    return await student_page(request, db_session, student_id)


ROUTES: list[Any] = [student_list, student_form, student_register, student_detail]
