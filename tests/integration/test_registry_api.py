"""Registry over HTTP with a real database: universities and students, masking, 422/409, scoping."""

from __future__ import annotations

from datetime import date
from typing import Any

from service.identity import make_id_number

ID_1 = make_id_number("150430", date(2005, 3, 14), 21)
ID_2 = make_id_number("150430", date(2006, 7, 2), 34)


def student_body(**over: Any) -> dict[str, Any]:
    body = {
        "name": "张三",
        "id_number": ID_1,
        "phone": "13812341234",
        "household_county": "示范县",
        "household_province": "内蒙古",
        "categories": ["registered_poor"],
        "university_code": "10126",
        "level": "undergraduate",
        "study_years": 4,
        "enrolled_on": "2024-09-01",
        "expected_graduation": "2028-06-30",
    }
    body.update(over)
    return body


async def _setup(client: Any, make_user: Any) -> dict[str, str]:
    officer = await make_user("officer")
    for code, name, prov in (("10126", "内蒙古大学", "内蒙古"), ("10027", "北京师范大学", "北京市")):
        r = await client.post(
            "/api/v1/universities", json={"code": code, "name": name, "province": prov}, headers=officer
        )
        assert r.status_code == 201, r.text
    return officer


async def test_register_student_masks_personal_data(client, make_user):
    officer = await _setup(client, make_user)
    r = await client.post("/api/v1/students", json=student_body(), headers=officer)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id_number"] == ID_1[:6] + "********" + ID_1[-4:]
    assert body["phone"] == "138****1234"
    assert body["created_at"].endswith("+08:00")  # times in the centre's zone
    assert ID_1 not in r.text and "13812341234" not in r.text
    got = await client.get(f"/api/v1/students/{body['id']}", headers=officer)
    assert got.status_code == 200 and got.json()["name"] == "张三"
    assert ID_1 not in got.text


async def test_province_long_name_is_normalised(client, make_user):
    officer = await _setup(client, make_user)
    r = await client.get("/api/v1/universities/10027", headers=officer)
    assert r.json()["province"] == "北京"


async def test_invalid_id_number_is_422_problem_and_writes_nothing(client, make_user):
    officer = await _setup(client, make_user)
    bad = ID_1[:-1] + ("0" if ID_1[-1] != "0" else "1")
    r = await client.post("/api/v1/students", json=student_body(id_number=bad), headers=officer)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert p["type"] == "/problems/invalid-id-number" and p["field"] == "id_number"
    assert p["detail_zh"] and p["detail_en"] and bad not in r.text
    listed = await client.get("/api/v1/students", headers=officer)
    assert listed.json()["total"] == 0


async def test_duplicate_id_number_is_409(client, make_user):
    officer = await _setup(client, make_user)
    assert (await client.post("/api/v1/students", json=student_body(), headers=officer)).status_code == 201
    r = await client.post("/api/v1/students", json=student_body(name="李四", phone="13912345678"), headers=officer)
    assert r.status_code == 409 and r.json()["type"] == "/problems/duplicate-id-number"
    assert (await client.get("/api/v1/students", headers=officer)).json()["total"] == 1


async def test_bad_phone_unknown_university_and_bad_body(client, make_user):
    officer = await _setup(client, make_user)
    r = await client.post("/api/v1/students", json=student_body(phone="12345"), headers=officer)
    assert r.status_code == 422 and r.json()["field"] == "phone"
    r = await client.post("/api/v1/students", json=student_body(university_code="99999"), headers=officer)
    assert r.status_code == 422 and r.json()["field"] == "university_code"
    r = await client.post("/api/v1/students", json=student_body(level="kindergarten"), headers=officer)
    assert r.status_code == 400 and r.json()["field"] == "level"
    r = await client.post(
        "/api/v1/students", content=b"{not json", headers={**officer, "content-type": "application/json"}
    )
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    r = await client.post("/api/v1/students", json=student_body(expected_graduation="2020-06-30"), headers=officer)
    assert r.status_code == 422 and r.json()["field"] == "expected_graduation"
    assert (await client.get("/api/v1/students", headers=officer)).json()["total"] == 0


