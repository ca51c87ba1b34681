"""The reminder scan in the nightly batch: which reminders a business date queues, each exactly once; the
outbox list (masked), rules edited by an admin, the template preview."""

from __future__ import annotations

from collections import Counter
from datetime import date

import time_machine
from sqlalchemy import func, select

from loans.batch.reminders import queue_reminders
from notifications.models import OutboxMessage
from service.db import write_session
from tests.integration.test_loan_books import _disbursed


async def _run(client, headers, as_of):
    r = await client.post("/api/v1/batch/close-of-business", json={"as_of": as_of}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _outbox(sessions) -> Counter:
    async with sessions() as s:
        rows = (await s.execute(select(OutboxMessage.kind, OutboxMessage.recipient_role))).all()
    return Counter(f"{kind}/{role}" for kind, role in rows)


@time_machine.travel("2029-03-05 09:00 +08:00")
async def test_batch_queues_each_reminder_once(client, make_user, sessions, db):
    w, no = await _disbursed(client, make_user)  # first borrower interest due 2028-12-20; graduates 2028-06-30
    assert (await _run(client, w.officer, "2024-12-20"))["reminders_queued"] == 0  # the state pays until 2028
    report = await _run(client, w.officer, "2028-11-19")  # catch-up; reminders for the send date 2028-11-20
    assert report["reminders_queued"] == 4
    assert await _outbox(sessions) == Counter(
        {"due_30/graduate": 1, "due_30/co_borrower": 1, "contact_update/graduate": 1, "graduation/graduate": 1}
    )
    await _run(client, w.officer, "2028-12-19")  # 7 and 1 days before
    await _run(client, w.officer, "2028-12-20")  # unpaid on its date: the day after
    await _run(client, w.officer, "2029-01-19")  # the collection day 2029-01-20
    expected = Counter(
        {
            f"{k}/{r}": 1
            for k in ("due_30", "due_7", "due_1", "overdue", "collection")
            for r in ("graduate", "co_borrower")
        }
    )
    expected.update({"contact_update/graduate": 1, "graduation/graduate": 1})
    assert await _outbox(sessions) == expected
    # the scan again over every window already run, and the batch again: nothing new
    async with write_session(db) as session:
        assert await queue_reminders(session, date(2024, 12, 20), date(2029, 1, 19)) == 0
        assert await queue_reminders(session, date(2029, 1, 19), date(2029, 1, 19)) == 0
    assert (await _run(client, w.officer, "2029-01-19"))["reminders_queued"] == 0
    assert await _outbox(sessions) == expected

    async with sessions() as s:
        due = (
            await s.execute(
                select(OutboxMessage).where(OutboxMessage.kind == "due_7", OutboxMessage.recipient_role == "graduate")
            )
        ).scalar_one()
        collection = (
            (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "collection"))).scalars().first()
        )
    assert due.contract_no == no and due.due_on == date(2028, 12, 20) and due.amount > 0
    assert due.status == "queued" and due.recipient == "13812340011"
    assert collection.occasion_on == date(2029, 1, 20) and collection.due_on == date(2028, 12, 20)

    # paid: no more collection reminders
    sched = (await client.get(f"/api/v1/loan-contracts/{no}/schedule", headers=w.officer)).json()["lines"]
    owed = next(l for l in sched if l["due_on"] == "2028-12-20" and l["payer"] == "borrower")["interest"]
    page = (await client.get("/api/v1/notifications", params={"contract_no": no}, headers=w.officer)).json()
    r = await client.post(
        f"/api/v1/loan-contracts/{no}/repayments",
        headers=w.officer,
        json={"amount": "900.00", "paid_on": "2029-01-25", "reference": "BANK-R1"},
    )
    assert r.status_code == 201, r.text
    assert owed and page["total"] == 10  # the contact update and graduation concern the student
    assert (await _run(client, w.officer, "2029-02-19"))["reminders_queued"] == 0


