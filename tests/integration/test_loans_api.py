"""Loans I over HTTP: limits by date, co-borrower rules, maker-checker, contracts, 回执, disbursement."""

from __future__ import annotations

from datetime import date

import pytest

from service.identity import make_id_number
from tests.integration.loan_fixtures import loan_world, person_id


@pytest.mark.parametrize(
    "student,year,limit",
    [
        ("ug", 2024, "20000.00"),
        ("ug", 2023, "16000.00"),
        ("ug", 2022, "12000.00"),
        ("ug", 2020, "8000.00"),
        ("ug", 2013, "6000.00"),
        ("pg", 2024, "25000.00"),
        ("pg", 2023, "20000.00"),
        ("jc", 2024, "20000.00"),
    ],
)
async def test_limit_in_force_for_the_academic_year_and_level(client, make_user, student, year, limit):
    w = await loan_world(client, make_user)
    over = f"{int(limit.split('.')[0]) + 1}.00"
    r = await w.apply(student, year, amount=over, expect=422)
    assert r["type"] == "/problems/loan-over-limit" and r["limit"] == limit
    ok = await w.apply(student, year, amount=limit)
    assert ok["status"] == "submitted" and ok["limit"] == limit


async def test_over_limit_problem_names_the_limit_and_rule(client, make_user):
    w = await loan_world(client, make_user)
    r = await client.post(
        "/api/v1/loan-applications",
        headers=w.officer,
        json={
            "student_id": w.students["ug"],
            "academic_year": 2023,
            "amount": "16001.00",
            "co_borrower": {
                "name": "王父",
                "id_number": person_id(701),
                "phone": "13900001111",
                "relationship": "father",
            },
        },
    )
    p = r.json()
    assert r.status_code == 422 and p["limit"] == "16000.00" and p["field"] == "amount"
    assert "16000.00" in p["detail_zh"] and "2023" in p["detail_zh"] and "教育部" in p["detail_zh"]
    assert (await client.get("/api/v1/loan-applications", headers=w.officer)).json()["total"] == 0


@pytest.mark.parametrize(
    "amount,kind",
    [("999.00", "loan-below-minimum"), ("5000.50", "loan-not-whole-yuan"), ("abc", None), ("5000.123", None)],
)
async def test_minimum_whole_yuan_and_format(client, make_user, amount, kind):
    w = await loan_world(client, make_user)
    r = await client.post(
        "/api/v1/loan-applications",
        headers=w.officer,
        json={
            "student_id": w.students["ug"],
            "academic_year": 2024,
            "amount": amount,
            "co_borrower": {
                "name": "王父",
                "id_number": person_id(702),
                "phone": "13900001111",
                "relationship": "father",
            },
        },
    )
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith("application/problem+json")
    if kind:
        assert r.json()["type"] == f"/problems/{kind}"


async def test_one_application_per_student_and_year(client, make_user):
    w = await loan_world(client, make_user)
    first = await w.apply("ug", 2024)
    again = await w.apply("ug", 2024, expect=409)
    assert again["application_id"] == first["id"]
    await w.apply("ug", 2025, amount="20000.00")  # 续贷: next year is a new loan
    r = await client.post(
        f"/api/v1/loan-applications/{first['id']}/withdraw", json={"reason": "不再需要"}, headers=w.officer
    )
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    await w.apply("ug", 2024)  # a withdrawn application no longer blocks the year


