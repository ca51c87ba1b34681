"""HTTP of the notifications package: the outbox list, reminder rules, template preview, delivery receipts."""

from __future__ import annotations

import hmac
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.lifecycle import OUTBOX
from notifications.models import STATUSES, OutboxMessage, ReminderRule, row_id
from notifications.outbox import mask_recipient
from notifications.policy import error_text
from notifications.rules import RuleChange, change_rule
from notifications.templates import LANGUAGES, TEMPLATES, Fields, render
from service import audit, lifecycle
from service.auth import STAFF_READERS, allow
from service.db import utcnow
from service.errors import FORBIDDEN, INVALID_REQUEST, NOT_FOUND, Problem
from service.lookups import get_or_404
from service.money import parse_yuan
from service.pagination import Limit, Offset, Page, fetch_page


class NotificationOut(msgspec.Struct):
    id: int
    message_id: str
    student_id: int | None
    contract_no: str | None
    kind: str
    due_on: date
    occasion_on: date
    recipient_role: str
    to: str  # masked
    channel: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    sent_at: datetime | None
    delivered_at: datetime | None


class RuleOut(msgspec.Struct):
    code: str
    anchor: str
    offset_days: int
    template: str
    channel: str
    copy_co_borrower: bool
    enabled: bool
    updated_by: str
    updated_at: datetime


class RuleIn(msgspec.Struct, forbid_unknown_fields=True):
    offset_days: int | None = None
    channel: str | None = None
    copy_co_borrower: bool | None = None
    enabled: bool | None = None


class PreviewOut(msgspec.Struct):
    template: str
    language: str
    recipient_role: str
    text: str


class ReceiptIn(msgspec.Struct):
    id: Annotated[str, msgspec.Meta(max_length=64)]
    status: Literal["delivered", "failed"]
    error: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class ReceiptsIn(msgspec.Struct, forbid_unknown_fields=True):
    receipts: Annotated[list[ReceiptIn], msgspec.Meta(max_length=1000)]


