"""Console pages of donations and their receipts: the list, recording a donation (its receipt number is taken at
once and shown), a receipt's page, its PDF (the first print the original, every later one a copy 副本) and
voiding it with a reason (a replacement with a new number names the original).

A donor user reaches the receipts of its own donor only (donations.funding.donor_scope, as in the API)."""

from __future__ import annotations

import uuid
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from donations import funding, receipts
from donations.models import Donor, Funding, Program, Receipt
from donations.papers.receipt import render_receipt
from donations.schemas import DonationIn, VoidIn
from service import idempotency
from service.auth import STAFF_READERS, allow
from service.errors import Problem
from service.money import format_yuan
from service.responses import pdf_response
from service.web.console import (
    STAFF,
    back_to,
    fetch_rows,
    form_struct,
    form_values,
    page_window,
    pager,
    render,
    texts,
    today,
)

METHODS = ("bank_transfer", "cash", "cheque", "online", "other")


def query_int(request: Request[Any, Any, Any], name: str) -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() and len(value) < 12 else None


async def _donation_list(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    status: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    program_id, donor_id = query_int(request, "program_id"), query_int(request, "donor_id")
    offset = page_window(request)
    query = (
        select(Funding, Donor.name, Program.name, Receipt.receipt_no)
        .join(Donor, Donor.id == Funding.donor_id)
        .join(Program, Program.id == Funding.program_id)
        .outerjoin(Receipt, (Receipt.funding_id == Funding.id) & (Receipt.status == "issued"))
        .where(Funding.kind == "donation")
        .order_by(Funding.id.desc())
    )
    if program_id is not None:
        query = query.where(Funding.program_id == program_id)
    if donor_id is not None:
        query = query.where(Funding.donor_id == donor_id)
    rows, total = await fetch_rows(session, query, offset)
    donors = (await session.execute(select(Donor.id, Donor.name).order_by(Donor.id))).all()
    programs = (await session.execute(select(Program.id, Program.name).order_by(Program.id.desc()))).all()
    return render(
        request,
        "donations.html",
        status,
        error=error,
        values=values or {},
        donors=donors,
        programs=programs,
        methods=METHODS,
        today=today(request),
        idem=uuid.uuid4().hex,
        pager=pager(request, total, offset),
        items=[
            (
                f,
                donor,
                program,
                receipt_no,
                format_yuan(f.amount),
                format_yuan(f.allocated),
                format_yuan(f.amount - f.allocated),
            )
            for f, donor, program, receipt_no in rows
        ],
    )


@get("/console/donations", guards=[allow(*STAFF)])
async def donation_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    return await _donation_list(request, db_session)


def donation_in(values: dict[str, str]) -> DonationIn:
    data: dict[str, Any] = {
        k: values[k] for k in ("donor_id", "program_id", "amount", "received_on", "method", "reference") if k in values
    }
    if values.get("directed_student_ids"):
        ids = [x.strip() for x in values["directed_student_ids"].replace("，", ",").split(",") if x.strip()]
        data["directed_student_ids"] = ids
    return form_struct(DonationIn, data)


@post("/console/donations", guards=[allow("officer")])
async def donation_record(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    """As the API's: the form carries a one-time key, so a second click records nothing twice."""
    values = await form_values(request)
    try:
        key = idempotency.check_key(values.get("idem"))
        data = donation_in(values)
        if key is not None:
            first = await idempotency.claim(
                db_session, "console-donation", key, idempotency.request_hash(msgspec.json.encode(data))
            )
            if first is not None:
                return back_to(f"/console/receipts/{first[1]['receipt_no']}", "donation_recorded")
        settings = request.app.state.settings
        _, receipt = await funding.add_donation(db_session, data, request.user, settings, today=settings.today())
        if key is not None:
            await idempotency.remember(db_session, "console-donation", key, 201, {"receipt_no": receipt.receipt_no})
    except Problem as exc:
        await db_session.rollback()
        return await _donation_list(request, db_session, exc.kind.status, texts(request).problem(exc), values)
    return back_to(f"/console/receipts/{receipt.receipt_no}", "donation_recorded")


@get("/console/receipts", guards=[allow(*STAFF)])
async def receipt_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    q = request.query_params.get("q", "").strip()[:24]
    offset = page_window(request)
    query = select(Receipt).order_by(Receipt.id.desc())
    if q:
        query = query.where(Receipt.receipt_no.contains(q))
    rows, total = await fetch_rows(db_session, query, offset)
    return render(request, "receipts.html", q=q, pager=pager(request, total, offset), items=[r for (r,) in rows])


async def _scoped_receipt(request: Request[Any, Any, Any], session: AsyncSession, receipt_no: str) -> Receipt:
    receipt = await receipts.get_receipt(session, receipt_no)
    donor_id = await session.scalar(select(Funding.donor_id).where(Funding.id == receipt.funding_id))
    funding.donor_scope(request.user, donor_id or 0)
    return receipt


async def receipt_page(
    request: Request[Any, Any, Any], session: AsyncSession, receipt_no: str, status: int = 200, error: str | None = None
) -> Template:
    receipt = await _scoped_receipt(request, session, receipt_no)
    replaced_by = await session.scalar(select(Receipt.receipt_no).where(Receipt.replaces_no == receipt_no))
    return render(request, "receipt.html", status, error=error, r=receipt, f=receipt.fields, replaced_by=replaced_by)


@get("/console/receipts/{receipt_no:str}", guards=[allow(*STAFF_READERS, "donor")])
async def receipt_detail(
    request: Request, receipt_no: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Template:
    return await receipt_page(request, db_session, receipt_no)


@get("/console/receipts/{receipt_no:str}/pdf", guards=[allow(*STAFF_READERS, "donor")])
async def receipt_pdf(
    request: Request, receipt_no: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Response[bytes]:
    receipt = await _scoped_receipt(request, db_session, receipt_no)
    copy = await receipts.take_print(db_session, request.app.state.engine, receipt, request.user.actor)
    data = receipts.receipt_data(receipt, request.app.state.settings.public_url, copy)
    return pdf_response(
        await anyio.to_thread.run_sync(render_receipt, data), f"{receipt_no}{'-副本' if copy else ''}.pdf"
    )


@post("/console/receipts/{receipt_no:str}/void", guards=[allow("officer")])
async def receipt_void(
    request: Request, receipt_no: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    values = await form_values(request)
    settings = request.app.state.settings
    try:
        reason = form_struct(VoidIn, {"reason": values.get("reason")}).reason
        replacement = await receipts.void(
            db_session, receipt_no, reason, settings.today(), request.user.actor, settings.secret_key
        )
    except Problem as exc:
        await db_session.rollback()
        return await receipt_page(request, db_session, receipt_no, exc.kind.status, texts(request).problem(exc))
    return back_to(f"/console/receipts/{replacement.receipt_no}", "voided")


ROUTES: list[Any] = [donation_list, donation_record, receipt_list, receipt_detail, receipt_pdf, receipt_void]
