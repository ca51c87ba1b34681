"""Donors, programmes, donations with gapless receipt numbers, appropriations, receipts (HTTP + database)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from donations.models import Funding, ReceiptCounter
from service.identity import make_id_number
from tests.integration.donation_fixtures import V1, credit_code, grant_world


async def test_donors_organisation_and_person_validated_and_scoped(client, make_user):
    w = await grant_world(client, make_user)
    bank = await w.donor()
    r = await w.post("/donors", {"name": "假公司", "kind": "organization", "credit_code": "911504307000000012"})
    assert r.status_code == 422 and r.json()["field"] == "credit_code"
    r = await w.post("/donors", {"name": "重复", "kind": "organization", "credit_code": credit_code(1)})
    assert r.status_code == 409
    person_id = make_id_number("150430", date(1970, 1, 1), 11)
    wrong = person_id[:-1] + ("0" if person_id[-1] != "0" else "1")
    r = await w.post("/donors", {"name": "张先生", "kind": "individual", "id_number": wrong})
    assert r.status_code == 422 and r.json()["field"] == "id_number"
    r = await w.post("/donors", {"name": "张先生", "kind": "individual", "id_number": person_id}, expect=201)
    assert r.json()["id_number"] == person_id[:6] + "********" + person_id[-4:]
    person = r.json()["id"]
    donor_user = await make_user("donor", donor_id=bank)
    assert (await w.get(f"/donors/{bank}", donor_user))["name"] == "示范县农村商业银行"
    await w.get(f"/donors/{person}", donor_user, expect=403)
    await w.get(f"/donors/{person}/allocation-report", donor_user, expect=403)
    r = await client.post(
        f"{V1}/donors", json={"name": "x", "kind": "individual", "id_number": person_id}, headers=donor_user
    )
    assert r.status_code == 403


async def test_programme_rules_are_checked(client, make_user):
    w = await grant_world(client, make_user)
    r = await w.post("/programs", {"name": "坏规则", "funding": "social", "rule": {"type": "by_level", "amounts": {}}})
    assert r.status_code == 422 and r.json()["field"] == "rule"
    p = await w.program(quota=100, budget="500000.00", once_only=True, family="市政府特困大学生救助")
    assert p["rule"]["amounts"]["undergraduate"] == "3000.00" and p["budget"] == "500000.00"
    assert p["notice_days"] == 7 and p["pooling"] == "fifo" and p["family"] == "市政府特困大学生救助"


async def test_receipt_numbers_are_gapless_per_year_even_when_a_donation_fails(client, make_user, sessions):
    w = await grant_world(client, make_user)
    donor, program = await w.donor(), (await w.program(funding="social", name="金秋助学"))["id"]
    first = await w.donate(donor, program, "10000.00", "2025-03-01")
    second = await w.donate(donor, program, "5000.00", "2025-12-31")
    assert (first["receipt_no"], second["receipt_no"]) == ("JZ-2025-000001", "JZ-2025-000002")
    # a refused donation (reference already recorded) takes no number
    r = await w.post(
        "/donations",
        {
            "donor_id": donor,
            "program_id": program,
            "amount": "1.00",
            "received_on": "2025-06-01",
            "method": "cash",
            "reference": first["reference"],
        },
    )
    assert r.status_code == 409 and r.json()["field"] == "reference"
    r = await w.post(
        "/donations",
        {
            "donor_id": donor,
            "program_id": program,
            "amount": "0.00",
            "received_on": "2025-06-01",
            "method": "cash",
            "reference": "NEW1",
        },
    )
    assert r.status_code == 422
    third = await w.donate(donor, program, "1.00", "2025-06-01")
    assert third["receipt_no"] == "JZ-2025-000003"
    assert (await w.donate(donor, program, "2.00", "2026-01-02"))["receipt_no"] == "JZ-2026-000001"
    async with sessions() as s:
        counters = {(c.year, c.last_seq) for c in (await s.scalars(select(ReceiptCounter))).all()}
        assert counters == {(2025, 3), (2026, 1)}
        assert await s.scalar(select(func.count()).select_from(Funding)) == 4


async def test_idempotency_key_returns_the_first_answer(client, make_user, sessions):
    w = await grant_world(client, make_user)
    donor, program = await w.donor(), (await w.program(funding="social"))["id"]
    body = {
        "donor_id": donor,
        "program_id": program,
        "amount": "800.00",
        "received_on": "2025-05-05",
        "method": "bank_transfer",
        "reference": "ICBC-1",
    }
    a = await w.post("/donations", body, expect=201, headers={"Idempotency-Key": "k-1"})
    b = await w.post("/donations", body, expect=201, headers={"Idempotency-Key": "k-1"})
    assert a.json() == b.json() and a.json()["receipt_no"] == "JZ-2025-000001"
    r = await w.post("/donations", {**body, "amount": "900.00"}, headers={"Idempotency-Key": "k-1"})
    assert r.status_code == 409
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Funding)) == 1


async def test_directed_donation_names_existing_students(client, make_user):
    w = await grant_world(client, make_user)
    donor, program = await w.donor(), (await w.program(funding="social"))["id"]
    d = await w.donate(donor, program, "3000.00", directed=[w.students["away"]])
    assert d["directed_student_ids"] == [w.students["away"]] and d["unallocated"] == "3000.00"
    r = await w.donate(donor, program, "3000.00", directed=[999999], expect=422)
    assert r["missing"] == [999999]


async def test_appropriations_one_document_funds_several_programmes(client, make_user):
    w = await grant_world(client, make_user)
    gov1, gov2 = (await w.program())["id"], (await w.program(name="新生入学资助"))["id"]
    social = (await w.program(name="社会捐赠", funding="social"))["id"]
    doc = "X教秘[2025]82号"
    for pid in (gov1, gov2):
        r = await w.post(
            "/appropriations",
            {"program_id": pid, "amount": "198000.00", "document_no": doc, "received_on": "2025-07-01"},
            expect=201,
        )
        assert r.json()["kind"] == "appropriation" and r.json()["document_no"] == doc
    r = await w.post(
        "/appropriations", {"program_id": gov1, "amount": "1.00", "document_no": doc, "received_on": "2025-07-02"}
    )
    assert r.status_code == 409
    r = await w.post(
        "/appropriations", {"program_id": social, "amount": "1.00", "document_no": "Y号", "received_on": "2025-07-02"}
    )
    assert r.status_code == 422
    listed = await w.get("/appropriations", program_id=gov2)
    assert listed["total"] == 1


async def test_receipt_json_and_public_verification(client, make_user):
    w = await grant_world(client, make_user)
    donor, program = await w.donor(), (await w.program(funding="social", name="草原情"))["id"]
    d = await w.donate(donor, program, "77500.00")
    receipt = await w.get(f"/receipts/{d['receipt_no']}")
    assert receipt["amount_in_words"] == "柒万柒仟伍佰元整" and receipt["program"] == "草原情"
    assert receipt["method"] == "银行转账" and receipt["status"] == "issued"
    r = await client.get(f"{V1}/receipts/verify/{receipt['verify_code']}")  # no sign-in
    assert r.status_code == 200
    assert r.json() == {
        "receipt_no": d["receipt_no"],
        "issued_on": "2025-08-01",
        "donor": "示*******行",
        "amount": "77500.00",
        "status": "issued",
    }
    assert (await client.get(f"{V1}/receipts/verify/AAAA-BBBB-CCCC")).status_code == 404
    for short in (f"/V/{receipt['verify_code']}", f"/V/{receipt['verify_code'].lower()}"):  # what the QR code holds
        r = await client.get(short, follow_redirects=False)
        assert r.status_code in (302, 307) and r.headers["location"] == f"{V1}/receipts/verify/{receipt['verify_code']}"
        assert (await client.get(short, follow_redirects=True)).json()["receipt_no"] == d["receipt_no"]
    other = await make_user("donor", donor_id=donor + 1)
    await w.get(f"/receipts/{d['receipt_no']}", other, expect=403)
    own = await make_user("donor", donor_id=donor)
    assert (await w.get("/donations", own))["total"] == 1
    assert (await w.get("/donations", other))["total"] == 0
