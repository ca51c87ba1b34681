"""Console steps of bank card changes, on the award's page: an officer proposes, another user (a reviewer)
approves or rejects (donations.cards, the same functions as the API's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from donations import cards
from donations.schemas import CardChangeIn
from donations.web.awards import award_page
from service.auth import allow
from service.errors import NOT_FOUND, Problem
from service.web.console import back_to, form_struct, form_values, texts


async def _step(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    award_id: int,
    act: Callable[[dict[str, str]], Awaitable[Any]],
) -> Response[Any]:
    try:
        await act(await form_values(request))
    except Problem as exc:
        await session.rollback()  # the award as it was, with why the step was refused
        return await award_page(request, session, award_id, exc.kind.status, texts(request).problem(exc))
    return back_to(f"/console/awards/{award_id}", "done")


@post("/console/awards/{award_id:int}/card-changes", guards=[allow("officer")])
async def card_propose(
    request: Request, award_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    async def propose(values: dict[str, str]) -> Any:
        data = form_struct(CardChangeIn, values)
        return await cards.propose(db_session, award_id, data.bank_card, data.reason, request.user)

    return await _step(request, db_session, award_id, propose)


@post("/console/card-changes/{change_id:int}/{decision:str}", guards=[allow("reviewer")])
async def card_decide(
    request: Request, change_id: FromPath[int], decision: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    if decision not in ("approve", "reject"):
        raise Problem(NOT_FOUND, "没有这个操作。", f"No such step: {decision[:20]}.")
    change = await cards.get_change(db_session, change_id)

    async def decide(values: dict[str, str]) -> Any:
        return await cards.decide(db_session, change_id, request.user, decision == "approve", values.get("note"))

    return await _step(request, db_session, change.award_id, decide)


ROUTES: list[Any] = [card_propose, card_decide]
