"""Scheduled jobs in several processes: on PostgreSQL an exclusive job runs in one process at a time (advisory
lock), the others skip their turn; the dispatcher job is not exclusive (it shares the outbox by claiming)."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import text

from service.app import nightly_jobs
from service.scheduler import Job, job_lock_key, run_exclusive

ON_SQLITE = os.environ["ZIZHU_DATABASE_URL"].startswith("sqlite")


def test_lock_keys_are_stable_and_distinct():
    assert job_lock_key("loans-close-of-business") == job_lock_key("loans-close-of-business")
    assert job_lock_key("loans-close-of-business") != job_lock_key("loans-reminder-scan")
    assert 0 < job_lock_key("x") < 2**63


def test_only_the_dispatcher_shares(db, settings):
    jobs = {j.name: j for j in nightly_jobs(settings, db)}
    assert jobs["loans-close-of-business"].exclusive and jobs["loans-reminder-scan"].exclusive
    dispatch = jobs["notifications-dispatch"]
    assert not dispatch.exclusive and dispatch.every_seconds == settings.notify.dispatch_every_seconds
    assert dispatch.close is not None
    sealer = jobs["audit-seal"]  # one sealer at a time (and its own transaction lock inside)
    assert sealer.exclusive and sealer.every_seconds == settings.audit_seal_seconds


@pytest.mark.skipif(ON_SQLITE, reason="advisory locks are PostgreSQL's")
async def test_an_exclusive_job_runs_in_one_process_at_a_time(db):
    started, release = asyncio.Event(), asyncio.Event()
    runs = []

    async def slow() -> str:
        runs.append("ran")
        started.set()
        await release.wait()
        return "done"

    job = Job("test-exclusive", "0 0 * * *", slow)
    first = asyncio.create_task(run_exclusive(db, job))
    await started.wait()
    assert await run_exclusive(db, job) is None  # another "worker": skipped while the first holds the lock
    release.set()
    assert await first == "done" and runs == ["ran"]
    assert await run_exclusive(db, job) == "done"  # the lock was given back
    async with db.connect() as conn:  # and nobody holds it now
        assert await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": job_lock_key(job.name)})
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": job_lock_key(job.name)})
