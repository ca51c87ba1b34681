"""The dispatcher against real servers on loopback: the fake SMS gateway (200, 429, 500, 400, hang, refused),
an SMTP server (aiosmtpd) and a webhook receiver; retries, quiet hours, the daily cap, leases, receipts."""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from notifications.channels import EmailChannel, SmsChannel, WebhookChannel, sign
from notifications.dispatcher import Dispatcher
from notifications.fake_gateway import ThreadedGateway
from notifications.models import OutboxMessage
from notifications.outbox import Message, enqueue
from service.app import create_app
from service.db import utcnow, write_session

SHANGHAI = ZoneInfo("Asia/Shanghai")
ON_SQLITE = os.environ["ZIZHU_DATABASE_URL"].startswith("sqlite")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_notify(settings, **changes):
    return replace(settings, notify=replace(settings.notify, **{"quiet_hours": None, **changes}))


def dispatcher(db, settings, channel="sms", url="", **changes):
    s = with_notify(settings, **changes)
    n = s.notify
    made = {
        "sms": lambda: SmsChannel(url, "gw-token", n.sms_concurrency, n.sms_timeout_seconds),
        "webhook": lambda: WebhookChannel(url, "hook-secret", timeout=n.sms_timeout_seconds),
    }[channel]()
    return Dispatcher(db, s, {channel: made})


async def queue(db, n=1, recipient=None, channel="sms", start=0):
    async with write_session(db) as session:
        await enqueue(
            session,
            [
                Message(
                    f"C-{i}",
                    "due_7",
                    "before_due",
                    date(2028, 12, 20),
                    "graduate",
                    recipient or f"1381234{i:04d}",
                    channel=channel,
                    student_id=1,
                    contract_no=f"C-{i}",
                    amount=56000,
                )
                for i in range(start, start + n)
            ],
        )


async def outbox(sessions) -> list[OutboxMessage]:
    async with sessions() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_sent_with_the_stable_id_and_the_text(db, settings, sessions):
    await queue(db, 3)
    with ThreadedGateway() as gw:
        d = dispatcher(db, settings, url=gw.url)
        report = await d.run_once()
        await d.aclose()
    assert (report.claimed, report.sent) == (3, 3)
    rows = await outbox(sessions)
    assert {r.status for r in rows} == {"sent"} and all(r.provider_id.startswith("gw-") for r in rows)
    assert sorted(gw.state.ids) == sorted(r.message_id for r in rows)
    got = gw.state.received[0]
    assert got["_headers"]["authorization"] == "Bearer gw-token" and got["template"] == "before_due"
    assert "560.00元" in got["text"] and "2028-12-20" in got["text"] and got["to"].startswith("138123400")


async def test_429_and_500_are_retried_with_backoff_400_fails_for_good(db, settings, sessions):
    await queue(db, 1)
    now = utcnow()
    with ThreadedGateway(plan=["429", "500"]) as gw:
        d = dispatcher(db, settings, url=gw.url)
        assert (await d.run_once(now)).retried == 1
        [row] = await outbox(sessions)
        assert (row.status, row.attempts, row.last_error[:8]) == ("queued", 1, "HTTP 429")
        assert now + timedelta(seconds=14) < row.next_attempt_at <= utcnow() + timedelta(seconds=31)
        assert (await d.run_once(now)).claimed == 0  # not before its time
        assert (await d.run_once(now + timedelta(hours=1))).retried == 1
        assert (await d.run_once(now + timedelta(hours=2))).sent == 1
        [row] = await outbox(sessions)
        assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
        gw.state.plan = ["400"]
        await queue(db, 1, start=1)
        assert (await d.run_once(now + timedelta(hours=2))).failed == 1
        await d.aclose()
    row = (await outbox(sessions))[1]
    assert (row.status, row.attempts) == ("failed", 1) and "HTTP 400" in row.last_error
    assert len(gw.state.received) == 1


async def test_failed_for_good_after_the_set_number_of_tries(db, settings, sessions):
    await queue(db, 1)
    now = utcnow()
    with ThreadedGateway(plan=["500", "503"]) as gw:
        d = dispatcher(db, settings, url=gw.url, max_attempts=2)
        await d.run_once(now)
        await d.run_once(now + timedelta(hours=1))
        await d.aclose()
    [row] = await outbox(sessions)
    assert (row.status, row.attempts) == ("failed", 2) and "HTTP 503" in row.last_error


