"""Console pages of public notices: the notice as the public sees it (masked names, printable), and objections (one
notice's, or every notice's open ones: the reviewer's queue), where a reviewer dismisses or upholds each open one
with the same service function as the API's decide."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from donations import objections
from donations.lifecycle import OBJECTION
from donations.models import Application, Notice, Objection
from donations.schemas import ObjectionDecisionIn
from donations.views import notice_out, objection_out
from service.auth import allow
from service.errors import Problem
from service.identity import mask_name
from service.lookups import get_or_404
from service.registry.models import Student
from service.web.console import STAFF, back_to, fetch_rows, form_struct, form_values, page_window, pager, render, texts

QUEUE = "/console/grants/objections"


@get("/console/notices/{notice_id:int}", guards=[allow(*STAFF)])
async def notice_page(
    request: Request, notice_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Template:
    """The notice as the public sees it (masked names), printable; the public PDF and JSON are linked."""
    notice = await get_or_404(db_session, Notice, notice_id, "公示", "Notice")
    return render(request, "notice.html", n=await notice_out(db_session, notice), masked=mask_name)


async def _objections(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    notice_id: int | None,
    status_code: int = 200,
    error: str | None = None,
) -> Template:
    notice = await get_or_404(session, Notice, notice_id, "公示", "Notice") if notice_id is not None else None
    wanted = request.query_params.get("status")
    status = wanted if wanted in OBJECTION.statuses else (None if notice or wanted == "" else "open")
    offset = page_window(request)
    query = (
        objections.listing(notice_id, status)
        .add_columns(Student.name)
        .join(Application, Application.id == Objection.application_id)
        .join(Student, Student.id == Application.student_id)
    )
    rows, total = await fetch_rows(session, query, offset)
    return render(
        request,
        "notice_objections.html",
        status_code,
        error=error,
        n=notice,
        status=status or "",
        statuses=sorted(OBJECTION.statuses),
        pager=pager(request, total, offset),
        items=[(objection_out(o), mask_name(name)) for o, name in rows],
    )


@get(QUEUE, guards=[allow(*STAFF)])
async def objection_queue(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    """Every notice's objections, the open ones first shown: what waits for a reviewer."""
    return await _objections(request, db_session, None)


@get("/console/notices/{notice_id:int}/objections", guards=[allow(*STAFF)])
async def objection_page(
    request: Request, notice_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Template:
    return await _objections(request, db_session, notice_id)


@post("/console/objections/{objection_id:int}/decide", guards=[allow("reviewer")])
async def objection_decide(
    request: Request, objection_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    values = await form_values(request)
    objection = await objections.get_objection(db_session, objection_id)
    notice_id = objection.notice_id
    back = values.get("back") == "queue"
    try:
        data = form_struct(ObjectionDecisionIn, {"decision": values.get("decision"), "reason": values.get("reason")})
        await objections.decide(db_session, objection, data.decision, data.reason, request.user)
    except Problem as exc:
        await db_session.rollback()
        shown = None if back else notice_id
        return await _objections(request, db_session, shown, exc.kind.status, texts(request).problem(exc))
    return back_to(QUEUE if back else f"/console/notices/{notice_id}/objections", "objection_decided")


ROUTES: list[Any] = [notice_page, objection_queue, objection_page, objection_decide]
