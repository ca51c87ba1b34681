"""The donor portal: a donor user's donations with their receipts to download, and the allocation report (where
the money went: each donation → awards → students, masked) as a page and as the signed PDF.

Staff open the same page for any donor; a donor user only for its own (donations.funding.donor_scope: 403)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from donations import funding, receipts, reports
from donations.papers.reports import render_donor_report
from service.auth import STAFF_READERS, allow
from service.money import format_yuan
from service.responses import pdf_response
from service.web.console import render, texts


async def _trace(request: Request[Any, Any, Any], session: AsyncSession, donor_id: int) -> reports.DonorTrace:
    funding.donor_scope(request.user, donor_id)
    return await reports.donor_trace(session, await funding.get_donor(session, donor_id))


async def donor_page(request: Request[Any, Any, Any], session: AsyncSession, donor_id: int) -> Template:
    trace = await _trace(request, session, donor_id)
    return render(request, "donor.html", d=trace, fmt=format_yuan, donor_id=donor_id)


@get("/console/donor", guards=[allow("donor")])
async def donor_portal(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    if request.user.donor_id is None:
        t = texts(request)
        return render(request, "error.html", 200, title=t.my_donations, message=t.no_donor)
    return await donor_page(request, db_session, request.user.donor_id)


@get("/console/donors/{donor_id:int}", guards=[allow(*STAFF_READERS, "donor")])
async def donor_report(
    request: Request, donor_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Template:
    return await donor_page(request, db_session, donor_id)


@get("/console/donors/{donor_id:int}/report.pdf", guards=[allow(*STAFF_READERS, "donor")])
async def donor_report_pdf(
    request: Request, donor_id: FromPath[int], db_session: NamedDependency[AsyncSession]
) -> Response[bytes]:
    trace = await _trace(request, db_session, donor_id)
    settings = request.app.state.settings
    on = settings.today()
    data = receipts.donor_report_data(trace, settings.centre_name, f"开始 至 {on}", on, settings.secret_key)
    return pdf_response(await anyio.to_thread.run_sync(render_donor_report, data), f"捐赠报告-{donor_id}.pdf")


ROUTES: list[Any] = [donor_portal, donor_report, donor_report_pdf]
