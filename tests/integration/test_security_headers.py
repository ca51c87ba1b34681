"""Security headers on every response (issue #16, finding 17): pages, API answers, problems, files and 404s."""

from __future__ import annotations

import pytest

from tests.integration.console_fixtures import console_as


def assert_always(r) -> None:
    assert r.headers["x-content-type-options"] == "nosniff", r.headers
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"


def assert_page_policy(r) -> str:
    policy = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'self'" and directives["object-src"] == "'none'"
    return directives["script-src"]


@pytest.mark.parametrize("path", ["/", "/problems", "/no/such/page"])
async def test_public_pages_and_404s(client, path):
    r = await client.get(path)
    assert_always(r)
    if r.headers["content-type"].startswith("text/html"):
        assert assert_page_policy(r) == "'self'"  # no inline script anywhere in the console


async def test_console_pages_carry_the_policy(client, make_user):
    await make_user("officer", username="officer-1")
    async with console_as(client, "officer-1") as officer:
        for path in ("/console", "/console/students", "/console/reports"):
            r = await officer.client.get(path)
            assert r.status_code == 200, path
            assert_always(r)
            assert assert_page_policy(r) == "'self'"


async def test_api_answers_problems_and_the_docs(client, make_user):
    r = await client.get("/api/v1/students")
    assert r.status_code == 401
    assert_always(r)
    assert "content-security-policy" not in r.headers  # JSON is not a page
    r = await client.get("/api/v1/students", headers=await make_user("officer"))
    assert r.status_code == 200
    assert_always(r)
    r = await client.get("/schema")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_always(r)
    # Swagger UI starts itself with an inline script carrying the API document (no user data): this page only
    assert assert_page_policy(r) == "'self' 'unsafe-inline'"
