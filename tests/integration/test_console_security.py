"""The console's session cookie, CSRF protection, roles and scoping, and its language switch."""

from __future__ import annotations

import dataclasses

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from service.app import create_app
from service.auth import User
from service.registry.models import Student
from tests.integration.console_fixtures import alert_of, console_as, csrf_of
from tests.integration.loan_fixtures import loan_world


async def test_landing_says_what_zizhu_is_links_the_api_and_signs_in(client):
    r = await client.get("/")
    assert r.status_code == 200 and "县学生资助管理中心" in r.text and 'href="/schema"' in r.text
    assert 'action="/login"' in r.text and "zizhu_csrf=" in r.headers["set-cookie"]
    en = await client.get("/?lang=en")
    assert "county student financial aid centre" in en.text and "Sign in" in en.text


async def test_session_cookie_is_httponly_lax_and_carries_the_api_token(client, make_user):
    await make_user("officer", username="off-cookie")
    c = client  # one test client per app (see console_fixtures)
    token = csrf_of((await c.get("/")).text)
    r = await c.post(
        "/login",
        data={"username": "off-cookie", "password": "correct-horse-battery", "_csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("zizhu_session=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/" in cookie and "Max-Age=28800" in cookie and "Secure" not in cookie
    # the same token the API issues: a bearer header made from it works on the API
    session_token = cookie.split(";")[0].split("=", 1)[1]
    api = await c.get("/api/v1/students", headers={"Authorization": f"Bearer {session_token}"})
    assert api.status_code == 200
    # ...but the API never takes the cookie itself (so the API needs no CSRF protection)
    assert (await c.get("/api/v1/students")).status_code == 401
    assert (await c.get("/console")).status_code == 200
    out = await c.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and 'zizhu_session=""' in out.headers["set-cookie"]


async def test_cookies_are_secure_behind_https(db, settings, make_user):
    app = create_app(dataclasses.replace(settings, public_url="https://zizhu.example.cn"))
    await make_user("officer", username="off-https")
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as c:
        r = await c.get("/")
        assert "Secure" in r.headers["set-cookie"]
        r = await c.post(
            "/login",
            data={"username": "off-https", "password": "correct-horse-battery", "_csrf_token": csrf_of(r.text)},
            follow_redirects=False,
        )
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


async def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(app, client, make_user, sessions):
    world = await loan_world(client, make_user)
    async with console_as(client, "officer-1") as officer:
        form = {
            "name": "赵六",
            "id_number": "150430200601090011",
            "phone": "13812340011",
            "household_province": "内蒙古",
            "household_county": "示范县",
            "university_code": "10126",
            "level": "undergraduate",
            "study_years": "4",
            "enrolled_on": "2024-09-01",
            "expected_graduation": "2028-06-30",
        }
        for token in (None, "forged" * 20):
            data = form if token is None else {**form, "_csrf_token": token}
            r = await officer.client.post("/console/students", data=data, follow_redirects=False)
            assert r.status_code == 403 and "表单已过期" in alert_of(r.text)
        r = await officer.client.post("/login", data={"username": "officer-1", "password": "x"})
        assert r.status_code == 403  # signing in is a form too (no login CSRF)
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Student)) == len(world.students)
    # the JSON API takes bearer tokens and no CSRF token
    r = await client.post(
        "/api/v1/universities", json={"code": "10999", "name": "测试学院", "province": "内蒙古"}, headers=world.officer
    )
    assert r.status_code == 201


async def test_roles_and_scoping_as_in_the_api(app, client, make_user):
    world = await loan_world(client, make_user)
    await make_user("school", username="school-1", university_code="10027")
    await make_user("graduate", username="grad-1", student_id=world.students["ug"])
    anonymous = await client.get("/console/students", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/?next=/console/students"
    async with console_as(client, "grad-1") as graduate:
        assert graduate.landed == "/console/me"
        r = await graduate.client.get("/console/students")
        assert r.status_code == 403 and "无权" in r.text
        assert (await graduate.client.get("/console/me")).status_code == 200
    contract = await world.contract("ug")  # a student of 10126, not of this school
    async with console_as(client, "school-1") as school:
        assert school.landed == "/console/school/receipts"
        assert contract["contract_no"] not in (await school.client.get("/console/school/receipts")).text
        r = await school.post(f"/console/school/receipts/{contract['contract_no']}", {"amount": "5000.00"})
        assert r.status_code == 403 and "不在本校" in alert_of(r.text)
        r = await school.post("/console/applications/1/approve")
        assert r.status_code == 403
    async with console_as(client, "officer-1") as officer:
        assert (await officer.client.get("/console/audit")).status_code == 403  # auditors (and admin) only


async def test_maker_checker_refusal_is_shown_in_chinese_or_english(app, client, make_user):
    world = await loan_world(client, make_user)
    await make_user("admin", username="admin-1")
    async with console_as(client, "admin-1") as admin:
        r = await admin.post(
            f"/console/students/{world.students['ug']}/applications",
            {
                "academic_year": "2024",
                "amount": "8000",
                "co_name": "王父",
                "co_id_number": "150430197505050017",
                "co_phone": "13900001111",
                "relationship": "father",
            },
        )
        assert r.status_code == 303
        page = r.headers["location"].split("?")[0]
        r = await admin.post(f"{page}/approve")
        assert r.status_code == 403 and "经办人不能审批自己受理的申请" in alert_of(r.text)
        await admin.client.get(f"{page}?lang=en")  # the switch is remembered
        r = await admin.post(f"{page}/approve")
        assert "cannot approve or reject" in alert_of(r.text) and 'lang="en"' in r.text


async def test_bad_form_input_is_a_4xx_with_the_reason_in_the_page(app, client, make_user, sessions):
    world = await loan_world(client, make_user)
    async with console_as(client, "officer-1") as officer:
        r = await officer.post(
            "/console/students",
            {
                "name": "赵六",
                "id_number": "150430200601090012",
                "phone": "13812340011",
                "household_province": "内蒙古",
                "household_county": "示范县",
                "university_code": "10126",
                "level": "undergraduate",
                "study_years": "4",
                "enrolled_on": "2024-09-01",
                "expected_graduation": "2028-06-30",
            },
        )
        assert r.status_code == 422 and "校验" in alert_of(r.text) and 'value="赵六"' in r.text  # the form keeps it
        r = await officer.post("/console/students", {"name": "赵六"})
        assert r.status_code == 422 and "未填写或填写有误" in alert_of(r.text)
        r = await officer.post(
            f"/console/students/{world.students['jc']}/applications",
            {
                "academic_year": "2024",
                "amount": "99000",
                "co_name": "王父",
                "co_id_number": "150430197505050017",
                "co_phone": "13900001111",
                "relationship": "father",
            },
        )
        assert r.status_code == 422 and "上限" in alert_of(r.text)
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Student)) == len(world.students)


async def test_a_forged_or_stale_session_cookie_signs_no_one_in(app, client, make_user, sessions):
    await make_user("officer", username="off-stale")
    for forged in ("garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."):
        client.cookies.set("zizhu_session", forged)
        r = await client.get("/console", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/?next=")
    async with console_as(client, "off-stale") as officer:
        c = officer.client
        assert (await c.get("/console")).status_code == 200
        async with sessions() as s:  # the user is switched off (as POST /users/{id}/deactivate does)
            user = await s.scalar(select(User).where(User.username == "off-stale"))
            user.active = False
            await s.commit()
        app.state.user_cache.forget(user.id)
        assert (await c.get("/console", follow_redirects=False)).status_code == 303
