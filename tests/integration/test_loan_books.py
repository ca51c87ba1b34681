"""Disbursement puts the contract on the books: a balanced ledger entry and the stored schedule."""

from __future__ import annotations

from decimal import Decimal

import time_machine
from sqlalchemy import func, select

from loans.models import LedgerLine
from tests.integration.loan_fixtures import loan_world


async def _disbursed(client, make_user):
    w = await loan_world(client, make_user)
    c = await w.contract("ug", 2024, "2024-11-20")  # LPR 3.60 − 70 bp = 2.90
    no = c["contract_no"]
    await client.post(f"/api/v1/loan-contracts/{no}/receipt", json={"amount": "6000.00"}, headers=w.officer)
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/disburse", json={"disbursed_on": "2024-12-01"}, headers=w.officer
    )
    assert r.status_code == 200, r.text
    return w, no


async def test_disbursement_entry_balances_and_is_the_outstanding_principal(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    assert [e["kind"] for e in led["entries"]] == ["disbursement"]
    lines = led["entries"][0]["lines"]
    assert {(l["account"], l["debit"], l["credit"]) for l in lines} == {
        ("principal", "20000.00", "0.00"),
        ("cash", "0.00", "20000.00"),
    }
    assert led["balances"] == {"principal": "20000.00", "cash": "-20000.00"}
    contract = (await client.get(f"/api/v1/loan-contracts/{no}", headers=w.officer)).json()
    assert contract["outstanding_principal"] == "20000.00"
    async with sessions() as s:  # every entry balances: the whole ledger sums to zero
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0


async def test_stored_schedule_follows_the_contract(client, make_user):
    w, no = await _disbursed(client, make_user)
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()
    lines = sched["lines"]
    assert sched["totals"]["principal"] == "20000.00"
    first = lines[0]
    assert (first["due_on"], first["payer"], first["days"]) == ("2024-12-20", "government", 19)
    # 20000 × 2.90% × 19 / 365 = 30.19
    assert first["interest"] == "30.19"
    # the subsidy ends 2028-08-31: the 2028 settlement is split between the two payers
    split = [l for l in lines if l["due_on"] == "2028-12-20"]
    assert {l["payer"] for l in split} == {"government", "borrower"}
    principal_lines = [l for l in lines if Decimal(l["principal"]) > 0]
    assert principal_lines[0]["due_on"] == "2033-12-20" and principal_lines[-1]["due_on"] == "2043-09-20"
    assert all(l["payer"] == "borrower" for l in principal_lines)
    assert sum(Decimal(l["principal"]) for l in lines) == Decimal("20000.00")


async def test_repayment_before_anything_is_due_is_credit(client, make_user):
    w, no = await _disbursed(client, make_user)
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments",
        headers={**w.officer, "Idempotency-Key": "k1"},
        json={"amount": "300.00", "paid_on": "2025-03-01", "reference": "BANK-0001"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["allocated"] == {"penalty": "0.00", "interest": "0.00", "principal": "0.00"}
    assert body["credit"] == "300.00"
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    # the government's interest of 2024-12-20 was recognised; the borrower owed nothing yet
    assert [e["kind"] for e in led["entries"]] == ["disbursement", "subsidy", "repayment"]
    assert led["balances"]["suspense"] == "-300.00" and led["balances"]["principal"] == "20000.00"


async def test_idempotency_key_and_bank_reference(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)
    body = {"amount": "300.00", "paid_on": "2025-03-01", "reference": "BANK-0002"}
    first = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments", json=body, headers={**w.officer, "Idempotency-Key": "same"}
    )
    again = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments", json=body, headers={**w.officer, "Idempotency-Key": "same"}
    )
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other_body = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments",
        json={**body, "amount": "301.00"},
        headers={**w.officer, "Idempotency-Key": "same"},
    )
    assert other_body.status_code == 409 and other_body.json()["type"] == "/problems/idempotency-key-reused"
    other_key = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments", json=body, headers={**w.officer, "Idempotency-Key": "another"}
    )
    assert other_key.status_code == 409 and other_key.json()["field"] == "reference"
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    assert [e["kind"] for e in led["entries"]].count("repayment") == 1
    async with sessions() as s:
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0


@time_machine.travel("2029-01-05 09:00 +08:00")  # paid on 2028-12-20: a day that has come
async def test_repayment_pays_due_interest_in_order(client, make_user):
    w, no = await _disbursed(client, make_user)
    # 2029-12-20: the borrower owes that year's interest (after the subsidy ended 2028-08-31)
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    due_2028 = next(l for l in sched if l["due_on"] == "2028-12-20" and l["payer"] == "borrower")
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments",
        headers=w.officer,
        json={"amount": "1000.00", "paid_on": "2028-12-20", "reference": "BANK-0003"},
    )
    body = r.json()
    assert body["allocated"]["interest"] == due_2028["interest"]
    assert Decimal(body["credit"]) == Decimal("1000.00") - Decimal(due_2028["interest"])
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    assert next(l for l in sched if l["due_on"] == "2028-12-20" and l["payer"] == "borrower")["status"] == "paid"


async def test_settlement_quote(client, make_user):
    w, no = await _disbursed(client, make_user)
    early = (
        await client.get(
            f"/api/v1/loan-contracts/{no}/settlement-quote", params={"as_of": "2026-03-01"}, headers=w.officer
        )
    ).json()
    # before the subsidy ends, settling costs only the principal
    assert early["total"] == "20000.00" and early["accrued_interest"] == "0.00"
    assert early["execution_date"] == "2026-03-20"
    late = (
        await client.get(
            f"/api/v1/loan-contracts/{no}/settlement-quote", params={"as_of": "2028-10-01"}, headers=w.officer
        )
    ).json()
    assert Decimal(late["accrued_interest"]) > 0 and late["execution_date"] == "2028-10-20"
    assert Decimal(late["total"]) == Decimal("20000.00") + Decimal(late["accrued_interest"])
