"""The console as one Litestar router: the frame's pages and the domains' (their ConsoleSections, joined by the
composition root), the session cookie, CSRF and errors as pages."""

from __future__ import annotations

from litestar import Router

from service.settings import Settings
from service.web import console_audit, console_home, console_registry, console_reports
from service.web.console import EXCEPTION_PAGES, STAFF, csrf_middleware, session_middleware
from service.web.sections import Console, ConsoleSection, NavItem

FRAME = ConsoleSection(
    routes=[*console_home.ROUTES, *console_registry.ROUTES, *console_reports.ROUTES, *console_audit.ROUTES],
    nav=[
        NavItem("/console", "dashboard", STAFF, 10),
        NavItem("/console/students", "students", STAFF, 20),
        NavItem("/console/reports", "reports", STAFF, 120),
        NavItem("/console/audit", "audit", ("auditor",), 130),
    ],
)
"""The frame's own pages: sign-in and the dashboard, the registry's students, the reports page, the audit log."""


def console_router(settings: Settings, console: Console) -> Router:
    # opt "public": the API's bearer-token middleware skips these routes; session_middleware signs them in instead.
    return Router(
        path="/",
        route_handlers=console.routes,
        opt={"public": True},
        include_in_schema=False,
        middleware=[session_middleware, csrf_middleware(settings)],
        exception_handlers=EXCEPTION_PAGES,
    )
