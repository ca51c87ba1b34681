"""Sign-in throttling (service.throttle, service.signin.authenticate): atomic under parallel attempts, the same for
unknown names, per (name, address) and per address, undone by an admin. On SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from service import signin
from service.audit import AuditRecord
from service.auth import verify_password
from service.errors import Problem
from service.signin import authenticate
from tests.conftest import TEST_PASSWORD

WRONG = "wrong-password-1"


@pytest.fixture
def hash_checks(monkeypatch):
    """Counts the attempts that reach the password hash; each takes a little longer, so parallel ones overlap."""
    seen = {"n": 0}
    lock = threading.Lock()

    def counting(password_hash, password):
        with lock:
            seen["n"] += 1
        time.sleep(0.02)
        return verify_password(password_hash, password)

    monkeypatch.setattr(signin, "verify_password", counting)
    return seen


async def _try(engine, settings, username, password, address="192.0.2.1"):
    """'ok', or the status of the Problem the attempt raised."""
    try:
        await authenticate(engine, settings, username, password, address)
    except Problem as exc:
        return exc.kind.status
    return "ok"


async def _burst(engine, settings, attempts, address="192.0.2.1"):
    return await asyncio.gather(*(_try(engine, settings, name, pw, address) for name, pw in attempts))


async def test_parallel_wrong_passwords_reach_the_hash_at_most_the_limit(db, settings, make_user, hash_checks):
    await make_user("admin", username="boss")
    limit = settings.login_max_failures
    results = await _burst(db, settings, [("boss", WRONG)] * 40)
    assert hash_checks["n"] <= limit
    assert results.count(401) == hash_checks["n"] and results.count(429) == 40 - hash_checks["n"]
    # the right password in the middle of a parallel burst after the limit: refused, never checked
    burst = [("boss", WRONG)] * 10 + [("boss", TEST_PASSWORD)] + [("boss", WRONG)] * 10
    results = await _burst(db, settings, burst)
    assert results == [429] * len(burst) and hash_checks["n"] <= limit


async def test_a_locked_name_is_locked_only_from_the_address_that_tried(db, settings, make_user):
    await make_user("admin", username="boss")
    for _ in range(settings.login_max_failures):
        assert await _try(db, settings, "boss", WRONG, "203.0.113.66") == 401
    assert await _try(db, settings, "boss", TEST_PASSWORD, "203.0.113.66") == 429
    # the attacker cannot lock the admin out: from its own desk the admin signs in
    assert await _try(db, settings, "boss", TEST_PASSWORD, "192.0.2.10") == "ok"


async def test_unknown_names_get_the_same_429(client, make_user, settings):
    await make_user("officer", username="clerk")
    answers = {}
    for name in ("clerk", "nobody-at-all"):
        for _ in range(settings.login_max_failures):
            r = await client.post("/api/v1/auth/login", json={"username": name, "password": WRONG})
            assert r.status_code == 401
        answers[name] = await client.post("/api/v1/auth/login", json={"username": name, "password": WRONG})

    def shape(r):
        body = {k: re.sub(r"\d+", "N", v) if isinstance(v, str) else v for k, v in r.json().items()}
        return r.status_code, body, sorted(r.headers.keys()), re.sub(r"\d+", "N", r.headers["retry-after"])

    assert answers["clerk"].status_code == 429
    assert shape(answers["clerk"]) == shape(answers["nobody-at-all"])


async def test_one_address_guessing_across_names_is_stopped(db, settings, make_user):
    settings = replace(settings, login_address_max_failures=7)
    await make_user("officer", username="clerk")
    results = [await _try(db, settings, f"name-{i}", WRONG, "198.51.100.7") for i in range(9)]
    assert results == [401] * 7 + [429] * 2
    assert await _try(db, settings, "clerk", TEST_PASSWORD, "198.51.100.7") == 429
    assert await _try(db, settings, "clerk", TEST_PASSWORD, "198.51.100.8") == "ok"


async def test_a_success_gives_its_reservation_back(db, settings, make_user):
    settings = replace(settings, login_address_max_failures=settings.login_max_failures + 1)
    await make_user("officer", username="clerk")
    for _ in range(10):  # ten good sign-ins from one office address never add up to a lock
        assert await _try(db, settings, "clerk", TEST_PASSWORD) == "ok"
    for _ in range(settings.login_max_failures - 1):
        assert await _try(db, settings, "clerk", WRONG) == 401
    assert await _try(db, settings, "clerk", TEST_PASSWORD) == "ok"  # the name's count starts afresh
    assert await _try(db, settings, "clerk", WRONG) == 401


async def test_the_lock_ends_with_its_window(db, settings, make_user):
    await make_user("officer", username="clerk")
    with time_machine.travel("2026-03-02 09:00:00+08:00", tick=False) as clock:
        for _ in range(settings.login_max_failures):
            assert await _try(db, settings, "clerk", WRONG) == 401
        assert await _try(db, settings, "clerk", TEST_PASSWORD) == 429
        clock.shift(timedelta(minutes=settings.login_lock_minutes, seconds=1))
        assert await _try(db, settings, "clerk", TEST_PASSWORD) == "ok"


async def test_an_admin_unlocks_a_user(client, make_user, settings, sessions):
    admin = await make_user("admin")
    await make_user("officer", username="clerk")
    for _ in range(settings.login_max_failures + 3):
        await client.post("/api/v1/auth/login", json={"username": "clerk", "password": WRONG})
    assert (
        await client.post("/api/v1/auth/login", json={"username": "clerk", "password": TEST_PASSWORD})
    ).status_code == 429
    users = (await client.get("/api/v1/users", headers=admin)).json()["items"]
    clerk_id = next(u["id"] for u in users if u["username"] == "clerk")
    officer = await make_user("officer")
    assert (await client.post(f"/api/v1/users/{clerk_id}/unlock", headers=officer)).status_code == 403
    r = await client.post(f"/api/v1/users/{clerk_id}/unlock", headers=admin)
    assert r.status_code == 200 and r.json()["username"] == "clerk"
    assert (
        await client.post("/api/v1/auth/login", json={"username": "clerk", "password": TEST_PASSWORD})
    ).status_code == 200
    async with sessions() as s:
        actions = (await s.scalars(select(AuditRecord.action).where(AuditRecord.entity_id == str(clerk_id)))).all()
    assert "unlock" in actions


async def test_parallel_wrong_passwords_over_http(client, make_user, settings, hash_checks):
    await make_user("officer", username="clerk")
    attempts = [client.post("/api/v1/auth/login", json={"username": "clerk", "password": WRONG}) for _ in range(25)]
    statuses = sorted(r.status_code for r in await asyncio.gather(*attempts))
    assert hash_checks["n"] <= settings.login_max_failures
    assert statuses == [401] * hash_checks["n"] + [429] * (25 - hash_checks["n"])
    right = await client.post("/api/v1/auth/login", json={"username": "clerk", "password": TEST_PASSWORD})
    assert right.status_code == 429 and right.json()["type"] == "/problems/too-many-requests"
