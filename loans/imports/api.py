"""The contract import's HTTP endpoints: the template, the upload (at once, or as a background job), the job, and
the export."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from loans.imports import review
from loans.imports.importer import ImportResult, import_contracts
from loans.imports.job import JobRequest, read_job, start_job, view
from loans.imports.template import measure
from loans.imports.workbooks import error_report, export_contracts, template_workbook
from loans.lifecycle import LoanStatus
from loans.models import LoanImport
from loans.schemas import ReasonIn
from service.auth import STAFF_READERS, allow
from service.errors import Problem, problem_type
from service.money import format_yuan
from service.pagination import Limit, Offset
from service.responses import XLSX_MEDIA_TYPE, xlsx_response
from service.uploads import read_upload, upload_name

MAX_JSON_ERRORS = 1000  # the JSON answer lists this many; the annotated workbook marks them all
INVALID_ROWS = problem_type("loan-import-invalid-rows", 422, "导入数据有误，未导入", "Invalid rows stopped the import")
JOBS = "/api/v1/loan-imports/jobs"


def stopped_problem(result: ImportResult) -> Problem:
    return Problem(
        INVALID_ROWS,
        f"共 {result.rows} 行，其中 {result.invalid} 行有误，未导入任何数据。请按错误清单修改后重新上传"
        f"（或选择只导入正确的行）。",
        f"{result.invalid} of {result.rows} rows are invalid; nothing was imported. Fix them and upload again "
        f"(or import the valid rows only).",
        field="file",
        extra=result.summary(MAX_JSON_ERRORS),
    )


@dataclass
class ImportUpload:
    file: UploadFile


class LoanImportController(Controller):
    path = "/api/v1/loan-imports"
    tags = ["loans"]

    @get(
        "/template",
        guards=[allow("officer", "reviewer", "auditor")],
        summary="The contract import template (.xlsx) with a 说明 sheet",
        media_type=XLSX_MEDIA_TYPE,
    )
    async def template(self) -> Response[bytes]:
        return xlsx_response(template_workbook(), "贷款合同导入模板.xlsx")

    @post(
        "/",
        guards=[allow("officer")],
        status_code=200,
        summary="Import existing contracts and students from the template (.xlsx, multipart field `file`)",
        description="Every row is checked; 422 with the list of errors (row, column, message) when any row "
        "is invalid and nothing is written, unless valid_only. dry_run checks without writing. "
        "format=xlsx returns the upload annotated with its errors instead of JSON. A sheet wider "
        "than the template is 422 (sheet-too-wide), one taller than ZIZHU_IMPORT_MAX_ROWS 413 "
        "(sheet-too-tall), before it is loaded. A JSON import of more than "
        "ZIZHU_IMPORT_BACKGROUND_ROWS rows answers 202 with a job to poll (Location).",
    )
    async def upload(
        self,
        data: Annotated[ImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        db_session: NamedDependency[AsyncSession],
        request: Request,
        valid_only: FromQuery[bool] = False,
        dry_run: FromQuery[bool] = False,
        format: FromQuery[Literal["json", "xlsx"]] = "json",
    ) -> Response[Any]:
        content = await read_upload(data.file)
        user, settings = request.user, request.app.state.settings
        name = upload_name(data.file)
        rows = await anyio.to_thread.run_sync(measure, content, settings.import_max_rows)
        if format == "json" and rows > settings.import_background_rows + 1:  # the header row besides
            job = await start_job(
                request.app.state.engine,
                JobRequest(
                    content,
                    name,
                    user.id,
                    user.actor,
                    settings.secret_key,
                    valid_only,
                    dry_run,
                    settings.import_max_rows,
                    rows,
                    settings.today(),
                    settings.county_code,
                ),
            )
            return Response(content=view(job), status_code=202, headers={"Location": f"{JOBS}/{job.id}"})
        result = await import_contracts(
            db_session,
            content,
            filename=name,
            user_id=user.id,
            actor=user.actor,
            secret=settings.secret_key,
            valid_only=valid_only,
            dry_run=dry_run,
            max_rows=settings.import_max_rows,
            county=settings.county_code,
            today=settings.today(),
        )
        if format == "xlsx":
            counts = {f"X-Zizhu-Import-{k}": str(getattr(result, k)) for k in ("rows", "invalid", "imported")}
            report = await anyio.to_thread.run_sync(error_report, content, result.errors, settings.import_max_rows)
            return xlsx_response(report, f"{Path(name).stem}-错误说明.xlsx", 422 if result.stopped else 200, counts)
        if result.stopped:
            raise stopped_problem(result)
        return Response(content=result.summary(MAX_JSON_ERRORS), status_code=200)

    @get(
        "/jobs/{job_id:int}",
        guards=[allow(*STAFF_READERS)],
        summary="A background import: status (queued, running, done, failed), progress, result or problem",
    )
    async def job(
        self, job_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> dict[str, Any]:
        return await read_job(request.app.state.engine, db_session, job_id)


def batch_out(batch: LoanImport) -> dict[str, Any]:
    v = review.view(batch)
    return {
        **asdict(v),
        "principal": format_yuan(v.principal),
        "disbursed": format_yuan(v.disbursed),
    }


class LoanImportBatchController(Controller):
    """Maker-checker for imports: a batch's contracts count once a reviewer other than the importer accepts it."""

    path = "/api/v1/loan-imports/batches"
    tags = ["loans"]

    @get("/", guards=[allow(*STAFF_READERS)], summary="Import batches, newest first (status=pending for the queue)")
    async def batches(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[Literal["pending", "accepted", "rejected"] | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        items, total = await review.list_batches(db_session, status, limit, offset)
        return {"items": [batch_out(b) for b in items], "total": total, "limit": limit, "offset": offset}

    @get("/{batch_id:int}", guards=[allow(*STAFF_READERS)], summary="One import batch")
    async def batch(self, batch_id: FromPath[int], db_session: NamedDependency[AsyncSession]) -> dict[str, Any]:
        return batch_out(await review.get_batch(db_session, batch_id))

    @post(
        "/{batch_id:int}/accept",
        guards=[allow("reviewer")],
        status_code=200,
        summary="Accept an import batch (not by its importer): its contracts count from now on",
    )
    async def accept(
        self, batch_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> dict[str, Any]:
        return batch_out(await review.accept(db_session, batch_id, request.user))

    @post(
        "/{batch_id:int}/reject",
        guards=[allow("reviewer")],
        status_code=200,
        summary="Reject an import batch (not by its importer): its contracts and payouts are removed",
    )
    async def reject(
        self,
        batch_id: FromPath[int],
        data: JSONBody[ReasonIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> dict[str, Any]:
        return batch_out(await review.reject(db_session, batch_id, request.user, data.reason))


class LoanExportController(Controller):
    path = "/api/v1/loan-exports"
    tags = ["loans"]

    @get(
        "/contracts.xlsx",
        guards=[allow(*STAFF_READERS)],
        summary="All contracts as .xlsx (ID numbers and phones masked)",
        media_type=XLSX_MEDIA_TYPE,
    )
    async def contracts(
        self,
        db_session: NamedDependency[AsyncSession],
        academic_year: FromQuery[int | None] = None,
        status: FromQuery[LoanStatus | None] = None,
    ) -> Response[bytes]:
        content = await export_contracts(db_session, academic_year, status.value if status else None)
        suffix = f"-{academic_year}" if academic_year else ""
        return xlsx_response(content, f"贷款合同{suffix}.xlsx")


ROUTES: list[Any] = [LoanImportController, LoanImportBatchController, LoanExportController]
