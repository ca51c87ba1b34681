"""HTTP for the loan reports (each also as .xlsx with `?format=xlsx`) and the subsidy settlement."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from loans.origination.applications import parse_amount
from loans.reports.answers import Format, aging_answer, default_rate_answer, loans_answer, subsidy_answer
from loans.schemas import Money
from loans.servicing import subsidy
from service.auth import STAFF_READERS, allow
from service.money import format_yuan

Year = Annotated[int, QueryParameter(ge=2000, le=2100)]


class SettlementIn(msgspec.Struct, forbid_unknown_fields=True):
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    amount: Money
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:/-]+$")]
    settled_on: date | None = None


def _today(request: Request) -> date:
    return request.app.state.settings.today()


class LoanReportController(Controller):
    """The answers are module functions, so the console's downloads give the same files."""

    path = "/api/v1/reports"
    tags = ["reports"]
    guards = [allow(*STAFF_READERS)]

    @get("/loans", summary="Loans of an academic year, of which registered-poor, and cumulative (?format=xlsx)")
    async def loans(
        self, year: FromQuery[Year], db_session: NamedDependency[AsyncSession], format: FromQuery[Format] = "json"
    ) -> Any:
        return await loans_answer(db_session, year, format)

    @get("/aging", summary="Overdue contracts by days past due (1–30, 31–90, 91–180, 181–365, >365)")
    async def aging(
        self,
        db_session: NamedDependency[AsyncSession],
        request: Request,
        as_of: FromQuery[date | None] = None,
        format: FromQuery[Format] = "json",
    ) -> Any:
        return await aging_answer(db_session, as_of or _today(request), format)

    @get("/default-rate", summary="Default rate by county, university, graduation year or contract year")
    async def default_rate(
        self,
        db_session: NamedDependency[AsyncSession],
        request: Request,
        by: FromQuery[Literal["county", "university", "graduation_year", "contract_year"]] = "county",
        as_of: FromQuery[date | None] = None,
        format: FromQuery[Format] = "json",
    ) -> Any:
        return await default_rate_answer(db_session, by, as_of or _today(request), format)

    @get("/subsidy", summary="The government's subsidy bill (财政贴息) of a year")
    async def subsidy(
        self, year: FromQuery[Year], db_session: NamedDependency[AsyncSession], format: FromQuery[Format] = "json"
    ) -> Any:
        return await subsidy_answer(db_session, year, format)


class SubsidySettlementController(Controller):
    path = "/api/v1/subsidy-settlements"
    tags = ["reports"]

    @post(
        "/",
        guards=[allow("officer")],
        summary="The state paid a year's subsidy bill",
        description="`amount` must equal the bill (422 states the difference). The same `reference` again "
        "returns the first settlement (200); with another year or amount it is a 409.",
    )
    async def settle(
        self, data: JSONBody[SettlementIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> Response[dict[str, Any]]:
        amount = parse_amount(data.amount)
        item, created = await subsidy.settle(
            db_session,
            data.year,
            amount,
            data.reference,
            data.settled_on or _today(request),
            request.user.actor,
            today=_today(request),
        )
        return Response(
            content={
                "id": item.id,
                "year": item.year,
                "amount": format_yuan(item.amount),
                "reference": item.reference,
                "contracts": item.contracts,
                "lines": item.lines,
                "settled_on": item.settled_on.isoformat(),
            },
            status_code=201 if created else 200,
        )


ROUTES: list[Any] = [LoanReportController, SubsidySettlementController]