async def test_time_outs_and_refused_connections_are_retried(db, settings, sessions):
    await queue(db, 1)
    with ThreadedGateway(plan=["hang"]) as gw:
        d = dispatcher(db, settings, url=gw.url, sms_timeout_seconds=1)
        assert (await d.run_once()).retried == 1
        await d.aclose()
    [row] = await outbox(sessions)
    assert (row.status, row.last_error) == ("queued", "timeout")
    d = dispatcher(db, settings, url=f"http://127.0.0.1:{free_port()}/sms")  # nobody listens there
    assert (await d.run_once(utcnow() + timedelta(hours=1))).retried == 1
    await d.aclose()
    [row] = await outbox(sessions)
    assert row.status == "queued" and row.attempts == 2 and "ConnectError" in row.last_error


async def test_quiet_hours_defer_sms_without_dropping_them(db, settings, sessions):
    evening = datetime(2026, 12, 1, 22, 0, tzinfo=SHANGHAI)
    with time_machine.travel(evening - timedelta(hours=1), tick=False):  # queued that evening, whatever today is
        await queue(db, 2)
    with ThreadedGateway() as gw:
        d = dispatcher(db, settings, url=gw.url, quiet_hours=(21 * 60, 8 * 60))
        assert (await d.run_once(evening)).claimed == 0
        assert (await d.run_once(evening.replace(hour=7, minute=59) + timedelta(days=1))).claimed == 0
        assert (await d.run_once(evening.replace(hour=8, minute=0) + timedelta(days=1))).sent == 2
        await d.aclose()
    assert {r.status for r in await outbox(sessions)} == {"sent"}


async def test_daily_cap_per_recipient(db, settings, sessions):
    await queue(db, 3, recipient="13812349999")
    await queue(db, 1, start=3)
    with ThreadedGateway() as gw:
        d = dispatcher(db, settings, url=gw.url, sms_daily_cap=2)
        report = await d.run_once()
        assert (report.sent, report.deferred) == (3, 1)
        assert (await d.run_once()).claimed == 0  # the deferred one waits for tomorrow
        await d.aclose()
    rows = await outbox(sessions)
    held = [r for r in rows if r.status == "queued"]
    assert len(held) == 1 and held[0].recipient == "13812349999" and held[0].attempts == 0
    tomorrow = datetime.combine(datetime.now(SHANGHAI).date() + timedelta(days=1), datetime.min.time(), SHANGHAI)
    assert held[0].next_attempt_at == tomorrow and "daily cap" in held[0].last_error


async def test_a_row_stuck_in_sending_is_sent_again_with_the_same_id(db, settings, sessions):
    await queue(db, 2)
    now = utcnow()
    with ThreadedGateway() as gw:
        d = dispatcher(db, settings, url=gw.url, lease_seconds=60)
        async with write_session(db) as session:  # a dispatcher claims and sends, then dies before recording
            rows, lease, _ = await d.claim(session, now)
        await d.channels["sms"].send(d._outgoing(rows[0]))
        assert (await d.run_once(now + timedelta(seconds=30))).claimed == 0  # the lease still holds
        report = await d.run_once(now + timedelta(seconds=61))
        assert report.sent == 2
        async with write_session(db) as session:  # the dead dispatcher's late result changes nothing
            from notifications.policy import Outcome, Verdict

            stale = await d.record(session, rows, [Outcome(Verdict.FAIL, "late")] * 2, lease, now)
        await d.aclose()
    assert stale.failed == 2 and {r.status for r in await outbox(sessions)} == {"sent"}
    twice = [i for i, n in gw.state.ids.items() if n == 2]
    assert twice == [f"zizhu-{rows[0].id}"]
    texts = {m["text"] for m in gw.state.received if m["id"] == twice[0]}
    assert len(texts) == 1  # the resend is the same message


