"""The console's entry (the landing page at `/`, signing in and out) and the staff dashboard."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import AuthUser, allow, issue_token
from service.clientaddress import request_address
from service.demo import demo_accounts
from service.errors import Problem
from service.signin import authenticate, sign_out
from service.web.console import SESSION_COOKIE, STAFF, console_of, home_of, render, secure_cookies, texts, today
from service.web.sections import panel_context


def _safe_next(target: str | None) -> str | None:
    """Only a console path of this site: never an open redirect."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return None


async def _landing(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    status: int = 200,
    error: str | None = None,
    username: str = "",
) -> Template:
    settings = request.app.state.settings
    return render(
        request,
        "landing.html",
        status,
        error=error,
        username=username,
        next=_safe_next(request.query_params.get("next")) or "",
        demo_users=await demo_accounts(session, settings.admin_password is not None),
    )


@get("/", include_in_schema=False)
async def landing(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    """What Zizhu is, where the API is documented, and the sign-in form (with the demo logins on a demo)."""
    return await _landing(request, db_session)


@post("/login", include_in_schema=False)
async def login(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    form = await request.form()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    settings = request.app.state.settings
    try:
        address = request_address(request, settings.trusted_proxies)
        user = await authenticate(request.app.state.engine, settings, username, password, address)
    except Problem as exc:
        return await _landing(request, db_session, exc.kind.status, texts(request).problem(exc), username)
    token = issue_token(request.app.state.jwt_auth, user, settings.token_ttl_minutes)
    signed_in = AuthUser(id=user.id, username=user.username, role=user.role)
    target = _safe_next(str(form.get("next", ""))) or home_of(console_of(request), signed_in)
    response = Redirect(path=target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.token_ttl_minutes * 60,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
    )
    return response


@post("/logout", include_in_schema=False)
async def logout(request: Request, db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    """Signs out as the API's POST /api/v1/auth/logout does: the cookie's token (and every other) stops working."""
    user = request.user
    if isinstance(user, AuthUser):
        await sign_out(db_session, request.app.state.user_cache, user.id, user.actor)
    response = Redirect(path="/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@get("/console/no-pages", include_in_schema=False)
async def no_pages(request: Request) -> Template:
    t = texts(request)
    return render(request, "error.html", 200, title=t.title, message=t.no_pages_for_role)


@get("/console", guards=[allow(*STAFF)], include_in_schema=False)
async def dashboard(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    """The frame of the dashboard: each domain's panels, with the figures of its own reports."""
    panels, figures = await panel_context(console_of(request).dashboard, request, db_session)
    return render(request, "dashboard.html", today=today(request), panels=panels, **figures)


ROUTES: list[Any] = [landing, login, logout, no_pages, dashboard]
__all__ = ["ROUTES"]
