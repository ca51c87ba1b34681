"""Objections to a public notice (公示异议): taken from anyone while the notice runs, with a contact, a few per
client address and hour; decided by a reviewer. An objection holds its application back from finalisation
while it is open; only an upheld one sends the application back to review (DOMAIN.md: "an objection sends the
case back to review" once the centre has found it well-founded, not on anyone's say-so).

The contact's phone is checked, then stored masked (138****1234): the full number is never written, so no
answer, list, log or audit record can show it. The reason is free text; ID, phone and card numbers in it are
masked before it is stored, for the same reason.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from donations.lifecycle import OBJECTION, AppStatus
from donations.models import Application, Notice, Objection, ObjectionQuota
from donations.selection import MAKER_CHECKER, get_application, move
from service import audit, lifecycle
from service.auth import AuthUser
from service.clientaddress import keyed_digest
from service.db import utcnow
from service.errors import TOO_MANY, UNPROCESSABLE, Problem, problem_type
from service.identity import IdentityError, mask_phone, normalize_phone, redact
from service.lifecycle import BAD_TRANSITION
from service.lookups import get_or_404

NOTICE_CLOSED = problem_type("notice-closed", 409, "公示期外不受理异议", "The notice is not running")
INVALID_PHONE = problem_type("invalid-phone", 422, "手机号无效", "Invalid phone number")
DECISIONS = {"dismiss": "dismissed", "uphold": "upheld"}


def client_key(secret: str, address: str) -> str:
    """A keyed hash of the client's address: enough to count its objections, and no address at rest (an IPv4
    address hashed without a key is found again by trying all 2³² of them)."""
    return keyed_digest(secret, "objection-client", address)


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


async def _take_quota(session: AsyncSession, notice_id: int, client: str, limit: int) -> None:
    """Count this objection against the client's hour, in the caller's transaction: one upsert, so parallel
    objections queue on the counter row; over the limit is a 429 and the caller's rollback returns the count."""
    now = utcnow()
    hour = _hour(now)
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(ObjectionQuota)
        .values(notice_id=notice_id, client=client, hour=hour, taken=1)
        .on_conflict_do_update(
            index_elements=[ObjectionQuota.notice_id, ObjectionQuota.client, ObjectionQuota.hour],
            set_={"taken": ObjectionQuota.taken + 1},
        )
        .returning(ObjectionQuota.taken)
    )
    taken = (await session.execute(stmt)).scalar_one()
    if taken > limit:
        wait = int((hour + timedelta(hours=1) - now).total_seconds()) + 1
        raise Problem(
            TOO_MANY,
            f"同一地址对本次公示每小时最多提出 {limit} 条异议，请稍后再试，或直接联系资助中心。",
            f"At most {limit} objections to this notice per hour from one address; try later or call the centre.",
            extra={"limit": limit, "retry_after": wait},
            headers={"Retry-After": str(wait)},
        )


def _required(text: str, field: str) -> str:
    """The text trimmed; only blanks is no text (the schema counts characters, spaces too)."""
    text = text.strip()
    if not text:
        raise Problem(UNPROCESSABLE, "此项不能为空。", f"{field} must not be blank.", field=field)
    return text


def checked_phone(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except IdentityError as exc:
        raise Problem(INVALID_PHONE, exc.message_zh, exc.message_en, field="contact_phone") from None


def notice_running(notice: Notice, today: date) -> None:
    """Objections are taken on the notice's days only, its first and last day included."""
    if today < notice.starts_on:
        raise Problem(
            NOTICE_CLOSED,
            f"本次公示自 {notice.starts_on} 开始，开始前不受理异议。",
            f"The notice starts on {notice.starts_on}; objections are taken from then.",
            extra={"starts_on": notice.starts_on.isoformat(), "ends_on": notice.ends_on.isoformat()},
        )
    if today > notice.ends_on:
        raise Problem(
            NOTICE_CLOSED,
            f"本次公示已于 {notice.ends_on} 结束，不再受理异议；如有问题请直接向资助中心反映。",
            f"The notice ended on {notice.ends_on}; objections are no longer taken. Please contact the centre.",
            extra={"starts_on": notice.starts_on.isoformat(), "ends_on": notice.ends_on.isoformat()},
        )


async def take(
    session: AsyncSession,
    notice_id: int,
    application_id: int,
    reason: str,
    contact_name: str,
    contact_phone: str,
    *,
    client: str,
    limit: int,
    today: date,
) -> Objection:
    """An objection from the public. It changes no application: a reviewer decides it (`decide`)."""
    phone = mask_phone(checked_phone(contact_phone))
    name, reason = _required(contact_name, "contact_name"), _required(reason, "reason")
    notice = await get_or_404(session, Notice, notice_id, "公示", "Notice")
    notice_running(notice, today)
    app = await session.get(Application, application_id)
    if app is None or app.notice_id != notice.id:
        raise Problem(
            UNPROCESSABLE,
            "该申请不在本次公示名单中。",
            "The application is not on this notice.",
            field="application_id",
        )
    if app.status not in (AppStatus.NOTICED.value, AppStatus.SUBMITTED.value):
        raise Problem(
            BAD_TRANSITION,
            "公示结果已确定，不再受理异议；如有问题请向资助中心反映。",
            "The award is final; objections are no longer taken here.",
            field="application_id",
        )
    await _take_quota(session, notice.id, client, limit)
    objection = Objection(
        notice_id=notice.id,
        application_id=app.id,
        reason=redact(reason),
        contact_name=redact(name),
        contact_phone=phone,
    )
    session.add(objection)
    await session.flush()
    await audit.record(
        session, "public", "object", "grant_objection", objection.id, None, audit.model_snapshot(objection)
    )
    return objection


async def get_objection(session: AsyncSession, objection_id: int) -> Objection:
    return await get_or_404(session, Objection, objection_id, "异议", "Objection", lock=True)


async def decide(
    session: AsyncSession, objection: Objection, decision: str, reason: str, user: AuthUser
) -> tuple[Objection, Application]:
    """A reviewer's answer: `dismiss` leaves the application on its notice (finalised once the notice has
    ended and nothing else is open), `uphold` sends it back to review. The officer who took the application
    may not decide objections to it (maker-checker, as for its review)."""
    reason = _required(reason, "reason")
    app = await get_application(session, objection.application_id)
    if app.prepared_by == user.id:
        raise Problem(
            MAKER_CHECKER,
            "经办人不能处理针对自己受理的申请的异议，请由另一位复核人处理。",
            "The officer who took the application cannot decide objections to it.",
        )
    objection = await lifecycle.move(
        session,
        OBJECTION,
        objection,
        DECISIONS[decision],
        actor=user.actor,
        action=decision,
        resolution=reason,
        decided_by=user.actor,
        decided_at=utcnow(),
    )
    if decision == "uphold" and app.status == AppStatus.NOTICED.value:
        app = await move(session, app, AppStatus.SUBMITTED, user.actor, "objection-upheld")
    return objection, app


def listing(notice_id: int | None = None, status: str | None = None) -> Select[tuple[Objection]]:
    """The query of objections (of one notice, in one status, or all), oldest first, for a page of them."""
    query = select(Objection).order_by(Objection.id)
    if notice_id is not None:
        query = query.where(Objection.notice_id == notice_id)
    if status:
        query = query.where(Objection.status == status)
    return query


async def of_notice(session: AsyncSession, notice_id: int, status: str | None = None) -> Select[tuple[Objection]]:
    """A notice's objections (404 for no such notice)."""
    await get_or_404(session, Notice, notice_id, "公示", "Notice")
    return listing(notice_id, status)
