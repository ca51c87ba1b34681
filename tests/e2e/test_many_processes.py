"""Several processes on one PostgreSQL database: two API processes and two `zizhu worker` processes over a simulated
month of business dates. Every date's batch runs exactly once, every reminder is queued once, and the books come
out as a single process running the same dates one after another makes them.

The dates are replayed, not waited for: `zizhu worker --business-dates FROM..TO` runs each daily job once per date,
as its nightly trigger would the morning after, through the same code and the same PostgreSQL advisory lock as
the cron trigger (service.scheduler.run_daily_jobs_once). At the same time both API processes are told to close
every date (POST /api/v1/batch/close-of-business), starting once a worker has closed the first. So four processes
race for the dates, in no set order: one may be days ahead of another (then it catches up the days between in one
run), and a late run for a date already closed must change nothing.

The portfolio is the demo county (its loans go back years; the demo never runs the batch), and the month is in
the past, so no date is ahead of today. The reference is a second installation with the same demo, closed by one
worker alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from collections import Counter
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from loans.batch.close_of_business import LAST_RUN_KEY
from service.db import create_engine
from service.settings import Settings
from tests.e2e.conftest import (
    ZIZHU,
    free_port,
    installation_env,
    remove_installation,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.skipif(
    not os.environ.get("ZIZHU_TEST_DATABASE_URL", "").strip(),
    reason="several processes on one database: PostgreSQL only",
)

FIRST, LAST = date(2025, 11, 18), date(2025, 12, 22)  # 30, 7 and 1 days before 20 December, and after it
DATES = [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]
SPAN = f"{FIRST}..{LAST}"
STUDENTS = "60"
SECRET = "many-processes-secret-key-long-enough-for-hs256-0123456789"

# what the books hold after the month: compared with the one-process reference
COUNTS = {
    "outbox": "SELECT kind || '/' || recipient_role, count(*) FROM notification_outbox GROUP BY 1",
    "ledger": "SELECT kind, count(*) FROM ledger_entries GROUP BY 1",
    "ledger_sum": "SELECT account, sum(debit) - sum(credit) FROM ledger_lines GROUP BY 1",
    "lines": "SELECT payer || '/' || status, count(*) FROM loan_schedule_lines GROUP BY 1",
    "loans": "SELECT status, count(*) FROM loans GROUP BY 1",
    "collections": "SELECT CAST(count(*) AS TEXT), count(*) FROM loan_collection_attempts",
}


def _env(tmp_path: Any, name: str) -> dict[str, str]:
    env = installation_env(tmp_path / name)
    env.update(ZIZHU_SECRET_KEY=SECRET, ZIZHU_SCHEDULER="false")
    return env


async def _query(env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(Settings.from_env(env))
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()


def _books(env: dict[str, str]) -> dict[str, dict[str, int]]:
    return {name: {str(k): int(v or 0) for k, v in asyncio.run(_query(env, sql))} for name, sql in COUNTS.items()}


def _wait_for_a_closed_date(env: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not asyncio.run(_query(env, f"SELECT value FROM service_meta WHERE key = '{LAST_RUN_KEY}'")):
        assert time.monotonic() < deadline, "no worker closed a date"
        time.sleep(0.2)


def _close_every_date(base: str, token: str, errors: list[str]) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        for day in DATES:
            r = http.post("/api/v1/batch/close-of-business", json={"as_of": day.isoformat()})
            if r.status_code != 200:
                errors.append(f"{base} {day}: {r.status_code} {r.text[:200]}")


@pytest.fixture
def installations(tmp_path: Any) -> Any:
    main, reference = _env(tmp_path, "main"), _env(tmp_path, "reference")
    yield main, reference
    for env in (main, reference):
        remove_installation(env)


def test_two_apis_and_two_workers_run_each_date_once(installations):
    main, reference = installations
    servers: list[subprocess.Popen[str]] = []
    try:
        loads = [
            subprocess.Popen(
                [ZIZHU, "demo", "--students", STUDENTS],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for env in (main, reference)
        ]
        for load in loads:
            assert load.wait(120) == 0, load.stderr.read() if load.stderr else ""
        # the reference: one worker closes the month alone (while the main installation's servers start)
        alone = subprocess.Popen(
            [ZIZHU, "worker", "--business-dates", SPAN], env=reference, stderr=subprocess.PIPE, text=True
        )
        ports = [free_port(), free_port()]
        servers = [start_server(main, port, "--no-demo") for port in ports]
        assert alone.wait(120) == 0, alone.stderr.read() if alone.stderr else ""

        token = httpx.post(
            f"http://127.0.0.1:{ports[0]}/api/v1/auth/login", json={"username": "officer", "password": "zizhu-demo"}
        ).json()["access_token"]
        workers = [
            subprocess.Popen([ZIZHU, "worker", "--business-dates", SPAN], env=main, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        # the API joins once a worker has closed a first date: a worker that is still starting up would otherwise
        # find every date already closed by the (faster) API and only show that a late run changes nothing
        _wait_for_a_closed_date(main)
        errors: list[str] = []
        callers = [
            threading.Thread(target=_close_every_date, args=(f"http://127.0.0.1:{port}", token, errors))
            for port in ports
        ]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(120)
        for worker in workers:
            assert worker.wait(120) == 0, worker.stderr.read() if worker.stderr else ""
        assert not errors, errors
    finally:
        logs = [stop_server(server) for server in servers]
    assert not any("Traceback" in log for log in logs), logs

    # each date closed exactly once: the close-of-business audit records cover every date once, none twice
    runs = asyncio.run(
        _query(
            main,
            "SELECT entity_id, after, actor FROM audit_log WHERE action = 'close-of-business' AND entity = 'batch'",
        )
    )
    days = [(after if isinstance(after, dict) else json.loads(after))["days"] for _, after, _ in runs]
    closed = Counter(day for run in days for day in run)
    closers = Counter(actor.split("#")[0] for *_, actor in runs)
    print("dates closed by:", closers)  # shown with -s: who won the races
    assert closers["scheduler"] > 0  # the workers' replay closed dates, not only the API
    assert closed == Counter(d.isoformat() for d in DATES), closed
    assert len({entity for entity, *_ in runs}) == len(runs)
    assert asyncio.run(_query(main, f"SELECT value FROM service_meta WHERE key = '{LAST_RUN_KEY}'")) == [
        (LAST.isoformat(),)
    ]
    # every reminder once: no key twice in the outbox (the unique constraint's columns)
    twice = asyncio.run(
        _query(
            main,
            "SELECT subject, kind, due_on, occasion_on, recipient_role, channel, count(*) "
            "FROM notification_outbox GROUP BY 1, 2, 3, 4, 5, 6 HAVING count(*) > 1",
        )
    )
    assert twice == []
    books, expected = _books(main), _books(reference)
    assert books == expected
    assert sum(books["outbox"].values()) > 0 and books["ledger"].get("interest", 0) > 0  # the month did something
