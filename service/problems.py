"""Problem types and the Problem exception: what a business error is, without the HTTP layer.

Split from service.errors (which renders problems as RFC 9457 problem+json responses) so that code below the
HTTP layer can raise a Problem without importing Litestar. service.errors re-exports every name here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title_zh: str
    title_en: str


_TYPES: dict[str, ProblemType] = {}


def problem_type(slug: str, status: int, title_zh: str, title_en: str) -> ProblemType:
    """Register a problem type once, at import time of the module that raises it."""
    kind = ProblemType(slug, status, title_zh, title_en)
    existing = _TYPES.get(slug)
    if existing is not None and existing != kind:
        raise ValueError(f"problem type {slug!r} registered twice with different meanings")
    _TYPES[slug] = kind
    return kind


def problem_types() -> list[ProblemType]:
    return sorted(_TYPES.values(), key=lambda t: (t.status, t.slug))


def get_problem_type(slug: str) -> ProblemType | None:
    return _TYPES.get(slug)


INVALID_REQUEST = problem_type("invalid-request", 400, "请求内容有误", "The request is malformed")
UNAUTHORIZED = problem_type("unauthorized", 401, "需要登录", "Authentication required")
FORBIDDEN = problem_type("forbidden", 403, "无权操作", "Not allowed")
NOT_FOUND = problem_type("not-found", 404, "未找到", "Not found")
METHOD_NOT_ALLOWED = problem_type("method-not-allowed", 405, "不支持的请求方法", "Method not allowed")
CONFLICT = problem_type("conflict", 409, "与已有数据冲突", "Conflicts with existing data")
VERSION_CONFLICT = problem_type(
    "version-conflict", 409, "数据已被他人修改，请刷新后重试", "The record was changed by someone else"
)
TOO_LARGE = problem_type("payload-too-large", 413, "上传内容过大", "Payload too large")
UNPROCESSABLE = problem_type("unprocessable", 422, "数据不符合业务规则", "The data breaks a business rule")
TOO_MANY = problem_type("too-many-requests", 429, "请求过于频繁", "Too many requests")
INTERNAL = problem_type("internal-error", 500, "系统内部错误", "Internal error")
UNAVAILABLE = problem_type("unavailable", 503, "服务暂不可用", "Service unavailable")


class Problem(Exception):
    """A business error the client can act on. Raise it anywhere below the HTTP layer."""

    def __init__(
        self,
        kind: ProblemType,
        detail_zh: str,
        detail_en: str,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail_en)
        self.kind = kind
        self.detail_zh = detail_zh
        self.detail_en = detail_en
        self.field = field
        self.extra = extra or {}
        self.headers = headers or {}
