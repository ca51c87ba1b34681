"""The nightly batch: interest recognised on its date, lines due and overdue, contracts moving on;
catch-up of missed days; a second run for the same date changes nothing."""

from __future__ import annotations

import time_machine
from sqlalchemy import func, select

from loans.models import LedgerLine
from tests.integration.test_loan_books import _disbursed


async def _run(client, headers, as_of):
    r = await client.post("/api/v1/batch/close-of-business", json={"as_of": as_of}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@time_machine.travel("2029-01-05 09:00 +08:00")
async def test_batch_moves_a_contract_through_its_life(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)  # disbursed 2024-12-01, subsidy ends 2028-08-31
    first = await _run(client, w.officer, "2024-12-20")
    assert first["days_run"] == ["2024-12-20"] and first["interest_entries"] == 1  # the subsidy of 2024
    again = await _run(client, w.officer, "2024-12-20")
    assert again["days_run"] == [] and again["interest_entries"] == 0
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    assert [e["kind"] for e in led["entries"]] == ["disbursement", "subsidy"]
    # catch up to the day after the 2028 settlement: the borrower's first interest is overdue
    report = await _run(client, w.officer, "2028-12-21")
    assert len(report["days_run"]) > 1400
    assert report["status_changes"] == {"in_school->grace": 1, "grace->overdue": 1}
    contract = (await client.get(f"/api/v1/loan-contracts/{no}", headers=w.officer)).json()
    assert contract["status"] == "overdue"
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    assert next(l for l in sched if l["due_on"] == "2028-12-20" and l["payer"] == "borrower")["status"] == "overdue"
    # paying it clears the overdue at the next run
    owed = next(l for l in sched if l["due_on"] == "2028-12-20" and l["payer"] == "borrower")["interest"]
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments",
        headers=w.officer,
        json={"amount": owed, "paid_on": "2028-12-21", "reference": "BANK-9"},
    )
    assert r.json()["allocated"]["interest"] == owed
    report = await _run(client, w.officer, "2028-12-22")
    assert report["status_changes"] == {"overdue->grace": 1}
    async with sessions() as s:
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0


@time_machine.travel("2026-11-29 10:00 +08:00")
async def test_future_business_date_is_refused(client, make_user):
    officer = await make_user("officer")
    r = await client.post("/api/v1/batch/close-of-business", json={"as_of": "2026-11-30"}, headers=officer)
    assert r.status_code == 422 and r.json()["field"] == "as_of"
    assert (
        await client.post(
            "/api/v1/batch/close-of-business", json={"as_of": "2026-11-01"}, headers=await make_user("reviewer")
        )
    ).status_code == 403


@time_machine.travel("2026-11-29 09:00 +08:00")
async def test_batch_books_imported_contracts(client, make_user, sessions):
    from datetime import date

    from tests.integration.test_loan_import import row, setup, upload, workbook

    officer = await setup(client, make_user)
    r = await upload(client, officer, workbook([row(1), row(2, disbursed_on=None, receipt_amount=None)]))
    assert r.status_code == 200, r.text
    no = "150430-2024-000001"
    assert (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=officer)).json()["entries"] == []
    assert (await _run(client, officer, "2026-11-27"))["contracts_booked"] == 0  # not accepted yet: counts nowhere
    batch = r.json()["batch_id"]
    accepted = await client.post(f"/api/v1/loan-imports/batches/{batch}/accept", headers=await make_user("reviewer"))
    assert accepted.status_code == 200, accepted.text
    report = await _run(client, officer, "2026-11-28")
    assert report["contracts_booked"] == 1  # only the disbursed one
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=officer)).json()
    kinds = [e["kind"] for e in led["entries"]]
    assert kinds[0] == "disbursement" and kinds.count("subsidy") == 2  # 2024-12-20 and 2025-12-20
    assert led["balances"]["principal"] == "16000.00"
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=officer)).json()
    assert sched["totals"]["principal"] == "16000.00" and sched["lines"][0]["due_on"] == str(date(2024, 12, 20))
    assert (await _run(client, officer, "2026-11-29"))["contracts_booked"] == 0
    async with sessions() as s:
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0


@time_machine.travel("2034-01-10 09:00 +08:00")
async def test_penalty_on_overdue_principal(client, make_user, sessions):
    from decimal import ROUND_HALF_UP, Decimal

    w, no = await _disbursed(client, make_user)  # 2.90%, first principal 2033-12-20
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    first = next(l for l in sched if l["principal"] != "0.00")
    assert first["due_on"] == "2033-12-20"
    await _run(client, w.officer, "2033-12-21")
    report = await _run(client, w.officer, "2034-01-10")
    assert report["penalty_entries"] == 1
    led = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    # 21 days (2033-12-21 … 2034-01-10) on the unpaid instalment at 2.90% × 1.3, charged in two runs
    per_day = Decimal(first["principal"]) * Decimal("0.029") * Decimal("1.3") / 365
    one, twenty = (per_day * n for n in (1, 20))
    expected = sum(x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for x in (one, twenty))
    assert Decimal(led["balances"]["penalty"]) == expected
    # a payment pays the penalty first
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments",
        headers=w.officer,
        json={"amount": "5000.00", "paid_on": "2034-01-10", "reference": "BANK-P1"},
    )
    assert Decimal(r.json()["allocated"]["penalty"]) == expected
    async with sessions() as s:
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0
