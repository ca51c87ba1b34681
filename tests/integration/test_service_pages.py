"""Health, OpenAPI, the home page and problem+json for framework errors."""

from __future__ import annotations


async def test_health_checks_the_database(client):
    r = await client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert (await client.get("/health/live")).json() == {"status": "ok"}


async def test_openapi_document_and_browsable_ui(client):
    doc = await client.get("/schema/openapi.json")
    assert doc.status_code == 200
    paths = doc.json()["paths"]
    for path in (
        "/api/v1/auth/login",
        "/api/v1/students",
        "/api/v1/students/{student_id}",
        "/api/v1/universities",
        "/api/v1/users",
        "/health",
    ):
        assert path in paths, path
    ui = await client.get("/schema")
    assert ui.status_code == 200 and "text/html" in ui.headers["content-type"]


async def test_home_page_in_both_languages(client):
    zh = await client.get("/")
    assert zh.status_code == 200 and "县学生资助管理中心" in zh.text and "/schema" in zh.text
    en = await client.get("/?lang=en")
    assert "county student financial aid centre" in en.text


async def test_unknown_path_and_method_are_problems(client, make_user):
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/not-found"
    r = await client.delete("/health")
    assert r.status_code == 405 and r.json()["status"] == 405
    catalogue = await client.get("/problems")
    assert "invalid-id-number" in catalogue.text


async def test_oversized_body_is_413(client, make_user):
    officer = await make_user("officer")
    r = await client.post(
        "/api/v1/universities",
        content=b"x" * (21 * 1024 * 1024),
        headers={**officer, "content-type": "application/json"},
    )
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
