"""Console pages of grant awards and their payments: the list (filtered by status or programme), paying an award
to the student's card (allocated line by line from the programme's money, or refused with the shortfall), one
award with its allocation lines and its 受助回执 PDF."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from donations import awards, cards
from donations.lifecycle import AwardStatus
from donations.models import Award, Funding, Program
from donations.schemas import PayIn
from donations.views import change_out
from donations.web.donations import query_int
from service import idempotency
from service.auth import allow
from service.errors import Problem
from service.identity import mask_bank_card
from service.money import format_yuan
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
)


async def _award_list(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    status_code: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    status = request.query_params.get("status") or None
    if status not in {s.value for s in AwardStatus}:
        status = None
    program_id = query_int(request, "program_id")
    offset = page_window(request)
    query = (
        select(Award, Student.name, Program.name)
        .join(Student, Student.id == Award.student_id)
        .join(Program, Program.id == Award.program_id)
        .order_by(Award.id.desc())
    )
    if status:
        query = query.where(Award.status == status)
    if program_id is not None:
        query = query.where(Award.program_id == program_id)
    rows, total = await fetch_rows(session, query, offset)
    return render(
        request,
        "awards.html",
        status_code,
        error=error,
        values=values or {},
        status=status or "",
        program_id=program_id or "",
        statuses=[s.value for s in AwardStatus],
        today=today(request),
        idem=uuid.uuid4().hex,
        pager=pager(request, total, offset),
        items=[
            (
                a,
                student,
                program,
                format_yuan(a.amount),
                format_yuan(a.funded),
                mask_bank_card(a.bank_card) if a.bank_card else "",
            )
            for a, student, program in rows
        ],
    )


@get("/console/awards", guards=[allow(*STAFF)])
async def award_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _award_list(request, db_session)


@post("/console/awards/{award_id:int}/pay", guards=[allow("officer")])
async def award_pay(
    request: Request, award_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    """As the API's payment: the form's one-time key makes a second click pay nothing twice."""
    values = await form_values(request)
    scope = f"console-award-pay:{award_id}"
    try:
        key = idempotency.check_key(values.get("idem"))
        data = form_struct(PayIn, {k: values[k] for k in ("paid_on", "reference", "bank_card") if k in values})
        first = key and await idempotency.claim(
            db_session, scope, key, idempotency.request_hash(msgspec.json.encode(data))
        )
        if not first:
            await awards.pay(
                db_session,
                award_id,
                data.paid_on,
                data.reference,
                data.bank_card,
                request.user.actor,
                today=request.app.state.settings.today(),
            )
            if key is not None:
                await idempotency.remember(db_session, scope, key, 201, {"award_id": award_id})
    except Problem as exc:
        await db_session.rollback()
        return await _award_list(
            request, db_session, exc.kind.status, texts(request).problem(exc), {**values, "award_id": str(award_id)}
        )
    return back_to(f"/console/awards/{award_id}", "done")


@get("/console/awards/{award_id:int}", guards=[allow(*STAFF)])
async def award_detail(
    request: Request, award_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Template:
    return await award_page(request, db_session, award_id)


async def award_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    award_id: int,
    status_code: int = 200,
    error: str | None = None,
) -> Template:
    """One award, its allocation lines and its bank card changes (with `error`: why a step on it was refused)."""
    award = await awards.get_award(db_session, award_id)
    student = await db_session.get(Student, award.student_id)
    program = await db_session.get(Program, award.program_id)
    lines = await awards.lines_of(db_session, award_id)
    donors = (
        dict(
            (
                await db_session.execute(
                    select(Funding.id, Funding.kind).where(Funding.id.in_({x.funding_id for x in lines}))
                )
            ).all()
        )
        if lines
        else {}
    )
    return render(
        request,
        "award.html",
        status_code,
        error=error,
        changes=[change_out(c) for c in await cards.changes_of(db_session, award_id)],
        a=award,
        student=student,
        program=program,
        card=mask_bank_card(award.bank_card) if award.bank_card else "",
        amount=format_yuan(award.amount),
        funded=format_yuan(award.funded),
        lines=[(x, donors.get(x.funding_id, ""), format_yuan(x.amount)) for x in lines],
    )


ROUTES: list[Any] = [award_list, award_pay, award_detail]
