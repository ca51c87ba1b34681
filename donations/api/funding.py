"""HTTP: donors, programmes, donations, appropriations, receipts and the two reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from donations import funding, receipts, reports
from donations.models import Donor, Funding, Program, Receipt
from donations.papers.receipt import render_receipt
from donations.papers.reports import render_donor_report
from donations.reports import annual_pdf
from donations.schemas import (
    AppropriationIn,
    DonationIn,
    DonorIn,
    DonorOut,
    FundingOut,
    ProgramIn,
    ProgramOut,
    VerifiedReceipt,
    VoidIn,
)
from donations.views import donor_out, funding_out, program_out, receipt_out, trace_out
from service import idempotency
from service.auth import STAFF_READERS, allow
from service.errors import NOT_FOUND, Problem
from service.money import format_yuan
from service.pagination import Limit, Offset, Page, fetch_page
from service.responses import pdf_response


@dataclass
class JsonOrPdf(Operation):
    """The OpenAPI operation of a GET answering JSON, or a PDF with `?format=pdf`: both content types documented."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse):
            ok.content = {
                **(ok.content or {}),
                "application/pdf": OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                ),
            }


class DonorController(Controller):
    path = "/api/v1/donors"
    tags = ["donations"]

    @post("/", guards=[allow("officer")], summary="Register a donor (organisation: credit code; person: ID number)")
    async def add(
        self, data: JSONBody[DonorIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> DonorOut:
        return donor_out(await funding.add_donor(db_session, data, request.user.actor))

    @get("/", guards=[allow(*STAFF_READERS)], summary="List donors")
    async def list(
        self, db_session: NamedDependency[AsyncSession], limit: Limit = 50, offset: Offset = 0
    ) -> Page[DonorOut]:
        rows, total = await fetch_page(db_session, select(Donor).order_by(Donor.id), limit, offset)
        return Page(items=[donor_out(d) for d in rows], total=total, limit=limit, offset=offset)

    @get("/{donor_id:int}", guards=[allow(*STAFF_READERS, "donor")], summary="One donor (a donor user: its own)")
    async def detail(
        self, donor_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> DonorOut:
        funding.donor_scope(request.user, donor_id)
        return donor_out(await funding.get_donor(db_session, donor_id))

    @get(
        "/{donor_id:int}/allocation-report",
        guards=[allow(*STAFF_READERS, "donor")],
        operation_class=JsonOrPdf,
        summary="Where the donor's money went: each donation → awards → students (masked), and what is unallocated",
    )
    async def allocation_report(
        self,
        donor_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        request: Request,
        since: FromQuery[date | None] = None,
        until: FromQuery[date | None] = None,
        format: FromQuery[Literal["json", "pdf"]] = "json",
    ) -> Any:
        funding.donor_scope(request.user, donor_id)
        donor = await funding.get_donor(db_session, donor_id)
        trace = await reports.donor_trace(db_session, donor, since, until)
        if format == "json":
            return trace_out(trace)
        settings = request.app.state.settings
        today = settings.today()
        period = f"{since or '开始'} 至 {until or today}"
        data = receipts.donor_report_data(trace, settings.centre_name, period, today, settings.secret_key)
        return pdf_response(await anyio.to_thread.run_sync(render_donor_report, data), f"捐赠报告-{donor_id}.pdf")


class ProgramController(Controller):
    path = "/api/v1/programs"
    tags = ["donations"]

    @post(
        "/",
        guards=[allow("officer")],
        summary="Create a programme with its rule",
        description="RULE: {type: fixed, amount} | {type: by_level, amounts: {level: yuan}} | "
        "{type: by_province, in_province, out_of_province}; `family` groups programmes for once-only.",
    )
    async def add(
        self, data: JSONBody[ProgramIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> ProgramOut:
        return program_out(await funding.add_program(db_session, data, request.user.actor))

    @get("/", guards=[allow(*STAFF_READERS)], summary="List programmes")
    async def list(
        self, db_session: NamedDependency[AsyncSession], limit: Limit = 50, offset: Offset = 0
    ) -> Page[ProgramOut]:
        rows, total = await fetch_page(db_session, select(Program).order_by(Program.id), limit, offset)
        return Page(items=[program_out(p) for p in rows], total=total, limit=limit, offset=offset)

    @get("/{program_id:int}", guards=[allow(*STAFF_READERS)], summary="One programme")
    async def detail(self, program_id: FromPath[int], db_session: NamedDependency[AsyncSession]) -> ProgramOut:
        return program_out(await funding.get_program(db_session, program_id))


class DonationController(Controller):
    path = "/api/v1/donations"
    tags = ["donations"]

    @post(
        "/",
        guards=[allow("officer")],
        summary="Record a donation; its receipt number is taken at once",
        description="Pooled to the programme, or directed (一对一) to `directed_student_ids`. Send an "
        "`Idempotency-Key`; a bank `reference` already recorded is a 409.",
    )
    async def add(
        self, data: JSONBody[DonationIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> Response[dict[str, Any]]:
        async def run() -> dict[str, Any]:
            settings = request.app.state.settings
            f, receipt = await funding.add_donation(db_session, data, request.user, settings, today=settings.today())
            return {**msgspec.to_builtins(await funding_out(db_session, f)), "receipt_no": receipt.receipt_no}

        return await idempotency.respond_once(request, db_session, "donation", data, run)

    @get("/", guards=[allow(*STAFF_READERS, "donor")], summary="List donations (a donor user: its own)")
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        request: Request,
        donor_id: FromQuery[int | None] = None,
        program_id: FromQuery[int | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[FundingOut]:
        if request.user.role == "donor":
            donor_id = request.user.donor_id or -1
        query = select(Funding).where(Funding.kind == "donation").order_by(Funding.id)
        if donor_id is not None:
            query = query.where(Funding.donor_id == donor_id)
        if program_id is not None:
            query = query.where(Funding.program_id == program_id)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(items=[await funding_out(db_session, f) for f in rows], total=total, limit=limit, offset=offset)

    @get("/{donation_id:int}", guards=[allow(*STAFF_READERS, "donor")], summary="One donation")
    async def detail(
        self, donation_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> FundingOut:
        f = await db_session.get(Funding, donation_id)
        if f is None or f.kind != "donation":
            raise Problem(NOT_FOUND, f"捐赠 {donation_id} 不存在。", f"Donation {donation_id} does not exist.")
        funding.donor_scope(request.user, f.donor_id or 0)
        return await funding_out(db_session, f)


class AppropriationController(Controller):
    path = "/api/v1/appropriations"
    tags = ["donations"]

    @post(
        "/",
        guards=[allow("officer")],
        summary="Record government money for a programme (财政拨款)",
        description="One document may fund several programmes: one appropriation per programme. "
        "Accepts `Idempotency-Key`.",
    )
    async def add(
        self, data: JSONBody[AppropriationIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> Response[dict[str, Any]]:
        async def run() -> dict[str, Any]:
            today = request.app.state.settings.today()
            f = await funding.add_appropriation(db_session, data, request.user.actor, today=today)
            return msgspec.to_builtins(await funding_out(db_session, f))

        return await idempotency.respond_once(request, db_session, "appropriation", data, run)

    @get("/", guards=[allow(*STAFF_READERS)], summary="List appropriations")
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        program_id: FromQuery[int | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[FundingOut]:
        query = select(Funding).where(Funding.kind == "appropriation").order_by(Funding.id)
        if program_id is not None:
            query = query.where(Funding.program_id == program_id)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(items=[await funding_out(db_session, f) for f in rows], total=total, limit=limit, offset=offset)


class ReceiptController(Controller):
    path = "/api/v1/receipts"
    tags = ["donations"]

    @get(
        "/{receipt_no:str}",
        guards=[allow(*STAFF_READERS, "donor")],
        operation_class=JsonOrPdf,
        summary="A donation receipt as issued",
        description="`?format=pdf`: the receipt as PDF. Its first print is the original; every later print is a "
        "copy marked 副本, made from the stored fields. A voided receipt prints with 作废 and the reason.",
    )
    async def detail(
        self,
        receipt_no: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        request: Request,
        format: FromQuery[Literal["json", "pdf"]] = "json",
    ) -> Any:
        receipt = await receipts.get_receipt(db_session, receipt_no)
        donation = await db_session.get(Funding, receipt.funding_id)
        funding.donor_scope(request.user, donation.donor_id if donation else 0)  # type: ignore[arg-type]
        settings = request.app.state.settings
        if format == "pdf":
            copy = await receipts.take_print(db_session, request.app.state.engine, receipt, request.user.actor)
            pdf = await anyio.to_thread.run_sync(
                render_receipt, receipts.receipt_data(receipt, settings.public_url, copy)
            )
            return pdf_response(pdf, f"{receipt_no}{'-副本' if copy else ''}.pdf")
        replaced_by = await db_session.scalar(select(Receipt.receipt_no).where(Receipt.replaces_no == receipt_no))
        return receipt_out(receipt, settings.public_url, replaced_by)

    @post(
        "/{receipt_no:str}/void",
        guards=[allow("officer")],
        status_code=200,
        summary="Void a receipt with a reason; a replacement (a new number) names the original",
    )
    async def void(
        self,
        receipt_no: FromPath[str],
        data: JSONBody[VoidIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> dict[str, Any]:
        settings = request.app.state.settings
        replacement = await receipts.void(
            db_session, receipt_no, data.reason, settings.today(), request.user.actor, settings.secret_key
        )
        return {"voided": receipt_no, "replacement_no": replacement.receipt_no}

    @get(
        "/verify/{code:str}",
        opt={"public": True},
        summary="Check a receipt's verification code (public)",
        description="Shows only the number, date, masked donor, amount and status.",
    )
    async def verify(self, code: FromPath[str], db_session: NamedDependency[AsyncSession]) -> VerifiedReceipt:
        receipt = await db_session.scalar(select(Receipt).where(Receipt.verify_code == code.strip().upper()))
        if receipt is None:
            raise Problem(
                NOT_FOUND,
                "没有与该校验码对应的收据，收据可能是伪造的。",
                "No receipt has this code; the receipt may be forged.",
            )
        fields = receipt.fields
        return VerifiedReceipt(
            receipt_no=receipt.receipt_no,
            issued_on=receipt.issued_on,
            donor=funding.masked_donor_name(fields["donor"]),
            amount=fields["amount"],
            status=receipt.status,
        )


class DonationReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get(
        "/annual",
        guards=[allow(*STAFF_READERS)],
        operation_class=JsonOrPdf,
        summary="Grants paid in a calendar year by programme: persons, person-times, amount, of which registered-poor",
    )
    async def annual(
        self,
        year: Annotated[int, QueryParameter(ge=2000, le=2100)],
        db_session: NamedDependency[AsyncSession],
        request: Request,
        format: FromQuery[Literal["json", "pdf"]] = "json",
    ) -> Any:
        programs, total = await reports.annual(db_session, year)
        if format == "pdf":
            return pdf_response(
                await annual_pdf(
                    db_session,
                    request.app.state.settings,
                    request.app.state.get("loans_summary"),
                    year,
                    programs,
                    total,
                ),
                f"{year}年度资助统计.pdf",
            )
        return {
            "year": year,
            "programs": [
                {
                    "program_id": pid,
                    "name": name,
                    "persons": t.persons,
                    "person_times": t.person_times,
                    "amount": format_yuan(t.amount),
                    "registered_poor": {"persons": t.poor_persons, "amount": format_yuan(t.poor_amount)},
                }
                for pid, name, t in programs
            ],
            "total": {
                "persons": total.persons,
                "person_times": total.person_times,
                "amount": format_yuan(total.amount),
                "registered_poor": {"persons": total.poor_persons, "amount": format_yuan(total.poor_amount)},
            },
        }


@get(
    "/V/{code:str}",
    opt={"public": True},
    tags=["receipts"],
    summary="The short verify address a receipt's QR code holds: redirects to the verify endpoint (public)",
)
async def short_verify(code: FromPath[str]) -> Redirect:
    return Redirect(path=f"/api/v1/receipts/verify/{quote(code.strip().upper(), safe='')}")


ROUTES: list[Any] = [
    DonorController,
    ProgramController,
    DonationController,
    AppropriationController,
    ReceiptController,
    DonationReportController,
    short_verify,
]
__all__ = ["ROUTES"]
