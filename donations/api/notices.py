"""HTTP: the public notice (公示), objections to it from anyone, and a reviewer's decision on each objection."""

from __future__ import annotations

from typing import Any, Literal

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from donations import objections
from donations.models import Notice
from donations.papers.reports import NoticeEntryRow, render_notice
from donations.schemas import ObjectionDecisionIn, ObjectionDecisionOut, ObjectionIn, ObjectionOut
from donations.views import notice_out, objection_out
from service.auth import STAFF_READERS, allow
from service.clientaddress import request_address
from service.lookups import get_or_404
from service.money import parse_yuan
from service.pagination import Limit, Offset, Page, fetch_page
from service.responses import pdf_response

ObjectionStatus = Literal["open", "dismissed", "upheld", "resolved"]


def client_of(request: Request) -> str:
    """The objector's client, for the hourly quota: a keyed hash of its address (no address is stored), the address
    as sign-in throttling takes it (X-Forwarded-For only from ZIZHU_TRUSTED_PROXIES)."""
    settings = request.app.state.settings
    return objections.client_key(settings.secret_key, request_address(request, settings.trusted_proxies))


class NoticeController(Controller):
    path = "/api/v1/notices"
    tags = ["donations"]

    @get(
        "/{notice_id:int}",
        opt={"public": True},
        summary="A public notice (no sign-in): masked name, school, level and amount only",
    )
    async def detail(
        self,
        notice_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        request: Request,
        format: FromQuery[Literal["json", "pdf"]] = "json",
    ) -> Any:
        notice = await get_or_404(db_session, Notice, notice_id, "公示", "Notice")
        out = await notice_out(db_session, notice)
        if format == "json":
            return out
        rows = [NoticeEntryRow(e.student, e.university, e.level, parse_yuan(e.amount)) for e in out.entries]
        pdf = await anyio.to_thread.run_sync(
            render_notice, request.app.state.settings.centre_name, out.program, out.starts_on, out.ends_on, rows
        )
        return pdf_response(pdf, f"公示-{notice_id}.pdf")

    @post(
        "/{notice_id:int}/objections",
        opt={"public": True},
        summary="Object to an application on the notice (anyone, while it runs, with a name and mobile number)",
        description="Taken from the notice's first day to its last (409 `notice-closed` otherwise); the phone is "
        "checked (422) and only its masked form is kept; at most `ZIZHU_OBJECTIONS_PER_HOUR` per client address "
        "and notice in a clock hour (429 with Retry-After). The application stays on the notice but is not "
        "finalised while the objection is open: a reviewer dismisses or upholds it.",
    )
    async def objection(
        self,
        notice_id: FromPath[int],
        data: JSONBody[ObjectionIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ObjectionOut:
        settings = request.app.state.settings
        o = await objections.take(
            db_session,
            notice_id,
            data.application_id,
            data.reason,
            data.contact_name,
            data.contact_phone,
            client=client_of(request),
            limit=settings.objections_per_hour,
            today=settings.today(),
        )
        return objection_out(o)

    @get(
        "/{notice_id:int}/objections",
        guards=[allow(*STAFF_READERS)],
        summary="A notice's objections, with the contact (phone masked) and each decision",
    )
    async def objection_list(
        self,
        notice_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[ObjectionStatus | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ObjectionOut]:
        query = await objections.of_notice(db_session, notice_id, status)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(items=[objection_out(o) for o in rows], total=total, limit=limit, offset=offset)


class ObjectionController(Controller):
    path = "/api/v1/objections"
    tags = ["donations"]

    @post(
        "/{objection_id:int}/decide",
        guards=[allow("reviewer")],
        status_code=200,
        summary="A reviewer decides an open objection: dismiss (the application stays on its notice) or uphold "
        "(the application goes back to review)",
        description="409 when the objection is decided already; 403 for the officer who took the application.",
    )
    async def decide(
        self,
        objection_id: FromPath[int],
        data: JSONBody[ObjectionDecisionIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ObjectionDecisionOut:
        o = await objections.get_objection(db_session, objection_id)
        o, app = await objections.decide(db_session, o, data.decision, data.reason, request.user)
        return ObjectionDecisionOut(objection=objection_out(o), application_status=app.status)


ROUTES: list[Any] = [NoticeController, ObjectionController]
