"""Servicing: held credit used by the batch, prepayment requests, reversals, penalty on overdue interest
(policy), collection attempts on the 20th."""

from __future__ import annotations

from decimal import Decimal

import time_machine
from sqlalchemy import func, select

from loans.models import CollectionAttempt, LedgerLine
from tests.integration.test_loan_books import _disbursed

Y = Decimal


async def _run(client, headers, as_of):
    r = await client.post("/api/v1/batch/close-of-business", json={"as_of": as_of}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _balanced(sessions):
    async with sessions() as s:
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0


async def _line(client, w, no, due_on, payer="borrower"):
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    return next(l for l in sched if l["due_on"] == due_on and l["payer"] == payer)


async def _pay(client, w, no, amount, paid_on, ref):
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments",
        headers=w.officer,
        json={"amount": amount, "paid_on": paid_on, "reference": ref},
    )
    assert r.status_code == 201, r.text
    return r.json()


@time_machine.travel("2029-01-05 09:00 +08:00")
async def test_held_credit_pays_the_next_due_date(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)
    assert (await _pay(client, w, no, "300.00", "2025-03-01", "BANK-C1"))["credit"] == "300.00"
    report = await _run(client, w.officer, "2028-12-20")
    assert report["credit_applied"] == 1
    line = await _line(client, w, no, "2028-12-20")
    assert line["status"] == "paid" and line["paid"] == line["interest"]
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    applied = [e for e in led["entries"] if e["kind"] == "credit_applied"]
    assert len(applied) == 1 and applied[0]["posted_on"] == "2028-12-20"
    assert Y(led["balances"]["suspense"]) == -(Y("300.00") - Y(line["interest"]))
    later = await _run(client, w.officer, "2028-12-21")
    assert later["lines_overdue"] == 0 and later["credit_applied"] == 0  # nothing more is due
    await _balanced(sessions)


@time_machine.travel("2034-04-01 09:00 +08:00")
async def test_partial_prepayment_recomputes_the_schedule(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)
    url = f"/api/v1/loan-contracts/{no}/prepayment-requests"
    small = await client.post(url, json={"amount": "400.00", "requested_on": "2034-03-10"}, headers=w.officer)
    assert small.status_code == 422 and small.json()["minimum"] == "500.00"
    both = await client.post(
        url, json={"amount": "600.00", "full": True, "requested_on": "2034-03-10"}, headers=w.officer
    )
    assert both.status_code == 422
    r = await client.post(url, json={"amount": "5000.00", "requested_on": "2034-03-10"}, headers=w.officer)
    assert r.status_code == 201, r.text
    assert r.json()["execute_on"] == "2034-03-20" and r.json()["status"] == "pending"
    again = await client.post(url, json={"amount": "600.00", "requested_on": "2034-03-11"}, headers=w.officer)
    assert again.status_code == 409
    before = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    report = await _run(client, w.officer, "2034-03-20")
    assert report["prepayments_executed"] == 1
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    future = [Y(l["principal"]) for l in sched if l["due_on"] > "2034-03-20" and l["payer"] == "borrower"]
    assert sum(future) == Y("20000.00") - Y("1818.18") - Y("5000.00")
    assert len(set(future[:-1])) == 1 and future[-1] >= future[0]  # equal, residue last

    def past(lines):
        return [(l["due_on"], l["payer"], l["principal"], l["interest"]) for l in lines if l["due_on"] <= "2034-03-20"]

    assert past(sched) == past(before)
    # the interest of the period in which the prepayment was made is less than before, later ones too
    old_2034 = next(Y(l["interest"]) for l in before if l["due_on"] == "2034-12-20")
    new_2034 = next(Y(l["interest"]) for l in sched if l["due_on"] == "2034-12-20")
    assert new_2034 < old_2034
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    pre = next(e for e in led["entries"] if e["kind"] == "prepayment")
    assert {(l["account"], l["debit"], l["credit"]) for l in pre["lines"]} == {
        ("cash", "5000.00", "0.00"),
        ("principal", "0.00", "5000.00"),
    }
    assert led["balances"]["principal"] == "15000.00"
    listed = (await client.get(url, headers=w.officer)).json()
    assert listed[0]["status"] == "executed" and listed[0]["paid"] == "5000.00"
    await _balanced(sessions)


@time_machine.travel("2026-04-01 09:00 +08:00")
async def test_full_settlement_before_the_subsidy_end_costs_no_interest(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/prepayment-requests",
        json={"full": True, "requested_on": "2026-03-01"},
        headers=w.officer,
    )
    assert r.status_code == 201 and r.json()["execute_on"] == "2026-03-20"
    report = await _run(client, w.officer, "2026-03-20")
    assert report["prepayments_executed"] == 1
    contract = (await client.get(f"/api/v1/loan-contracts/{no}", headers=w.officer)).json()
    assert contract["status"] == "settled" and contract["outstanding_principal"] == "0.00"
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()
    assert sched["totals"]["borrower_interest"] == "0.00"
    last = sched["lines"][-1]
    # the state's interest from 2025-12-20 to the settlement day: 90 days on 20,000, 12 at 2.90% and, after
    # the repricing of 1 January (LPR 3.50 − 70 bp), 78 at 2.80%
    assert (last["due_on"], last["payer"], last["days"]) == ("2026-03-20", "government", 90)
    assert last["interest"] == "138.74"
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    pre = next(e for e in led["entries"] if e["kind"] == "prepayment")
    assert ("cash", "20000.00", "0.00") in {(l["account"], l["debit"], l["credit"]) for l in pre["lines"]}
    listed = (await client.get(f"/api/v1/loan-contracts/{no}/prepayment-requests", headers=w.officer)).json()
    assert listed[0]["paid"] == "20000.00"
    await _balanced(sessions)


