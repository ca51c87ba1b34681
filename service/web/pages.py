"""Public pages: the home page (until the console replaces it), /health and the problem-type catalogue."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import text

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from service.demo import DEMO_USERS, DemoUser
from service.meta import get_meta
from service.errors import NOT_FOUND, UNAVAILABLE, Problem, get_problem_type, problem_types

_TEXT = {
    "zh": {
        "title": "资助 Zizhu", "intro": "县学生资助管理中心的业务系统，服务于在读大学生：",
        "loans": "生源地信用助学贷款：申请、合同、回执、放款、还款计划、贴息、还款与逾期、还款提醒。",
        "donations": "社会捐赠与政府资助：捐赠方与项目、申请、公示、发放、捐赠去向追踪与收据。",
        "links": "接口", "docs": "接口文档（可在线试用）", "problems": "错误类型说明", "signin": "登录",
        "signin_how": "用下列演示账号登录：", "role": "角色", "user": "用户名", "password": "密码",
        "demo_note": "演示数据为虚构，仅供体验；正式使用请以 --no-demo 启动。",
    },
    "en": {
        "title": "Zizhu (资助)", "intro": "The system of a county student financial aid centre, for university students:",
        "loans": "Origin-based credit student loans: applications, contracts, receipts, disbursement, "
                 "schedules with the state's interest subsidy, repayments, overdue and reminders.",
        "donations": "Donations and government grants: donors, programmes, applications, public notice, "
                     "payments, donor-to-recipient tracking and receipts.",
        "links": "API", "docs": "API documentation (try it in the browser)", "problems": "Problem types",
        "signin": "Sign in", "signin_how": "Sign in with a demo account:", "role": "Role", "user": "User name",
        "password": "Password", "demo_note": "The demo data is made up; start with --no-demo for real work.",
    },
}


@get("/", opt={"public": True}, include_in_schema=False)
async def home(request: Request, db_session: NamedDependency[AsyncSession],
               lang: FromQuery[str | None] = None) -> Template:
    wanted = lang or ("en" if request.headers.get("accept-language", "").lower().startswith("en") else "zh")
    code = "en" if wanted == "en" else "zh"
    state = request.app.state
    return Template(template_name="home.html", context={
        "t": _TEXT[code], "lang": "en" if code == "en" else "zh-CN", "centre": state.settings.centre_name,
        "demo_users": await _demo_logins(db_session, state.settings.admin_password is not None),
    })


async def _demo_logins(session: AsyncSession, admin_password_set: bool) -> list[DemoUser]:
    """The demo accounts, shown only on a database the demo was loaded into."""
    if await get_meta(session, "demo") is None:
        return []
    return [u for u in DEMO_USERS if not (u.role == "admin" and admin_password_set)]


@get("/health", opt={"public": True}, tags=["service"], summary="Liveness and database check")
async def health(request: Request) -> dict[str, Any]:
    try:
        async with request.app.state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # the database is down: say so as a 503, not a 500
        raise Problem(UNAVAILABLE, "数据库无法连接。", f"The database does not answer ({type(exc).__name__}).") from None
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


ROUTES = [home, health, live, problems_index, problem_detail, favicon]
