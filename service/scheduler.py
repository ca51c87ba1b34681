"""Scheduled jobs inside the service process (APScheduler 3), for the embedded one-process mode.

The composition root hands over the jobs; this module knows nothing of what they do. Each job runs
"as of" a business date it works out itself, and is safe to run twice (the jobs keep their own
last-run marks and take a database lock where several processes could run them). On PostgreSQL an
exclusive job also runs under a session advisory lock named after it: with several `zizhu worker`
processes (or API processes with the scheduler on) one runs it and the others skip that turn.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.settings import Settings

log = logging.getLogger("zizhu.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    cron: str  # "minute hour day month day_of_week", in the centre's time zone ("" with every_seconds)
    run: Callable[[], Awaitable[object]]
    every_seconds: float | None = None  # instead of cron: run this often (e.g. the dispatcher)
    exclusive: bool = True  # one process at a time (PostgreSQL advisory lock); False: shares work itself
    close: Callable[[], Awaitable[None]] | None = None  # what to release at shutdown (e.g. HTTP clients)


def build_scheduler(settings: Settings, jobs: list[Job], engine: AsyncEngine | None = None) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    for job in jobs:
        if job.every_seconds:
            trigger: object = IntervalTrigger(seconds=job.every_seconds, timezone=settings.tz)
        else:
            minute, hour, day, month, dow = job.cron.split()
            trigger = CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, timezone=settings.tz)
        locked = engine if job.exclusive and engine is not None and engine.dialect.name == "postgresql" else None
        first = {"next_run_time": datetime.now(settings.tz)} if job.every_seconds else {}  # at once, then every …
        scheduler.add_job(
            _logged(job, locked),
            trigger,
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None if job.every_seconds else 3600,
            **first,
        )
    return scheduler


def job_lock_key(name: str) -> int:
    return 0x5A4A0000_00000000 | zlib.crc32(name.encode())  # "ZJ" + the name's CRC: stable across processes


async def run_exclusive(engine: AsyncEngine, job: Job) -> object:
    """Run the job while holding its session advisory lock; None (skipped) if another process holds it.
    The lock lives on a connection of its own, so it goes if this process dies."""
    async with engine.connect() as conn:
        key = job_lock_key(job.name)
        if not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}):
            log.info("job %s skipped: another process is running it", job.name)
            return None
        await conn.commit()  # end the implicit transaction: the lock is the session's, not a transaction's
        try:
            return await job.run()
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            await conn.commit()


def _logged(job: Job, engine: AsyncEngine | None = None) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await (run_exclusive(engine, job) if engine is not None else job.run())
            if result is None or (job.every_seconds and not result):  # skipped, or a routine turn: nothing done
                log.debug("job %s ran: nothing to do", job.name)
            else:
                log.info("job %s done: %s", job.name, result)
        except Exception:  # a failed night must not kill the scheduler; the next run catches up
            log.exception("job %s failed", job.name)

    return run


async def run_daily_jobs_once(engine: AsyncEngine, jobs: list[Job]) -> None:
    """Each cron job once, in order, exactly as its trigger would run it (under its lock on PostgreSQL); the
    interval jobs (the dispatcher) are left out. For `zizhu worker --business-dates`."""
    for job in jobs:
        if not job.every_seconds:
            locked = engine if job.exclusive and engine.dialect.name == "postgresql" else None
            await _logged(job, locked)()


async def run_until_signalled(settings: Settings, engine: AsyncEngine, jobs: list[Job]) -> None:
    """`zizhu worker`: run the jobs until SIGINT or SIGTERM, then release what they hold."""
    scheduler = build_scheduler(settings, jobs, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler.start()
    log.info("worker started: %s", ", ".join(job.name for job in jobs))
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        for job in jobs:
            if job.close is not None:
                await job.close()
        log.info("worker stopped")
