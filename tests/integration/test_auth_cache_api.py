"""The cache of verified tokens over HTTP: it saves the signature check, never the expiry or the user check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from service.auth import User, issue_token


async def _user(sessions, username: str) -> User:
    async with sessions() as s:
        user = await s.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


async def test_a_verified_token_is_cached_and_still_works(client, app, make_user):
    clerk = await make_user("officer")
    cache = app.state.jwt_auth.token_cache
    assert len(cache) == 0
    for _ in range(3):
        assert (await client.get("/api/v1/students", headers=clerk)).status_code == 200
    assert len(cache) == 1


async def test_a_cached_token_of_a_deactivated_user_is_refused_at_once(client, app, make_user, sessions):
    admin = await make_user("admin")
    clerk = await make_user("officer", username="clerk")
    assert (await client.get("/api/v1/students", headers=clerk)).status_code == 200
    token = clerk["Authorization"].partition(" ")[2]
    assert app.state.jwt_auth.token_cache.get(token, 0.0) is not None  # the next request is a cache hit
    uid = (await _user(sessions, "clerk")).id
    assert (await client.post(f"/api/v1/users/{uid}/deactivate", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/students", headers=clerk)).status_code == 401
    assert app.state.jwt_auth.token_cache.get(token, 0.0) is None  # a failure is not kept either


async def test_an_expired_token_is_refused_even_when_cached(client, app, make_user, sessions):
    await make_user("officer", username="brief")
    token = issue_token(app.state.jwt_auth, await _user(sessions, "brief"), ttl_minutes=1)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/students", headers=headers)).status_code == 200
    assert app.state.jwt_auth.token_cache.get(token, 0.0) is not None
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2), tick=False):
        assert (await client.get("/api/v1/students", headers=headers)).status_code == 401
    assert len(app.state.jwt_auth.token_cache) == 0


async def test_failures_are_not_cached_and_a_tampered_token_never_hits(client, app, make_user):
    clerk = await make_user("officer")
    assert (await client.get("/api/v1/students", headers=clerk)).status_code == 200
    token = clerk["Authorization"].partition(" ")[2]
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    for bad in (forged, "not-a-token"):
        assert (await client.get("/api/v1/students", headers={"Authorization": f"Bearer {bad}"})).status_code == 401
    assert (await client.get("/api/v1/students")).status_code == 401
    assert (await client.get("/api/v1/students", headers={"Authorization": ""})).status_code == 401
    assert len(app.state.jwt_auth.token_cache) == 1  # only the good one


async def test_the_cache_is_bounded(client, app, make_user):
    cache = app.state.jwt_auth.token_cache
    cache.max_entries = 2
    users = [await make_user("officer") for _ in range(3)]
    for headers in users:
        assert (await client.get("/api/v1/students", headers=headers)).status_code == 200
    assert len(cache) == 2
    first = users[0]["Authorization"].partition(" ")[2]
    assert cache.get(first, 0.0) is None  # the oldest went
    assert (await client.get("/api/v1/students", headers=users[0])).status_code == 200  # and is verified afresh
    assert len(cache) == 2
