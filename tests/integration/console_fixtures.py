"""Signing in to the console as a browser does: the landing page's CSRF token, the login form, the cookie."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from litestar.testing import AsyncTestClient

from tests.conftest import TEST_PASSWORD

_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def alert_of(html: str) -> str:
    """The error message a page shows (role="alert"), or ''."""
    found = re.search(r'role="alert">([^<]*)<', html)
    return found.group(1) if found else ""


@dataclass
class Browser:
    client: AsyncTestClient[Any]
    token: str
    landed: str  # where signing in led

    async def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return await self.client.post(
            path, data={**(data or {}), "_csrf_token": self.token}, follow_redirects=False, **kwargs
        )


@asynccontextmanager
async def console_as(
    client: AsyncTestClient[Any], username: str, password: str = TEST_PASSWORD
) -> AsyncIterator[Browser]:
    """The test client as one user's browser, its cookies its own while it lasts.

    One client per app, never two at once: each test client runs the app on an event loop of its own, and the
    app's database pool (asyncpg) must not be shared between loops.
    """
    client.cookies.clear()
    token = csrf_of((await client.get("/")).text)
    r = await client.post(
        "/login", data={"username": username, "password": password, "_csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    try:
        yield Browser(client, token, r.headers["location"])
    finally:
        client.cookies.clear()
