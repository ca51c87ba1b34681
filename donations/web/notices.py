"""Console pages of public notices: the notice as the public sees it (masked names, printable) and its objections,
where a reviewer dismisses or upholds each open one (the same service function as the API's decide)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from donations import objections
from donations.lifecycle import OBJECTION
from donations.models import Notice
from donations.schemas import ObjectionDecisionIn
from donations.views import notice_out, objection_out
from service.auth import allow
from service.errors import Problem
from service.identity import mask_name
from service.lookups import get_or_404
from service.web.console import STAFF, back_to, fetch_rows, form_struct, form_values, page_window, pager, render, texts


@get("/console/notices/{notice_id:int}", guards=[allow(*STAFF)])
async def notice_page(
    request: Request, notice_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Template:
    """The notice as the public sees it (masked names), printable; the public PDF and JSON are linked."""
    notice = await get_or_404(db_session, Notice, notice_id, "公示", "Notice")
    return render(request, "notice.html", n=await notice_out(db_session, notice), masked=mask_name)


async def _objections(
    request: Request[Any, Any, Any], session: AsyncSession, notice_id: int, status_code: int = 200, error: str = ""
) -> Template:
    notice = await get_or_404(session, Notice, notice_id, "公示", "Notice")
    status = request.query_params.get("status") or None
    if status not in OBJECTION.statuses:
        status = None
    offset = page_window(request)
    rows, total = await fetch_rows(session, await objections.of_notice(session, notice_id, status), offset)
    entries = {e.application_id: e for e in (await notice_out(session, notice)).entries}
    return render(
        request,
        "notice_objections.html",
        status_code,
        error=error or None,
        n=notice,
        status=status or "",
        statuses=sorted(OBJECTION.statuses),
        pager=pager(request, total, offset),
        items=[(objection_out(o), entries.get(o.application_id)) for (o,) in rows],
    )


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
    try:
        data = form_struct(ObjectionDecisionIn, {"decision": values.get("decision"), "reason": values.get("reason")})
        await objections.decide(db_session, objection, data.decision, data.reason, request.user)
    except Problem as exc:
        await db_session.rollback()
        return await _objections(request, db_session, notice_id, exc.kind.status, texts(request).problem(exc))
    return back_to(f"/console/notices/{notice_id}/objections", "objection_decided")


ROUTES: list[Any] = [notice_page, objection_page, objection_decide]
