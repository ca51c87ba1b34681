"""GET /api/v1/students/{id}: the answer, the roles and the errors (200, 401, 403, 404, 400)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.integration.test_registry_api import ID_2, _setup, student_body


async def _two_students(client: Any, make_user: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
    officer = await _setup(client, make_user)
    made = []
    for body in (
        student_body(),
        student_body(
            name="李四",
            id_number=ID_2,
            phone="13912345678",
            address=None,
            university_code="10027",
            categories=["orphan", "disabled"],
        ),
    ):
        r = await client.post("/api/v1/students", json=body, headers=officer)
        assert r.status_code == 201, r.text
        made.append(r.json())
    return officer, made


async def test_detail_answers_what_the_registration_answered(client, make_user):
    officer, made = await _two_students(client, make_user)
    got = await client.get(f"/api/v1/students/{made[1]['id']}", headers=officer)
    assert got.status_code == 200 and got.json() == made[1]
    missing = await client.get("/api/v1/students/987654", headers=officer)
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
    assert "987654" in missing.json()["detail"]


async def test_detail_checks_roles_and_the_school_scope(client, make_user):
    _, made = await _two_students(client, make_user)
    path = f"/api/v1/students/{made[0]['id']}"
    for role, scope in (("auditor", {}), ("reviewer", {}), ("admin", {}), ("school", {"university_code": "10126"})):
        assert (await client.get(path, headers=await make_user(role, **scope))).status_code == 200, role
    for role, scope in (("donor", {"donor_id": 1}), ("graduate", {"student_id": made[0]["id"]})):
        r = await client.get(path, headers=await make_user(role, **scope))
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json"), role
    assert (await client.get(path)).status_code == 401
    other_school = await make_user("school", university_code="10027")
    assert (await client.get(path, headers=other_school)).status_code == 403


async def test_concurrent_reads_answer_200_404_and_400_each_for_itself(client, make_user):
    officer, made = await _two_students(client, make_user)
    ids = [s["id"] for s in made]
    paths = [
        *(f"/api/v1/students/{i}" for i in ids * 3),
        f"/api/v1/students/{max(ids) + 99}",
        f"/api/v1/students/{2**63}",
        f"/api/v1/students/{ids[1]}",
    ]
    answers = await asyncio.gather(*(client.get(p, headers=officer) for p in paths))
    assert [a.status_code for a in answers] == [200] * 6 + [404, 400, 200]
    assert [a.json()["id"] for a in answers[:6]] == ids * 3 and answers[8].json() == made[1]
    assert answers[7].json()["detail_en"] == "A number in the request is out of range."
