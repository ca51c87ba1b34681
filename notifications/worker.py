"""The notifications package's scheduled job: the dispatcher, every few seconds, in every worker process.

It is not exclusive: several processes share the outbox by claiming rows (FOR UPDATE SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.dispatcher import Dispatcher
from service.scheduler import Job
from service.settings import Settings


def notification_jobs(settings: Settings, engine: AsyncEngine) -> list[Job]:
    dispatcher = Dispatcher.from_settings(engine, settings)
    return [
        Job(
            "notifications-dispatch",
            "",
            dispatcher.drain,
            every_seconds=settings.notify.dispatch_every_seconds,
            exclusive=False,
            close=dispatcher.aclose,
        )
    ]