async def test_co_borrower_rules(client, make_user):
    w = await loan_world(client, make_user)
    ug_id = make_id_number("150430", date(2006, 1, 9), 11)
    r = await w.apply("ug", 2024, co_id=ug_id, co_name="学生ug", expect=422)
    assert r["type"] == "/problems/co-borrower-not-allowed"  # not the student itself
    parent = person_id(801)
    await w.apply("ug", 2024, co_id=parent)
    # the same parent may co-sign a sibling's loan, but a borrower may not co-sign
    await w.apply("jc", 2024, co_id=parent)
    # a student who is a borrower cannot be a co-borrower of another loan: pg borrows, then is named co-borrower
    await w.apply("pg", 2024, amount="25000.00", co_id=person_id(803))
    pg_id = make_id_number("150430", date(2001, 2, 3), 13)
    r = await w.apply("ug", 2025, co_id=pg_id, co_name="学生pg", expect=422)
    assert r["type"] == "/problems/co-borrower-not-allowed" and r["field"] == "co_borrower.id_number"
    # a co-borrower is a parent or legal guardian (DOMAIN.md): an uncle, a spouse or "other" is refused, naming it
    for relationship in ("other", "spouse"):
        body = {
            "student_id": w.students["ug"],
            "academic_year": 2025,
            "amount": "1000",
            "co_borrower": {"name": "王某", "id_number": parent, "phone": "13900001111", "relationship": relationship},
        }
        r = await client.post("/api/v1/loan-applications", json=body, headers=w.officer)
        assert r.status_code == 400 and "relationship" in r.text, r.text
    # the co-borrower's ID must be valid
    bad = parent[:-1] + ("1" if parent[-1] != "1" else "2")
    r = await w.apply("ug", 2025, co_id=bad, expect=422)
    assert r["type"] == "/problems/invalid-id-number" and r["field"] == "co_borrower.id_number"


async def test_maker_checker_and_roles(client, make_user):
    w = await loan_world(client, make_user)
    app = await w.apply()
    # an officer may not approve at all; a reviewer may; admin may, unless admin prepared it
    assert (await client.post(f"/api/v1/loan-applications/{app['id']}/approve", headers=w.officer)).status_code == 403
    admin = await make_user("admin", username="boss")
    own = (
        await client.post(
            "/api/v1/loan-applications",
            headers=admin,
            json={
                "student_id": w.students["pg"],
                "academic_year": 2024,
                "amount": "25000.00",
                "co_borrower": {
                    "name": "李母",
                    "id_number": person_id(805),
                    "phone": "13900002222",
                    "relationship": "mother",
                },
            },
        )
    ).json()
    r = await client.post(f"/api/v1/loan-applications/{own['id']}/approve", headers=admin)
    assert r.status_code == 403 and r.json()["type"] == "/problems/maker-checker"
    r = await client.post(f"/api/v1/loan-applications/{app['id']}/approve", headers=w.reviewer)
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["decided_by"] is not None
    again = await client.post(f"/api/v1/loan-applications/{app['id']}/approve", headers=w.reviewer)
    assert again.status_code == 409 and again.json()["type"] == "/problems/invalid-transition"
    rej = await client.post(
        f"/api/v1/loan-applications/{own['id']}/reject", json={"reason": "材料不全"}, headers=w.reviewer
    )
    assert rej.status_code == 200 and rej.json()["status"] == "rejected" and rej.json()["reason"] == "材料不全"


async def test_contract_terms_numbers_and_check_code(client, make_user):
    w = await loan_world(client, make_user)
    c1 = await w.contract("ug", 2024, "2024-09-10")
    assert c1["contract_no"] == "150430-2024-000001"
    # 2024-09-10: LPR 3.85 (2024-07-22) − 60 bp (autumn 2023 notice) = 3.25
    assert c1["rate"] == "3.25" and c1["principal"] == "20000.00" and c1["status"] == "contracted"
    assert c1["maturity_date"] == "2043-09-20" and c1["term_years"] == 19 and c1["grace_years"] == 5
    assert c1["subsidy_end"] == "2028-08-31"
    c2 = await w.contract("pg", 2024, "2024-11-20")
    # after the 2024-11-04 notice: LPR 3.60 − 70 bp = 2.90
    assert c2["contract_no"] == "150430-2024-000002" and c2["rate"] == "2.90"
    r = await client.get(f"/api/v1/loan-contracts/verify/{c1['check_code']}")
    assert r.status_code == 200 and r.json()["contract_no"] == c1["contract_no"] and "*" in r.json()["borrower"]
    assert (await client.get("/api/v1/loan-contracts/verify/AAAAA-BBBBB")).status_code == 404


