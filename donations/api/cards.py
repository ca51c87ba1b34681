"""Bank card changes of awards (maker-checker): proposed by one user, approved or rejected by another."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from donations import cards
from donations.models import CardChange
from donations.schemas import CardChangeIn, CardChangeOut, CardDecisionIn
from service.auth import STAFF_READERS, allow
from service.identity import mask_bank_card


def change_out(c: CardChange) -> CardChangeOut:
    return CardChangeOut(
        id=c.id,
        award_id=c.award_id,
        status=c.status,
        bank_card=mask_bank_card(c.bank_card),
        previous_card=mask_bank_card(c.previous_card) if c.previous_card else None,
        reason=c.reason,
        proposed_by=c.proposed_by_name,
        proposed_at=c.proposed_at.isoformat(),
        decided_by=c.decided_by_name,
        decided_at=c.decided_at.isoformat() if c.decided_at else None,
        decision_note=c.decision_note,
    )


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