async def test_delivery_receipts(db, settings, sessions):
    await queue(db, 3)
    with ThreadedGateway() as gw:
        d = dispatcher(db, settings, url=gw.url)
        await d.run_once()
        await d.aclose()
    rows = await outbox(sessions)
    app = create_app(with_notify(settings, sms_token="gw-token"))
    body = {
        "receipts": [
            {"id": rows[0].message_id, "status": "delivered"},
            {"id": rows[1].message_id, "status": "failed", "error": "absent subscriber"},
            {"id": "zizhu-999999", "status": "delivered"},
            {"id": "nonsense", "status": "delivered"},
        ]
    }
    async with AsyncTestClient(app=app) as client:
        r = await client.post("/api/v1/notifications/sms-receipts", json=body)
        assert r.status_code == 403
        r = await client.post(
            "/api/v1/notifications/sms-receipts", json=body, headers={"Authorization": "Bearer wrong"}
        )
        assert r.status_code == 403
        r = await client.post(
            "/api/v1/notifications/sms-receipts", json=body, headers={"Authorization": "Bearer gw-token"}
        )
        assert r.status_code == 200 and r.json() == {"applied": 2, "unknown": 2}
        again = await client.post(
            "/api/v1/notifications/sms-receipts", json=body, headers={"Authorization": "Bearer gw-token"}
        )
        assert again.json() == {"applied": 0, "unknown": 2}  # a receipt sent twice changes nothing
    rows = await outbox(sessions)
    assert [r.status for r in rows] == ["delivered", "failed", "sent"]
    assert rows[0].delivered_at is not None and "absent subscriber" in rows[1].last_error


async def test_retry_endpoint_requeues_a_failed_message(client, make_user, db, sessions):
    await queue(db, 1)
    async with write_session(db) as session:
        row = (await session.scalars(select(OutboxMessage))).one()
        row.status, row.attempts, row.last_error = "failed", 8, "HTTP 500"
    officer = await make_user("officer")
    r = await client.post(f"/api/v1/notifications/{row.id}/retry", headers=officer)
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["attempts"] == 0
    again = await client.post(f"/api/v1/notifications/{row.id}/retry", headers=officer)
    assert again.status_code == 409 and again.json()["type"] == "/problems/invalid-transition"  # queued: not failed


async def test_email_over_smtp(db, settings, sessions):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.mails = []

        async def handle_DATA(self, server, session, envelope):
            self.mails.append(envelope)
            return "250 OK"

    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        await queue(db, 1, recipient="graduate@example.org", channel="email")
        d = Dispatcher(db, with_notify(settings), {"email": EmailChannel("127.0.0.1", port, "centre@example.org")})
        assert (await d.run_once()).sent == 1
    finally:
        smtp.stop()
    [row] = await outbox(sessions)
    [mail] = inbox.mails
    assert mail.rcpt_tos == ["graduate@example.org"] and mail.mail_from == "centre@example.org"
    content = mail.content.decode()
    assert f"Message-ID: <{row.message_id}@zizhu>" in content
    # the server is gone now: refused, so tried again later
    await queue(db, 1, recipient="other@example.org", channel="email", start=1)
    assert (await d.run_once()).retried == 1


async def test_webhooks_are_signed(db, settings, sessions):
    await queue(db, 1, channel="webhook")
    with ThreadedGateway() as gw:
        d = dispatcher(db, settings, channel="webhook", url=gw.url)
        assert (await d.run_once()).sent == 1
        await d.aclose()
    [got] = gw.state.received
    assert got["_headers"]["x-zizhu-signature"] == sign("hook-secret", got["_body"])
    assert got["_headers"]["x-zizhu-message-id"] == got["id"] == (await outbox(sessions))[0].message_id


@pytest.mark.skipif(ON_SQLITE, reason="FOR UPDATE SKIP LOCKED is PostgreSQL's")
async def test_two_dispatchers_share_the_outbox_with_skip_locked(db, settings, sessions):
    await queue(db, 10)
    a = Dispatcher(db, with_notify(settings), {}, batch_size=5)
    a.channels = {"sms": SmsChannel("http://127.0.0.1:9/sms", "t")}  # claims only; nothing is sent
    now = utcnow()
    async with write_session(db) as first:
        claimed_a, _, _ = await a.claim(first, now)
        async with write_session(db) as second:  # while the first still holds its rows
            claimed_b, _, _ = await a.claim(second, now)
    ids_a, ids_b = {r.id for r in claimed_a}, {r.id for r in claimed_b}
    assert len(ids_a) == len(ids_b) == 5 and not ids_a & ids_b
    await a.aclose()

    await queue(db, 200, start=100)
    with ThreadedGateway(delay=0.002) as gw:
        pair = [
            Dispatcher(db, with_notify(settings), {"sms": SmsChannel(gw.url, "t", 8)}, batch_size=20) for _ in range(2)
        ]
        reports = await asyncio.gather(*(d.drain() for d in pair))
        for d in pair:
            await d.aclose()
    assert sum(r.sent for r in reports) == 200 and all(r.sent > 0 for r in reports)
    assert len(gw.state.ids) == 200 and set(gw.state.ids.values()) == {1}  # every message exactly once
