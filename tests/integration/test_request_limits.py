"""The request size limit (service/app.py MAX_BODY_BYTES, 20 MB) holds for JSON bodies too, not only uploads: an
oversized body is a 413 problem before anything is parsed or written."""

from __future__ import annotations

from sqlalchemy import func, select

from service.app import MAX_BODY_BYTES
from service.registry.models import Student


def _oversized_student() -> bytes:
    padding = "x" * (MAX_BODY_BYTES + 1024)
    return ('{"name": "张三", "household_county": "' + padding + '"}').encode()


async def test_an_oversized_json_body_is_a_413_problem(client, make_user, sessions):
    officer = await make_user("officer")
    body = _oversized_student()
    r = await client.post("/api/v1/students", content=body, headers={**officer, "content-type": "application/json"})
    assert r.status_code == 413, r.text[:300]
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/payload-too-large"

    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Student)) == 0


async def test_a_body_just_under_the_limit_is_read(client, make_user):
    officer = await make_user("officer")
    body = b'{"name": "' + b"x" * (MAX_BODY_BYTES - 4096) + b'"}'
    r = await client.post("/api/v1/students", content=body, headers={**officer, "content-type": "application/json"})
    assert r.status_code in (400, 422), r.text[:300]  # read and refused on its merits, not for its size
