"""The console's entry (the landing page at `/`, signing in and out) and the staff dashboard."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from donations.models import Funding
from loans.models import LedgerLine, Loan, ScheduleLineRow
from notifications.models import OutboxMessage
from service.accounts import authenticate
from service.auth import AuthUser, allow, issue_token
from service.demo import DEMO_USERS, DemoUser
from service.errors import Problem
from service.meta import get_meta
from service.money import format_wan, format_yuan
from service.web.charts import Bar, bar_chart
from service.web.console import (
    SESSION_COOKIE, STAFF, home_of, nav_for, render, secure_cookies, texts, today,
)


async def demo_logins(session: AsyncSession, admin_password_set: bool) -> list[DemoUser]:
    """The demo accounts, shown only on a database the demo was loaded into."""
    if await get_meta(session, "demo") is None:
        return []
    return [u for u in DEMO_USERS if not (u.role == "admin" and admin_password_set)]


def _safe_next(target: str | None) -> str | None:
    """Only a console path of this site: never an open redirect."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return None


async def _landing(request: Request[Any, Any, Any], session: AsyncSession, status: int = 200,
                   error: str | None = None, username: str = "") -> Template:
    settings = request.app.state.settings
    return render(request, "landing.html", status, error=error, username=username,
                  next=_safe_next(request.query_params.get("next")) or "",
                  demo_users=await demo_logins(session, settings.admin_password is not None))


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
        user = await authenticate(db_session, settings, username, password)
    except Problem as exc:
        return await _landing(request, db_session, exc.kind.status, texts(request).problem(exc), username)
    token = issue_token(request.app.state.jwt_auth, user, settings.token_ttl_minutes)
    signed_in = AuthUser(id=user.id, username=user.username, role=user.role)
    target = _safe_next(str(form.get("next", ""))) or home_of(signed_in)
    response = Redirect(path=target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.token_ttl_minutes * 60, path="/", httponly=True,
                        samesite="lax", secure=secure_cookies(settings))
    return response


@post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response[Any]:
    response = Redirect(path="/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@get("/console/no-pages", include_in_schema=False)
async def no_pages(request: Request) -> Template:
    t = texts(request)
    return render(request, "error.html", 200, title=t.title, message=t.no_pages_for_role)


async def dashboard_figures(session: AsyncSession, on: date) -> dict[str, Any]:
    """The portfolio at a glance: set-based sums, a handful of queries whatever its size."""
    signed = (Loan.contract_no.is_not(None), Loan.status != "withdrawn")
    by_status = (await session.execute(select(Loan.status, func.count(Loan.id)).where(*signed)
                                       .group_by(Loan.status).order_by(Loan.status))).all()
    by_year = (await session.execute(select(Loan.academic_year, func.count(Loan.id), func.sum(Loan.amount))
                                     .where(*signed).group_by(Loan.academic_year)
                                     .order_by(Loan.academic_year))).all()
    outstanding = await session.scalar(select(func.coalesce(func.sum(LedgerLine.debit - LedgerLine.credit), 0))
                                       .where(LedgerLine.account == "principal"))
    due, overdue = (await session.execute(select(
        func.coalesce(func.sum(ScheduleLineRow.principal), 0),
        func.coalesce(func.sum(ScheduleLineRow.principal - ScheduleLineRow.paid_principal)
                      .filter(ScheduleLineRow.status == "overdue"), 0),
    ).where(ScheduleLineRow.payer == "borrower", ScheduleLineRow.due_on <= on))).one()
    waiting = await session.scalar(select(func.count(Loan.id)).where(Loan.status.in_(("submitted", "approved"))))
    statuses = {status: int(n) for status, n in by_status}
    return {
        "contracts": sum(statuses.values()), "by_status": statuses, "outstanding": format_yuan(int(outstanding or 0)),
        "overdue_rate": f"{int(overdue) * 100 / int(due):.2f}%" if due else None,
        "overdue_contracts": statuses.get("overdue", 0), "waiting": int(waiting or 0),
        "awaiting_receipt": statuses.get("contracted", 0),
        "bars": [Bar(str(year), int(amount or 0), format_wan(int(amount or 0))) for year, _, amount in by_year],
    }


async def reminder_and_donation_figures(session: AsyncSession) -> dict[str, Any]:
    """Reminders by delivery status (the notifications outbox) and donations received / allocated / unallocated."""
    reminders = {status: int(n) for status, n in await session.execute(
        select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status))}
    received, allocated = (await session.execute(select(
        func.coalesce(func.sum(Funding.amount), 0), func.coalesce(func.sum(Funding.allocated), 0))
        .where(Funding.kind == "donation"))).one()
    received, allocated = int(received), int(allocated)
    return {"reminders": reminders, "reminders_sent": reminders.get("sent", 0) + reminders.get("delivered", 0),
            "donations": {"received": format_yuan(received), "allocated": format_yuan(allocated),
                          "unallocated": format_yuan(received - allocated)},
            "donation_bars": [Bar(key, fen, format_wan(fen)) for key, fen in
                              (("received", received), ("allocated", allocated),
                               ("unallocated", received - allocated))]}


@get("/console", guards=[allow(*STAFF)], include_in_schema=False)
async def dashboard(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    t = texts(request)
    figures = await dashboard_figures(db_session, today(request))
    chart = bar_chart(figures.pop("bars"), t.chart_by_year)
    more = await reminder_and_donation_figures(db_session)
    donation_chart = bar_chart([b._replace(label=getattr(t, f"bar_{b.label}")) for b in more.pop("donation_bars")],
                               t.chart_donations, width=360)
    return render(request, "dashboard.html", chart=chart, donation_chart=donation_chart, today=today(request),
                  **figures, **more)


ROUTES: list[Any] = [landing, login, logout, no_pages, dashboard]
__all__ = ["ROUTES", "dashboard_figures", "demo_logins", "nav_for", "reminder_and_donation_figures"]
