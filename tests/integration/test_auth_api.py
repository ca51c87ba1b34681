"""Signing in, tokens, roles, throttling and user management over HTTP."""

from __future__ import annotations

from sqlalchemy import select

from service.auth import User
from tests.conftest import TEST_PASSWORD


async def test_login_and_bearer_token(client, make_user):
    await make_user("officer", username="clerk")
    r = await client.post("/api/v1/auth/login", json={"username": "clerk", "password": TEST_PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "officer"
    me = await client.get("/api/v1/students", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200


async def test_bad_credentials_and_missing_token_are_401_problems(client, make_user):
    await make_user("officer", username="clerk")
    for creds in ({"username": "clerk", "password": "wrong-password"}, {"username": "nobody", "password": "x" * 9}):
        r = await client.post("/api/v1/auth/login", json=creds)
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"] == "用户名或密码错误。"
    assert (await client.get("/api/v1/students")).status_code == 401
    r = await client.get("/api/v1/students", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json()["type"] == "/problems/unauthorized"


async def test_login_is_locked_after_repeated_failures(client, make_user, settings, sessions):
    await make_user("officer", username="clerk")
    for _ in range(settings.login_max_failures):
        assert (
            await client.post("/api/v1/auth/login", json={"username": "clerk", "password": "bad-password"})
        ).status_code == 401
    r = await client.post("/api/v1/auth/login", json={"username": "clerk", "password": TEST_PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


async def test_admin_creates_users_with_scope(client, make_user):
    admin = await make_user("admin")
    r = await client.post(
        "/api/v1/users",
        json={"username": "uni-10126", "password": "long-enough-1", "role": "school", "university_code": "10126"},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["field"] == "university_code"  # no such university yet
    await client.post(
        "/api/v1/universities", json={"code": "10126", "name": "内蒙古大学", "province": "内蒙古"}, headers=admin
    )
    r = await client.post(
        "/api/v1/users",
        json={"username": "uni-10126", "password": "long-enough-1", "role": "school", "university_code": "10126"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert "password" not in r.text
    dup = await client.post(
        "/api/v1/users",
        json={"username": "uni-10126", "password": "long-enough-1", "role": "school", "university_code": "10126"},
        headers=admin,
    )
    assert dup.status_code == 409
    short = await client.post(
        "/api/v1/users", json={"username": "x-officer", "password": "short", "role": "officer"}, headers=admin
    )
    assert short.status_code == 422 and short.json()["field"] == "password"
    noscope = await client.post(
        "/api/v1/users", json={"username": "donor-1", "password": "long-enough-1", "role": "donor"}, headers=admin
    )
    assert noscope.status_code == 422 and noscope.json()["field"] == "donor_id"
    officer = await make_user("officer")
    assert (
        await client.post(
            "/api/v1/users", json={"username": "x2", "password": "long-enough-1", "role": "officer"}, headers=officer
        )
    ).status_code == 403


async def test_deactivated_user_token_stops_working(client, make_user, sessions):
    admin = await make_user("admin")
    clerk = await make_user("officer", username="clerk")
    assert (await client.get("/api/v1/students", headers=clerk)).status_code == 200
    async with sessions() as s:
        uid = await s.scalar(select(User.id).where(User.username == "clerk"))
    r = await client.post(f"/api/v1/users/{uid}/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    assert (await client.get("/api/v1/students", headers=clerk)).status_code == 401
