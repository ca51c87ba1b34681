"""RFC 9457 problem+json for every error, in Chinese and English.

Every problem has a stable `type` (a relative URI, `/problems/<slug>`, which serves its description), a
`title` and a `detail` in the language the client asked for (Chinese unless Accept-Language prefers
English), both languages side by side in `detail_zh` / `detail_en`, and the `field` at fault when there
is one. Stack traces never leave the process; a 500 carries an `incident` id that is in the log.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from service.identity import redact
from service.problems import (  # noqa: F401  # re-exported: raisers import them from here
    CONFLICT,
    FORBIDDEN,
    INTERNAL,
    INVALID_REQUEST,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    PROBLEM_MEDIA_TYPE,
    TOO_LARGE,
    TOO_MANY,
    UNAUTHORIZED,
    UNAVAILABLE,
    UNPROCESSABLE,
    VERSION_CONFLICT,
    Problem,
    ProblemType,
    get_problem_type,
    problem_type,
    problem_types,
)

log = logging.getLogger("zizhu.errors")


def prefers_english(request: Request[Any, Any, Any]) -> bool:
    lang = request.headers.get("accept-language", "")
    first = lang.split(",")[0].strip().lower()
    return first.startswith("en")


def problem_body(
    request: Request[Any, Any, Any],
    kind: ProblemType,
    detail_zh: str,
    detail_en: str,
    field: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    english = prefers_english(request)
    # A detail may quote what the request named (a 404 for /students/<an ID number>): never a full ID number,
    # phone or bank card back out, whatever the message says (tests/e2e/test_personal_data.py).
    detail_zh, detail_en = redact(detail_zh), redact(detail_en)
    body: dict[str, Any] = {
        "type": f"/problems/{kind.slug}",
        "title": kind.title_en if english else kind.title_zh,
        "status": kind.status,
        "detail": detail_en if english else detail_zh,
        "detail_zh": detail_zh,
        "detail_en": detail_en,
        "instance": redact(request.url.path),
    }
    if field:
        body["field"] = field
    if extra:  # extension members never overwrite the standard ones
        body = {**extra, **body}
    return body


def _response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=headers or {})


def handle_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    body = problem_body(request, exc.kind, exc.detail_zh, exc.detail_en, exc.field, exc.extra)
    return _response(body, exc.headers)


# msgspec and Litestar quote the submitted value in a validation message ("Invalid enum value '<an ID number>'");
# field names and types are in backticks. The quoted part goes, whatever it holds (issue #16, finding 15).
_QUOTED = re.compile(r"""\s*(?:'[^']*'|"[^"]*"|https?://\S+)""")


def without_values(message: str) -> str:
    """A validation message with the submitted value (and any URL, which carries the query) left out."""
    return _QUOTED.sub("", message).strip()


def _validation_errors(exc: ValidationException) -> list[dict[str, str]]:
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            errors.append(
                {"field": str(item.get("key") or ""), "message": without_values(str(item.get("message", "")))}
            )
    return errors


_STATUS_KINDS = {
    400: INVALID_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    409: CONFLICT,
    413: TOO_LARGE,
    429: TOO_MANY,
    503: UNAVAILABLE,
}
_STATUS_DETAILS_ZH = {
    400: "请求内容不符合接口要求。",
    401: "请先登录，或登录已过期，请重新登录。",
    403: "当前用户无权进行此操作或查看此数据。",
    404: "请求的资源不存在。",
    405: "该地址不支持此请求方法。",
    413: "上传内容超过允许的大小。",
    429: "请求过于频繁，请稍后再试。",
}


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    kind = _STATUS_KINDS.get(status) or (INTERNAL if status >= 500 else INVALID_REQUEST)
    if status >= 500:
        return handle_unexpected(request, exc)
    extra: dict[str, Any] = {}
    field = None
    detail_en = str(exc.detail) if exc.detail else kind.title_en
    detail_zh = _STATUS_DETAILS_ZH.get(status, kind.title_zh)
    if isinstance(exc, ValidationException):
        detail_en = without_values(detail_en)
        errors = _validation_errors(exc)
        if errors:
            extra["errors"] = errors
            field = errors[0]["field"] or None
            detail_en = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
            detail_zh = (
                "请求内容不符合接口要求："
                + "；".join(f"字段 {e['field']}" if e["field"] else "请求体" for e in errors)
                + " 有误。"
            )
    if kind.status != status:  # an unusual 4xx: keep its own status
        kind = ProblemType(kind.slug, status, kind.title_zh, kind.title_en)
    body = problem_body(request, kind, detail_zh, detail_en, field, extra)
    return _response(body, dict(exc.headers or {}))


def handle_integrity_error(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # Services check what they can before writing; this catches the race that slipped past the check.
    log.warning("integrity error on %s: %s", request.url.path, redact(str(exc.orig))[:300])
    body = problem_body(
        request, CONFLICT, "该记录与已有数据冲突（可能已存在）。", "The record conflicts with existing data."
    )
    return _response(body)


def handle_stale_data(request: Request[Any, Any, Any], exc: StaleDataError) -> Response[Any]:
    body = problem_body(
        request,
        VERSION_CONFLICT,
        "数据已被他人修改，请刷新后重试。",
        "The record was changed by someone else; reload and retry.",
    )
    return _response(body)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    incident = uuid.uuid4().hex[:12]
    log.error(
        "incident %s on %s %s: %s",
        incident,
        request.method,
        request.url.path,
        redact(repr(exc))[:500],
        exc_info=exc if not isinstance(exc, HTTPException) else None,
    )
    body = problem_body(
        request,
        INTERNAL,
        f"系统内部错误，请联系管理员（事件编号 {incident}）。",
        f"Internal error; tell the administrator incident {incident}.",
        extra={"incident": incident},
    )
    return _response(body)


_OUT_OF_RANGE = re.compile(r"out of int(16|32|64) range")  # asyncpg's words for a value its column cannot hold


def handle_out_of_range(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # A number the database cannot hold (an id or amount beyond 64 bits, a year beyond a 32-bit column): the drivers refuse it before anything
    # is written (SQLite's with OverflowError, asyncpg's with a DBAPIError that says "out of int64 range", or int32). Such
    # a value came from the request: a 400 that says so, not an incident. Any other driver error is one.
    if isinstance(exc, DBAPIError) and not isinstance(exc, DataError) and not _OUT_OF_RANGE.search(str(exc.orig)):
        return handle_unexpected(request, exc)
    log.info("value out of range on %s %s: %s", request.method, request.url.path, redact(repr(exc))[:200])
    body = problem_body(
        request, INVALID_REQUEST, "请求中的数值超出允许范围。", "A number in the request is out of range."
    )
    return _response(body)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    Problem: handle_problem,
    OverflowError: handle_out_of_range,
    DBAPIError: handle_out_of_range,
    HTTPException: handle_http_exception,
    IntegrityError: handle_integrity_error,
    StaleDataError: handle_stale_data,
    Exception: handle_unexpected,
}
