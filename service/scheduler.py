"""Scheduled jobs inside the service process (APScheduler 3), for the embedded one-process mode.

The composition root hands over the jobs; this module knows nothing of what they do. Each job runs
"as of" a business date it works out itself, and is safe to run twice (the jobs keep their own
last-run marks and take a database lock where several processes could run them).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from service.settings import Settings

log = logging.getLogger("zizhu.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    cron: str  # "minute hour day month day_of_week", in the centre's time zone
    run: Callable[[], Awaitable[object]]


def build_scheduler(settings: Settings, jobs: list[Job]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    for job in jobs:
        minute, hour, day, month, dow = job.cron.split()
        scheduler.add_job(_logged(job), CronTrigger(minute=minute, hour=hour, day=day, month=month,
                                                    day_of_week=dow, timezone=settings.tz),
                          id=job.name, name=job.name, coalesce=True, max_instances=1, misfire_grace_time=3600)
    return scheduler


def _logged(job: Job) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await job.run()
            log.info("job %s done: %s", job.name, result)
        except Exception:  # a failed night must not kill the scheduler; the next run catches up
            log.exception("job %s failed", job.name)

    return run