async def test_english_detail_on_request(client, make_user):
    officer = await _setup(client, make_user)
    r = await client.post(
        "/api/v1/students", json=student_body(phone="123"), headers={**officer, "Accept-Language": "en-US,en;q=0.9"}
    )
    assert r.json()["title"] == "Invalid phone number"
    assert r.json()["detail"] == r.json()["detail_en"]


async def test_search_paging_and_filters(client, make_user):
    officer = await _setup(client, make_user)
    await client.post("/api/v1/students", json=student_body(), headers=officer)
    await client.post(
        "/api/v1/students",
        json=student_body(
            name="李四",
            id_number=ID_2,
            phone="13912345678",
            university_code="10027",
            level="junior_college",
            categories=[],
        ),
        headers=officer,
    )
    by_id = await client.get("/api/v1/students", params={"q": ID_2}, headers=officer)
    assert [s["name"] for s in by_id.json()["items"]] == ["李四"]
    by_name = await client.get("/api/v1/students", params={"q": "张"}, headers=officer)
    assert by_name.json()["total"] == 1
    poor = await client.get("/api/v1/students", params={"category": "registered_poor"}, headers=officer)
    assert [s["name"] for s in poor.json()["items"]] == ["张三"]
    page = await client.get("/api/v1/students", params={"limit": 1, "offset": 1, "sort": "-id"}, headers=officer)
    assert page.json()["total"] == 2 and page.json()["items"][0]["name"] == "张三"
    bad = await client.get("/api/v1/students", params={"limit": 0}, headers=officer)
    assert bad.status_code == 400


async def test_school_user_sees_only_its_students(client, make_user):
    officer = await _setup(client, make_user)
    a = (await client.post("/api/v1/students", json=student_body(), headers=officer)).json()
    b = (
        await client.post(
            "/api/v1/students",
            json=student_body(name="李四", id_number=ID_2, phone="13912345678", university_code="10027"),
            headers=officer,
        )
    ).json()
    school = await make_user("school", university_code="10126")
    assert (await client.get(f"/api/v1/students/{a['id']}", headers=school)).status_code == 200
    assert (await client.get(f"/api/v1/students/{b['id']}", headers=school)).status_code == 403
    listed = await client.get("/api/v1/students", params={"university_code": "10027"}, headers=school)
    assert [s["id"] for s in listed.json()["items"]] == [a["id"]]
    assert (await client.post("/api/v1/students", json=student_body(), headers=school)).status_code == 403


async def test_update_with_version_and_audit(client, make_user):
    officer = await _setup(client, make_user)
    s = (await client.post("/api/v1/students", json=student_body(), headers=officer)).json()
    r = await client.patch(
        f"/api/v1/students/{s['id']}", json={"version": s["version"], "phone": "13987654321"}, headers=officer
    )
    assert r.status_code == 200 and r.json()["phone"] == "139****4321" and r.json()["version"] == s["version"] + 1
    stale = await client.patch(
        f"/api/v1/students/{s['id']}", json={"version": s["version"], "address": "x"}, headers=officer
    )
    assert stale.status_code == 409 and stale.json()["type"] == "/problems/version-conflict"


async def test_roles_that_may_not_register(client, make_user):
    await _setup(client, make_user)
    for role, scope in (("reviewer", {}), ("auditor", {}), ("graduate", {}), ("donor", {"donor_id": 1})):
        headers = await make_user(role, **scope)
        r = await client.post("/api/v1/students", json=student_body(), headers=headers)
        assert r.status_code == 403, role
    for role in ("reviewer", "auditor"):
        assert (await client.get("/api/v1/students", headers=await make_user(role))).status_code == 200
    assert (await client.get("/api/v1/students", headers=await make_user("donor", donor_id=1))).status_code == 403
