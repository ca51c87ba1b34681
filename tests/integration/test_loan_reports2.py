"""Aging, default rate, the subsidy bill and its settlement; every report as .xlsx with Chinese headers."""

from __future__ import annotations

import io
from decimal import Decimal

import time_machine
from openpyxl import load_workbook
from sqlalchemy import func, select

from loans.models import LedgerLine
from tests.integration.loan_fixtures import loan_world

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _run(client, headers, as_of):
    r = await client.post("/api/v1/batch/close-of-business", json={"as_of": as_of}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _two_borrowers(client, make_user):
    """ug (内蒙古大学, graduates 2028) never pays; pg (北京师范大学, graduates 2027) pays each due date."""
    w = await loan_world(client, make_user)
    nos = {}
    for who in ("ug", "pg"):
        c = await w.contract(who, 2024, "2024-11-20")
        no = nos[who] = c["contract_no"]
        await client.post(f"/api/v1/loan-contracts/{no}/receipt", json={"amount": "6000.00"}, headers=w.officer)
        r = await client.post(
            f"/api/v1/loan-contracts/{no}/disburse", json={"disbursed_on": "2024-12-01"}, headers=w.officer
        )
        assert r.status_code == 200, r.text
    return w, nos


async def _pay_due(client, w, no, due_on, ref):
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    line = next(l for l in sched if l["due_on"] == due_on and l["payer"] == "borrower")
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments",
        headers=w.officer,
        json={"amount": line["interest"], "paid_on": due_on, "reference": ref},
    )
    assert r.status_code == 201, r.text
    return line


