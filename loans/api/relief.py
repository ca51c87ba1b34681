"""HTTP for relief measures: propose (officer), approve and apply (a reviewer who did not propose it),
reject, reverse (officer); every step audited."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.borrowers import relief as reliefs
from loans.lifecycle import RELIEF
from loans.models import Relief
from loans.origination.applications import MAKER_CHECKER
from loans.schemas import Reason
from service import audit
from service.auth import STAFF_READERS, allow
from service.errors import Problem
from service.lookups import get_or_404
from service.money import format_yuan


class ReliefIn(msgspec.Struct, forbid_unknown_fields=True):
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]  # the notice, e.g. 教财〔2023〕x号
    graduated_by: Annotated[int, msgspec.Meta(ge=2000, le=2100)] | None = None  # default: the year itself


class DecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    on: date | None = None  # the business date it takes effect (default: today)


class ReverseReliefIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason
    on: date | None = None


class ReliefOut(msgspec.Struct):
    id: int
    year: int
    graduated_by: int
    source: str
    status: str
    created_by: str
    approved_by: str | None
    applied_on: date | None
    reversed_on: date | None
    reason: str | None
    contracts: int
    interest_moved: str
    principal_deferred: str
    penalty_waived: str


async def _out(session: AsyncSession, r: Relief) -> ReliefOut:
    t = await reliefs.totals(session, r.id)
    return ReliefOut(
        id=r.id,
        year=r.year,
        graduated_by=r.graduated_by,
        source=r.source,
        status=r.status,
        created_by=r.created_by,
        approved_by=r.approved_by,
        applied_on=r.applied_on,
        reversed_on=r.reversed_on,
        reason=r.reason,
        contracts=t["contracts"],
        interest_moved=format_yuan(t["interest_moved"]),
        principal_deferred=format_yuan(t["principal_deferred"]),
        penalty_waived=format_yuan(t["penalty_waived"]),
    )


async def _get(session: AsyncSession, relief_id: int, status: str | None = None) -> Relief:
    r = await get_or_404(session, Relief, relief_id, "减免措施", "Relief", lock=True)
    if status is not None:
        RELIEF.check(r.status, status)
    return r


def _today(request: Request) -> date:
    return request.app.state.settings.today()


class ReliefController(Controller):
    path = "/api/v1/loan-reliefs"
    tags = ["loans"]

    @post(
        "/", guards=[allow("officer")], summary="Propose a relief measure for a cohort (graduates of year Y or earlier)"
    )
    async def propose(
        self, data: JSONBody[ReliefIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> ReliefOut:
        r = Relief(
            year=data.year,
            graduated_by=data.graduated_by or data.year,
            source=data.source.strip(),
            status="proposed",
            created_by=request.user.actor,
            created_by_id=request.user.id,
        )
        db_session.add(r)
        await db_session.flush()
        await audit.record(
            db_session, request.user.actor, "propose", "loan_relief", r.id, None, audit.model_snapshot(r)
        )
        return await _out(db_session, r)

    @get("/", guards=[allow(*STAFF_READERS)], summary="Relief measures")
    async def list(self, db_session: NamedDependency[AsyncSession]) -> list[ReliefOut]:
        rows = (await db_session.scalars(select(Relief).order_by(Relief.id))).all()
        return [await _out(db_session, r) for r in rows]

    @get("/{relief_id:int}", guards=[allow(*STAFF_READERS)], summary="One relief measure with what it changed")
    async def detail(self, relief_id: FromPath[int], db_session: NamedDependency[AsyncSession]) -> ReliefOut:
        r = await get_or_404(db_session, Relief, relief_id, "减免措施", "Relief")
        return await _out(db_session, r)

    @post(
        "/{relief_id:int}/approve",
        guards=[allow("reviewer")],
        status_code=200,
        summary="Approve and apply to the cohort (a reviewer who did not propose it)",
    )
    async def approve(
        self,
        relief_id: FromPath[int],
        data: JSONBody[DecisionIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ReliefOut:
        r = await _get(db_session, relief_id, "applied")
        if r.created_by_id == request.user.id:
            raise Problem(MAKER_CHECKER, "不能审批自己提出的减免措施。", "You may not approve your own proposal.")
        before = audit.model_snapshot(r)
        on = data.on or _today(request)
        r.contracts = await reliefs.apply(db_session, r, on, request.user.actor, today=_today(request))
        await reliefs.move(
            db_session, r, "applied", "apply", request.user.actor, before, approved_by=request.user.actor, applied_on=on
        )
        return await _out(db_session, r)

    @post("/{relief_id:int}/reject", guards=[allow("reviewer")], status_code=200, summary="Reject a proposal")
    async def reject(
        self,
        relief_id: FromPath[int],
        data: JSONBody[ReverseReliefIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ReliefOut:
        r = await _get(db_session, relief_id, "rejected")
        before = audit.model_snapshot(r)
        await reliefs.move(
            db_session,
            r,
            "rejected",
            "reject",
            request.user.actor,
            before,
            note=data.reason,
            reason=data.reason,
            approved_by=request.user.actor,
        )
        return await _out(db_session, r)

    @post(
        "/{relief_id:int}/reverse",
        guards=[allow("officer")],
        status_code=200,
        summary="Reverse an applied relief: schedules restored, reversing entries posted",
    )
    async def reverse(
        self,
        relief_id: FromPath[int],
        data: JSONBody[ReverseReliefIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ReliefOut:
        r = await _get(db_session, relief_id, "reversed")
        before = {**audit.model_snapshot(r), **await reliefs.totals(db_session, r.id)}
        on = data.on or _today(request)
        await reliefs.reverse(db_session, r, on, request.user.actor, today=_today(request))
        await reliefs.move(
            db_session,
            r,
            "reversed",
            "reverse",
            request.user.actor,
            before,
            note=data.reason,
            reversed_on=on,
            reason=data.reason,
        )
        return await _out(db_session, r)


ROUTES: list[Any] = [ReliefController]
