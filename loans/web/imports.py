"""Console page of the Excel import with its row error report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from loans.imports.importer import ImportResult, import_contracts
from loans.imports.job import JobRequest, read_job, start_job
from loans.imports.template import measure
from loans.imports.workbooks import error_report, template_workbook
from service.auth import allow
from service.errors import UNPROCESSABLE, Problem
from service.responses import xlsx_response
from service.uploads import read_upload, upload_name
from service.web.console import render, texts

MAX_SHOWN_ERRORS = 500  # on the page; the annotated workbook marks them all


@get("/console/import", guards=[allow("officer")])
async def import_form(request: Request) -> Template:
    return render(request, "import.html")


@post("/console/import", guards=[allow("officer")])
async def import_upload(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Problem(UNPROCESSABLE, "请选择要导入的 Excel 文件。", "Choose the workbook to import.", field="file")
        content = await read_upload(upload)
        user, settings = request.user, request.app.state.settings
        name = upload_name(upload)
        valid_only, dry_run = form.get("valid_only") == "on", form.get("dry_run") == "on"
        rows = await anyio.to_thread.run_sync(measure, content, settings.import_max_rows)
        if form.get("annotated") != "on" and rows > settings.import_background_rows + 1:
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
            return Redirect(path=f"/console/import/jobs/{job.id}", status_code=303)
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
    except Problem as exc:
        return render(request, "import.html", exc.kind.status, error=texts(request).problem(exc))
    # A stopped import is a 422: nothing was written, and the request's transaction is rolled back.
    status = 422 if result.stopped else 200
    if form.get("annotated") == "on":
        report = await anyio.to_thread.run_sync(error_report, content, result.errors, settings.import_max_rows)
        return xlsx_response(report, f"{Path(name).stem}-错误说明.xlsx", status)
    return render(request, "import.html", status, result=result, errors=result.errors[:MAX_SHOWN_ERRORS])


@get("/console/import/jobs/{job_id:int}", guards=[allow("officer")])
async def import_job(request: Request, db_session: NamedDependency[AsyncSession], job_id: FromPath[int]) -> Template:
    """A background import's progress; the page refreshes itself (<meta http-equiv=refresh>) until it ends."""
    job = await read_job(request.app.state.engine, db_session, job_id)
    summary = job["result"]
    result = ImportResult(digest="", **{k: v for k, v in summary.items() if k in _RESULT_FIELDS}) if summary else None
    errors = (summary or {}).get("errors", [])[:MAX_SHOWN_ERRORS]
    return render(
        request,
        "import.html",
        job=job,
        result=result,
        errors=errors,
        refresh=job["status"] in ("queued", "running") and not job["stale"],
    )


_RESULT_FIELDS = {"file", "rows", "valid", "invalid", "imported", "batch_id", "dry_run", "valid_only"}


@get("/console/import/template.xlsx", guards=[allow("officer", "reviewer", "auditor")])
async def import_template(request: Request) -> Response[bytes]:
    return xlsx_response(template_workbook(), "贷款合同导入模板.xlsx")


ROUTES: list[Any] = [import_form, import_upload, import_job, import_template]
