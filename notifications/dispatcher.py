"""The dispatcher: claim due outbox rows, send them, record what came of it.

1. Claim (one short write transaction): rows queued and due, or left `sending` by a dispatcher whose lease has
   run out (it died mid-send), are marked `sending` with a new lease and one more attempt, in one
   UPDATE … RETURNING. On PostgreSQL the rows are picked with FOR UPDATE SKIP LOCKED, so several dispatchers
   share the work without waiting for or doubling each other; on SQLite the database's write lock serialises
   claims (the embedded mode runs one process). In the same transaction, SMS over a recipient's daily cap go
   back to the queue until tomorrow morning.
2. Send, outside any transaction, concurrently (each channel bounds its own concurrency).
3. Record (a short write transaction for whatever came back, every half second): sent; queued again after a
   backoff with jitter; or failed for good.
   A result is recorded only while the row still carries this claim's lease, so a late dispatcher cannot
   overwrite the work of the one that took over.

At least once: a crash between send and record leaves the row `sending`; when the lease runs out it is sent
again with the same message id, which the gateway uses to drop the copy.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from notifications.channels import Channel, EmailChannel, Outgoing, SmsChannel, WebhookChannel
from notifications.lifecycle import OUTBOX
from notifications.models import OutboxMessage, message_id
from notifications.policy import (
    Outcome,
    Verdict,
    after_failure,
    backoff_seconds,
    local_day_start,
    quiet_until,
    split_by_cap,
)
from notifications.templates import Fields, render
from service import lifecycle
from service.db import utcnow, write_session
from service.settings import Settings

T = OutboxMessage.__table__
_CLAIMED = (
    T.c.id,
    T.c.subject,
    T.c.template,
    T.c.recipient_role,
    T.c.recipient,
    T.c.channel,
    T.c.due_on,
    T.c.contract_no,
    T.c.amount,
    T.c.attempts,
)


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # over the daily cap: back in the queue until tomorrow

    def __bool__(self) -> bool:  # something happened (the scheduler logs only then)
        return bool(self.claimed or self.deferred)

    def add(self, other: DispatchReport) -> None:
        for name in ("claimed", "sent", "retried", "failed", "deferred"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The channels the settings configure; a channel without settings is not used (its rows wait)."""
    n = settings.notify
    channels: dict[str, Channel] = {}
    if n.sms_url:
        channels["sms"] = SmsChannel(n.sms_url, n.sms_token, n.sms_concurrency, n.sms_timeout_seconds)
    if n.smtp_host:
        channels["email"] = EmailChannel(
            n.smtp_host, n.smtp_port, n.smtp_from, n.smtp_user, n.smtp_password, n.sms_timeout_seconds
        )
    if n.webhook_url:
        channels["webhook"] = WebhookChannel(n.webhook_url, n.webhook_secret, timeout=n.sms_timeout_seconds)
    return channels