async def test_receipt_scoped_to_the_school_and_disbursement(client, make_user):
    w = await loan_world(client, make_user)
    c = await w.contract("ug", 2024)
    no = c["contract_no"]
    other_school = await make_user("school", university_code="10027")
    r = await client.post(f"/api/v1/loan-contracts/{no}/receipt", json={"amount": "6500.00"}, headers=other_school)
    assert r.status_code == 403
    assert (await client.get(f"/api/v1/loan-contracts/{no}", headers=other_school)).status_code == 403
    school = await make_user("school", university_code="10126")
    too_much = await client.post(f"/api/v1/loan-contracts/{no}/receipt", json={"amount": "20000.01"}, headers=school)
    assert too_much.status_code == 422
    early = await client.post(
        f"/api/v1/loan-contracts/{no}/disburse", json={"disbursed_on": "2024-11-15"}, headers=w.officer
    )
    assert early.status_code == 409  # no receipt yet
    r = await client.post(f"/api/v1/loan-contracts/{no}/receipt", json={"amount": "6500.00"}, headers=school)
    assert r.status_code == 200 and r.json()["status"] == "receipt_confirmed"
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/disburse", json={"disbursed_on": "2024-11-15"}, headers=w.officer
    )
    body = r.json()
    assert r.status_code == 200 and body["status"] == "in_school" and body["outstanding_principal"] == "20000.00"
    assert {(p["payee"], p["amount"]) for p in body["payouts"]} == {("university", "6500.00"), ("student", "13500.00")}
    listed = await client.get("/api/v1/loan-contracts", params={"student_id": w.students["ug"]}, headers=school)
    assert [x["contract_no"] for x in listed.json()["items"]] == [no]


async def test_policy_rows_are_data(client, make_user):
    w = await loan_world(client, make_user)
    admin = await make_user("admin")
    rows = (await client.get("/api/v1/loan-policy", params={"kind": "limit_max"}, headers=w.officer)).json()
    assert rows["total"] == 15
    # a new notice raises the 2026 limit; nobody edits code
    r = await client.post(
        "/api/v1/loan-policy",
        headers=admin,
        json={
            "kind": "limit_max",
            "key": "undergraduate",
            "effective_from": "2026-09-01",
            "value": "24000",
            "source": "假想的 2026 年通知",
        },
    )
    assert r.status_code == 201, r.text
    assert (await w.apply("ug", 2026, amount="24000.00"))["limit"] == "24000.00"
    dup = await client.post(
        "/api/v1/loan-policy",
        headers=admin,
        json={
            "kind": "limit_max",
            "key": "undergraduate",
            "effective_from": "2026-09-01",
            "value": "25000",
            "source": "x",
        },
    )
    assert dup.status_code == 409
    bad = await client.post(
        "/api/v1/loan-policy",
        headers=admin,
        json={"kind": "spread_bp", "effective_from": "2027-01-01", "value": "minus thirty", "source": "x"},
    )
    assert bad.status_code == 422
    assert (
        await client.post(
            "/api/v1/loan-policy",
            headers=w.officer,
            json={"kind": "spread_bp", "effective_from": "2027-01-01", "value": "-80", "source": "x"},
        )
    ).status_code == 403


async def test_certificate_pdf_prints_the_contract(client, make_user):
    import io

    from pypdf import PdfReader

    w = await loan_world(client, make_user)
    c = await w.contract("ug", 2024)
    r = await client.get(f"/api/v1/loan-contracts/{c['contract_no']}/certificate", headers=w.officer)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert c["contract_no"] in text and c["check_code"] in text and "贰万元整" in text
    assert make_id_number("150430", date(2006, 1, 9), 11) not in text  # masked
    other = await make_user("school", university_code="10027")
    assert (
        await client.get(f"/api/v1/loan-contracts/{c['contract_no']}/certificate", headers=other)
    ).status_code == 403


async def test_concurrent_signing_gives_gapless_numbers(client, make_user):
    import asyncio

    w = await loan_world(client, make_user)
    apps = []
    for key in ("ug", "pg", "jc"):
        for year in (2024, 2025):
            top = {"ug": "20000.00", "pg": "25000.00", "jc": "20000.00"}[key]
            app = await w.apply(key, year, amount=top)
            await client.post(f"/api/v1/loan-applications/{app['id']}/approve", headers=w.reviewer)
            apps.append((app["id"], year))
    results = await asyncio.gather(
        *(
            client.post(f"/api/v1/loan-applications/{i}/contract", json={"signed_on": f"{y}-09-15"}, headers=w.officer)
            for i, y in apps
        )
    )
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    numbers = sorted(r.json()["contract_no"] for r in results)
    assert numbers == [f"150430-{y}-{n:06d}" for y in (2024, 2025) for n in (1, 2, 3)]