@time_machine.travel("2029-02-05 09:00 +08:00")
async def test_rules_are_data_an_admin_edits(client, make_user, sessions):
    w, _no = await _disbursed(client, make_user)
    admin = await make_user("admin")
    rules = (await client.get("/api/v1/notification-rules", headers=w.officer)).json()
    assert {r["code"]: r["offset_days"] for r in rules} == {
        "due_30": -30,
        "due_7": -7,
        "due_1": -1,
        "overdue": 1,
        "collection": 0,
        "contact_update": -30,
        "graduation": 7,
    }
    assert (
        await client.patch("/api/v1/notification-rules/due_30", json={"enabled": False}, headers=w.officer)
    ).status_code == 403
    bad = await client.patch("/api/v1/notification-rules/due_7", json={"offset_days": 3}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "offset_days"
    for code, change in (
        ("due_30", {"offset_days": -14}),
        ("due_7", {"enabled": False}),
        ("due_1", {"copy_co_borrower": False}),
        ("contact_update", {"enabled": False}),
        ("graduation", {"enabled": False}),
    ):
        r = await client.patch(f"/api/v1/notification-rules/{code}", json=change, headers=admin)
        assert r.status_code == 200, r.text
    await _run(client, w.officer, "2024-12-20")
    await _run(client, w.officer, "2028-12-05")  # send date 12-06 = 14 days before
    await _run(client, w.officer, "2028-12-19")
    assert await _outbox(sessions) == Counter({"due_30/graduate": 1, "due_30/co_borrower": 1, "due_1/graduate": 1})
    from service.audit import AuditRecord

    async with sessions() as s:
        assert await s.scalar(select(func.count()).where(AuditRecord.entity == "notification_rule")) == 5


async def test_list_is_masked_paginated_and_filtered(client, make_user, db):
    from notifications.outbox import Message, enqueue

    officer = await make_user("officer")
    async with write_session(db) as session:
        made = await enqueue(
            session,
            [
                Message(
                    "150430-2024-000001",
                    "due_7",
                    "before_due",
                    date(2028, 12, 20),
                    role,
                    phone,
                    student_id=7,
                    contract_no="150430-2024-000001",
                    amount=56000,
                )
                for role, phone in (("graduate", "13812340011"), ("co_borrower", "13900001111"))
            ],
        )
        again = await enqueue(
            session,
            [
                Message(
                    "150430-2024-000001",
                    "due_7",
                    "before_due",
                    date(2028, 12, 20),
                    "graduate",
                    "13700000000",
                    student_id=7,
                )
            ],
        )
        await enqueue(
            session,
            [
                Message(
                    "donor-3", "receipt", "before_due", date(2028, 1, 1), "donor", "giver@example.org", channel="email"
                )
            ],
        )
    assert (made, again) == (2, 0)  # the same reminder, even to a new phone number, is not queued twice
    page = (await client.get("/api/v1/notifications", params={"student_id": 7, "limit": 1}, headers=officer)).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    everything = (await client.get("/api/v1/notifications", headers=officer)).json()["items"]
    assert {i["to"] for i in everything} == {"138****0011", "139****1111", "g***@example.org"}
    item = next(i for i in everything if i["recipient_role"] == "co_borrower")
    assert item["student_id"] == 7 and item["status"] == "queued" and item["attempts"] == 0
    assert item["message_id"] == f"zizhu-{item['id']}"
    queued = (await client.get("/api/v1/notifications", params={"status": "queued"}, headers=officer)).json()
    assert queued["total"] == 3
    bad = await client.get("/api/v1/notifications", params={"status": "lost"}, headers=officer)
    assert bad.status_code == 400 and bad.json()["field"] == "status"
    assert (await client.get("/api/v1/notifications", headers=await make_user("graduate"))).status_code == 403


async def test_preview_in_both_languages(client, make_user, settings):
    officer = await make_user("officer")
    zh = (
        await client.get(
            "/api/v1/notifications/preview",
            params={"template": "before_due", "amount": "560.00", "due_on": "2028-12-20"},
            headers=officer,
        )
    ).json()
    assert "560.00元" in zh["text"] and "2028-12-20" in zh["text"] and settings.centre_name in zh["text"]
    assert "支付宝" in zh["text"] and "App" in zh["text"] and "柜台" in zh["text"]
    en = (
        await client.get(
            "/api/v1/notifications/preview",
            params={"template": "overdue", "language": "en", "recipient_role": "co_borrower"},
            headers=officer,
        )
    ).json()
    assert en["text"].startswith(f"[{settings.centre_name}] Dear co-borrower") and "overdue" in en["text"]
    r = await client.get("/api/v1/notifications/preview", params={"template": "nope"}, headers=officer)
    assert r.status_code == 404 and r.json()["field"] == "template"
    r = await client.get("/api/v1/notifications/preview", params={"amount": "abc"}, headers=officer)
    assert r.status_code == 400 and r.json()["field"] == "amount"


async def test_outbox_counts_per_business_date_are_set_based(db):
    """The scan is a handful of statements whatever the portfolio's size (one per rule and recipient)."""
    from sqlalchemy import event

    statements = []
    listener = lambda *a, **k: statements.append(a[2])  # noqa: E731
    event.listen(db.sync_engine, "before_cursor_execute", listener)
    try:
        async with write_session(db) as session:
            await queue_reminders(session, date(2028, 11, 19), date(2028, 11, 19))
    finally:
        event.remove(db.sync_engine, "before_cursor_execute", listener)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert 0 < len(inserts) <= 12 and all("SELECT" in s.upper() for s in inserts)
    async with write_session(db) as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
