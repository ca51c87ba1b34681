"""Issue 16, findings 3 and 12: every date on a money path is refused after the centre's today and before what
it belongs to (422 naming the field, nothing written), and a repayment pays at most what the contract owes plus
the credit setting. The clock is pinned: "today" is 2026-03-01 in the centre's zone."""

from __future__ import annotations

from datetime import date

import time_machine
from sqlalchemy import func, select

from donations.models import Funding, ReceiptCounter
from loans.models import LedgerEntry
from tests.integration.test_grant_payments import CARD, _world
from tests.integration.test_loan_books import _disbursed

TODAY = "2026-03-01 09:00 +08:00"
OUT = "/problems/date-out-of-range"


def _refused(r, field: str) -> dict:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["type"] == OUT and body["field"] == field, body
    return body


async def _entries(sessions) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(LedgerEntry)))


@time_machine.travel(TODAY)
async def test_repayment_dates_between_disbursement_and_today(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)  # disbursed 2024-12-01
    url = f"/api/v1/loan-contracts/{no}/repayments"
    before = await _entries(sessions)
    for n, (paid_on, bound) in enumerate(
        (("9999-12-31", "latest"), ("2026-03-02", "latest"), ("2024-11-30", "earliest"), ("0001-01-01", "earliest"))
    ):
        body = {"amount": "300.00", "paid_on": paid_on, "reference": f"BAD-{n}"}
        got = _refused(await client.post(url, json=body, headers=w.officer), "paid_on")
        assert got[bound] == ("2026-03-01" if bound == "latest" else "2024-12-01")
    assert await _entries(sessions) == before  # nothing booked (no interest recognised to 2045)
    ok = await client.post(
        url, json={"amount": "300.00", "paid_on": "2026-03-01", "reference": "OK-1"}, headers=w.officer
    )
    assert ok.status_code == 201, ok.text


@time_machine.travel(TODAY)
async def test_reversal_prepayment_and_quote_dates(client, make_user):
    w, no = await _disbursed(client, make_user)
    base = f"/api/v1/loan-contracts/{no}"
    paid = await client.post(
        f"{base}/repayments", json={"amount": "300.00", "paid_on": "2026-02-01", "reference": "R-1"}, headers=w.officer
    )
    entry = paid.json()["id"]
    for on in ("9999-12-31", "2026-01-31"):  # after today; before the repayment it reverses
        r = await client.post(
            f"{base}/repayments/{entry}/reverse", json={"reason": "退票", "reversed_on": on}, headers=w.officer
        )
        _refused(r, "reversed_on")
    r = await client.post(
        f"{base}/prepayment-requests", json={"requested_on": "9999-12-31", "full": True}, headers=w.officer
    )
    _refused(r, "requested_on")
    # a quote may look ahead, up to the maturity, never to 9999 (that was a 500)
    contract = (await client.get(base, headers=w.officer)).json()
    maturity = contract["maturity_date"]
    assert (
        await client.get(f"{base}/settlement-quote", params={"as_of": maturity}, headers=w.officer)
    ).status_code == 200
    for as_of in ("9999-12-31", "2024-11-30"):
        _refused(await client.get(f"{base}/settlement-quote", params={"as_of": as_of}, headers=w.officer), "as_of")
    r = await client.post(f"{base}/repayments/{entry}/reverse", json={"reason": "退票"}, headers=w.officer)
    assert r.status_code == 201 and r.json()["posted_on"] == "2026-03-01"


@time_machine.travel(TODAY)
async def test_signing_and_disbursement_not_after_today(client, make_user):
    w, _ = await _disbursed(client, make_user)
    app = await w.apply("ug", 2025)
    await client.post(f"/api/v1/loan-applications/{app['id']}/approve", headers=w.reviewer)
    url = f"/api/v1/loan-applications/{app['id']}/contract"
    _refused(await client.post(url, json={"signed_on": "2026-03-02"}, headers=w.officer), "signed_on")
    r = await client.post(url, json={"signed_on": "2025-09-15"}, headers=w.officer)
    assert r.status_code == 201, r.text
    no = r.json()["contract_no"]
    await client.post(f"/api/v1/loan-contracts/{no}/receipt", json={"amount": "6000.00"}, headers=w.officer)
    for on in ("9999-12-31", "2025-09-14"):  # after today; before signing
        r = await client.post(f"/api/v1/loan-contracts/{no}/disburse", json={"disbursed_on": on}, headers=w.officer)
        _refused(r, "disbursed_on")
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/disburse", json={"disbursed_on": "2025-11-20"}, headers=w.officer
    )
    assert r.status_code == 200, r.text


