"""A large contract upload is imported as a background job (loans.imports.job): 202 with the job, polled to its
end; the same result, errors and all-or-nothing as an import done at once. Here every upload of more than two data
rows is "large" (ZIZHU_IMPORT_BACKGROUND_ROWS=2)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from loans.imports import job as jobs
from loans.imports.job import (
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    ImportJob,
    JobTransitionError,
    move,
)
from loans.models import Loan
from service.app import create_app
from service.db import utcnow, write_session
from service.registry.models import Student
from tests.integration.console_fixtures import console_as

from .test_loan_import import count, row, setup, upload, workbook

JOBS = "/api/v1/loan-imports/jobs"


@pytest.fixture
def app(db, settings):
    return create_app(dataclasses.replace(settings, import_background_rows=2))


async def finished(client: Any, headers: dict[str, str], started: Any) -> dict[str, Any]:
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    assert location == f"{JOBS}/{started.json()['id']}" and started.json()["status"] in ("queued", "running")
    for _ in range(400):
        body = (await client.get(location, headers=headers)).json()
        if body["status"] in (DONE, FAILED):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"the job did not end: {body}")


async def test_a_large_upload_is_a_job_polled_to_its_result(client, make_user, sessions):
    officer = await setup(client, make_user)
    small = await upload(client, officer, workbook([row(1), row(2)]))
    assert small.status_code == 200 and small.json()["imported"] == 2  # at or under the threshold: at once
    job = await finished(client, officer, await upload(client, officer, workbook([row(n) for n in range(3, 8)])))
    assert job["status"] == "done" and job["problem"] is None and job["file"] == "contracts.xlsx"
    assert job["result"]["imported"] == 5 and job["result"]["students_created"] == 5 and job["result"]["errors"] == []
    assert job["progress"] == {"phase": "writing", "done": 5, "total": 5}
    assert await count(sessions, Loan) == 7
    assert (await client.get(f"{JOBS}/{job['id']}", headers=await make_user("auditor"))).status_code == 200  # staff
    school = await make_user("school", university_code="10126")
    assert (await client.get(f"{JOBS}/{job['id']}", headers=school)).status_code == 403
    missing = await client.get(f"{JOBS}/999999", headers=officer)
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"


async def test_a_job_with_invalid_rows_fails_with_its_errors_and_writes_nothing(client, make_user, sessions):
    officer = await setup(client, make_user)
    rows = [row(1), row(2), row(3, phone="12"), row(4, principal=30000)]
    job = await finished(client, officer, await upload(client, officer, workbook(rows)))
    assert job["status"] == "failed" and job["problem"] is None
    result = job["result"]
    assert (result["rows"], result["valid"], result["invalid"], result["imported"]) == (4, 2, 2, 0)
    assert {(e["row"], e["field"]) for e in result["errors"]} == {(4, "phone"), (5, "principal")}
    assert await count(sessions, Loan) == 0 and await count(sessions, Student) == 0
    # valid_only imports the good rows, as at once
    job = await finished(client, officer, await upload(client, officer, workbook(rows), valid_only=True))
    assert job["status"] == "done" and job["result"]["imported"] == 2 and job["valid_only"]
    assert await count(sessions, Loan) == 2


async def test_a_job_whose_file_is_wrong_fails_with_the_problem(client, make_user, sessions):
    officer = await setup(client, make_user)
    headers = [c for c in workbook.__globals__["HEADERS"] if c != "合同编号"]
    job = await finished(client, officer, await upload(client, officer, workbook([row(1)] * 3, headers=headers)))
    assert job["status"] == "failed" and job["result"] is None
    assert job["problem"]["type"] == "/problems/loan-import-columns" and job["problem"]["missing"] == ["合同编号"]
    assert job["problem"]["detail_zh"] and job["problem"]["detail_en"]


async def test_a_job_that_breaks_writes_nothing_and_says_so(client, make_user, sessions, monkeypatch):
    officer = await setup(client, make_user)

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("loans.imports.importer.write", broken)
    job = await finished(client, officer, await upload(client, officer, workbook([row(n) for n in range(1, 6)])))
    assert job["status"] == "failed" and job["problem"]["type"] == "/problems/internal-error"
    assert "disk full" not in str(job)
    assert await count(sessions, Loan) == 0 and await count(sessions, Student) == 0


async def test_a_dry_run_job_writes_nothing(client, make_user, sessions):
    officer = await setup(client, make_user)
    job = await finished(
        client, officer, await upload(client, officer, workbook([row(n) for n in range(1, 6)]), dry_run=True)
    )
    assert job["status"] == "done" and job["result"]["valid"] == 5 and job["result"]["imported"] == 0
    assert await count(sessions, Loan) == 0


async def test_the_console_shows_a_running_job_and_refreshes_until_it_ends(client, make_user, sessions):
    await setup(client, make_user)
    await make_user("officer", username="clerk")
    async with sessions() as session, session.begin():  # the test's engine: the app's belongs to its own loop
        running = ImportJob(file="big.xlsx", created_by=1, total=6, status=RUNNING, done=3, phase="reading")
        session.add(running)
        await session.flush()
    async with console_as(client, "clerk") as clerk:
        page = await clerk.client.get(f"/console/import/jobs/{running.id}")
        assert page.status_code == 200 and 'http-equiv="refresh"' in page.text
        assert '<progress max="6" value="3">' in page.text and "big.xlsx" in page.text
        files = {"file": ("big.xlsx", workbook([row(n) for n in range(1, 6)]))}
        r = await clerk.client.post(
            "/console/import", data={"_csrf_token": clerk.token}, files=files, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        for _ in range(400):
            page = await clerk.client.get(r.headers["location"])
            if 'http-equiv="refresh"' not in page.text:
                break
            await asyncio.sleep(0.05)
        assert '<progress max="5" value="5">' in page.text and '<td class="num">5</td>' in page.text
    assert await count(sessions, Loan) == 5


async def test_a_job_left_by_a_stopped_process_is_failed_when_read(client, make_user, sessions):
    """No progress for STALE_AFTER: the process that ran it has gone (its transaction rolled back). The first reader
    marks it failed, saying to upload again; a job still making progress is left running."""
    officer = await setup(client, make_user)
    long_ago = utcnow() - jobs.STALE_AFTER - timedelta(minutes=1)
    async with sessions() as session, session.begin():
        gone = ImportJob(file="gone.xlsx", created_by=1, total=9, status=RUNNING, updated_at=long_ago)
        queued = ImportJob(file="queued.xlsx", created_by=1, total=9, status=QUEUED, updated_at=long_ago)
        alive = ImportJob(file="alive.xlsx", created_by=1, total=9, status=RUNNING, updated_at=utcnow())
        session.add_all([gone, queued, alive])
        await session.flush()
    for job in (gone, queued):
        body = (await client.get(f"{JOBS}/{job.id}", headers=officer)).json()
        assert body["status"] == FAILED and body["stale"] is False, body
        assert (
            body["problem"]["type"] == "/problems/loan-import-interrupted"
            and "重新上传" in body["problem"]["detail_zh"]
        )
    body = (await client.get(f"{JOBS}/{alive.id}", headers=officer)).json()
    assert body["status"] == RUNNING and body["problem"] is None


async def test_the_job_lifecycle_allows_only_these_edges(db):
    allowed = [(QUEUED, RUNNING), (QUEUED, FAILED), (RUNNING, DONE), (RUNNING, FAILED)]
    forbidden = [
        (QUEUED, DONE),
        (RUNNING, QUEUED),
        (DONE, RUNNING),
        (DONE, FAILED),
        (DONE, QUEUED),
        (FAILED, RUNNING),
        (FAILED, DONE),
        (FAILED, QUEUED),
        (QUEUED, QUEUED),
        (DONE, DONE),
    ]
    async with write_session(db) as session:
        for current, new in allowed:
            job = ImportJob(file="x.xlsx", created_by=1, status=current)
            session.add(job)
            await session.flush()
            await move(session, job.id, current, new)
            await session.refresh(job)
            assert job.status == new
        for current, new in forbidden:
            with pytest.raises(JobTransitionError):
                await move(session, 1, current, new)
    assert jobs.TRANSITIONS[DONE] == frozenset() == jobs.TRANSITIONS[FAILED]
