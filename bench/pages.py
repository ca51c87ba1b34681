"""Benchmark: how long each console page takes to render, server-side, with the demo county loaded.

    .venv/bin/python bench/pages.py [--repeat 20] [--students 300]

A fresh database (a temporary SQLite, or the one ZIZHU_DATABASE_URL names, in a new PostgreSQL schema) gets
the demo (`zizhu demo`: 300 students, several years of loans through the real workflow). Then every main page
is requested in-process through the app (ASGI, no network, no browser), signed in as the role that uses it,
`--repeat` times; the bare GET /health/live of the same app is the baseline measured in the same run.
Printed per page: median and worst milliseconds, and the median as a multiple of the baseline's.
Exits 1 when an HTML page's median is over the goal (300 ms); the downloads (PDFs: 受理证明, receipts, reports;
workbooks) are timed and printed too, but they are files made by the domains, not pages. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOAL_MS = 300.0
DOWNLOADS = (".pdf", ".xlsx", "/pdf")  # files, not pages (a query string aside)

PAGES: dict[str, list[str]] = {  # role → pages it uses ({contract}, {student}, {application} filled in)
    "officer": [
        "/",
        "/console",
        "/console/students",
        "/console/students?q=王",
        "/console/students/new",
        "/console/students/{student}",
        "/console/applications",
        "/console/applications/{application}",
        "/console/contracts",
        "/console/contracts?status=in_school",
        "/console/contracts/{contract}",
        "/console/contracts/{contract}/certificate.pdf",
        "/console/import",
        "/console/reports",
        "/console/reports/contracts.xlsx",
        "/console/programs",
        "/console/programs/{program}",
        "/console/notices/{notice}",
        "/console/donations",
        "/console/receipts",
        "/console/receipts/{receipt}",
        "/console/receipts/{receipt}/pdf",
        "/console/awards",
        "/console/awards?status=paid",
        "/console/awards/{award}",
        "/console/reports/grants.pdf?year={year}",
        "/console/reports/aging.xlsx",
        "/console/reports/default-rate.xlsx?by=university",
        "/console/reports/subsidy.xlsx?year={year}",
        "/console/reports/loans.xlsx?year={year}",
    ],
    "reviewer": [
        "/console/applications?status=submitted",
        "/console/graduations",
        "/console/grants/applications?status=submitted",
        "/console/grants/applications",
    ],
    "auditor": ["/console/audit", "/console/audit?entity=loan"],
    "school": ["/console/school/receipts", "/console/graduations"],
    "graduate": ["/console/me"],
    "donor": ["/console/donor", "/console/donors/1/report.pdf", "/console/receipts/{receipt}"],
}


def _environment() -> None:
    os.environ["ZIZHU_DATA_DIR"] = tempfile.mkdtemp(prefix="zizhu-bench-pages-")
    os.environ.setdefault("ZIZHU_SECRET_KEY", "bench-secret-key-long-enough-for-hs256-0123456789")
    os.environ["ZIZHU_SCHEDULER"] = "false"
    os.environ["ZIZHU_LOG_LEVEL"] = "WARNING"
    if os.environ.get("ZIZHU_DATABASE_URL", "").startswith("postgresql"):
        os.environ["ZIZHU_DATABASE_SCHEMA"] = f"zizhu_bench_{uuid.uuid4().hex[:8]}"


async def _time(client: object, path: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        r = await client.get(path)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - start) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code}")
    return times


async def main(repeat: int, students: int) -> int:
    _environment()
    from litestar.testing import AsyncTestClient
    from sqlalchemy import select, text

    from donations.models import Award, Funding, Notice, Receipt
    from loans.models import Loan
    from service.app import create_app
    from service.cli import _load_demo
    from service.db import create_engine, write_session
    from service.migrate import upgrade
    from service.settings import Settings

    settings = Settings.from_env()
    engine = create_engine(settings)
    await upgrade(engine, settings)
    async with write_session(engine) as session:
        await _load_demo(session, settings, students)
    async with write_session(engine) as session:
        contract = await session.scalar(select(Loan.contract_no).where(Loan.status == "in_school").limit(1))
        application = await session.scalar(select(Loan.id).where(Loan.status == "submitted").limit(1))
        student = await session.scalar(select(Loan.student_id).where(Loan.contract_no == contract))
        program, award = (await session.execute(select(Award.program_id, Award.id).order_by(Award.id).limit(1))).one()
        notice = await session.scalar(select(Notice.id).limit(1))
        receipt = await session.scalar(
            select(Receipt.receipt_no)
            .join(Funding, Funding.id == Receipt.funding_id)
            .where(Funding.donor_id == 1)
            .limit(1)
        )
        year = (await session.scalar(select(Award.paid_on).where(Award.paid_on.is_not(None)).limit(1))).year
    fill = {
        "contract": contract,
        "student": student,
        "application": application,
        "program": program,
        "award": award,
        "notice": notice,
        "receipt": receipt,
        "year": year,
    }
    app = create_app(settings)
    rows: list[tuple[str, str, float, float]] = []
    async with AsyncTestClient(app=app) as client:  # one client: it runs the app on an event loop of its own
        baseline = statistics.median(await _time(client, "/health/live", repeat * 5))
        for role, paths in PAGES.items():
            client.cookies.clear()
            token = re.search(r'name="_csrf_token" value="([^"]+)"', (await client.get("/")).text)
            r = await client.post(
                "/login",
                data={"username": role, "password": "zizhu-demo", "_csrf_token": token.group(1) if token else ""},
            )
            assert r.status_code == 200, f"signing in as {role}: {r.status_code}"
            for path in paths:
                times = await _time(client, path.format(**fill), repeat)
                rows.append((role, path, statistics.median(times), max(times)))
    print(f"database: {engine.dialect.name}; demo students: {students}; {repeat} requests per page")
    print(f"baseline GET /health/live: median {baseline:.2f} ms")
    print(f"{'role':9} {'page':52} {'median ms':>9} {'worst ms':>9} {'× base':>7}")
    for role, path, median, worst in rows:
        print(f"{role:9} {path:52} {median:9.1f} {worst:9.1f} {median / baseline:7.1f}")
    pages = [r for r in rows if not r[1].split("?")[0].endswith(DOWNLOADS)]
    slowest = max(pages, key=lambda r: r[2])
    met = slowest[2] < GOAL_MS
    print(
        f"slowest page median: {slowest[2]:.1f} ms ({slowest[1]}); goal under {GOAL_MS:.0f} ms: "
        f"{'met' if met else 'NOT met'} (downloads not counted)"
    )
    if settings.database_schema:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    await engine.dispose()
    return 0 if met else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--students", type=int, default=300)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.repeat, args.students)))