def notification_out(m: OutboxMessage, tz: Any) -> NotificationOut:
    def local(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(tz)

    return NotificationOut(
        id=m.id,
        message_id=m.message_id,
        student_id=m.student_id,
        contract_no=m.contract_no,
        kind=m.kind,
        due_on=m.due_on,
        occasion_on=m.occasion_on,
        recipient_role=m.recipient_role,
        to=mask_recipient(m.channel, m.recipient),
        channel=m.channel,
        status=m.status,
        attempts=m.attempts,
        next_attempt_at=m.next_attempt_at.astimezone(tz),
        last_error=error_text(m.last_error),  # masked when stored; again here for rows kept before masking
        sent_at=local(m.sent_at),
        delivered_at=local(m.delivered_at),
    )


def _rule_out(r: ReminderRule) -> RuleOut:
    return RuleOut(
        code=r.code,
        anchor=r.anchor,
        offset_days=r.offset_days,
        template=r.template,
        channel=r.channel,
        copy_co_borrower=r.copy_co_borrower,
        enabled=r.enabled,
        updated_by=r.updated_by,
        updated_at=r.updated_at,
    )


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get(
        "/",
        guards=[allow(*STAFF_READERS)],
        summary="The outbox: reminders and their delivery (recipients masked)",
        description="Copies to a co-borrower are listed under the student they concern.",
    )
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        request: Request,
        student_id: FromQuery[int | None] = None,
        status: FromQuery[str | None] = None,
        contract_no: FromQuery[str | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[NotificationOut]:
        if status is not None and status not in STATUSES:
            raise Problem(
                INVALID_REQUEST,
                f"status 须为 {'、'.join(STATUSES)} 之一。",
                f"status must be one of {', '.join(STATUSES)}.",
                field="status",
            )
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
        if student_id is not None:
            query = query.where(OutboxMessage.student_id == student_id)
        if status is not None:
            query = query.where(OutboxMessage.status == status)
        if contract_no is not None:
            query = query.where(OutboxMessage.contract_no == contract_no)
        rows, total = await fetch_page(db_session, query, limit, offset)
        tz = request.app.state.settings.tz
        return Page(items=[notification_out(m, tz) for m in rows], total=total, limit=limit, offset=offset)

    @get("/preview", guards=[allow(*STAFF_READERS)], summary="A template rendered with sample or given values")
    async def preview(
        self,
        request: Request,
        template: FromQuery[str] = "before_due",
        language: FromQuery[str] = "zh-CN",
        recipient_role: FromQuery[str] = "graduate",
        amount: FromQuery[str] = "1818.18",
        due_on: FromQuery[date | None] = None,
        contract_no: FromQuery[str] = "150430-2024-000001",
    ) -> PreviewOut:
        if template not in TEMPLATES:
            raise Problem(
                NOT_FOUND,
                f"模板 {template} 不存在（可选：{'、'.join(TEMPLATES)}）。",
                f"No template {template} (there are: {', '.join(TEMPLATES)}).",
                field="template",
            )
        if language not in LANGUAGES:
            raise Problem(
                INVALID_REQUEST, "language 须为 zh-CN 或 en。", "language must be zh-CN or en.", field="language"
            )
        if recipient_role not in ("graduate", "co_borrower"):
            raise Problem(
                INVALID_REQUEST,
                "recipient_role 须为 graduate 或 co_borrower。",
                "recipient_role must be graduate or co_borrower.",
                field="recipient_role",
            )
        try:
            fen = parse_yuan(amount)
        except ValueError:
            raise Problem(
                INVALID_REQUEST, "金额格式有误。", "The amount is not a yuan amount.", field="amount"
            ) from None
        settings = request.app.state.settings
        text = render(
            Fields(template, recipient_role, due_on or date(2026, 12, 20), contract_no, fen),
            language,
            settings.centre_name,
            settings.centre_phone,
        )
        return PreviewOut(template=template, language=language, recipient_role=recipient_role, text=text)

    @post(
        "/{item_id:int}/retry",
        guards=[allow("officer")],
        status_code=200,
        summary="Send a message that failed for good once more (attempts start again)",
    )
    async def retry(
        self, item_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> NotificationOut:
        message = await get_or_404(db_session, OutboxMessage, item_id, "消息", "Message")
        before = {"status": message.status, "attempts": message.attempts, "last_error": message.last_error}
        lifecycle.step(OUTBOX, message, "queued", attempts=0, next_attempt_at=utcnow())
        await db_session.flush()
        await audit.record(
            db_session,
            request.user.actor,
            "retry",
            "notification",
            message.id,
            before,
            {"status": "queued", "attempts": 0},
        )
        return notification_out(message, request.app.state.settings.tz)

    @post(
        "/sms-receipts",
        opt={"public": True},
        status_code=200,
        summary="Delivery reports from the SMS gateway (Authorization: Bearer ZIZHU_SMS_TOKEN)",
        description='Body: {"receipts": [{"id": "<the message id we sent>", "status": "delivered"|"failed", '
        '"error"?}]}. Unknown ids are counted and ignored; a receipt sent twice changes nothing.',
    )
    async def sms_receipts(
        self, data: JSONBody[ReceiptsIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> dict[str, int]:
        token = request.app.state.settings.notify.sms_token
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            raise Problem(FORBIDDEN, "回执的令牌不正确。", "The receipt token is wrong.")
        T, now = OutboxMessage.__table__, utcnow()
        ids = {r.id: row_id(r.id) for r in data.receipts}
        status_of = dict(
            (
                await db_session.execute(
                    select(T.c.id, T.c.status).where(T.c.id.in_(sorted({i for i in ids.values() if i is not None})))
                )
            ).all()
        )
        # a receipt for a message already reported (or never sent) changes nothing
        open_ids = {i for i, status in status_of.items() if status in ("sending", "sent")}
        delivered = [{"row_id": ids[r.id]} for r in data.receipts if r.status == "delivered" and ids[r.id] in open_ids]
        failed = [
            {"row_id": ids[r.id], "error": error_text(f"not delivered: {r.error or 'no reason given'}")}
            for r in data.receipts
            if r.status == "failed" and ids[r.id] in open_ids
        ]
        for params, wanted, values in (
            (delivered, "delivered", {"delivered_at": now}),
            (failed, "failed", {"last_error": bindparam("error")}),
        ):
            # one statement for all the receipts of a kind
            await lifecycle.move_all(
                db_session,
                OUTBOX,
                T,
                wanted,
                from_states=("sending", "sent"),
                where=[T.c.id == bindparam("row_id")],
                values=values,
                params=params,
            )
        applied = len({p["row_id"] for p in delivered + failed})
        unknown = sum(1 for r in data.receipts if ids[r.id] not in status_of)
        return {"applied": applied, "unknown": unknown}


class ReminderRuleController(Controller):
    path = "/api/v1/notification-rules"
    tags = ["notifications"]

    @get("/", guards=[allow(*STAFF_READERS)], summary="Reminder rules: when reminders go out")
    async def list(self, db_session: NamedDependency[AsyncSession]) -> list[RuleOut]:
        rows = (
            await db_session.scalars(select(ReminderRule).order_by(ReminderRule.anchor, ReminderRule.offset_days))
        ).all()
        return [_rule_out(r) for r in rows]

    @patch("/{code:str}", guards=[allow()], summary="Change a reminder rule (admin)")
    async def change(
        self, code: FromPath[str], data: JSONBody[RuleIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> RuleOut:
        rule = await change_rule(
            db_session,
            code,
            RuleChange(data.offset_days, data.channel, data.copy_co_borrower, data.enabled),
            request.user.actor,
        )
        return _rule_out(rule)


ROUTES: list[Any] = [NotificationController, ReminderRuleController]
