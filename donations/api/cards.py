"""Bank card changes of awards (maker-checker): proposed by one user, approved or rejected by another."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from donations import cards
from donations.schemas import CardChangeIn, CardChangeOut, CardDecisionIn
from donations.views import change_out
from service.auth import STAFF_READERS, allow


class CardChangeController(Controller):
    path = "/api/v1"
    tags = ["donations"]

    @post(
        "/awards/{award_id:int}/card-changes",
        guards=[allow("officer")],
        summary="Propose another bank card for an unpaid award; a different user must approve it before a payment",
    )
    async def propose(
        self,
        award_id: FromPath[int],
        data: JSONBody[CardChangeIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> CardChangeOut:
        return change_out(await cards.propose(db_session, award_id, data.bank_card, data.reason, request.user))

    @get("/card-changes", guards=[allow(*STAFF_READERS)], summary="Bank card changes (cards masked)")
    async def list_changes(
        self,
        db_session: NamedDependency[AsyncSession],
        award_id: FromQuery[int | None] = None,
        status: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        return {"items": [change_out(c) for c in await cards.changes_of(db_session, award_id, status)]}

    @post(
        "/card-changes/{change_id:int}/decision",
        guards=[allow("reviewer")],
        status_code=200,
        summary="Approve or reject a proposed card change (not by its proposer); approval writes it on the award",
    )
    async def decide(
        self,
        change_id: FromPath[int],
        data: JSONBody[CardDecisionIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> CardChangeOut:
        return change_out(await cards.decide(db_session, change_id, request.user, data.approved, data.note))


ROUTES: list[Any] = [CardChangeController]
