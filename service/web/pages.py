"""Public pages: /health and the problem-type catalogue (the home page `/` is the console's landing page)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import text

from service.errors import NOT_FOUND, UNAVAILABLE, Problem, get_problem_type, problem_types


@get("/health", opt={"public": True}, tags=["service"], summary="Liveness and database check")
async def health(request: Request) -> dict[str, Any]:
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # the database is down: say so as a 503, not a 500
        raise Problem(
            UNAVAILABLE, "数据库无法连接。", f"The database does not answer ({type(exc).__name__})."
        ) from None
    return {"status": "ok", "database": request.app.state.engine.dialect.name}


@get("/health/live", opt={"public": True}, tags=["service"], summary="Liveness only (no database)")
async def live() -> dict[str, str]:
    """For load balancers that only need to know the process answers; also the benchmarks' bare endpoint."""
    return {"status": "ok"}


@get("/problems", opt={"public": True}, include_in_schema=False)
async def problems_index() -> Template:
    return Template(template_name="problems.html", context={"problems": problem_types()})


@get("/problems/{slug:str}", opt={"public": True}, include_in_schema=False)
async def problem_detail(slug: FromPath[str]) -> Response[Any]:
    if get_problem_type(slug) is None:
        raise Problem(NOT_FOUND, f"没有名为 {slug} 的错误类型。", f"There is no problem type {slug!r}.")
    return Redirect(path=f"/problems#{slug}")


@get("/favicon.ico", opt={"public": True}, include_in_schema=False)
async def favicon() -> Response[bytes]:
    return Response(content=b"", status_code=204)


ROUTES = [health, live, problems_index, problem_detail, favicon]
