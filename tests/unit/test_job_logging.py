"""A scheduled job's routine turn logs at DEBUG; INFO is for turns that did something (messages sent, a batch run).
APScheduler's own "Running job" / "executed successfully" lines never reach INFO."""

from __future__ import annotations

import asyncio
import logging

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent

from notifications.dispatcher import DispatchReport
from service.logs import configure_logging
from service.scheduler import Job, build_scheduler
from service.settings import Settings


def _returns(name: str, value: object) -> Job:
    async def run() -> object:
        return value

    return Job(name, "", run, every_seconds=3600, exclusive=False)  # the first turn runs at once


async def _one_turn_each(jobs: list[Job]) -> None:
    scheduler = build_scheduler(Settings.from_env({}), jobs)
    done: set[str] = set()
    finished = asyncio.Event()

    def executed(event: JobExecutionEvent) -> None:
        done.add(event.job_id)
        if len(done) == len(jobs):
            finished.set()

    scheduler.add_listener(executed, EVENT_JOB_EXECUTED)
    scheduler.start()
    try:
        await asyncio.wait_for(finished.wait(), timeout=10)
    finally:
        scheduler.shutdown(wait=False)


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    configure_logging("INFO")
    caplog.set_level(logging.DEBUG, logger="zizhu.scheduler")
    return caplog


async def test_an_idle_dispatcher_turn_logs_at_debug_only(records):
    idle, busy = _returns("idle", DispatchReport()), _returns("busy", DispatchReport(claimed=2, sent=2))
    await _one_turn_each([idle, busy])

    info = [r for r in records.records if r.levelno >= logging.INFO]
    assert [(r.name, r.getMessage()) for r in info] == [
        ("zizhu.scheduler", f"job {busy.name} done: {DispatchReport(claimed=2, sent=2)}")
    ]
    debug = [r.getMessage() for r in records.records if r.levelno == logging.DEBUG and r.name == "zizhu.scheduler"]
    assert f"job {idle.name} ran: nothing to do" in debug


def test_apschedulers_own_loggers_stay_at_warning(records):
    assert logging.getLogger("apscheduler.executors.default").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("apscheduler.scheduler").getEffectiveLevel() == logging.WARNING
