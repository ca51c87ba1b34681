"""Console page of import batches: the reviewer's queue of imports to accept or reject (loans.imports.review)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from loans.imports import review
from loans.schemas import ReasonIn
from service.auth import allow
from service.errors import Problem
from service.money import format_yuan
from service.web.console import STAFF, back_to, form_struct, form_values, render, texts

PAGE = "/console/import/batches"
STATUSES = ("pending", "accepted", "rejected")


async def _page(
    request: Request[Any, Any, Any], session: AsyncSession, status: str, code: int = 200, error: str | None = None
) -> Template:
    items, total = await review.list_batches(session, status if status in STATUSES else None, 200, 0)
    batches = [
        {**review.view(b).__dict__, "principal": format_yuan(b.principal), "disbursed": format_yuan(b.disbursed)}
        for b in items
    ]
    return render(
        request,
        "import_batches.html",
        code,
        batches=batches,
        total=total,
        status=status,
        statuses=STATUSES,
        error=error,
    )


@get(PAGE, guards=[allow(*STAFF)])
async def batch_list(
    request: Request, db_session: NamedDependency[AsyncSession], status: FromQuery[str] = "pending"
) -> Template:
    return await _page(request, db_session, status)


async def _decide(request: Request[Any, Any, Any], session: AsyncSession, act: Any) -> Response[Any]:
    try:
        await act(await form_values(request))
    except Problem as exc:
        await session.rollback()  # the list as it was, with why the step was refused
        return await _page(request, session, "pending", exc.kind.status, texts(request).problem(exc))
    return back_to(PAGE, "done")


@post(PAGE + "/{batch_id:int}/accept", guards=[allow("reviewer")])
async def batch_accept(
    request: Request, batch_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    async def accept(_: dict[str, str]) -> Any:
        return await review.accept(db_session, batch_id, request.user)

    return await _decide(request, db_session, accept)


@post(PAGE + "/{batch_id:int}/reject", guards=[allow("reviewer")])
async def batch_reject(
    request: Request, batch_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    async def reject(values: dict[str, str]) -> Any:
        return await review.reject(db_session, batch_id, request.user, form_struct(ReasonIn, values).reason)

    return await _decide(request, db_session, reject)


ROUTES: list[Any] = [batch_list, batch_accept, batch_reject]