@time_machine.travel(TODAY)
async def test_subsidy_settlement_and_study_extension_not_after_today(client, make_user):
    w, _ = await _disbursed(client, make_user)
    r = await client.post(
        "/api/v1/subsidy-settlements",
        json={"year": 2025, "amount": "1.00", "reference": "GOV-1", "settled_on": "9999-12-31"},
        headers=w.officer,
    )
    _refused(r, "settled_on")
    r = await client.post(
        f"/api/v1/students/{w.students['ug']}/study-extension",
        json={"new_graduation": "2031-06-30", "reason": "考取研究生", "on": "2026-03-02"},
        headers=w.officer,
    )
    _refused(r, "on")
    r = await client.post(
        f"/api/v1/students/{w.students['ug']}/study-extension",
        json={"new_graduation": "9999-06-30", "reason": "x"},
        headers=w.officer,
    )
    assert r.status_code == 422 and r.json()["field"] == "new_graduation", r.text
    r = await client.post("/api/v1/batch/close-of-business", json={"as_of": "9999-12-31"}, headers=w.officer)
    _refused(r, "as_of")


@time_machine.travel(TODAY)
async def test_repayment_at_most_what_is_owed_plus_the_credit_setting(client, make_user):
    w, no = await _disbursed(client, make_user)  # 20,000.00 outstanding, nothing due before 2028 for the borrower
    url = f"/api/v1/loan-contracts/{no}/repayments"

    async def pay(amount: str, ref: str):
        return await client.post(
            url, json={"amount": amount, "paid_on": "2026-03-01", "reference": ref}, headers=w.officer
        )

    r = await pay("999999999999.99", "BIG-1")
    assert r.status_code == 422 and r.json()["field"] == "amount", r.text
    assert (r.json()["maximum"], r.json()["max_credit"]) == ("21000.00", "1000.00")
    assert (await pay("21000.01", "BIG-2")).status_code == 422
    r = await pay("21000.00", "BIG-3")
    assert r.status_code == 201 and r.json()["credit"] == "21000.00", r.text
    r = await pay("0.01", "BIG-4")  # the credit already held counts
    assert r.status_code == 422 and r.json()["maximum"] == "0.00", r.text


@time_machine.travel("2025-12-01 09:00 +08:00")
async def test_donation_appropriation_and_award_dates(client, make_user, sessions):
    w, donor, p, _d, by = await _world(client, make_user)  # donations of July-August 2025, awards 2025-09-08
    for n, on in enumerate(("9999-12-31", "0001-01-01", "2025-12-02", "2006-12-31")):
        r = await w.post(
            "/donations",
            {
                "donor_id": donor,
                "program_id": p,
                "amount": "100.00",
                "received_on": on,
                "method": "cash",
                "reference": f"D-{n}",
            },
        )
        _refused(r, "received_on")
    gov = (await w.program(name="新生入学资助"))["id"]
    r = await w.post(
        "/appropriations",
        {"program_id": gov, "amount": "100.00", "document_no": "X[2025]1号", "received_on": "9999-12-31"},
    )
    _refused(r, "received_on")
    async with sessions() as s:  # no receipt numbered in 9999 or 0001, no money recorded
        years = set((await s.scalars(select(ReceiptCounter.year))).all())
        assert years == {2025}
        assert (
            await s.scalar(select(func.count()).select_from(Funding).where(Funding.received_on > date(2025, 12, 1)))
            == 0
        )
    for on in ("9999-12-31", "2025-09-07"):  # after today; before the award was decided
        r = await w.post(f"/awards/{by['ug']}/pay", {"paid_on": on, "reference": f"P-{on}", "bank_card": CARD})
        _refused(r, "paid_on")
    await w.pay(by["ug"], paid_on="2025-10-10", bank_card=CARD)
    r = await w.post(f"/awards/{by['ug']}/acknowledge", {"acknowledged_on": "9999-12-31"})
    _refused(r, "acknowledged_on")
    for on in ("9999-12-31", "2025-10-09"):  # after today; before the payment it takes back
        r = await w.post(f"/awards/{by['ug']}/revoke", {"reason": "比对不符", "revoked_on": on}, w.reviewer)
        _refused(r, "revoked_on")
    r = await w.post(f"/awards/{by['ug']}/revoke", {"reason": "比对不符", "revoked_on": "2025-11-01"}, w.reviewer)
    assert r.status_code == 200, r.text
