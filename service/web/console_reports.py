"""The frame of the console's reports page: the period asked for, then each domain's report panels and downloads
(their figures come from the domains' report functions, the same the API answers with)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import allow
from service.web.console import STAFF, console_of, render, report_as_of, report_year
from service.web.sections import panel_context


@get("/console/reports", guards=[allow(*STAFF)])
async def report_page(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    console = console_of(request)
    panels, figures = await panel_context(console.reports, request, db_session)
    downloads, more = await panel_context(console.downloads, request, db_session)
    return render(
        request,
        "reports.html",
        year=report_year(request),
        as_of=report_as_of(request),
        panels=panels,
        downloads=downloads,
        **figures,
        **more,
    )


ROUTES: list[Any] = [report_page]
