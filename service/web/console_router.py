"""The console as one Litestar router: its pages, the session cookie, CSRF and errors as pages."""

from __future__ import annotations

from litestar import Router

from service.settings import Settings
from service.web import (
    console_applications, console_awards, console_contracts, console_donations, console_donor, console_home,
    console_people, console_programs, console_registry, console_reports, console_work,
)
from service.web.console import EXCEPTION_PAGES, csrf_middleware, session_middleware

CONSOLE_ROUTES = [*console_home.ROUTES, *console_registry.ROUTES, *console_applications.ROUTES,
                  *console_contracts.ROUTES, *console_people.ROUTES, *console_work.ROUTES, *console_reports.ROUTES,
                  *console_programs.ROUTES, *console_donations.ROUTES, *console_awards.ROUTES, *console_donor.ROUTES]


def console_router(settings: Settings) -> Router:
    # opt "public": the API's bearer-token middleware skips these routes; session_middleware signs them in instead.
    return Router(path="/", route_handlers=CONSOLE_ROUTES, opt={"public": True}, include_in_schema=False,
                  middleware=[session_middleware, csrf_middleware(settings)], exception_handlers=EXCEPTION_PAGES)
