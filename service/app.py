"""The composition root: create_app() assembles the Litestar app from the kernel and the domains."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import swagger_ui
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine

from donations.api.cards import ROUTES as CARD_CHANGE_ROUTES
from donations.api.funding import ROUTES as DONATION_ROUTES
from donations.api.notices import ROUTES as NOTICE_ROUTES
from donations.api.selection import ROUTES as GRANT_ROUTES
from donations.funding import donor_exists
from donations.web import SECTION as DONATIONS_CONSOLE
from loans.api import ROUTES as LOAN_ROUTES
from loans.batch.close_of_business import close_of_business
from loans.batch.reminders import queue_reminders
from loans.imports.api import ROUTES as LOAN_IMPORT_ROUTES
from loans.reports.portfolio import loans_report
from loans.web import SECTION as LOANS_CONSOLE
from notifications.api import ROUTES as NOTIFICATION_ROUTES
from notifications.web import SECTION as NOTIFICATIONS_CONSOLE
from notifications.worker import notification_jobs
from service.accounts import AuthController, UserController
from service.audit_chain import seal
from service.auth import ActiveUserCache, make_jwt_auth
from service.db import DatabasePlugin, create_engine, write_intent, write_session
from service.edge import EdgeRequest, edge_middleware
from service.errors import EXCEPTION_HANDLERS
from service.headers import add_security_headers
from service.logs import configure_logging
from service.openapi import document_file_formats, document_problems, mark_public_operations
from service.registry.api import StudentController, UniversityController
from service.scheduler import Job, build_scheduler
from service.settings import Settings, get_settings
from service.web.console_router import FRAME, console_router
from service.web.pages import ROUTES as PAGE_ROUTES
from service.web.sections import Console

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_BYTES = 20 * 1024 * 1024
# The API docs' scripts are served from the installed swagger-ui-py package, not a CDN: a county
# office network may have no way out, and the docs must still work there.
SWAGGER_STATIC = "/static/swagger"
SWAGGER_DIR = Path(swagger_ui.__file__).parent / "static"


def write_intent_middleware(app: ASGIApp) -> ASGIApp:
    """Mark unsafe requests so that the database opens a write transaction for them (see service.db)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") not in _SAFE_METHODS:
            token = write_intent.set(True)
            try:
                await app(scope, receive, send)
            finally:
                write_intent.reset(token)
        else:
            await app(scope, receive, send)

    return middleware


def nightly_jobs(settings: Settings, engine: AsyncEngine, today: Callable[[], date] | None = None) -> list[Job]:
    """The scheduled jobs (in the service process, or in `zizhu worker`): close of business for yesterday at 01:30
    (it queues the day's reminders); the reminder scan again at 07:00 (rules an admin changed since); the
    dispatcher every few seconds; the audit sealer every ZIZHU_AUDIT_SEAL_SECONDS. `today` is the wall clock's date
    unless `zizhu worker --business-dates` replays past days."""
    today = today or settings.today

    async def close_yesterday() -> object:
        yesterday = today() - timedelta(days=1)
        async with write_session(engine) as session:
            return await close_of_business(session, yesterday, "scheduler")

    async def scan_reminders() -> object:
        yesterday = today() - timedelta(days=1)
        async with write_session(engine) as session:
            return await queue_reminders(session, yesterday, yesterday)

    async def seal_audit() -> object:
        return await seal(engine, settings)

    return [
        Job("loans-close-of-business", "30 1 * * *", close_yesterday),
        Job("loans-reminder-scan", "0 7 * * *", scan_reminders),
        *notification_jobs(settings, engine),
        Job("audit-seal", "", seal_audit, every_seconds=settings.audit_seal_seconds),
    ]


def console_sections() -> Console:
    """The console: the frame's pages and each domain's section (pages, navigation, panels, words, templates)."""
    return Console.of([FRAME, LOANS_CONSOLE, DONATIONS_CONSOLE, NOTIFICATIONS_CONSOLE])


def freeze_startup_objects() -> None:
    # Everything made at start-up (the app, its routes, SQLAlchemy's metadata, the OpenAPI document) lives as long
    # as the process: moved out of the collector's generations, full collections no longer walk it on every cycle.
    gc.collect()
    gc.freeze()


def document_public_operations(app: Litestar) -> None:
    # The document is generated once; this completes it in place: public paths, and the problems every path may answer.
    document_file_formats(document_problems(mark_public_operations(app, app.openapi_schema)))


def create_app(settings: Settings | None = None, extra_state: dict[str, Any] | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    engine = create_engine(settings)
    jwt_auth = make_jwt_auth(settings)
    console = console_sections()

    jobs = nightly_jobs(settings, engine) if settings.scheduler_enabled else []
    scheduler = build_scheduler(settings, jobs, engine) if jobs else None

    async def start_scheduler() -> None:
        if scheduler is not None:
            scheduler.start()

    async def dispose_engine() -> None:
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        for job in jobs:  # e.g. the dispatcher's pooled HTTP clients
            if job.close is not None:
                await job.close()
        await engine.dispose()

    return Litestar(
        route_handlers=[
            create_static_files_router(
                path=SWAGGER_STATIC, directories=[SWAGGER_DIR], opt={"public": True}, include_in_schema=False
            ),
            *PAGE_ROUTES,
            console_router(settings, console),
            AuthController,
            UserController,
            UniversityController,
            StudentController,
            *LOAN_ROUTES,
            *LOAN_IMPORT_ROUTES,
            *DONATION_ROUTES,
            *GRANT_ROUTES,
            *CARD_CHANGE_ROUTES,
            *NOTICE_ROUTES,
            *NOTIFICATION_ROUTES,
        ],
        plugins=[DatabasePlugin(engine)],
        on_app_init=[jwt_auth.on_app_init],
        middleware=[write_intent_middleware, edge_middleware],
        request_class=EdgeRequest,  # bodies' text checked and cleaned once (service.edge)
        before_send=[add_security_headers],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "jwt_auth": jwt_auth,
                "user_cache": ActiveUserCache(),
                "console": console,
                "loans_summary": loans_report,  # loans' part of the annual PDF
                "donor_exists": donor_exists,  # a donor user must name a donor (service.users)
                **(extra_state or {}),
            }
        ),
        template_config=TemplateConfig(
            directory=[Path(__file__).parent / "web" / "templates", *console.templates], engine=JinjaTemplateEngine
        ),
        openapi_config=OpenAPIConfig(
            title="Zizhu (资助) API",
            version="1",
            description="County student-aid centre: student loans, grants and donations. "
            "Sign in with POST /api/v1/auth/login, then send `Authorization: Bearer <token>`. "
            "Errors are RFC 9457 problem+json; their types are listed at /problems.",
            path="/schema",
            render_plugins=[
                SwaggerRenderPlugin(
                    path="/",
                    js_url=f"{SWAGGER_STATIC}/swagger-ui-bundle.js",
                    css_url=f"{SWAGGER_STATIC}/swagger-ui.css",
                    standalone_preset_js_url=f"{SWAGGER_STATIC}/swagger-ui-standalone-preset.js",
                    favicon=f"<link rel='icon' type='image/png' href='{SWAGGER_STATIC}/favicon-32x32.png'>",
                )
            ],
        ),
        request_max_body_size=MAX_BODY_BYTES,
        logging_config=None,  # service.logs configures logging once, with personal data masked
        on_startup=[start_scheduler, document_public_operations, freeze_startup_objects],
        on_shutdown=[dispose_engine],
        debug=False,
    )
