"""Console pages of grant programmes: the list, creating one with its rule, a programme's page (its applications,
notices and the officer's steps: take an application, put the reviewed ones on notice, finalise), the reviewer's
queue (maker-checker: the service refuses the officer who took an application). The notices: web/notices.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from donations import funding, selection
from donations.lifecycle import AppStatus
from donations.models import Application, Notice, Program
from donations.rules import rule_out
from donations.schemas import ApplicationIn, FinalizeIn, NoticeIn, ProgramIn, ReviewIn
from service.auth import allow
from service.errors import Problem
from service.money import format_yuan
from service.registry.models import Student
from service.registry.vocabulary import CATEGORIES_ZH, LEVELS_ZH
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

RULE_FIELDS = {"fixed": ("amount",), "by_level": tuple(LEVELS_ZH), "by_province": ("in_province", "out_of_province")}


def rule_from_form(values: dict[str, str]) -> dict[str, Any]:
    """The rule a programme form describes, in the API's shape (the service checks it and names what is wrong)."""
    kind = values.get("rule_type", "")
    if kind == "by_level":
        return {
            "type": kind,
            "amounts": {level: values[f"rule_{level}"] for level in LEVELS_ZH if values.get(f"rule_{level}")},
        }
    return {"type": kind, **{k: values.get(f"rule_{k}") for k in RULE_FIELDS.get(kind, ())}}


def program_in(values: dict[str, str], lists: dict[str, list[str]]) -> ProgramIn:
    data: dict[str, Any] = {
        k: values[k]
        for k in ("name", "funding", "family", "quota", "budget", "opens_on", "closes_on", "notice_days", "pooling")
        if k in values
    }
    data.update(
        rule=rule_from_form(values),
        once_only=values.get("once_only") == "on",
        first_year_only=values.get("first_year_only") == "on",
        **lists,
    )
    return form_struct(ProgramIn, data)


