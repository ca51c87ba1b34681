"""The loans report: a year's students, contracts and amount, of which registered-poor, and cumulative."""

from __future__ import annotations

from tests.integration.loan_fixtures import loan_world


async def test_loans_report(client, make_user):
    w = await loan_world(client, make_user)  # all three students are registered-poor
    await w.contract("ug", 2024)
    await w.contract("pg", 2024, "2024-09-20")
    await w.contract("ug", 2025, "2025-09-10")
    await w.apply("jc", 2025)  # an application is not a contract
    r = (await client.get("/api/v1/reports/loans", params={"year": 2025}, headers=w.officer)).json()
    assert (r["students"], r["contracts"], r["amount"]) == (1, 1, "20000.00")
    assert r["registered_poor"] == {"students": 1, "contracts": 1, "amount": "20000.00"}
    assert r["cumulative"] == {"students": 2, "contracts": 3, "amount": "60000.00"}
    y24 = (await client.get("/api/v1/reports/loans", params={"year": 2024}, headers=w.officer)).json()
    assert (y24["students"], y24["contracts"], y24["amount"]) == (2, 2, "40000.00")
    assert (
        await client.get("/api/v1/reports/loans", params={"year": 2025}, headers=await make_user("donor", donor_id=1))
    ).status_code == 403
