"""Money under concurrency: retried and parallel repayments post exactly once and never lose an update.

On PostgreSQL these are real concurrent transactions (a pool of connections); on SQLite the write lock makes
them queue. Either way the books must come out the same as if the requests had come one by one.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from loans.models import LedgerEntry, LedgerLine
from tests.integration.test_loan_books import _disbursed

N = 100


async def test_a_hundred_identical_requests_post_once(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)
    body = {"amount": "300.00", "paid_on": "2025-03-01", "reference": "BANK-RETRY-1"}
    headers = {**w.officer, "Idempotency-Key": "retry-storm"}
    answers = await asyncio.gather(
        *(client.post(f"/api/v1/loan-contracts/{no}/repayments", json=body, headers=headers) for _ in range(N))
    )
    assert {a.status_code for a in answers} == {201}, {a.status_code: a.text for a in answers}
    assert len({a.text for a in answers}) == 1  # every retry got the first answer
    async with sessions() as s:
        kinds = (await s.scalars(select(LedgerEntry.kind))).all()
        assert kinds.count("repayment") == 1
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0


async def test_a_hundred_different_repayments_on_one_contract_all_count(client, make_user, sessions):
    w, no = await _disbursed(client, make_user)

    async def pay(i: int):
        return await client.post(
            f"/api/v1/loan-contracts/{no}/repayments",
            json={"amount": "10.00", "paid_on": "2025-03-01", "reference": f"BANK-PAR-{i:03d}"},
            headers={**w.officer, "Idempotency-Key": f"par-{i}"},
        )

    answers = await asyncio.gather(*(pay(i) for i in range(N)))
    assert [a.status_code for a in answers] == [201] * N, [a.text for a in answers if a.status_code != 201][:3]
    # Nothing is due yet: each payment is held whole as credit, and the contract's credit is all of them together.
    assert {a.json()["credit"] for a in answers} == {"10.00"}
    assert len({a.json()["id"] for a in answers}) == N
    ledger = (await client.get(f"/api/v1/loan-contracts/{no}/ledger", headers=w.officer)).json()
    assert ledger["balances"]["suspense"] == f"-{N * 10}.00"  # no lost update: every payment is in the balance
    assert [e["kind"] for e in ledger["entries"]].count("repayment") == N
    async with sessions() as s:
        assert await s.scalar(select(func.sum(LedgerLine.debit - LedgerLine.credit))) == 0
