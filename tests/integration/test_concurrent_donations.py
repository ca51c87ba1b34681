"""Donations under concurrency: a retry storm records one donation with one receipt number, and a hundred different
donations at once get a hundred receipt numbers with no gap and no repeat.

On PostgreSQL these are real concurrent transactions; on SQLite the write lock makes them queue. The receipt serial
is what a donor and an auditor see, so a gap (a number taken by a transaction that then rolled back) is a failure
as much as a duplicate.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from donations.models import Funding, Receipt
from tests.integration.donation_fixtures import grant_world

N = 100


async def _world(client, make_user):
    w = await grant_world(client, make_user)
    donor = await w.donor()
    program = await w.program(funding="social")
    return w, donor, program["id"]


async def test_a_hundred_identical_donations_record_one(client, make_user, sessions):
    w, donor, program = await _world(client, make_user)
    body = {
        "donor_id": donor,
        "program_id": program,
        "amount": "50000.00",
        "received_on": "2025-08-01",
        "method": "bank_transfer",
        "reference": "NSH-RETRY-1",
    }
    headers = {**w.officer, "Idempotency-Key": "donation-retry-storm"}
    answers = await asyncio.gather(*(client.post("/api/v1/donations", json=body, headers=headers) for _ in range(N)))
    assert {a.status_code for a in answers} == {201}, {a.status_code: a.text for a in answers}
    assert len({a.text for a in answers}) == 1  # every retry got the first answer
    assert answers[0].json()["receipt_no"] == "JZ-2025-000001"
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Funding)) == 1
        assert await s.scalar(select(func.count()).select_from(Receipt)) == 1
    # the next donation takes the next number: the storm used up no serial
    nxt = await w.donate(donor, program, "100.00")
    assert nxt["receipt_no"] == "JZ-2025-000002"


async def test_a_hundred_different_donations_get_gapless_receipts(client, make_user, sessions):
    w, donor, program = await _world(client, make_user)

    async def give(i: int):
        return await client.post(
            "/api/v1/donations",
            headers={**w.officer, "Idempotency-Key": f"gift-{i}"},
            json={
                "donor_id": donor,
                "program_id": program,
                "amount": f"{100 + i}.00",
                "received_on": "2025-08-01",
                "method": "bank_transfer",
                "reference": f"NSH-PAR-{i:03d}",
            },
        )

    answers = await asyncio.gather(*(give(i) for i in range(N)))
    assert [a.status_code for a in answers] == [201] * N, [a.text for a in answers if a.status_code != 201][:3]
    numbers = sorted(a.json()["receipt_no"] for a in answers)
    assert numbers == [f"JZ-2025-{serial:06d}" for serial in range(1, N + 1)]
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Funding)) == N
        assert await s.scalar(select(func.count()).select_from(Receipt)) == N
        assert await s.scalar(select(func.sum(Funding.amount))) == sum((100 + i) * 100 for i in range(N))
