"""File answers (xlsx_response, pdf_response: the API's and the console's downloads) and PreparedJSON: a JSON response encoded once by msgspec and sent as two ASGI messages.

Why: Litestar turns a handler's return value into a Response object, resolves its encoders, headers and cookies, and
then into an ASGI response: on the hottest read (one student) that machinery cost about as much as reading the row.
A handler that returns a PreparedJSON (annotated `-> ASGIApp`, with the schema documented through `responses=`)
skips it: the body is the same msgspec encoding Litestar would produce (ISO dates, zone-aware times).
Only for plain 200 answers without cookies or extra headers; errors still go through Problem.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Response
from litestar.types import Receive, Scope, Send

_encode = msgspec.json.Encoder().encode
_CONTENT_TYPE = (b"content-type", b"application/json")
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(content: bytes, filename: str, status_code: int = 200,
                  headers: dict[str, str] | None = None) -> Response[bytes]:
    ascii_name = filename.encode("ascii", "ignore").decode() or "zizhu.xlsx"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content=content, media_type=XLSX_MEDIA_TYPE, status_code=status_code,
                    headers={"Content-Disposition": disposition, **(headers or {})})


def pdf_response(pdf: bytes, filename: str) -> Response[bytes]:
    return Response(content=pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}"})


class PreparedJSON:
    __slots__ = ("body", "status")

    def __init__(self, value: Any, status: int = 200) -> None:
        self.body = _encode(value)
        self.status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [_CONTENT_TYPE, (b"content-length", b"%d" % len(self.body))]})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})
