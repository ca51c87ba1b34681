"""HTTP: applications, review, putting them on notice and finalising, awards, payment, cross-check (the notices
themselves and objections to them: donations.api.notices)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from donations import awards, crosscheck, selection
from donations.funding import get_program
from donations.models import Application, Award
from donations.papers.receipt import AcknowledgementData, render_acknowledgement
from donations.schemas import (
    AcknowledgeIn,
    ApplicationIn,
    ApplicationOut,
    AwardOut,
    AwardReviewIn,
    FinalizeIn,
    FinalizeOut,
    NoticeIn,
    NoticeOut,
    PayIn,
    PaymentOut,
    ReviewIn,
    RevokeIn,
)
from donations.views import application_out, award_out, line_out, notice_out
from service import audit, idempotency
from service.auth import STAFF_READERS, allow
from service.db import write_beside
from service.errors import FORBIDDEN, Problem
from service.identity import mask_bank_card, mask_id_number
from service.lifecycle import BAD_TRANSITION
from service.pagination import Limit, Offset, Page, fetch_page
from service.registry.models import Student, University
from service.registry.vocabulary import LEVELS_ZH
from service.responses import pdf_response
from service.uploads import read_upload


def _today(request: Request) -> date:
    return request.app.state.settings.today()


class ProgramSelectionController(Controller):
    path = "/api/v1/programs/{program_id:int}"
    tags = ["donations"]

    @post(
        "/applications",
        guards=[allow("officer")],
        summary="Take an application (amount from the rule)",
        description="422 with every reason when the student is not eligible (window, level, category, rule, "
        "quota, budget); 409 for a second application or a once-only grant already had.",
    )
    async def apply(
        self,
        program_id: FromPath[int],
        data: JSONBody[ApplicationIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ApplicationOut:
        app = await selection.submit(db_session, program_id, data, request.user, _today(request))
        return await application_out(db_session, app)

    @get("/applications", guards=[allow(*STAFF_READERS)], summary="A programme's applications")
    async def applications(
        self,
        program_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[str | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ApplicationOut]:
        query = select(Application).where(Application.program_id == program_id).order_by(Application.id)
        if status:
            query = query.where(Application.status == status)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(items=[await application_out(db_session, a) for a in rows], total=total, limit=limit, offset=offset)

    @post(
        "/notices",
        guards=[allow("officer")],
        summary="Put every reviewed application on public notice",
        description="Runs the programme's notice_days calendar days, the first day counted, ends_on included; "
        "`starts_on` is today or later (within a year), else 422.",
    )
    async def notice(
        self,
        program_id: FromPath[int],
        data: JSONBody[NoticeIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> NoticeOut:
        notice, _ = await selection.open_notice(
            db_session, program_id, data.starts_on, request.user.actor, _today(request)
        )
        return await notice_out(db_session, notice)

    @post(
        "/awards/finalize",
        guards=[allow("officer")],
        status_code=200,
        summary="Applications whose notice has ended with no open objection become awards",
        description="`as_of` is optional (the centre's today); a date after today is a 422: a notice ends on the "
        "calendar, never on request.",
    )
    async def finalize(
        self,
        program_id: FromPath[int],
        data: JSONBody[FinalizeIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> FinalizeOut:
        made = await selection.finalize(db_session, program_id, request.user.actor, _today(request), data.as_of)
        return FinalizeOut(awards=[award_out(a) for a in made])

    @get("/awards", guards=[allow(*STAFF_READERS)], summary="A programme's awards")
    async def awards(
        self,
        program_id: FromPath[int],
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[str | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[AwardOut]:
        await get_program(db_session, program_id)
        query = select(Award).where(Award.program_id == program_id).order_by(Award.id)
        if status:
            query = query.where(Award.status == status)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(items=[award_out(a) for a in rows], total=total, limit=limit, offset=offset)


class ApplicationController(Controller):
    path = "/api/v1/applications"
    tags = ["donations"]

    @get("/{app_id:int}", guards=[allow(*STAFF_READERS)], summary="One application")
    async def detail(self, app_id: FromPath[int], db_session: NamedDependency[AsyncSession]) -> ApplicationOut:
        return await application_out(db_session, await selection.get_application(db_session, app_id))

    @post(
        "/{app_id:int}/review",
        guards=[allow("reviewer")],
        status_code=200,
        summary="Review (a reviewer who did not take it); answers open objections",
    )
    async def review(
        self,
        app_id: FromPath[int],
        data: JSONBody[ReviewIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ApplicationOut:
        app = await selection.get_application(db_session, app_id)
        app = await selection.review(db_session, app, request.user, data.approved, data.reason)
        return await application_out(db_session, app)


class AwardController(Controller):
    path = "/api/v1/awards"
    tags = ["donations"]

    @get("/{award_id:int}", guards=[allow(*STAFF_READERS)], summary="One award with its allocation lines")
    async def detail(self, award_id: FromPath[int], db_session: NamedDependency[AsyncSession]) -> PaymentOut:
        award = await awards.get_award(db_session, award_id)
        return PaymentOut(
            award=award_out(award), allocations=[line_out(x) for x in await awards.lines_of(db_session, award_id)]
        )

    @post(
        "/{award_id:int}/pay",
        guards=[allow("officer")],
        summary="Pay to the student's bank card: the award is funded line by line, or 422 with the shortfall",
        description="Accepts `Idempotency-Key`; a payment `reference` already used is a 409. `bank_card` "
        "(Luhn-checked) if not given with the application; a card other than the one on file is a 409 "
        "(bank-card-not-on-file): propose it (POST /awards/{id}/card-changes) for another user to approve.",
    )
    async def pay(
        self,
        award_id: FromPath[int],
        data: JSONBody[PayIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> Response[dict[str, Any]]:
        async def run() -> dict[str, Any]:
            award, lines = await awards.pay(
                db_session,
                award_id,
                data.paid_on,
                data.reference,
                data.bank_card,
                request.user.actor,
                today=_today(request),
            )
            return msgspec.to_builtins(PaymentOut(award=award_out(award), allocations=[line_out(x) for x in lines]))

        return await idempotency.respond_once(request, db_session, f"award-pay:{award_id}", data, run)

    @post(
        "/{award_id:int}/revoke",
        guards=[allow("reviewer")],
        status_code=200,
        summary="Take an award back: its allocation lines are reversed and the money returns to the pool",
    )
    async def revoke(
        self,
        award_id: FromPath[int],
        data: JSONBody[RevokeIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> AwardOut:
        award, today = await awards.get_award(db_session, award_id), _today(request)
        on = data.revoked_on or today
        return award_out(await awards.revoke(db_session, award, on, data.reason, request.user.actor, today=today))

    @post(
        "/{award_id:int}/review",
        guards=[allow("reviewer")],
        status_code=200,
        summary="Decide a cross-check finding: confirmed keeps the award, otherwise it is revoked",
    )
    async def review(
        self,
        award_id: FromPath[int],
        data: JSONBody[AwardReviewIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> AwardOut:
        award, today = await awards.get_award(db_session, award_id), _today(request)
        return award_out(
            await awards.review_flag(
                db_session, award, data.confirmed, data.reason, data.on or today, request.user.actor, today=today
            )
        )

    @get(
        "/{award_id:int}/acknowledgement",
        guards=[allow(*STAFF_READERS, "graduate")],
        summary="The 受助回执 as PDF, to be signed by the student",
        media_type="application/pdf",
    )
    async def acknowledgement_pdf(
        self, award_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> Response[bytes]:
        award = await awards.get_award(db_session, award_id)
        if request.user.role == "graduate" and request.user.student_id != award.student_id:
            raise Problem(FORBIDDEN, "只能查看本人的资助。", "You can see only your own award.")
        if award.paid_on is None or award.payment_reference is None:
            raise Problem(
                BAD_TRANSITION,
                "资助尚未发放，没有受助回执。",
                "The award is not paid yet.",
                extra={"current_status": award.status},
            )
        student = await db_session.get(Student, award.student_id)
        program = await get_program(db_session, award.program_id)
        assert student is not None
        university = await db_session.get(University, student.university_code)
        data = AcknowledgementData(
            centre_name=request.app.state.settings.centre_name,
            award_id=award.id,
            student_name=student.name,
            id_number_masked=mask_id_number(student.id_number),
            university=university.name if university else student.university_code,
            level_zh=LEVELS_ZH.get(student.level, student.level),
            program=program.name,
            academic_year=award.academic_year,
            amount_fen=award.amount,
            paid_on=award.paid_on,
            bank_card_masked=mask_bank_card(award.bank_card) if award.bank_card else "",
            payment_reference=award.payment_reference,
        )
        return pdf_response(await anyio.to_thread.run_sync(render_acknowledgement, data), f"受助回执-{award.id}.pdf")

    @post(
        "/{award_id:int}/acknowledge",
        guards=[allow("officer", "graduate")],
        status_code=200,
        summary="The student's acknowledgement (受助回执): by the centre, or by the graduate user for its own",
    )
    async def acknowledge(
        self,
        award_id: FromPath[int],
        data: JSONBody[AcknowledgeIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> AwardOut:
        award = await awards.get_award(db_session, award_id)
        user = request.user
        own = (user.student_id or -1) if user.role == "graduate" else None
        return award_out(
            await awards.acknowledge(db_session, award, data.acknowledged_on, user.actor, own, today=_today(request))
        )


@dataclass
class FindingsUpload:
    file: UploadFile


def _auditor_only(request: Request) -> None:
    # Full ID numbers leave the service here: the auditor's job, and nobody else's (not even admin's).
    if request.user.role != "auditor":
        raise Problem(
            FORBIDDEN,
            "比对名单含完整身份证号，仅限审计（纪检）角色导出。",
            "The cross-check list holds full ID numbers: for the auditor role only.",
        )


class CrossCheckController(Controller):
    path = "/api/v1/cross-check"
    tags = ["donations"]

    @get(
        "/export",
        guards=[allow("auditor")],
        media_type=crosscheck.XLSX,
        summary="Recipients with full ID numbers (.xlsx), for the auditor only",
    )
    async def export(
        self,
        db_session: NamedDependency[AsyncSession],
        request: Request,
        academic_year: FromQuery[int | None] = None,
        program_id: FromQuery[int | None] = None,
    ) -> Response[bytes]:
        _auditor_only(request)
        rows = await crosscheck.export_rows(db_session, academic_year, program_id)
        # A read, but one that must leave a trace: written in a transaction of its own.
        async with write_beside(db_session, request.app.state.engine) as session:
            await audit.record(
                session,
                request.user.actor,
                "export-cross-check",
                "grant_award",
                "*",
                None,
                {"rows": len(rows), "academic_year": academic_year, "program_id": program_id},
            )
        name = quote("受助学生比对名单.xlsx")
        return Response(
            content=crosscheck.workbook(rows),
            media_type=crosscheck.XLSX,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
        )

    @post(
        "/findings",
        guards=[allow("officer")],
        status_code=200,
        summary="Import the flags that came back (the exported file with 比对结果 filled in)",
        description="Every flagged award goes under review; 422 and nothing changed if a row does not match.",
    )
    async def findings(
        self,
        data: Annotated[FindingsUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> dict[str, Any]:
        content = await read_upload(data.file)
        flagged = await crosscheck.import_findings(
            db_session, content, request.user.actor, request.app.state.settings.import_max_rows
        )
        return {"flagged": flagged}


ROUTES: list[Any] = [
    ProgramSelectionController,
    ApplicationController,
    AwardController,
    CrossCheckController,
]
