"""Numbers too large for the database (ids, offsets beyond 64 bits) are the client's mistake: a 400, never a 500."""

from __future__ import annotations

HUGE = 10**30


async def test_a_huge_id_or_offset_is_a_400_problem(client, make_user):
    headers = await make_user("admin")
    for path in (
        f"/api/v1/students/{HUGE}",
        f"/api/v1/loan-applications/{HUGE}",
        f"/api/v1/loan-policy?limit=5&offset={HUGE}",
        f"/api/v1/students?offset={HUGE}",
    ):
        r = await client.get(path, headers=headers)
        assert r.status_code == 400, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail_en"] == "A number in the request is out of range."
    r = await client.post(f"/api/v1/users/{HUGE}/deactivate", headers=headers)
    assert r.status_code == 400


async def test_a_year_beyond_a_32_bit_column_is_never_a_500(client, make_user):
    # PostgreSQL's INTEGER refuses it (a 400 problem); SQLite's columns hold it (an empty page)
    r = await client.get(
        "/api/v1/loan-applications?status=settled&academic_year=14125487084", headers=await make_user("admin")
    )
    assert r.status_code in (200, 400), r.text
    assert r.status_code == 200 or r.json()["detail_en"] == "A number in the request is out of range."


async def test_an_admin_cannot_deactivate_itself(client, make_user):
    headers = await make_user("admin", username="the-admin")
    users = (await client.get("/api/v1/users?limit=50", headers=headers)).json()["items"]
    own = next(u for u in users if u["username"] == "the-admin")
    r = await client.post(f"/api/v1/users/{own['id']}/deactivate", headers=headers)
    assert r.status_code == 409 and r.json()["field"] == "user_id"
    assert (await client.get("/api/v1/students", headers=headers)).status_code == 200  # still signed in
