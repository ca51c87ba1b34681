"""Issue 16, finding 13: a student's course is plausible (enrolment and graduation within bounds, study years
that fit the level and the dates, an age at enrolment that fits the level), in the registry and in the contract
import (one rule), and no contract is signed for a student who has already graduated. Today is 2026-03-01."""

from __future__ import annotations

from datetime import date
from typing import Any

import time_machine
from sqlalchemy import func, select

from loans.models import Loan
from service.db import write_session
from service.demo import load_demo
from service.identity import make_id_number
from service.registry.models import Student
from service.registry.study_dates import study_date_faults
from tests.integration.loan_fixtures import loan_world
from tests.integration.test_loan_import import errors_by, person, row, setup, upload, workbook

TODAY = "2026-03-01 09:00 +08:00"


def student(n: int, **over: Any) -> dict[str, Any]:
    return {
        "name": f"学生{n}",
        "id_number": make_id_number("150430", date(2006, 1, 9), 100 + n),
        "phone": f"1381234{n:04d}",
        "household_county": "示范县",
        "household_province": "内蒙古",
        "university_code": "10126",
        "level": "undergraduate",
        "study_years": 4,
        "enrolled_on": "2024-09-01",
        "expected_graduation": "2028-06-30",
        **over,
    }


@time_machine.travel(TODAY)
async def test_registry_refuses_implausible_courses(client, make_user):
    officer = await make_user("officer")
    await client.post(
        "/api/v1/universities", json={"code": "10126", "name": "内蒙古大学", "province": "内蒙古"}, headers=officer
    )
    cases = [
        ({"enrolled_on": "0001-09-01", "expected_graduation": "0005-06-30"}, "enrolled_on"),
        ({"expected_graduation": "9999-06-30"}, "expected_graduation"),
        ({"expected_graduation": "2024-06-30"}, "expected_graduation"),  # before enrolment
        ({"enrolled_on": "2027-09-01", "expected_graduation": "2031-06-30"}, "enrolled_on"),  # over a year ahead
        ({"study_years": 8, "expected_graduation": "2032-06-30"}, "study_years"),  # 8 years of 本科
        ({"level": "junior_college", "study_years": 6, "expected_graduation": "2030-06-30"}, "study_years"),
        ({"expected_graduation": "2025-06-30"}, "expected_graduation"),  # 4 study years in one
        ({"id_number": make_id_number("150430", date(2015, 5, 5), 201)}, "enrolled_on"),  # 9 at enrolment
        ({"id_number": make_id_number("150430", date(1960, 5, 5), 203)}, "enrolled_on"),  # 64 at enrolment
    ]
    for n, (over, field) in enumerate(cases, start=1):
        r = await client.post("/api/v1/students", json=student(n, **over), headers=officer)
        assert r.status_code == 422 and r.json()["field"] == field, (over, r.text)
    assert (await client.get("/api/v1/students", headers=officer)).json()["total"] == 0
    ok = [
        student(20),
        student(
            21,
            level="graduate",
            study_years=3,
            expected_graduation="2027-06-30",
            id_number=make_id_number("150430", date(1990, 3, 3), 211),
            enrolled_on="2024-09-01",
        ),
        student(22, level="junior_college", study_years=3, enrolled_on="2026-09-01", expected_graduation="2029-06-30"),
    ]
    for body in ok:
        r = await client.post("/api/v1/students", json=body, headers=officer)
        assert r.status_code == 201, r.text
    sid, version = r.json()["id"], r.json()["version"]
    r = await client.patch(
        f"/api/v1/students/{sid}", json={"version": version, "expected_graduation": "9999-06-30"}, headers=officer
    )
    assert r.status_code == 422 and r.json()["field"] == "expected_graduation", r.text
    r = await client.patch(f"/api/v1/students/{sid}", json={"version": version, "study_years": 5}, headers=officer)
    assert r.status_code == 422 and r.json()["field"] == "expected_graduation", r.text  # 2026-2029 does not fit 5 years


@time_machine.travel(TODAY)
async def test_no_contract_for_a_student_who_has_graduated(client, make_user, sessions):
    w = await loan_world(client, make_user)
    r = await client.post(
        "/api/v1/students",
        json=student(
            30,
            enrolled_on="2021-09-01",
            expected_graduation="2025-06-30",
            id_number=make_id_number("150430", date(2003, 2, 2), 301),
        ),
        headers=w.officer,
    )
    assert r.status_code == 201, r.text
    w.students["old"] = r.json()["id"]
    app = await w.apply("old", 2024)
    await client.post(f"/api/v1/loan-applications/{app['id']}/approve", headers=w.reviewer)
    url = f"/api/v1/loan-applications/{app['id']}/contract"
    r = await client.post(url, json={"signed_on": "2025-09-10"}, headers=w.officer)
    assert r.status_code == 422 and r.json()["field"] == "signed_on" and "毕业" in r.json()["detail_zh"], r.text
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Loan).where(Loan.contract_no.is_not(None))) == 0
    assert (await client.post(url, json={"signed_on": "2024-09-10"}, headers=w.officer)).status_code == 201


@time_machine.travel(TODAY)
async def test_import_applies_the_same_rules(client, make_user, sessions):
    officer = await setup(client, make_user)
    rows = [
        row(1),  # a good row
        row(2, enrolled_on=date(1960, 9, 1), expected_graduation=date(1964, 6, 30)),
        row(3, expected_graduation=date(2099, 6, 30)),
        row(4, id_number=person(4, date(2016, 1, 1), 11)),  # 8 at enrolment
        row(5, study_years=7),
        row(6, enrolled_on=date(2020, 9, 1), expected_graduation=date(2024, 6, 30), signed_on=date(2024, 9, 20)),
        row(7, disbursed_on=date(2026, 3, 2)),  # after today
        row(8, signed_on=date(2024, 9, 20), disbursed_on=date(2006, 11, 20)),
    ]
    r = await upload(client, officer, workbook(rows), dry_run=True)
    assert r.status_code == 422 and r.json()["type"] == "/problems/loan-import-invalid-rows", r.text
    found = errors_by(r.json())
    for key in (
        (3, "enrolled_on"),
        (4, "expected_graduation"),
        (5, "enrolled_on"),
        (6, "study_years"),
        (7, "signed_on"),
        (8, "disbursed_on"),
        (9, "disbursed_on"),
    ):
        assert key in found, (key, found)
    assert not [k for k in found if k[0] == 2], found
    assert "毕业" in found[(7, "signed_on")]
    assert r.json()["valid"] == 1 and r.json()["invalid"] == 7


@time_machine.travel("2026-10-01 09:00 +08:00")
async def test_the_demo_county_passes_the_rules(db):
    """The demo's students and contracts are made by the same rules a clerk meets (loans.demo signs through
    contracts.sign); its registry is written directly, so check it against the rule here."""
    async with write_session(db) as s:
        await load_demo(s, students=300)
    async with write_session(db) as s:
        students = (await s.scalars(select(Student))).all()
        faults = {
            st.id: study_date_faults(
                id_number=st.id_number,
                level=st.level,
                study_years=st.study_years,
                enrolled_on=st.enrolled_on,
                expected_graduation=st.expected_graduation,
                today=date(2026, 10, 1),
            )
            for st in students
        }
    assert len(faults) > 250 and not [f for f in faults.values() if f]