async def _program_list(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    status: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    offset = page_window(request)
    rows, total = await fetch_rows(session, select(Program).order_by(Program.id.desc()), offset)
    return render(
        request,
        "programs.html",
        status,
        error=error,
        values=values or {},
        levels=LEVELS_ZH,
        categories=CATEGORIES_ZH,
        pager=pager(request, total, offset),
        programs=[(p, rule_out(p.rule)) for (p,) in rows],
    )


@get("/console/programs", guards=[allow(*STAFF)])
async def program_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _program_list(request, db_session)


@post("/console/programs", guards=[allow("officer")])
async def program_create(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    values = await form_values(request)
    form = await request.form()
    lists = {
        "levels": [v for v in form.getall("levels", []) if v in LEVELS_ZH],
        "eligible_categories": [v for v in form.getall("eligible_categories", []) if v in CATEGORIES_ZH],
    }
    try:
        program = await funding.add_program(db_session, program_in(values, lists), request.user.actor)
    except Problem as exc:
        await db_session.rollback()
        return await _program_list(
            request, db_session, exc.kind.status, texts(request).problem(exc), {**values, **lists}
        )
    return back_to(f"/console/programs/{program.id}", "done")


async def program_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    program_id: int,
    status: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    program = await funding.get_program(session, program_id)
    apps = (
        await session.execute(
            select(Application, Student.name)
            .join(Student, Student.id == Application.student_id)
            .where(Application.program_id == program.id)
            .order_by(Application.id.desc())
            .limit(200)
        )
    ).all()
    counts = dict(
        (
            await session.execute(
                select(Application.status, func.count())
                .where(Application.program_id == program.id)
                .group_by(Application.status)
            )
        ).all()
    )
    notices = (
        await session.scalars(select(Notice).where(Notice.program_id == program.id).order_by(Notice.id.desc()))
    ).all()
    return render(
        request,
        "program.html",
        status,
        error=error,
        values=values or {},
        p=program,
        rule=rule_out(program.rule),
        counts=counts,
        notices=notices,
        today=today(request),
        apps=[(a, name, format_yuan(a.amount)) for a, name in apps],
    )


@get("/console/programs/{program_id:int}", guards=[allow(*STAFF)])
async def program_detail(
    request: Request, program_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Template:
    return await program_page(request, db_session, program_id)


async def _program_step(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    program_id: int,
    act: Callable[[dict[str, str]], Awaitable[Any]],
) -> Response[Any]:
    """An officer's step on a programme: done and back to it, or refused on its page with nothing written."""
    values = await form_values(request)
    try:
        await act(values)
    except Problem as exc:
        await session.rollback()
        return await program_page(request, session, program_id, exc.kind.status, texts(request).problem(exc), values)
    return back_to(f"/console/programs/{program_id}", "done")


@post("/console/programs/{program_id:int}/applications", guards=[allow("officer")])
async def program_apply(
    request: Request, program_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    async def apply(values: dict[str, str]) -> Any:
        data = form_struct(
            ApplicationIn, {k: values[k] for k in ("student_id", "academic_year", "bank_card") if k in values}
        )
        return await selection.submit(db_session, program_id, data, request.user, today(request))

    return await _program_step(request, db_session, program_id, apply)


@post("/console/programs/{program_id:int}/notices", guards=[allow("officer")])
async def program_notice(
    request: Request, program_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    async def open_notice(values: dict[str, str]) -> Any:
        starts_on = form_struct(NoticeIn, {"starts_on": values.get("starts_on")}).starts_on
        return await selection.open_notice(db_session, program_id, starts_on, request.user.actor, today(request))

    return await _program_step(request, db_session, program_id, open_notice)


@post("/console/programs/{program_id:int}/finalize", guards=[allow("officer")])
async def program_finalize(
    request: Request, program_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    async def finalize(values: dict[str, str]) -> Any:
        as_of = form_struct(FinalizeIn, {"as_of": values.get("as_of") or None}).as_of
        return await selection.finalize(db_session, program_id, request.user.actor, today(request), as_of)

    return await _program_step(request, db_session, program_id, finalize)


async def _queue(
    request: Request[Any, Any, Any], session: AsyncSession, status_code: int = 200, error: str | None = None
) -> Template:
    status = request.query_params.get("status") or None
    if status not in {s.value for s in AppStatus}:
        status = None
    offset = page_window(request)
    query = (
        select(Application, Student.name, Program.name)
        .join(Student, Student.id == Application.student_id)
        .join(Program, Program.id == Application.program_id)
        .order_by(Application.id)
    )
    if status:
        query = query.where(Application.status == status)
    rows, total = await fetch_rows(session, query, offset)
    names = await usernames(session, {a.prepared_by for a, _, _ in rows} | {a.reviewed_by for a, _, _ in rows})
    return render(
        request,
        "grant_applications.html",
        status_code,
        error=error,
        status=status or "",
        statuses=[s.value for s in AppStatus],
        pager=pager(request, total, offset),
        items=[
            (
                a,
                student,
                program,
                format_yuan(a.amount),
                names.get(a.prepared_by, ""),
                names.get(a.reviewed_by or 0, ""),
            )
            for a, student, program in rows
        ],
    )


@get("/console/grants/applications", guards=[allow(*STAFF)])
async def grant_queue(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _queue(request, db_session)


@post("/console/grants/applications/{app_id:int}/review", guards=[allow("reviewer")])
async def grant_review(
    request: Request, app_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    values = await form_values(request)
    try:
        decision = form_struct(ReviewIn, {"approved": values.get("approved"), "reason": values.get("reason")})
        app = await selection.get_application(db_session, app_id)
        await selection.review(db_session, app, request.user, decision.approved, decision.reason)
    except Problem as exc:
        await db_session.rollback()
        return await _queue(request, db_session, exc.kind.status, texts(request).problem(exc))
    return back_to("/console/grants/applications", "done", status="submitted")


ROUTES: list[Any] = [
    program_list,
    program_create,
    program_detail,
    program_apply,
    program_notice,
    program_finalize,
    grant_queue,
    grant_review,
]
