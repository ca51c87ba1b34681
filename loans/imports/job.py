"""A large contract import run as a background job in the service process.

An upload of more than settings.import_background_rows rows answers 202 at once with a job (a row of
loan_import_jobs, so every API process behind the balancer can answer for it); an asyncio task of the process that
took the upload runs the same import (importer.import_contracts) in a write session of its own, all or nothing, and
commits its progress separately, about once a second. Should that process stop mid-import, its transaction is
rolled back (nothing of the file is written) and the job makes no more progress: after STALE_AFTER the first reader
(`read_job`) marks it failed, with a problem that says to upload the file again. The upload is not kept, so a job is
never started again on its own.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from loans.imports.importer import ImportResult, import_contracts
from service.db import Base, IdType, UtcDateTime, utcnow, write_session
from service.lifecycle import Lifecycle, move_all
from service.problems import INTERNAL, NOT_FOUND, Problem, problem_type

log = logging.getLogger("zizhu.loans.imports")
MAX_JOB_ERRORS = 1000  # row errors kept on the job, as the JSON answer of an import lists them
PROGRESS_EVERY = 1.0  # seconds between progress commits
STALE_AFTER = timedelta(minutes=10)  # no progress for this long: the process running it has gone

INTERRUPTED = problem_type("loan-import-interrupted", 409, "导入中断", "Import interrupted")
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
# The job's lifecycle: every status write goes through `move`, which allows only these edges.
TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({RUNNING, FAILED}),
    RUNNING: frozenset({DONE, FAILED}),
    DONE: frozenset(),
    FAILED: frozenset(),
}


# Its row is its own record (progress, result, problem): edges checked by service.lifecycle, no audit record.
JOB_LIFECYCLE = Lifecycle(
    entity="loan_import_job",
    name_zh="导入任务",
    name_en="An import job",
    edges=TRANSITIONS,
    audited=False,
    labels={
        QUEUED: ("排队中", "queued"),
        RUNNING: ("导入中", "running"),
        DONE: ("已完成", "done"),
        FAILED: ("失败", "failed"),
    },
)


class ImportJob(Base):
    __tablename__ = "loan_import_jobs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    file: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[int] = mapped_column(IdType)  # user id
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_only: Mapped[bool] = mapped_column(Boolean, default=False)
    phase: Mapped[str] = mapped_column(String(10), default="reading")  # reading | checking | writing
    done: Mapped[int] = mapped_column(Integer, default=0)  # rows of the phase
    total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # the import's summary
    problem: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # why it failed (problem+json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class JobTransitionError(ValueError):
    pass


async def move(session: AsyncSession, job_id: int, current: str, new: str, **values: Any) -> None:
    """The one status write: `current` -> `new` when the table allows it (and the job is still `current`)."""
    if not JOB_LIFECYCLE.allows(current, new):
        raise JobTransitionError(f"an import job cannot go from {current} to {new}")
    await move_all(
        session,
        JOB_LIFECYCLE,
        ImportJob,
        new,
        where=[ImportJob.id == job_id],
        from_states=[current],
        values={"updated_at": utcnow(), **values},
    )


def view(job: ImportJob, now: datetime | None = None) -> dict[str, Any]:
    stale = job.status in (QUEUED, RUNNING) and (now or utcnow()) - job.updated_at > STALE_AFTER
    return {
        "id": job.id,
        "status": job.status,
        "file": job.file,
        "dry_run": job.dry_run,
        "valid_only": job.valid_only,
        "stale": stale,
        "progress": {"phase": job.phase, "done": job.done, "total": job.total},
        "result": job.result,
        "problem": job.problem,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


async def get_job(session: AsyncSession, job_id: int) -> ImportJob:
    job = await session.get(ImportJob, job_id)
    if job is None:
        raise Problem(NOT_FOUND, f"导入任务 {job_id} 不存在。", f"Import job {job_id} does not exist.")
    return job


async def read_job(engine: AsyncEngine, session: AsyncSession, job_id: int) -> dict[str, Any]:
    """The job as its readers see it (view); a stale one is first marked failed, in a write session of its own (the
    reader's may be read-only), so that every process answers the same."""
    job = await get_job(session, job_id)
    if view(job)["stale"]:
        problem = Problem(
            INTERRUPTED,
            "导入在完成前中断（运行它的服务进程已停止），未导入任何数据。请重新上传该文件。",
            "The import stopped before it finished (the service process running it ended); nothing was imported. "
            "Upload the file again.",
        )
        async with write_session(engine) as writer:
            await move_all(
                writer,
                JOB_LIFECYCLE,
                ImportJob,
                FAILED,
                where=[ImportJob.id == job_id, ImportJob.updated_at < utcnow() - STALE_AFTER],
                from_states=[QUEUED, RUNNING],
                values={"updated_at": utcnow(), "problem": problem_body(problem)},
            )
        await session.refresh(job)
    return view(job)


@dataclass(frozen=True)
class JobRequest:
    source: bytes
    filename: str
    user_id: int
    actor: str
    secret: str
    valid_only: bool
    dry_run: bool
    max_rows: int
    rows: int  # as measured before the sheet is loaded
    today: date  # the business date the upload was made on: its dates are checked against it
    county: str | None = None  # the centre's county code, which every contract number carries


_RUNNING: set[asyncio.Task[None]] = set()  # held here so that a running job is not garbage-collected


async def start_job(engine: AsyncEngine, request: JobRequest) -> ImportJob:
    """Record the job (committed before it starts) and start it in this process."""
    async with write_session(engine) as session:
        job = ImportJob(
            file=request.filename,
            created_by=request.user_id,
            dry_run=request.dry_run,
            valid_only=request.valid_only,
            total=request.rows,
        )
        session.add(job)
        await session.flush()
    task = asyncio.create_task(run_job(engine, job.id, request))
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return job


async def run_job(engine: AsyncEngine, job_id: int, request: JobRequest) -> None:
    progress = {"phase": "reading", "done": 0, "total": request.rows}
    saved: dict[str, Any] = {}

    def report(phase: str, done: int, total: int) -> None:  # called from the import's worker thread too
        progress.update(phase=phase, done=done, total=total)

    async def save() -> None:
        if progress != saved:
            saved.update(progress)
            async with write_session(engine) as session:
                await session.execute(
                    update(ImportJob)
                    .where(ImportJob.id == job_id, ImportJob.status == RUNNING)
                    .values(updated_at=utcnow(), **saved)
                )

    async def keep_saving() -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            await save()

    async with write_session(engine) as session:
        await move(session, job_id, QUEUED, RUNNING)
    saver = asyncio.create_task(keep_saving())
    outcome: tuple[str, dict[str, Any]]
    try:
        async with write_session(engine) as session:
            result = await import_contracts(
                session,
                request.source,
                filename=request.filename,
                user_id=request.user_id,
                actor=request.actor,
                secret=request.secret,
                valid_only=request.valid_only,
                dry_run=request.dry_run,
                progress=report,
                max_rows=request.max_rows,
                county=request.county,
                today=request.today,
            )
        outcome = (FAILED if result.stopped else DONE), {"result": result.summary(MAX_JOB_ERRORS)}
    except Problem as problem:
        outcome = FAILED, {"problem": problem_body(problem)}
    except Exception:
        log.exception("import job %s failed", job_id)
        outcome = (
            FAILED,
            {
                "problem": problem_body(
                    Problem(
                        INTERNAL, "导入时发生系统错误，未导入任何数据。", "The import failed; nothing was imported."
                    )
                )
            },
        )
    finally:
        saver.cancel()
    async with write_session(engine) as session:
        await move(session, job_id, RUNNING, outcome[0], **progress, **outcome[1])


def problem_body(problem: Problem) -> dict[str, Any]:
    kind = problem.kind
    return {
        **problem.extra,
        "type": f"/problems/{kind.slug}",
        "status": kind.status,
        "title": kind.title_zh,
        "detail_zh": problem.detail_zh,
        "detail_en": problem.detail_en,
        "field": problem.field,
    }


__all__ = ["ImportJob", "ImportResult", "JobRequest", "get_job", "move", "read_job", "start_job", "view"]
