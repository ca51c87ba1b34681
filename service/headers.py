"""Security headers on every response the app sends, set once in a `before_send` hook (errors and 404s too).

The console's pages load no script at all and their styles are the layout's <style> block and a few style=""
attributes, so HTML gets a policy that allows scripts from nowhere but this origin, and styles inline (CSS cannot
run code; a hash per block and attribute would be kept in step with every template by hand). The API docs page
(/schema, Swagger UI) starts itself with an inline script that carries the OpenAPI document, which holds no
user data: that page alone may run inline script. No page may be framed (clickjacking): frame-ancestors and
X-Frame-Options for older browsers. tests/integration/test_security_headers.py and the browser test (which fails
on any CSP violation in the console) prove it.
"""

from __future__ import annotations

from litestar.types import Message, Scope

_PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_DOCS_POLICY = _PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
DOCS_PREFIX = "/schema"
ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def content_security_policy(path: str) -> str:
    return _DOCS_POLICY if path == DOCS_PREFIX or path.startswith(DOCS_PREFIX + "/") else _PAGE_POLICY


async def add_security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers") or [])
    present = {name.lower() for name, _ in headers}
    headers.extend(header for header in ALWAYS if header[0] not in present)
    content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    if content_type.startswith(b"text/html") and b"content-security-policy" not in present:
        headers.append((b"content-security-policy", content_security_policy(scope.get("path", "")).encode()))
    message["headers"] = headers