@dataclass
class Dispatcher:
    engine: AsyncEngine
    settings: Settings
    channels: dict[str, Channel] = field(default_factory=dict)
    batch_size: int = 500
    record_every_seconds: float = 0.5
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, engine: AsyncEngine, settings: Settings, **kwargs: Any) -> Dispatcher:
        return cls(engine, settings, build_channels(settings), **kwargs)

    async def aclose(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()

    def _open_channels(self, now: datetime) -> list[str]:
        quiet = quiet_until(now, self.settings.tz, self.settings.notify.quiet_hours)
        return [name for name in self.channels if not (name == "sms" and quiet is not None)]

    async def claim(self, session: AsyncSession, now: datetime) -> tuple[list[Any], datetime, int]:
        """Mark up to batch_size due rows `sending` under a new lease; returns (rows, lease, deferred)."""
        open_channels = self._open_channels(now)
        if not open_channels:
            return [], now, 0
        lease = now + timedelta(seconds=self.settings.notify.lease_seconds)
        due = or_(
            and_(T.c.status == "queued", T.c.next_attempt_at <= now),
            and_(T.c.status == "sending", T.c.lease_until < now),
        )  # a lease ran out: claimed again
        pick = (
            select(T.c.id)
            .where(due, T.c.channel.in_(open_channels))
            .order_by(T.c.next_attempt_at, T.c.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        claimed = await lifecycle.move_all(
            session,
            OUTBOX,
            T,
            "sending",
            where=[T.c.id.in_(pick.scalar_subquery())],
            values={"lease_until": lease, "attempts": T.c.attempts + 1},
            returning=_CLAIMED,
        )
        rows, deferred = await self._hold_over_cap(session, list(claimed.rows), now)
        return rows, lease, deferred

    async def _hold_over_cap(self, session: AsyncSession, rows: list[Any], now: datetime) -> tuple[list[Any], int]:
        sms = [(r.id, r.recipient) for r in rows if r.channel == "sms"]
        if not sms:
            return rows, 0
        tz = self.settings.tz
        day_start = local_day_start(now, tz)
        counts = dict(
            (
                await session.execute(
                    select(T.c.recipient, func.count())
                    .where(
                        T.c.channel == "sms",
                        T.c.status.in_(("sent", "delivered")),
                        T.c.sent_at >= day_start,
                        T.c.recipient.in_(sorted({r for _, r in sms})),
                    )
                    .group_by(T.c.recipient)
                )
            ).all()
        )
        _, defer = split_by_cap(sms, counts, self.settings.notify.sms_daily_cap)
        if not defer:
            return rows, 0
        tomorrow = day_start + timedelta(days=1)
        quiet_end = quiet_until(tomorrow, tz, self.settings.notify.quiet_hours)
        await lifecycle.move_all(
            session,
            OUTBOX,
            T,
            "queued",
            from_states=("sending",),
            where=[T.c.id.in_(defer)],
            values={
                "lease_until": None,
                "attempts": T.c.attempts - 1,
                "next_attempt_at": quiet_end or tomorrow,
                "last_error": "daily cap reached: deferred to tomorrow",
            },
        )
        held = set(defer)
        return [r for r in rows if r.id not in held], len(defer)

    def _outgoing(self, row: Any) -> Outgoing:
        s = self.settings
        text = render(
            Fields(row.template, row.recipient_role, row.due_on, row.contract_no, row.amount),
            s.notify.language,
            s.centre_name,
            s.centre_phone,
        )
        return Outgoing(id=message_id(row.id), to=row.recipient, text=text, template=row.template, subject=row.subject)

    async def _send(self, row: Any) -> Outcome:
        try:
            return await self.channels[row.channel].send(self._outgoing(row))
        except Exception as exc:  # a bug in rendering or a channel: the row must not stay `sending` for ever
            return Outcome(Verdict.RETRY, f"{type(exc).__name__}: {exc}")

    async def record(
        self, session: AsyncSession, rows: list[Any], outcomes: list[Outcome], lease: datetime, now: datetime
    ) -> DispatchReport:
        n = self.settings.notify
        report = DispatchReport(claimed=len(rows))
        sent, retry, failed = [], [], []
        for row, outcome in zip(rows, outcomes, strict=False):
            if outcome.verdict is Verdict.SENT:
                sent.append({"row_id": row.id, "provider_id": outcome.provider_id})
            elif after_failure(row.attempts, n.max_attempts, outcome.verdict):
                failed.append({"row_id": row.id, "last_error": outcome.error})
            else:
                wait = backoff_seconds(row.attempts, n.retry_base_seconds, n.retry_max_seconds, self.rng.random())
                retry.append(
                    {"row_id": row.id, "last_error": outcome.error, "next_attempt_at": now + timedelta(seconds=wait)}
                )
        mine = [T.c.id == bindparam("row_id"), T.c.lease_until == lease]
        for params, wanted, values in (
            (
                sent,
                "sent",
                {"sent_at": now, "lease_until": None, "last_error": None, "provider_id": bindparam("provider_id")},
            ),
            (
                retry,
                "queued",
                {
                    "lease_until": None,
                    "last_error": bindparam("last_error"),
                    "next_attempt_at": bindparam("next_attempt_at"),
                },
            ),
            (failed, "failed", {"lease_until": None, "last_error": bindparam("last_error")}),
        ):
            await lifecycle.move_all(
                session, OUTBOX, T, wanted, from_states=("sending",), where=mine, values=values, params=params
            )
        report.sent, report.retried, report.failed = len(sent), len(retry), len(failed)
        return report

    async def _claim_batch(self, now: datetime | None) -> tuple[list[Any], datetime, int]:
        async with write_session(self.engine) as session:
            return await self.claim(session, now or utcnow())

    async def _send_and_record(self, rows: list[Any], lease: datetime) -> DispatchReport:
        report = DispatchReport()
        sending = {asyncio.ensure_future(self._send(row)): row for row in rows}
        pending = set(sending)
        while pending:  # record what has come back every so often: a crash then resends little
            done, pending = await asyncio.wait(pending, timeout=self.record_every_seconds)
            if done:
                finished = [sending[task] for task in done]
                async with write_session(self.engine) as session:
                    report.add(await self.record(session, finished, [task.result() for task in done], lease, utcnow()))
        return report

    async def run_once(self, now: datetime | None = None) -> DispatchReport:
        """One claim, its sends and their results."""
        rows, lease, deferred = await self._claim_batch(now)
        report = await self._send_and_record(rows, lease) if rows else DispatchReport()
        report.deferred += deferred
        return report

    async def drain(self, now: datetime | None = None, max_rounds: int = 1000) -> DispatchReport:
        """Claim and send until nothing is due (or max_rounds claims): the scheduled dispatcher job.

        The next batch is claimed and started while the last one is still being sent, so the channels never
        wait for the database (at most two batches in flight; they share each channel's concurrency bound)."""
        total = DispatchReport()
        in_flight: asyncio.Task[DispatchReport] | None = None
        try:
            for _ in range(max_rounds):
                rows, lease, deferred = await self._claim_batch(now)
                total.deferred += deferred
                if not rows and not deferred:
                    break
                following = asyncio.create_task(self._send_and_record(rows, lease)) if rows else None
                if in_flight is not None:
                    total.add(await in_flight)
                in_flight = following
        finally:
            if in_flight is not None:
                total.add(await in_flight)
        return total
