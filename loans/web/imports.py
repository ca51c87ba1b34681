"""Console page of the Excel import with its row error report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from loans.import_api import MAX_UPLOAD_BYTES, error_report, template_workbook, xlsx_response
from loans.imports import import_contracts
from service.auth import allow
from service.errors import TOO_LARGE, UNPROCESSABLE, Problem
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
        content = await upload.read()
        if len(content) > MAX_UPLOAD_BYTES:
            raise Problem(TOO_LARGE, "上传文件超过 20 MB，请分成几个文件导入。",
                          "The file is over 20 MB; split it into several files.", field="file")
        user, settings = request.user, request.app.state.settings
        name = Path(upload.filename).name
        result = await import_contracts(db_session, content, filename=name, user_id=user.id, actor=user.actor,
                                        secret=settings.secret_key, valid_only=form.get("valid_only") == "on",
                                        dry_run=form.get("dry_run") == "on")
    except Problem as exc:
        return render(request, "import.html", exc.kind.status, error=texts(request).problem(exc))
    # A stopped import is a 422: nothing was written, and the request's transaction is rolled back.
    status = 422 if result.stopped else 200
    if form.get("annotated") == "on":
        report = await anyio.to_thread.run_sync(error_report, content, result.errors)
        return xlsx_response(report, f"{Path(name).stem}-错误说明.xlsx", status)
    return render(request, "import.html", status, result=result, errors=result.errors[:MAX_SHOWN_ERRORS])


@get("/console/import/template.xlsx", guards=[allow("officer", "reviewer", "auditor")])
async def import_template(request: Request) -> Response[bytes]:
    return xlsx_response(template_workbook(), "贷款合同导入模板.xlsx")


ROUTES: list[Any] = [import_form, import_upload, import_template]
