"""The donations' part of the frame's dashboard and reports page (from donations.reports, the reports' own
functions), and the annual summary PDF download."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from donations import reports
from service.auth import STAFF_READERS, allow
from service.money import format_wan, format_yuan
from service.responses import pdf_response
from service.web.charts import Bar, bar_chart
from service.web.console import report_year, texts


async def dashboard_figures(request: Request[Any, Any, Any], session: AsyncSession) -> dict[str, Any]:
    """Donations received / allocated / unallocated."""
    received, allocated = await reports.donation_totals(session)
    t = texts(request)
    bars = [
        Bar(getattr(t, f"bar_{key}"), fen, format_wan(fen))
        for key, fen in (("received", received), ("allocated", allocated), ("unallocated", received - allocated))
    ]
    return {
        "donations": {
            "received": format_yuan(received),
            "allocated": format_yuan(allocated),
            "unallocated": format_yuan(received - allocated),
        },
        "donation_chart": bar_chart(bars, t.chart_donations, width=360),
    }


async def report_figures(request: Request[Any, Any, Any], session: AsyncSession) -> dict[str, Any]:
    """The grants paid in the year, by programme, and their total."""
    programs, total = await reports.annual(session, report_year(request))
    return {
        "grants": [
            (name, t.persons, t.person_times, format_yuan(t.amount), t.poor_persons)
            for _, name, t in [*programs, (0, "", total)]
        ]
    }


@get("/console/reports/grants.pdf", guards=[allow(*STAFF_READERS)])
async def report_grants_pdf(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[bytes]:
    """The annual summary on paper (grants paid in the calendar year, with the loans section)."""
    year = report_year(request)
    programs, total = await reports.annual(db_session, year)
    state = request.app.state
    pdf = await reports.annual_pdf(db_session, state.settings, state.get("loans_summary"), year, programs, total)
    return pdf_response(pdf, f"{year}年度资助统计.pdf")


ROUTES: list[Any] = [report_grants_pdf]
