"""The loans' part of the frame's dashboard and reports page, and the report downloads. Every figure comes from the
loans' report functions (reports.portfolio, default_rate, aging, reports.loans_report): the dashboard's overdue rate
is the default-rate report's amount rate of the whole county, never a second computation."""

from __future__ import annotations

from typing import Any, Literal, get_args

from litestar import Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from loans.imports.workbooks import export_contracts
from loans.reports import aging, default_rate
from loans.reports import portfolio as reports
from loans.reports.answers import aging_answer, default_rate_answer, loans_answer, subsidy_answer
from service.auth import STAFF_READERS, allow
from service.money import format_wan, format_yuan
from service.responses import xlsx_response
from service.web.charts import Bar, bar_chart
from service.web.console import report_as_of, report_year, texts, today

By = Literal["county", "university", "graduation_year", "contract_year"]


async def overdue_rate(session: AsyncSession, on: Any) -> str | None:
    """Overdue principal / principal due on `on`, in percent ("3.57"): the default-rate report's total."""
    return default_rate.total(await default_rate.default_rates(session, "county", on)).amount_rate


async def dashboard_figures(request: Request[Any, Any, Any], session: AsyncSession) -> dict[str, Any]:
    p = await reports.portfolio(session)
    rate = await overdue_rate(session, today(request))
    bars = [Bar(str(year), amount, format_wan(amount)) for year, _, amount in p.by_year]
    return {
        "contracts": sum(p.by_status.values()),
        "by_status": p.by_status,
        "outstanding": format_yuan(p.outstanding),
        "overdue_rate": f"{rate}%" if rate is not None else None,
        "overdue_contracts": p.by_status.get("overdue", 0),
        "waiting": p.waiting,
        "awaiting_receipt": p.by_status.get("contracted", 0),
        "chart": bar_chart(bars, texts(request).chart_by_year),
    }


async def report_figures(request: Request[Any, Any, Any], session: AsyncSession) -> dict[str, Any]:
    year, as_of = report_year(request), report_as_of(request)
    figures = await reports.loans_report(session, year)
    return {
        "by_options": get_args(By),
        "rows": [
            (key, t.students, t.contracts, format_yuan(t.amount))
            for key, t in (
                ("academic_year", figures["year"]),
                ("of_which_poor", figures["registered_poor"]),
                ("cumulative", figures["cumulative"]),
            )
        ],
        "aging": [
            (r.label, r.contracts, format_yuan(r.principal), format_yuan(r.interest))
            for r in await aging.aging(session, as_of)
        ],
    }


@get("/console/reports/contracts.xlsx", guards=[allow(*STAFF_READERS)])
async def report_contracts(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    year = report_year(request) if request.query_params.get("year") else None
    content = await export_contracts(db_session, year)
    return xlsx_response(content, f"贷款合同{'-' + str(year) if year else ''}.xlsx")


@get("/console/reports/loans.xlsx", guards=[allow(*STAFF_READERS)])
async def report_loans(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    return await loans_answer(db_session, report_year(request), "xlsx")  # type: ignore[no-any-return]


@get("/console/reports/aging.xlsx", guards=[allow(*STAFF_READERS)])
async def report_aging(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    return await aging_answer(db_session, report_as_of(request), "xlsx")  # type: ignore[no-any-return]


@get("/console/reports/default-rate.xlsx", guards=[allow(*STAFF_READERS)])
async def report_default_rate(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    by = request.query_params.get("by", "county")
    by = by if by in get_args(By) else "county"
    return await default_rate_answer(db_session, by, report_as_of(request), "xlsx")  # type: ignore[no-any-return]


@get("/console/reports/subsidy.xlsx", guards=[allow(*STAFF_READERS)])
async def report_subsidy(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    return await subsidy_answer(db_session, report_year(request), "xlsx")  # type: ignore[no-any-return]


ROUTES: list[Any] = [report_contracts, report_loans, report_aging, report_default_rate, report_subsidy]
