"""Graduates: my contracts, contact updates, graduation confirmation reviewed by the school, and a
study extension that keeps the subsidy going and moves principal later."""

from __future__ import annotations

import time_machine

from tests.integration.test_loan_books import _disbursed


async def test_graduate_sees_own_contracts_and_updates_contact(client, make_user):
    w, no = await _disbursed(client, make_user)
    me = await make_user("graduate", student_id=w.students["ug"])
    mine = (await client.get("/api/v1/me/contracts", headers=me)).json()
    assert [c["contract"]["contract_no"] for c in mine] == [no]
    assert mine[0]["next_due_on"] == "2028-12-20" and "支付宝" in mine[0]["how_to_pay"]
    r = await client.put(
        "/api/v1/me/contact", json={"phone": "13700001234", "address": "呼和浩特市新城区 1 号"}, headers=me
    )
    assert r.status_code == 200 and r.json()["phone"] == "137****1234"
    bad = await client.put("/api/v1/me/contact", json={"phone": "123", "address": "x"}, headers=me)
    assert bad.status_code == 422 and bad.json()["field"] == "phone"
    # another role cannot use me/, and a graduate cannot reach staff lists
    assert (await client.get("/api/v1/me/contracts", headers=w.officer)).status_code == 403
    assert (await client.get("/api/v1/students", headers=me)).status_code == 403


async def test_graduation_confirmation_reviewed_by_own_school(client, make_user):
    w, _ = await _disbursed(client, make_user)
    me = await make_user("graduate", student_id=w.students["ug"])
    r = await client.post(
        "/api/v1/me/graduation-confirmation",
        headers=me,
        json={"employer": "赤峰市某公司", "phone": "13600005678", "address": "赤峰市红山区"},
    )
    assert r.status_code == 201 and r.json()["status"] == "submitted"
    item = r.json()["id"]
    again = await client.post(
        "/api/v1/me/graduation-confirmation", headers=me, json={"employer": "x", "phone": "13600005678", "address": "y"}
    )
    assert again.status_code == 422
    other = await make_user("school", university_code="10027")
    assert (await client.get("/api/v1/graduation-confirmations", headers=other)).json() == []
    assert (
        await client.post(f"/api/v1/graduation-confirmations/{item}/review", json={"approved": True}, headers=other)
    ).status_code == 403
    school = await make_user("school", university_code="10126")
    r = await client.post(f"/api/v1/graduation-confirmations/{item}/review", json={"approved": True}, headers=school)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    student = (await client.get(f"/api/v1/students/{w.students['ug']}", headers=w.officer)).json()
    assert student["phone"] == "136****5678"


@time_machine.travel("2028-07-02 09:00 +08:00")  # the extension takes effect on 2028-07-01: a day that has come
async def test_study_extension_moves_the_subsidy_end_and_principal(client, make_user):
    w, no = await _disbursed(client, make_user)  # graduating 2028, subsidy to 2028-08-31
    r = await client.post(
        f"/api/v1/students/{w.students['ug']}/study-extension",
        headers=w.officer,
        json={"new_graduation": "2031-06-30", "reason": "考取研究生", "on": "2028-07-01"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["contracts"] == [no]
    contract = (await client.get(f"/api/v1/loan-contracts/{no}", headers=w.officer)).json()
    assert contract["subsidy_end"] == "2031-08-31"
    lines = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    # the state pays all of 2028..2030 now; principal starts five years after the new graduation
    assert not [l for l in lines if l["payer"] == "borrower" and l["due_on"] < "2031-12-20"]
    assert min(l["due_on"] for l in lines if l["principal"] != "0.00") == "2036-12-20"
    assert len({(l["due_on"], l["payer"]) for l in lines}) == len(lines)  # no line twice
    earlier = await client.post(
        f"/api/v1/students/{w.students['ug']}/study-extension",
        headers=w.officer,
        json={"new_graduation": "2027-06-30", "reason": "x"},
    )
    assert earlier.status_code == 422
