"""Reminder rules as data: the seed (also written by the migration), reading them, an admin's edit.

A rule says: `offset_days` after the anchor date (negative: before) send `template` over `channel`, to the
graduate and, if `copy_co_borrower`, a copy to the co-borrower. Which anchors exist is the scanning domain's
business (loans.reminders); this module only keeps the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import ReminderRule
from notifications.templates import TEMPLATES
from service import audit
from service.errors import NOT_FOUND, UNPROCESSABLE, Problem

ANCHORS = ("due_date", "collection_day", "contact_deadline", "graduation")

# code, anchor, offset_days, template, copy_co_borrower
SEED: tuple[tuple[str, str, int, str, bool], ...] = (
    ("due_30", "due_date", -30, "before_due", True),
    ("due_7", "due_date", -7, "before_due", True),
    ("due_1", "due_date", -1, "before_due", True),
    ("overdue", "due_date", 1, "overdue", True),
    ("collection", "collection_day", 0, "collection", True),
    ("contact_update", "contact_deadline", -30, "contact_update", False),
    ("graduation", "graduation", 7, "graduation", False),
)


def seed_rows() -> list[dict[str, object]]:
    return [
        dict(
            code=code,
            anchor=anchor,
            offset_days=offset,
            template=template,
            channel="sms",
            copy_co_borrower=copy,
            enabled=True,
            updated_by="migration",
        )
        for code, anchor, offset, template, copy in SEED
    ]


async def reset_rules(session: AsyncSession) -> None:
    """Back to the seed (tests; an admin who wants the defaults back)."""
    await session.execute(delete(ReminderRule))
    await session.execute(insert(ReminderRule), seed_rows())


async def enabled_rules(session: AsyncSession) -> list[ReminderRule]:
    return list(
        (
            await session.scalars(
                select(ReminderRule).where(ReminderRule.enabled.is_(True)).order_by(ReminderRule.code)
            )
        ).all()
    )


@dataclass(frozen=True)
class RuleChange:
    offset_days: int | None = None
    channel: str | None = None
    copy_co_borrower: bool | None = None
    enabled: bool | None = None


def check_change(rule: ReminderRule, change: RuleChange) -> None:
    if change.channel is not None and change.channel not in ("sms", "webhook"):
        raise Problem(
            UNPROCESSABLE,
            "提醒只能通过短信（sms）或 webhook 发送。",
            "Reminders go by SMS or webhook.",
            field="channel",
        )
    offset = rule.offset_days if change.offset_days is None else change.offset_days
    if not -366 <= offset <= 366:
        raise Problem(
            UNPROCESSABLE, "提前或延后天数须在一年以内。", "The offset must be within a year.", field="offset_days"
        )
    if rule.anchor == "due_date" and rule.template == "before_due" and offset >= 0:
        raise Problem(
            UNPROCESSABLE,
            "到期前提醒的天数须为负数（到期日之前）。",
            "A before-due reminder needs a negative offset (days before the due date).",
            field="offset_days",
        )
    if rule.template not in TEMPLATES:
        raise Problem(UNPROCESSABLE, "规则的模板不存在。", "The rule's template does not exist.", field="template")


async def change_rule(session: AsyncSession, code: str, change: RuleChange, actor: str) -> ReminderRule:
    rule = await session.scalar(select(ReminderRule).where(ReminderRule.code == code))
    if rule is None:
        raise Problem(NOT_FOUND, f"提醒规则 {code} 不存在。", f"Reminder rule {code} does not exist.")
    check_change(rule, change)
    before = audit.model_snapshot(rule)
    for name in ("offset_days", "channel", "copy_co_borrower", "enabled"):
        value = getattr(change, name)
        if value is not None:
            setattr(rule, name, value)
    rule.updated_by = actor
    await session.flush()
    await audit.record(session, actor, "update", "notification_rule", rule.code, before, audit.model_snapshot(rule))
    return rule
