"""Text and shape at the edge (issue #16, findings 14 and 15), on SQLite and PostgreSQL alike.

Control characters are a 400 wherever text comes in (JSON bodies, query strings, form posts, the unauthenticated
login: U+0000 was a 500 on PostgreSQL); text is kept NFC and trimmed; a JSON body is at most 32 levels deep and no
list in it longer than 10,000 (a RecursionError was a 500, also unauthenticated); a donation names at most 1,000
students; validation errors name the field but never echo the value.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from service.identity import make_id_number
from service.registry.models import Student
from tests.integration.console_fixtures import csrf_of

LOGIN = "/api/v1/auth/login"
JSON = {"content-type": "application/json"}


def student(**over: Any) -> dict[str, Any]:
    body = {
        "name": "张三",
        "id_number": make_id_number("150430", date(2006, 1, 9), 11),
        "phone": "13812340011",
        "household_county": "示范县",
        "household_province": "内蒙古",
        "categories": ["registered_poor"],
        "university_code": "10126",
        "level": "undergraduate",
        "study_years": 4,
        "enrolled_on": "2024-09-01",
        "expected_graduation": "2028-06-30",
    }
    return {**body, **over}


async def officer_with_university(client: Any, make_user: Any) -> dict[str, str]:
    officer = await make_user("officer")
    r = await client.post(
        "/api/v1/universities", json={"code": "10126", "name": "内蒙古大学", "province": "内蒙古"}, headers=officer
    )
    assert r.status_code == 201, r.text
    return officer


async def students(sessions: Any) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Student)) or 0)


def assert_problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == f"/problems/{slug}", body
    return body


@pytest.mark.parametrize("char", ["\u0000", "\u0001", "\u001b", "\u007f"])
@pytest.mark.parametrize("field", ["username", "password"])
async def test_the_unauthenticated_login_refuses_a_control_character(client, make_user, char, field):
    await make_user("officer", username="clerk")
    body = {"username": "clerk", "password": "correct-horse-battery"}
    body[field] += char
    problem = assert_problem(await client.post(LOGIN, json=body), 400, "control-character")
    assert problem["field"] == field
    assert "clerk" not in problem["detail"]


async def test_the_login_name_is_trimmed_and_the_password_kept_as_typed(client, make_user):
    await make_user("officer", username="clerk")
    r = await client.post(LOGIN, json={"username": " clerk\n", "password": "correct-horse-battery"})
    assert r.status_code == 200, r.text
    r = await client.post(LOGIN, json={"username": "clerk", "password": " correct-horse-battery"})
    assert r.status_code == 401, r.text


async def test_the_console_login_form_refuses_u0000(client, make_user):
    await make_user("officer", username="clerk")
    token = csrf_of((await client.get("/")).text)
    r = await client.post(
        "/login",
        data={"username": "clerk\u0000", "password": "correct-horse-battery", "_csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 400, r.text[:300]


async def test_query_strings_refuse_control_characters_and_are_trimmed(client, make_user):
    officer = await officer_with_university(client, make_user)
    for bad in ("%00", "%01", "a%0Ab", "%7F", "%FF"):  # the last is not UTF-8 at all
        r = await client.get(f"/api/v1/students?q={bad}", headers=officer)
        assert_problem(r, 400, "control-character")
    r = await client.post("/api/v1/students", json=student(), headers=officer)
    assert r.status_code == 201, r.text
    r = await client.get("/api/v1/students", params={"q": "\u3000张三 "}, headers=officer)
    assert r.status_code == 200 and r.json()["total"] == 1, r.text


async def test_bodies_refuse_control_characters_and_change_nothing(client, make_user, sessions):
    officer = await officer_with_university(client, make_user)
    for name in ("张\u0001三", "张\u0000三"):
        body = student(name=name)
        r = await client.post("/api/v1/students", content=_raw_json(body), headers={**officer, **JSON})
        problem = assert_problem(r, 400, "control-character")
        assert problem["field"] == "name"
    # a lone surrogate (no UTF-8 for it; PostgreSQL would refuse it): the JSON decoder already refuses it
    r = await client.post(
        "/api/v1/students", content=_raw_json(student(name="张\ud800三")), headers={**officer, **JSON}
    )
    assert r.status_code == 400, r.text
    r = await client.post("/api/v1/students", json=student(household_county="示范县\u0000"), headers=officer)
    assert_problem(r, 400, "control-character")
    assert await students(sessions) == 0


def _raw_json(body: dict[str, Any]) -> bytes:
    """JSON with every non-ASCII character escaped, so that a lone surrogate can be sent at all."""
    return json.dumps(body, ensure_ascii=True).encode()


async def test_text_is_kept_nfc_and_trimmed(client, make_user, sessions):
    officer = await officer_with_university(client, make_user)
    decomposed = "Jose\u0301"  # é as e + combining acute: NFC makes it one character
    r = await client.post(
        "/api/v1/students",
        json=student(name=f"\u3000 {decomposed}\t", household_county=" 示范县 "),
        headers=officer,
    )
    assert r.status_code == 201, r.text
    async with sessions() as s:
        row = (await s.execute(select(Student.name, Student.household_county))).one()
    assert row == ("Jos\u00e9", "示范县")
    # a name of spaces only is empty once trimmed: refused, as an empty name is
    r = await client.post("/api/v1/students", json=student(name="\u3000  ", phone="13812340012"), headers=officer)
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("depth", [33, 200, 5000, 100_000])
async def test_deep_json_is_a_400_even_unauthenticated(client, depth):
    nested = b"[" * depth + b"]" * depth
    r = await client.post(LOGIN, content=b'{"username": "a", "password": ' + nested + b"}", headers=JSON)
    assert_problem(r, 400, "request-too-complex")


async def test_json_just_within_the_depth_bound_is_read(client, make_user):
    officer = await make_user("officer")
    nested = b"[" * 31 + b"]" * 31  # with the object around it: 32 levels
    r = await client.post("/api/v1/students", content=b'{"categories": ' + nested + b"}", headers={**officer, **JSON})
    assert r.status_code == 400 and r.json()["type"] == "/problems/invalid-request", r.text[:300]


async def test_lists_are_bounded(client, make_user, sessions):
    officer = await officer_with_university(client, make_user)
    r = await client.post("/api/v1/students", json=student(categories=["other"] * 10_001), headers=officer)
    body = assert_problem(r, 400, "request-too-complex")
    assert body["field"] == "categories"
    assert await students(sessions) == 0
    donation = {
        "donor_id": 1,
        "program_id": 1,
        "amount": "100.00",
        "received_on": "2025-01-01",
        "method": "cash",
        "reference": "R000001",
    }
    r = await client.post(
        "/api/v1/donations", json={**donation, "directed_student_ids": list(range(1, 1002))}, headers=officer
    )
    body = assert_problem(r, 400, "invalid-request")
    assert body["field"] == "directed_student_ids"
    many = b'{"directed_student_ids": [' + b",".join([b"1"] * 1_000_000) + b"]}"
    r = await client.post("/api/v1/donations", content=many, headers={**officer, **JSON})
    assert_problem(r, 400, "request-too-complex")


async def test_validation_errors_name_the_field_never_the_value(client, make_user):
    officer = await officer_with_university(client, make_user)
    secret = make_id_number("150430", date(2001, 2, 3), 77)
    r = await client.get("/api/v1/students", params={"sort": secret, "limit": "x" + secret}, headers=officer)
    body = assert_problem(r, 400, "invalid-request")
    assert {e["field"] for e in body["errors"]} == {"sort", "limit"}
    r2 = await client.post("/api/v1/students", json=student(level=secret, study_years=secret), headers=officer)
    body2 = assert_problem(r2, 400, "invalid-request")
    assert body2["field"] in ("level", "study_years")
    for text in (r.text, r2.text):
        assert secret not in text and secret[:6] + "*" not in text and secret[-4:] not in text, text


async def test_an_uploaded_file_name_with_u0000_is_a_400(client, make_user):
    officer = await make_user("officer")
    # by hand: httpx would percent-escape the control character in the file name
    boundary = "zizhu-edge-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a\x00b.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\nPK\x03\x04\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    r = await client.post(
        "/api/v1/loan-imports",
        content=body,
        headers={**officer, "content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert_problem(r, 400, "control-character")


async def test_a_path_with_a_control_character_is_a_400(client, make_user):
    officer = await make_user("officer")
    assert_problem(await client.get("/api/v1/universities/a%00b", headers=officer), 400, "control-character")
