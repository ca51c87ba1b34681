"""The in-process scheduler runs close of business for yesterday, and registers it nightly."""

from __future__ import annotations

import time_machine

from service.app import nightly_jobs
from service.meta import get_meta
from service.scheduler import build_scheduler


@time_machine.travel("2026-11-29 01:30 +08:00")
async def test_nightly_job_closes_yesterday(db, settings, sessions):
    jobs = nightly_jobs(settings, db)
    assert [j.name for j in jobs] == [
        "loans-close-of-business",
        "loans-reminder-scan",
        "notifications-dispatch",
        "audit-seal",
    ]
    report = await jobs[0].run()
    assert [d.isoformat() for d in report.days_run] == ["2026-11-28"]
    async with sessions() as s:
        assert await get_meta(s, "loans.close_of_business.last_date") == "2026-11-28"
    scheduler = build_scheduler(settings, jobs)
    job = scheduler.get_job("loans-close-of-business")
    assert job is not None and "hour='1'" in str(job.trigger) and "minute='30'" in str(job.trigger)
    assert "interval[0:00:05]" in str(scheduler.get_job("notifications-dispatch").trigger)
    assert "interval[0:00:10]" in str(scheduler.get_job("audit-seal").trigger)
    sealed = await jobs[-1].run()  # the close of business left an audit record: the sealer chains it
    assert sealed.sealed >= 1 and not sealed.problem
