"""The console's frame: session cookie, CSRF, navigation, rendering, forms and errors as pages.

The console is the composition layer in a browser: its handlers check roles with service.auth's guards and
call the domain's service functions directly, exactly as the JSON API's controllers do. What it adds:

- Signing in sets `zizhu_session`, an HttpOnly, SameSite=Lax cookie (Secure when ZIZHU_PUBLIC_URL is https)
  that carries the API's own bearer token, so a user has the same role, scope and expiry in both. The cookie is
  read only on console routes: the JSON API under /api/v1 keeps taking bearer tokens and nothing else, so it
  needs no CSRF protection; every console form does (Litestar's double-submit CSRF middleware, this router only).
- Every core flow is a plain form and POST-redirect-GET: no JavaScript needed.
- A Problem becomes a readable message in the page in the chosen language, with the status code the API gives
  (a refused change is a 4xx, so the request's transaction is rolled back and nothing is half-written).

The domains' pages join through their ConsoleSection (service.web.sections), handed over by service.app.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import msgspec
from litestar import Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from service import pagination
from service.auth import AuthUser, User, user_from_token
from service.errors import FORBIDDEN, UNPROCESSABLE, Problem, handle_unexpected, without_values
from service.settings import Settings
from service.web.i18n import LANG_COOKIE, LANGS, MESSAGES, TEXTS, Texts, choose_language
from service.web.sections import Console, NavItem

SESSION_COOKIE = "zizhu_session"
CSRF_COOKIE = "zizhu_csrf"
PAGE_SIZE = 50
S = TypeVar("S", bound=msgspec.Struct)


STAFF = ("officer", "reviewer", "auditor")
# Where a role lands after signing in: the first page of the navigation it may see.
ROLE_HOME_FALLBACK = "/console/no-pages"


def console_of(request: Request[Any, Any, Any]) -> Console:
    """The console the composition root assembled from the domains' sections."""
    return request.app.state.console  # type: ignore[no-any-return]


def nav_for(console: Console, user: AuthUser | None) -> list[NavItem]:
    if user is None:
        return []
    return [item for item in console.nav if user.role == "admin" or user.role in item.roles]


def home_of(console: Console, user: AuthUser) -> str:
    items = nav_for(console, user)
    return items[0].path if items else ROLE_HOME_FALLBACK


def secure_cookies(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def session_middleware(app: ASGIApp) -> ASGIApp:
    """Sets the request's user from the session cookie (or None): the console's guards then work as the API's."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
            encoded = connection.cookies.get(SESSION_COOKIE)
            scope["user"] = (
                await user_from_token(connection.app.state.jwt_auth, encoded, connection) if encoded else None
            )
        await app(scope, receive, send)

    return middleware


def csrf_middleware(settings: Settings) -> DefineMiddleware:
    config = CSRFConfig(
        secret=settings.secret_key,
        cookie_name=CSRF_COOKIE,
        cookie_secure=secure_cookies(settings),
        cookie_httponly=True,
        cookie_samesite="lax",
    )
    return DefineMiddleware(CSRFMiddleware, config=config)


def texts(request: Request[Any, Any, Any]) -> Texts:
    return TEXTS[choose_language(request)]


def today(request: Request[Any, Any, Any]) -> date:
    return request.app.state.settings.today()


def report_year(request: Request[Any, Any, Any]) -> int:
    """`?year=`, else the academic year under way (bad values: the nearest year the reports take)."""
    on = today(request)
    try:
        year = int(request.query_params.get("year", ""))
    except ValueError:
        year = on.year if on.month >= 9 else on.year - 1
    return min(max(year, 2000), 2100)


def report_as_of(request: Request[Any, Any, Any]) -> date:
    """`?as_of=`, else today."""
    try:
        return date.fromisoformat(request.query_params.get("as_of", ""))
    except ValueError:
        return today(request)


def render(request: Request[Any, Any, Any], template: str, status_code: int = 200, /, **context: Any) -> Template:
    """A console page: the template with the language, the user and the navigation it may see."""
    lang = choose_language(request)
    user = request.scope.get("user")
    settings = request.app.state.settings
    response = Template(
        template_name=f"console/{template}",
        status_code=status_code,
        context={
            "t": TEXTS[lang],
            "lang": lang,
            "html_lang": "en" if lang == "en" else "zh-CN",
            "user": user,
            "nav": nav_for(console_of(request), user),
            "path": request.url.path,
            "centre": settings.centre_name,
            "lang_links": _language_links(request),
            "back": _back_link(request),
            "notice": _notice(request),
            **context,
        },
    )
    if request.query_params.get("lang") in LANGS:  # remember the switch
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax", secure=secure_cookies(settings)
        )
    return response


def _language_links(request: Request[Any, Any, Any]) -> dict[str, str]:
    """This page in each language; after a form was posted, the page it came from (a POST address has no page)."""
    if request.method == "GET":
        path, params = request.url.path, {k: v for k, v in request.query_params.items() if k not in ("lang", "done")}
    else:
        user = request.scope.get("user")
        path, params = home_of(console_of(request), user) if user else "/", {}
    return {lang: f"{path}?{urlencode({**params, 'lang': lang})}" for lang in LANGS}


def _notice(request: Request[Any, Any, Any]) -> str | None:
    """What the step before the redirect did (`?done=`): a catalogue key, nothing else."""
    done = request.query_params.get("done")
    return done if done in MESSAGES else None


def _back_link(request: Request[Any, Any, Any]) -> str:
    """The page the browser came from, when it is one of ours (a plain link: no script needed)."""
    referer = urlsplit(request.headers.get("referer", ""))
    own = referer.netloc in ("", request.url.netloc) and referer.path.startswith("/")
    return (referer.path + (f"?{referer.query}" if referer.query else "")) if own and referer.path else "/"


def back_to(path: str, done: str | None = None, **query: Any) -> Redirect:
    """POST-redirect-GET: 303 to a page, with a catalogue key of what was done."""
    params = {k: v for k, v in {**query, "done": done}.items() if v is not None}
    return Redirect(path=f"{path}?{urlencode(params)}" if params else path, status_code=303)


async def form_values(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The posted form's single-valued fields, trimmed, without empty ones and the CSRF token."""
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "_csrf_token" and v.strip()}


