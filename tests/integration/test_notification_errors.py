"""A failed message's last_error is masked before it is stored and in GET /notifications (issue #16, finding 20):
a gateway's refusal, a delivery receipt's reason or a row kept from before may quote the phone number, the e-mail
address or an ID number it was given."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from notifications.fake_gateway import ThreadedGateway
from notifications.models import OutboxMessage
from service.app import create_app
from service.db import utcnow, write_session
from tests.integration.test_dispatch import dispatcher, outbox, queue, with_notify

PHONE = "13812340000"  # what queue() sends to, first
ID_NUMBER = "150430200705060775"
EMAIL = "zhang.san@example.com"


def assert_masked(text: str | None) -> None:
    assert text is not None
    for secret in (PHONE, ID_NUMBER, EMAIL, "1381234"):
        assert secret not in text, text


async def test_a_gateway_refusal_quoting_the_number_is_stored_masked(db, settings, sessions):
    await queue(db, 1)
    with ThreadedGateway(plan=["400"]) as gw:  # the refusal quotes the mobile number (fake_gateway)
        d = dispatcher(db, settings, url=gw.url)
        assert (await d.run_once(utcnow())).failed == 1
        await d.aclose()
    [row] = await outbox(sessions)
    assert row.status == "failed" and "HTTP 400" in row.last_error and "138****0000" in row.last_error
    assert_masked(row.last_error)


async def test_a_receipts_reason_is_stored_masked_and_the_list_masks_older_rows(db, settings, sessions, make_user):
    await queue(db, 2)
    with ThreadedGateway() as gw:
        d = dispatcher(db, settings, url=gw.url)
        await d.run_once()
        await d.aclose()
    first, second = await outbox(sessions)
    app = create_app(with_notify(settings, sms_token="gw-token"))
    reason = f"absent subscriber {PHONE}, holder {ID_NUMBER}, forward to {EMAIL}"
    async with AsyncTestClient(app=app) as client:
        r = await client.post(
            "/api/v1/notifications/sms-receipts",
            json={"receipts": [{"id": first.message_id, "status": "failed", "error": reason}]},
            headers={"Authorization": "Bearer gw-token"},
        )
        assert r.status_code == 200
        async with write_session(db) as session:  # a row stored verbatim before masking existed
            row = await session.get(OutboxMessage, second.id)
            row.status, row.last_error = "failed", f"HTTP 400: {{'to': '{PHONE}', 'mail': '{EMAIL}'}}"
        officer = await make_user("officer")
        items = (await client.get("/api/v1/notifications", headers=officer)).json()["items"]
    async with sessions() as s:
        stored = await s.scalar(select(OutboxMessage.last_error).where(OutboxMessage.id == first.id))
    assert "absent subscriber 138****0000" in stored and "z***@example.com" in stored
    assert_masked(stored)
    shown = {i["id"]: i["last_error"] for i in items}
    assert "150430********0775" in shown[first.id] and "z***@example.com" in shown[second.id]
    for text in shown.values():
        assert_masked(text)
