"""The OpenAPI document's account of which operations need no sign-in.

The JWT plugin declares bearer authentication for the whole document; Litestar leaves an operation's `security`
out when a handler gives none, so public paths (health, the public verification and notice pages) read as if
they needed a token. Here each operation whose handler is marked `opt={"public": True}` (the same mark the
authentication middleware skips) gets an explicit empty requirement: `security: []`, "no authentication".
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.openapi.spec import Components, OpenAPI, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Reference, Schema
from litestar.routes import HTTPRoute


def public_operations(app: Litestar) -> set[tuple[str, str]]:
    """(path, lower-case method) of every handler marked public."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.opt.get("public"):
                found.update((route.path_format, method.lower()) for method in handler.http_methods)
    return found


def mark_public_operations(app: Litestar, schema: OpenAPI) -> OpenAPI:
    public = public_operations(app)
    for path, item in (schema.paths or {}).items():
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            operation: Any = getattr(item, method, None)
            if operation is not None and (path, method) in public:
                operation.security = []
    return schema


# Every error is problem+json (service.errors); these are the statuses any operation may answer with.
PROBLEM_STATUSES = {
    "400": "Bad request: the body or a parameter could not be read (请求格式错误)",
    "401": "Not signed in, or the token is bad or expired (需要登录)",
    "403": "Signed in, but this role or this record is not yours (无权操作)",
    "404": "No such record (不存在)",
    "409": "Conflicts with the current state: a duplicate, a changed version, a reused key (冲突)",
    "413": "The request body is too large (请求过大)",
    "422": "Against a business rule; the problem names the rule and the field (不符合业务规则)",
    "429": "Too many attempts; try again later (请求过多)",
}


def _problem_schema() -> Schema:
    text = Schema(type=OpenAPIType.STRING)
    return Schema(
        type=OpenAPIType.OBJECT,
        required=["type", "title", "status"],
        properties={
            "type": text,
            "title": text,
            "status": Schema(type=OpenAPIType.INTEGER),
            "detail": text,
            "detail_zh": text,
            "detail_en": text,
            "instance": text,
            "field": text,
        },
        description="RFC 9457 problem details, in Chinese and English; the types are listed at /problems",
    )


def document_problems(schema: OpenAPI) -> OpenAPI:
    """Give every operation the problem+json answers it may give (Litestar documents only its own 400)."""
    components = schema.components if isinstance(schema.components, Components) else Components()
    schema.components = components
    components.schemas = {**(components.schemas or {}), "Problem": _problem_schema()}
    content = {"application/problem+json": OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))}
    for item in (schema.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation: Any = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses = dict(operation.responses or {})
            for status, description in PROBLEM_STATUSES.items():
                responses[status] = OpenAPIResponse(description=description, content=content)
    return schema


# A `format` query parameter (?format=pdf, ?format=xlsx) switches an answer from JSON to a file: the document
# lists those media types beside JSON for the operation's success answers.
FILE_FORMATS = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _format_values(operation: Any) -> list[str]:
    for parameter in operation.parameters or []:
        if getattr(parameter, "name", None) == "format" and getattr(parameter, "param_in", None) == "query":
            schema = parameter.schema
            options = [schema, *list(getattr(schema, "one_of", None) or [])]
            return [
                v
                for option in options
                for v in (getattr(option, "enum", None) or [])
                if isinstance(v, str) and v in FILE_FORMATS
            ]
    return []


def document_file_formats(schema: OpenAPI) -> OpenAPI:
    binary = Schema(type=OpenAPIType.STRING, format="binary")
    for item in (schema.paths or {}).values():
        for method in ("get", "post"):
            operation: Any = getattr(item, method, None)
            formats = _format_values(operation) if operation is not None else []
            for status, response in (operation.responses or {}).items() if formats else ():
                if not str(status).startswith("2") or not isinstance(response, OpenAPIResponse):
                    continue
                response.content = dict(response.content or {})
                for value in formats:
                    response.content.setdefault(FILE_FORMATS[value], OpenAPIMediaType(schema=binary))
    return schema
