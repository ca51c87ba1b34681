"""The console's reports page and its downloads: the loans report, the grants paid in a year (the annual summary
PDF), overdue aging, default rates and the subsidy bill as Excel. The files are the API's own answers
(loans.report_api, donations.funding_api), so a download from the console is the file the API gives."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, get_args

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from donations import reports as grant_reports
from donations.funding_api import annual_pdf, pdf_response
from loans import aging, reports
from loans.imports.workbooks import export_contracts, xlsx_response
from loans.report_api import aging_answer, default_rate_answer, loans_answer, subsidy_answer
from service.auth import STAFF_READERS, allow
from service.money import format_yuan
from service.web.console import STAFF, render, today

By = Literal["county", "university", "graduation_year", "contract_year"]


def _year(request: Request[Any, Any, Any]) -> int:
    """`?year=`, else the academic year under way (bad values: the nearest year the reports take)."""
    on = today(request)
    try:
        year = int(request.query_params.get("year", ""))
    except ValueError:
        year = on.year if on.month >= 9 else on.year - 1
    return min(max(year, 2000), 2100)


def _as_of(request: Request[Any, Any, Any]) -> date:
    try:
        return date.fromisoformat(request.query_params.get("as_of", ""))
    except ValueError:
        return today(request)


@get("/console/reports", guards=[allow(*STAFF)])
async def report_page(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    year, as_of = _year(request), _as_of(request)
    figures = await reports.loans_report(db_session, year)
    programs, total = await grant_reports.annual(db_session, year)
    return render(request, "reports.html", year=year, as_of=as_of, by_options=get_args(By), rows=[
        (key, t.students, t.contracts, format_yuan(t.amount)) for key, t in
        (("academic_year", figures["year"]), ("of_which_poor", figures["registered_poor"]),
         ("cumulative", figures["cumulative"]))],
        grants=[(name, t.persons, t.person_times, format_yuan(t.amount), t.poor_persons)
                for _, name, t in [*programs, (0, "", total)]],
        aging=[(r.label, r.contracts, format_yuan(r.principal), format_yuan(r.interest))
               for r in await aging.aging(db_session, as_of)])


@get("/console/reports/contracts.xlsx", guards=[allow(*STAFF_READERS)])
async def report_contracts(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    year = _year(request) if request.query_params.get("year") else None
    content = await export_contracts(db_session, year)
    return xlsx_response(content, f"贷款合同{'-' + str(year) if year else ''}.xlsx")


@get("/console/reports/loans.xlsx", guards=[allow(*STAFF_READERS)])
async def report_loans(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    return await loans_answer(db_session, _year(request), "xlsx")  # type: ignore[no-any-return]


@get("/console/reports/aging.xlsx", guards=[allow(*STAFF_READERS)])
async def report_aging(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    return await aging_answer(db_session, _as_of(request), "xlsx")  # type: ignore[no-any-return]


@get("/console/reports/default-rate.xlsx", guards=[allow(*STAFF_READERS)])
async def report_default_rate(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    by = request.query_params.get("by", "county")
    by = by if by in get_args(By) else "county"
    return await default_rate_answer(db_session, by, _as_of(request), "xlsx")  # type: ignore[no-any-return]


@get("/console/reports/subsidy.xlsx", guards=[allow(*STAFF_READERS)])
async def report_subsidy(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    return await subsidy_answer(db_session, _year(request), "xlsx")  # type: ignore[no-any-return]


@get("/console/reports/grants.pdf", guards=[allow(*STAFF_READERS)])
async def report_grants_pdf(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    """The annual summary on paper (grants paid in the calendar year, with the loans section)."""
    year = _year(request)
    programs, total = await grant_reports.annual(db_session, year)
    return pdf_response(await annual_pdf(db_session, request, year, programs, total), f"{year}年度资助统计.pdf")


ROUTES: list[Any] = [report_page, report_contracts, report_loans, report_aging, report_default_rate, report_subsidy,
                     report_grants_pdf]
