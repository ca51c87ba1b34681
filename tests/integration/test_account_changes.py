"""Signing out, changing one's own password, an admin's reset and reactivation, and a donor user's donor (issue #16
findings 10, 16, 18): each audited, and each revocation immediate for the bearer token and the console's cookie."""

from __future__ import annotations

from sqlalchemy import select

from service.audit import AuditRecord
from service.auth import User
from tests.conftest import TEST_PASSWORD
from tests.integration.console_fixtures import csrf_of
from tests.integration.donation_fixtures import credit_code

NEW_PASSWORD = "a-fresh-river-stone-42"


async def _login(client, username, password=TEST_PASSWORD):
    r = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
    return r.status_code, {"Authorization": f"Bearer {r.json()['access_token']}"} if r.status_code == 200 else None


async def _id(sessions, username):
    async with sessions() as s:
        return await s.scalar(select(User.id).where(User.username == username))


async def _actions(sessions, user_id):
    async with sessions() as s:
        rows = await s.scalars(
            select(AuditRecord).where(AuditRecord.entity == "user", AuditRecord.entity_id == str(user_id))
        )
        return [(r.action, r.actor) for r in rows]


async def test_logout_revokes_the_bearer_token_at_once(client, make_user, sessions):
    await make_user("officer", username="clerk")
    _, token = await _login(client, "clerk")
    _, other = await _login(client, "clerk")  # a second session of the same user
    assert (await client.get("/api/v1/students", headers=token)).status_code == 200
    r = await client.post("/api/v1/auth/logout", headers=token)
    assert r.status_code == 204
    for headers in (token, other):
        refused = await client.get("/api/v1/students", headers=headers)
        assert refused.status_code == 401 and refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.post("/api/v1/auth/logout", headers=token)).status_code == 401
    assert (await client.post("/api/v1/auth/logout")).status_code == 401
    status, again = await _login(client, "clerk")  # signing in again works
    assert status == 200 and (await client.get("/api/v1/students", headers=again)).status_code == 200
    uid = await _id(sessions, "clerk")
    assert (("logout", f"clerk#{uid}")) in await _actions(sessions, uid)