@time_machine.travel("2029-01-05 09:00 +08:00")
async def test_reversal_restores_the_schedule(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)
    await _run(client, w.officer, "2028-12-20")
    line = await _line(client, w, no, "2028-12-20")
    paid = await _pay(client, w, no, line["interest"], "2028-12-20", "BANK-R1")
    assert (await _line(client, w, no, "2028-12-20"))["status"] == "paid"
    url = f"/api/v1/loan-contracts/{no}/repayments/{paid['id']}/reverse"
    assert (await client.post(url, json={"reason": "银行退票"}, headers=w.reviewer)).status_code == 403
    r = await client.post(url, json={"reason": "银行退票 bounced", "reversed_on": "2028-12-22"}, headers=w.officer)
    assert r.status_code == 201, r.text
    assert r.json()["reverses"] == paid["id"]
    restored = await _line(client, w, no, "2028-12-20")
    assert (restored["status"], restored["paid"]) == ("overdue", "0.00")
    assert (await client.post(url, json={"reason": "again"}, headers=w.officer)).status_code == 409
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    rev = next(e for e in led["entries"] if e["kind"] == "reversal")
    orig = next(e for e in led["entries"] if e["id"] == paid["id"])
    assert rev["reverses"] == paid["id"] and len(rev["lines"]) == len(orig["lines"])
    assert Y(led["balances"]["interest_borrower"]) == Y(line["interest"])
    assert (
        await client.post(
            f"/api/v1/loan-contracts/{no}/repayments/99999/reverse", json={"reason": "x"}, headers=w.officer
        )
    ).status_code == 404
    await _balanced(sessions)


@time_machine.travel("2029-01-05 09:00 +08:00")
async def test_reversal_refused_when_its_credit_was_used(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)
    paid = await _pay(client, w, no, "300.00", "2025-03-01", "BANK-R2")
    await _run(client, w.officer, "2028-12-20")  # the credit pays the 2028 interest
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments/{paid['id']}/reverse",
        json={"reason": "wrong contract"},
        headers=w.officer,
    )
    assert r.status_code == 422
    await _balanced(sessions)


async def _overdue_interest_penalty(client, make_user, sessions, on_interest: bool):
    w, no = await _disbursed(client, make_user)
    if on_interest:
        admin = await make_user("admin")
        r = await client.post(
            "/api/v1/loan-policy",
            headers=admin,
            json={"kind": "penalty_on_interest", "effective_from": "2028-01-01", "value": "true", "source": "test"},
        )
        assert r.status_code == 201, r.text
    await _run(client, w.officer, "2028-12-21")
    report = await _run(client, w.officer, "2029-01-10")
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    await _balanced(sessions)
    return report, led, await _line(client, w, no, "2028-12-20")


@time_machine.travel("2029-01-15 09:00 +08:00")
async def test_no_penalty_on_overdue_interest_by_default(client, make_user, sessions):
    report, led, _ = await _overdue_interest_penalty(client, make_user, sessions, False)
    assert report["penalty_entries"] == 0 and "penalty" not in led["balances"]


@time_machine.travel("2029-01-15 09:00 +08:00")
async def test_penalty_on_overdue_interest_when_the_policy_says_so(client, make_user, sessions):
    from decimal import ROUND_HALF_UP

    report, led, line = await _overdue_interest_penalty(client, make_user, sessions, True)
    assert report["penalty_entries"] == 1
    per_day = Y(line["interest"]) * Y("0.029") * Y("1.3") / 365
    expected = sum((per_day * n).quantize(Y("0.01"), rounding=ROUND_HALF_UP) for n in (1, 20))
    assert Y(led["balances"]["penalty"]) == expected


@time_machine.travel("2030-01-05 09:00 +08:00")
async def test_collection_attempts_on_the_20th_except_november(client, make_user, sessions):
    w, _no = await _disbursed(client, make_user)
    await _run(client, w.officer, "2028-12-21")
    jan = await _run(client, w.officer, "2029-01-20")
    assert jan["collection_attempts"] == {"2029-01-20": 1}
    rest = await _run(client, w.officer, "2029-12-19")  # catch-up over February … December
    assert set(rest["collection_attempts"]) == {f"2029-{m:02d}-20" for m in range(2, 12) if m != 11}
    async with sessions() as s:
        attempts = (await s.scalars(select(CollectionAttempt).order_by(CollectionAttempt.collect_on))).all()
    assert len(attempts) == 10 and attempts[0].oldest_due_on.isoformat() == "2028-12-20"
    assert all(a.overdue_interest > 0 and a.overdue_principal == 0 for a in attempts)
