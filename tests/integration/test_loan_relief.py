"""Relief measures: applied to a cohort by a reviewer, moving a year's interest to the state and its
principal one year on, waiving the penalty; reversed exactly; the ledger balanced throughout."""

from __future__ import annotations

from decimal import Decimal

import time_machine
from sqlalchemy import func, select

from loans.models import LedgerLine
from tests.integration.test_loan_books import _disbursed

Y = Decimal


async def _run(client, headers, as_of):
    r = await client.post("/api/v1/batch/close-of-business", json={"as_of": as_of}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _lines(client, w, no):
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    return {(l["due_on"], l["payer"]): l for l in sched}


async def _ledger(client, w, no):
    return (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()


async def _balanced(sessions):
    async with sessions() as s:
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0


@time_machine.travel("2034-01-12 09:00 +08:00")
async def test_relief_applied_and_reversed(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)  # graduates 2028; first principal 2033-12-20
    await _run(client, w.officer, "2033-12-21")
    await _run(client, w.officer, "2034-01-10")  # penalty on the 2033 instalment
    before = await _lines(client, w, no)
    led0 = await _ledger(client, w, no)
    assert Y(led0["balances"]["penalty"]) > 0
    line = before[("2033-12-20", "borrower")]
    r = await client.post(
        "/api/v1/loan-reliefs", json={"year": 2033, "source": "教育部等 2033 年减免通知"}, headers=w.officer
    )
    assert r.status_code == 201, r.text
    relief = r.json()
    assert (relief["status"], relief["graduated_by"]) == ("proposed", 2033)
    url = f"/api/v1/loan-reliefs/{relief['id']}"
    assert (await client.post(f"{url}/approve", json={}, headers=w.officer)).status_code == 403
    applied = await client.post(f"{url}/approve", json={"on": "2034-01-10"}, headers=w.reviewer)
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["status"] == "applied" and body["contracts"] == 1
    assert body["interest_moved"] == line["interest"] and body["principal_deferred"] == line["principal"]
    assert body["penalty_waived"] == led0["balances"]["penalty"]
    after = await _lines(client, w, no)
    relieved = after[("2033-12-20", "borrower")]
    assert (relieved["interest"], relieved["principal"], relieved["status"]) == ("0.00", "0.00", "paid")
    assert after[("2033-12-20", "government")]["interest"] == line["interest"]
    assert Y(after[("2034-12-20", "borrower")]["principal"]) == 2 * Y(line["principal"])
    led = await _ledger(client, w, no)
    assert "penalty" not in led["balances"]
    rel = next(e for e in led["entries"] if e["kind"] == "relief")
    assert ("interest_government", line["interest"], "0.00") in {
        (l["account"], l["debit"], l["credit"]) for l in rel["lines"]
    }
    gained = Y(led["balances"]["interest_government"]) - Y(led0["balances"]["interest_government"])
    assert gained == Y(line["interest"])
    await _balanced(sessions)
    assert (await client.post(f"{url}/approve", json={}, headers=w.reviewer)).status_code == 409
    # reversed: everything as before, by new entries
    back = await client.post(f"{url}/reverse", json={"reason": "通知撤回", "on": "2034-01-11"}, headers=w.officer)
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "reversed"
    restored = await _lines(client, w, no)
    for key in (("2033-12-20", "borrower"), ("2034-12-20", "borrower")):
        assert (restored[key]["interest"], restored[key]["principal"]) == (
            before[key]["interest"],
            before[key]["principal"],
        )
    assert restored[("2033-12-20", "borrower")]["status"] == "overdue"
    assert restored[("2033-12-20", "government")]["interest"] == "0.00"
    led2 = await _ledger(client, w, no)
    assert led2["balances"]["penalty"] == led0["balances"]["penalty"]
    assert next(e for e in led2["entries"] if e["kind"] == "reversal")["reverses"] == rel["id"]
    await _balanced(sessions)
    assert (await client.post(f"{url}/reverse", json={"reason": "again"}, headers=w.officer)).status_code == 409
    listed = (await client.get("/api/v1/loan-reliefs", headers=w.reviewer)).json()
    assert [x["status"] for x in listed] == ["reversed"]


@time_machine.travel("2036-01-12 09:00 +08:00")
async def test_relief_of_a_year_not_yet_due(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)
    await _run(client, w.officer, "2035-06-30")
    before = await _lines(client, w, no)
    r = await client.post(
        "/api/v1/loan-reliefs", json={"year": 2035, "source": "2035 年减免", "graduated_by": 2030}, headers=w.officer
    )
    out = await client.post(
        f"/api/v1/loan-reliefs/{r.json()['id']}/approve", json={"on": "2035-07-01"}, headers=w.reviewer
    )
    assert out.json()["contracts"] == 1 and out.json()["penalty_waived"] == "0.00"
    assert "relief" not in [e["kind"] for e in (await _ledger(client, w, no))["entries"]]  # nothing recognised yet
    await _run(client, w.officer, "2035-12-21")
    led = await _ledger(client, w, no)
    subsidy = [e for e in led["entries"] if e["kind"] == "subsidy" and e["posted_on"] == "2035-12-20"]
    assert len(subsidy) == 1 and subsidy[0]["lines"][0]["debit"] == before[("2035-12-20", "borrower")]["interest"]
    relieved = (await _lines(client, w, no))[("2035-12-20", "borrower")]
    assert relieved["status"] == "paid" and relieved["interest"] == relieved["principal"] == "0.00"
    await _balanced(sessions)
    # a cohort that graduated later is not touched
    r = await client.post(
        "/api/v1/loan-reliefs", json={"year": 2036, "source": "x", "graduated_by": 2027}, headers=w.officer
    )
    out = await client.post(
        f"/api/v1/loan-reliefs/{r.json()['id']}/approve", json={"on": "2036-01-01"}, headers=w.reviewer
    )
    assert out.json()["contracts"] == 0