async def test_console_logout_revokes_the_cookies_token(client, make_user, sessions):
    await make_user("officer", username="desk")
    csrf = csrf_of((await client.get("/")).text)
    r = await client.post(
        "/login", data={"username": "desk", "password": TEST_PASSWORD, "_csrf_token": csrf}, follow_redirects=False
    )
    cookie_token = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    bearer = {"Authorization": f"Bearer {cookie_token}"}
    assert (await client.get("/api/v1/students", headers=bearer)).status_code == 200
    out = await client.post("/logout", data={"_csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    # the token the cookie carried is dead, even if a copy of the cookie is sent again
    assert (await client.get("/api/v1/students", headers=bearer)).status_code == 401
    client.cookies.set("zizhu_session", cookie_token)
    assert (await client.get("/console", follow_redirects=False)).status_code in (302, 303, 401)
    client.cookies.clear()
    uid = await _id(sessions, "desk")
    assert ("logout", f"desk#{uid}") in await _actions(sessions, uid)


async def test_changing_ones_own_password(client, make_user, sessions):
    await make_user("reviewer", username="checker")
    _, token = await _login(client, "checker")
    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=token,
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    weak = await client.post(
        "/api/v1/auth/password", json={"current_password": TEST_PASSWORD, "new_password": "1234567890"}, headers=token
    )
    assert weak.status_code == 422 and weak.json()["field"] == "new_password"
    assert "常见" in weak.json()["detail_zh"] and "common" in weak.json()["detail_en"]
    mine = await client.post(
        "/api/v1/auth/password",
        json={"current_password": TEST_PASSWORD, "new_password": "checker-likes-tea"},
        headers=token,
    )
    assert mine.status_code == 422 and "user name" in mine.json()["detail_en"]
    assert (await client.get("/api/v1/students", headers=token)).status_code == 200  # nothing changed yet
    ok = await client.post(
        "/api/v1/auth/password", json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}, headers=token
    )
    assert ok.status_code == 200, ok.text
    assert (await client.get("/api/v1/students", headers=token)).status_code == 401  # the old token: refused
    fresh = {"Authorization": f"Bearer {ok.json()['access_token']}"}
    assert (await client.get("/api/v1/students", headers=fresh)).status_code == 200
    assert (await _login(client, "checker"))[0] == 401
    assert (await _login(client, "checker", NEW_PASSWORD))[0] == 200
    uid = await _id(sessions, "checker")
    records = await _actions(sessions, uid)
    assert ("change-password", f"checker#{uid}") in records
    async with sessions() as s:
        audited = await s.scalars(select(AuditRecord).where(AuditRecord.action == "change-password"))
        assert all("password_hash" not in str(r.before) + str(r.after) for r in audited)


async def test_an_admin_resets_a_password_and_reactivates_a_user(client, make_user, sessions):
    admin = await make_user("admin", username="root-admin")
    await make_user("officer", username="clerk")
    _, clerk = await _login(client, "clerk")
    uid = await _id(sessions, "clerk")
    short = await client.post(f"/api/v1/users/{uid}/password", json={"password": "12345678"}, headers=admin)
    assert short.status_code == 422 and short.json()["field"] == "password"
    assert "10" in short.json()["detail_zh"] and "10 characters" in short.json()["detail_en"]
    r = await client.post(f"/api/v1/users/{uid}/password", json={"password": NEW_PASSWORD}, headers=admin)
    assert r.status_code == 200 and "password" not in r.text
    assert (await client.get("/api/v1/students", headers=clerk)).status_code == 401
    assert (await _login(client, "clerk", NEW_PASSWORD))[0] == 200
    admin_id = await _id(sessions, "root-admin")
    own = await client.post(f"/api/v1/users/{admin_id}/password", json={"password": NEW_PASSWORD}, headers=admin)
    assert own.status_code == 409  # one's own: with the current password, POST /auth/password
    # deactivate, then reactivate: signing in works again, the tokens from before stay dead
    _, before = await _login(client, "clerk", NEW_PASSWORD)
    assert (await client.post(f"/api/v1/users/{uid}/deactivate", headers=admin)).status_code == 200
    assert (await _login(client, "clerk", NEW_PASSWORD))[0] == 401
    again = await client.post(f"/api/v1/users/{uid}/reactivate", headers=admin)
    assert again.status_code == 200 and again.json()["active"] is True
    assert (await client.post(f"/api/v1/users/{uid}/reactivate", headers=admin)).status_code == 409
    assert (await client.get("/api/v1/students", headers=before)).status_code == 401
    assert (await _login(client, "clerk", NEW_PASSWORD))[0] == 200
    officer = await make_user("officer")
    assert (await client.post(f"/api/v1/users/{uid}/reactivate", headers=officer)).status_code == 403
    assert (
        await client.post(f"/api/v1/users/{uid}/password", json={"password": NEW_PASSWORD}, headers=officer)
    ).status_code == 403
    actions = [a for a, _ in await _actions(sessions, uid)]
    assert {"reset-password", "deactivate", "reactivate"} <= set(actions)


async def test_a_donor_user_names_an_existing_donor(client, make_user):
    admin = await make_user("admin")
    body = {"username": "donor-login", "password": NEW_PASSWORD, "role": "donor", "donor_id": 999}
    r = await client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 422 and r.json()["field"] == "donor_id" and "999" in r.json()["detail_en"]
    officer = await make_user("officer")
    donor = await client.post(
        "/api/v1/donors",
        json={"name": "捐赠方甲", "kind": "organization", "credit_code": credit_code(1)},
        headers=officer,
    )
    assert donor.status_code == 201, donor.text
    r = await client.post("/api/v1/users", json={**body, "donor_id": donor.json()["id"]}, headers=admin)
    assert r.status_code == 201 and r.json()["donor_id"] == donor.json()["id"]


async def test_new_users_keep_the_password_rules(client, make_user):
    admin = await make_user("admin")
    for password, why in (
        ("12345678", "10 characters"),
        (" " * 8, "10 characters"),
        ("qwertyuiop", "common"),
        ("Officer-Wang-2026", "user name"),
    ):
        r = await client.post(
            "/api/v1/users", json={"username": "officer-wang", "password": password, "role": "officer"}, headers=admin
        )
        assert r.status_code == 422 and r.json()["field"] == "password", r.text
        assert why in r.json()["detail_en"] and r.json()["detail_zh"]