def form_struct(cls: type[S], data: dict[str, Any]) -> S:
    """The API's own input struct from form fields (strings converted), or a 422 Problem naming the field."""
    try:
        return msgspec.convert(data, cls, strict=False)
    except msgspec.ValidationError as exc:
        field = field_of(str(exc))
        zh, en = MESSAGES.get(field or "", (field or "", field or ""))
        raise Problem(
            UNPROCESSABLE, f"“{zh}”未填写或填写有误。", f"{en or 'A field'}: {without_values(str(exc))}", field=field
        ) from None


def field_of(message: str) -> str | None:
    """The form field a msgspec validation message is about (nested co_borrower fields are the co_… inputs)."""
    missing = re.search(r"missing required field `([^`]+)`(?: - at `\$\.?([^`]*)`)?", message)
    if missing:
        name, parent = missing.group(1), missing.group(2) or ""
    else:
        at = re.search(r"- at `\$\.([^`]+)`", message)
        parts = re.sub(r"\[\d+\]", "", at.group(1) if at else "").split(".")
        name, parent = parts[-1], ".".join(parts[:-1])
    if parent == "co_borrower" and name != "relationship":
        name = f"co_{name}"
    return name or None


async def usernames(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    """User names by id (who prepared and who decided a step)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


def page_window(request: Request[Any, Any, Any]) -> int:
    """The offset of a list page from `?offset=` (bad values mean the first page)."""
    try:
        return max(0, int(request.query_params.get("offset", "0")))
    except ValueError:
        return 0


async def fetch_rows(session: AsyncSession, query: Select[Any], offset: int) -> tuple[list[tuple[Any, ...]], int]:
    """One console page of a query's rows and the count of all of them (service.pagination's, page size fixed)."""
    return await pagination.fetch_rows(session, query, PAGE_SIZE, offset)


def pager(request: Request[Any, Any, Any], total: int, offset: int) -> dict[str, Any]:
    """Links to the previous and next page of a list, keeping the other query parameters."""
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "done", "lang")}

    def link(at: int) -> str:
        return f"{request.url.path}?{urlencode({**params, 'offset': at})}"

    return {
        "total": total,
        "offset": offset,
        "size": PAGE_SIZE,
        "prev": link(max(0, offset - PAGE_SIZE)) if offset > 0 else None,
        "next": link(offset + PAGE_SIZE) if offset + PAGE_SIZE < total else None,
    }


# Errors as pages (this router's exception handlers; the JSON API keeps its problem+json).


def _signed_out(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(path=f"/?next={quote(wanted)}", status_code=303)


def _refused(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    t = texts(request)
    message = t.csrf_text if "CSRF" in str(exc.detail) else t.forbidden_text
    return render(request, "error.html", 403, title=t.forbidden_title, message=message)


def _problem(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    t = texts(request)
    title = t.forbidden_title if exc.kind is FORBIDDEN else t.error
    return render(request, "error.html", exc.kind.status, title=title, message=t.problem(exc))


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    t = texts(request)
    if exc.status_code >= 500:
        return handle_unexpected(request, exc)
    message = t.not_found if exc.status_code == 404 else str(exc.detail)
    return render(request, "error.html", exc.status_code, title=t.error, message=message)


EXCEPTION_PAGES: dict[Any, Any] = {
    NotAuthorizedException: _signed_out,
    PermissionDeniedException: _refused,
    Problem: _problem,
    HTTPException: _http_error,
}
