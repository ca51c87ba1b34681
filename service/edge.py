"""Text at the edge: what every request's text must be before any door sees it, checked in one place.

- No control characters (U+0000–U+001F, U+007F) and no lone surrogates: PostgreSQL cannot store U+0000 (it was a
  500, even on the unauthenticated login), openpyxl cannot write U+0001 (one such name made the contract export
  a 500 for everyone). Tab, line feed and carriage return are allowed in bodies, where multi-line fields (reasons,
  notes, templates) live; never in the URL. A 400 problem names where the character was.
- Every string is NFC-normalised and trimmed (Unicode whitespace, so the ideographic space U+3000 an input method
  leaves goes too), except passwords, which are compared as typed.
- A JSON body is at most MAX_DEPTH deep and no array in it holds more than MAX_ITEMS values: a 400, not a
  RecursionError (500) or minutes of validation.

Bodies are cleaned by `EdgeRequest` (the app's request class: its `json()` and `form()`, which every JSON door
and console form reads); the URL's path and query string by `edge_middleware`. Neither door nor schema repeats it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import parse_qsl, urlencode

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.serialization import decode_json
from litestar.types import ASGIApp, Empty, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from service.problems import Problem, problem_type

MAX_DEPTH = 32
MAX_ITEMS = 10_000
BAD_TEXT = problem_type("control-character", 400, "文本中含有不允许的控制字符", "The text contains a control character")
TOO_COMPLEX = problem_type(
    "request-too-complex", 400, "请求内容层级过深或列表过长", "The request is nested too deeply or a list is too long"
)
# Tab, LF and CR stay allowed in a body; everything else below U+0020, DEL, and the surrogates UTF-8 cannot carry.
_BAD_IN_BODY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_BAD_IN_URL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_KEEP_AS_TYPED = re.compile(r"password", re.IGNORECASE)  # a key naming a password: checked, never altered


def has_control_character(value: str, *, multiline: bool = True) -> bool:
    """Whether `value` holds a character refused at the edge (tab and line breaks allowed when `multiline`)."""
    return (_BAD_IN_BODY if multiline else _BAD_IN_URL).search(value) is not None


def normalise(value: str) -> str:
    """NFC, trimmed: how every text the service takes in is kept."""
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value.strip()


def clean_text(value: str, where: str, *, multiline: bool = True, as_typed: bool = False) -> str:
    """`value` NFC-normalised and trimmed, or a 400 Problem naming `where` if it holds a control character."""
    if has_control_character(value, multiline=multiline):
        raise Problem(
            BAD_TEXT,
            f"“{where}”中含有不允许的控制字符，请删除后重试。",
            f"{where}: contains a control character; remove it and retry.",
            field=where,
        )
    return value if as_typed else normalise(value)


def _too_complex(where: str, zh: str, en: str) -> Problem:
    return Problem(TOO_COMPLEX, zh, en, field=where or None)


def clean_json(value: Any, where: str = "", depth: int = 0) -> Any:
    """A decoded JSON value with every string (and key) checked and cleaned, and its shape bounded."""
    if isinstance(value, str):
        return clean_text(value, where or "body", as_typed=bool(_KEEP_AS_TYPED.search(where)))
    if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
        raise _too_complex(
            where, f"请求内容嵌套超过 {MAX_DEPTH} 层。", f"The body is nested more than {MAX_DEPTH} levels deep."
        )
    if isinstance(value, (dict, list)) and len(value) > MAX_ITEMS:
        raise _too_complex(
            where,
            f"“{where or '请求内容'}”超过 {MAX_ITEMS} 项。",
            f"{where or 'The body'}: more than {MAX_ITEMS} items.",
        )
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = clean_text(key, f"{where}.{key}" if where else "body", multiline=False, as_typed=True)
            out[name] = clean_json(item, f"{where}.{name}" if where else name, depth + 1)
        return out
    if isinstance(value, list):
        return [clean_json(item, where, depth + 1) for item in value]
    return value


def decode_json_body(body: bytes, type_decoders: Any = None) -> Any:
    try:
        return decode_json(body or b"null", type_decoders=type_decoders)
    except RecursionError:  # msgspec's decoder recurses: far deeper than MAX_DEPTH, refused all the same
        raise _too_complex(
            "", f"请求内容嵌套超过 {MAX_DEPTH} 层。", f"The body is nested more than {MAX_DEPTH} levels deep."
        ) from None


class EdgeRequest(Request[Any, Any, Any]):
    """Litestar's request, whose JSON body and form fields come out checked and cleaned (see the module)."""

    _edge_json: Any = Empty
    _edge_form: Any = Empty

    async def json(self) -> Any:
        if self._edge_json is Empty:
            # Decoded once per request (Litestar's cache in the scope); cleaned by each request object, so that a
            # value another reader cached raw is never handed on unchecked. Cleaning is idempotent.
            state = self._connection_state
            raw = state.json
            if raw is Empty:
                raw = decode_json_body(await self.body(), self.route_handler.resolve_type_decoders())
            self._edge_json = self._json = state.json = clean_json(raw)
        return self._edge_json

    async def form(self) -> FormMultiDict:
        if self._edge_form is Empty:
            raw = await super().form()
            items = [
                (
                    clean_text(key, key, multiline=False, as_typed=True),
                    clean_text(value, key, as_typed=bool(_KEEP_AS_TYPED.search(key)))
                    if isinstance(value, str)
                    else value,
                )
                for key, value in raw.multi_items()
            ]
            self._edge_form = FormMultiDict(items)
        return self._edge_form


def clean_query(query: bytes) -> bytes:
    """The query string with every name and value checked (no control characters at all) and cleaned."""
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Problem(BAD_TEXT, "查询参数不是有效的 UTF-8 文本。", "The query string is not UTF-8.") from None
    if len(pairs) > MAX_ITEMS:
        raise _too_complex("", f"查询参数超过 {MAX_ITEMS} 个。", f"More than {MAX_ITEMS} query parameters.")
    cleaned = [(clean_text(k, k, multiline=False, as_typed=True), clean_text(v, k, multiline=False)) for k, v in pairs]
    return query if cleaned == pairs else urlencode(cleaned).encode("ascii")


def edge_middleware(app: ASGIApp) -> ASGIApp:
    """The URL's part of the edge: the path and the query string, before routing parses either."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            clean_text(scope["path"], "path", multiline=False, as_typed=True)
            if (query := scope.get("query_string")) and (cleaned := clean_query(query)) is not query:
                scope["query_string"] = cleaned
                ScopeState.from_scope(scope).parsed_query = Empty  # parsed again, from the cleaned string
        await app(scope, receive, send)

    return middleware