def _sheet(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


@time_machine.travel("2029-08-01 09:00 +08:00")
async def test_aging_and_default_rate(client, make_user, sessions):
    w, nos = await _two_borrowers(client, make_user)
    await _pay_due(client, w, nos["pg"], "2027-12-20", "PG-1")
    await _pay_due(client, w, nos["pg"], "2028-12-20", "PG-2")
    await _run(client, w.officer, "2028-12-21")
    ug_line = (await client.get(f"/api/v1/loan-contracts/{nos['ug']}/schedule", headers=w.officer)).json()["lines"]
    owed = next(l for l in ug_line if l["due_on"] == "2028-12-20" and l["payer"] == "borrower")["interest"]
    early = (await client.get("/api/v1/reports/aging", params={"as_of": "2029-01-10"}, headers=w.officer)).json()
    assert [r["bucket"] for r in early["rows"]] == ["1-30", "31-90", "91-180", "181-365", "over-365"]
    assert early["rows"][0] == {
        "bucket": "1-30",
        "label": "1–30天",
        "contracts": 1,
        "principal": "0.00",
        "interest": owed,
    }
    late = (await client.get("/api/v1/reports/aging", params={"as_of": "2029-06-30"}, headers=w.officer)).json()
    assert [r["contracts"] for r in late["rows"]] == [0, 0, 0, 1, 0] and late["total"]["interest"] == owed
    by_uni = (
        await client.get(
            "/api/v1/reports/default-rate", params={"by": "university", "as_of": "2029-01-10"}, headers=w.officer
        )
    ).json()
    rows = {r["group"]: r for r in by_uni["rows"]}
    assert rows["10126"]["borrower_rate"] == "100.00" and rows["10126"]["label"] == "内蒙古大学"
    assert rows["10027"]["borrower_rate"] == "0.00" and rows["10027"]["amount_rate"] is None  # no principal due
    assert by_uni["total"]["borrowers"] == 2 and by_uni["total"]["borrower_rate"] == "50.00"
    for by in ("county", "graduation_year", "contract_year"):
        r = await client.get(
            "/api/v1/reports/default-rate", params={"by": by, "as_of": "2029-01-10"}, headers=w.officer
        )
        assert r.status_code == 200 and r.json()["total"]["defaulting"] == 1
    years = {
        r["group"]: r
        for r in (
            await client.get(
                "/api/v1/reports/default-rate",
                params={"by": "graduation_year", "as_of": "2029-01-10"},
                headers=w.officer,
            )
        ).json()["rows"]
    }
    assert years["2028"]["defaulting"] == 1 and years["2027"]["defaulting"] == 0
    assert (
        await client.get("/api/v1/reports/default-rate", params={"by": "planet"}, headers=w.officer)
    ).status_code == 400
    xl = await client.get("/api/v1/reports/aging", params={"as_of": "2029-01-10", "format": "xlsx"}, headers=w.officer)
    assert xl.status_code == 200 and xl.headers["content-type"].startswith(XLSX)
    rows = _sheet(xl.content)
    assert rows[1] == ("账龄", "账龄（天）", "逾期合同数", "逾期本金（元）", "逾期利息（元）")
    assert Decimal(str(rows[2][4])) == Decimal(owed)
    xl = await client.get(
        "/api/v1/reports/default-rate",
        params={"by": "county", "format": "xlsx", "as_of": "2029-01-10"},
        headers=w.officer,
    )
    assert _sheet(xl.content)[1][0] == "户籍县" and _sheet(xl.content)[-1][1] == "合计"


@time_machine.travel("2026-03-01 09:00 +08:00")
async def test_subsidy_bill_and_settlement(client, make_user, sessions):
    w, nos = await _two_borrowers(client, make_user)
    await _run(client, w.officer, "2025-12-19")
    early = (await client.get("/api/v1/reports/subsidy", params={"year": 2025}, headers=w.officer)).json()
    assert early["unrecognised_lines"] == 2 and early["contracts"] == 2
    body = {"year": 2025, "amount": early["amount"], "reference": "GOV-2025-1"}
    assert (await client.post("/api/v1/subsidy-settlements", json=body, headers=w.officer)).status_code == 422
    await _run(client, w.officer, "2025-12-21")
    bill = (await client.get("/api/v1/reports/subsidy", params={"year": 2025}, headers=w.officer)).json()
    assert bill["unrecognised_lines"] == 0 and Decimal(bill["amount"]) > 0
    assert sum(Decimal(r["unsettled"]) for r in bill["rows"]) == Decimal(bill["amount"])
    wrong = await client.post(
        "/api/v1/subsidy-settlements",
        headers=w.officer,
        json={**body, "amount": str(Decimal(bill["amount"]) - Decimal("0.01"))},
    )
    assert wrong.status_code == 422 and wrong.json()["difference"] == "-0.01" and wrong.json()["field"] == "amount"
    assert (
        await client.post("/api/v1/subsidy-settlements", json={**body, "amount": bill["amount"]}, headers=w.reviewer)
    ).status_code == 403
    first = await client.post("/api/v1/subsidy-settlements", json={**body, "amount": bill["amount"]}, headers=w.officer)
    assert first.status_code == 201, first.text
    assert first.json()["contracts"] == 2 and first.json()["lines"] == 2
    again = await client.post("/api/v1/subsidy-settlements", json={**body, "amount": bill["amount"]}, headers=w.officer)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = await client.post(
        "/api/v1/subsidy-settlements", json={**body, "year": 2024, "amount": bill["amount"]}, headers=w.officer
    )
    assert other.status_code == 409
    after = (await client.get("/api/v1/reports/subsidy", params={"year": 2025}, headers=w.officer)).json()
    assert after["amount"] == "0.00" and after["settled"] == bill["amount"]
    led = (await client.get(f"/api/v1/loan-contracts/{nos['ug']}/ledger", headers=w.officer)).json()
    assert "subsidy_settlement" in [e["kind"] for e in led["entries"]]
    sched = (await client.get(f"/api/v1/loan-contracts/{nos['ug']}/schedule", headers=w.officer)).json()["lines"]
    assert next(l for l in sched if l["due_on"] == "2025-12-20")["status"] == "paid"
    async with sessions() as s:
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0
    xl = await client.get("/api/v1/reports/subsidy", params={"year": 2025, "format": "xlsx"}, headers=w.officer)
    assert _sheet(xl.content)[1] == ("高校代码", "高校", "合同笔数", "待结贴息（元）")
    xl = await client.get("/api/v1/reports/loans", params={"year": 2024, "format": "xlsx"}, headers=w.officer)
    rows = _sheet(xl.content)
    assert rows[1] == ("口径", "学生人数", "合同笔数", "贷款金额（元）") and rows[2][1:3] == (2, 2)


@time_machine.travel("2029-01-05 09:00 +08:00")
async def test_government_lines_never_make_a_borrower_overdue(client, make_user):
    w, nos = await _two_borrowers(client, make_user)
    report = await _run(client, w.officer, "2026-12-21")  # the state has paid nothing yet
    assert report["lines_overdue"] == 0
    contract = (await client.get(f"/api/v1/loan-contracts/{nos['ug']}", headers=w.officer)).json()
    assert contract["status"] == "in_school"
    aging = (await client.get("/api/v1/reports/aging", params={"as_of": "2026-12-21"}, headers=w.officer)).json()
    assert aging["total"]["contracts"] == 0
