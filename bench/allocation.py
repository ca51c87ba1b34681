"""Benchmark: allocating 100,000 awards across 10,000 donations, and a donor report with 10,000 recipients.

    python bench/allocation.py [--awards 100000] [--donations 10000] [--db-url URL]

1. The pure allocator (donations.allocation.allocate, FIFO with 10 % directed donations) against a bare
   two-pointer pour of the same amounts over plain ints, in the same run: the ratio is what the rules cost.
2. The service's batch allocation (donations.awards.allocate_awards: read what each donation holds, allocate,
   insert every line, update both cached sums, commit) into a fresh migrated database (SQLite in a temp
   folder by default, or PostgreSQL with --db-url in a fresh schema dropped afterwards), against a bare
   executemany insert of the same lines. Goal < 5 s.
3. The allocation report of the donor whose donations paid the first 10,000 awards (10,000 recipients):
   donations.reports.donor_trace plus its JSON form, against the bare fetch of its main query. Goal < 1 s.
Setting up the data (students, applications, awards, donations) is not timed. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AWARD_FEN = 300_000  # 3000.00 each
GOAL_ALLOCATE_S, GOAL_REPORT_S = 5.0, 1.0


def bare_pour(needs: list[int], haves: list[int]) -> int:
    """The least any allocation can do: pour the sources into the needs in order, counting the lines."""
    lines, j, have = 0, 0, haves[0]
    for need in needs:
        while need:
            while not have:
                j += 1
                have = haves[j]
            take = min(need, have)
            need -= take
            have -= take
            lines += 1
    return lines


def pure_part(n_awards: int, n_donations: int) -> None:
    from donations.allocation import Need, Source, allocate

    rng = random.Random(1)
    students = n_awards // 5
    per = AWARD_FEN * n_awards // n_donations
    sources = [
        Source(
            i + 1,
            date(2025, 7, 1) + timedelta(days=i % 60),
            per,
            frozenset({rng.randrange(students)}) if i % 10 == 0 else None,
        )
        for i in range(n_donations)
    ]
    needs = [Need(i + 1, i % students, AWARD_FEN) for i in range(n_awards)]
    t0 = time.perf_counter()
    bare_pour([n.amount for n in needs], [s.available for s in sources])
    bare = time.perf_counter() - t0
    for method in ("fifo", "pro_rata"):
        t0 = time.perf_counter()
        r = allocate(needs, sources, method)  # type: ignore[arg-type]
        took = time.perf_counter() - t0
        print(
            f"pure allocate {method:<8} {took:6.3f} s  ({len(r.lines)} lines, {len(r.shortfalls)} short)  "
            f"bare pour {bare:.3f} s  ratio {took / bare:.1f}"
        )


async def setup(engine: Any, n_awards: int, n_donations: int) -> tuple[int, int]:
    """Students, one programme, applications and awards, 100 donors; donor 1 gave the oldest tenth."""
    from sqlalchemy import insert

    from donations.models import Application, Award, Donor, Funding, Program
    from service.db import utcnow, write_session
    from service.identity import make_id_number
    from service.registry.models import Student, University

    now = utcnow()
    n_students = max(10_000, n_awards // 5)
    async with write_session(engine) as s:
        await s.execute(
            insert(University), [{"code": "10126", "name": "内蒙古大学", "province": "内蒙古", "created_at": now}]
        )
        ids, rows = set(), []
        day = date(2000, 1, 1)
        while len(rows) < n_students:
            number = make_id_number("150430", day + timedelta(days=len(rows) // 900), len(rows) % 900)
            if number in ids:
                continue
            ids.add(number)
            rows.append(
                {
                    "name": f"学生{len(rows)}",
                    "id_number": number,
                    "phone": "13900000000",
                    "household_province": "内蒙古",
                    "household_county": "示范县",
                    "categories": ["registered_poor"],
                    "university_code": "10126",
                    "level": "undergraduate",
                    "study_years": 4,
                    "enrolled_on": date(2024, 9, 1),
                    "expected_graduation": date(2028, 6, 30),
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        await s.execute(insert(Student), rows)
        program = (
            await s.execute(
                insert(Program)
                .values(
                    name="基准项目",
                    family="基准项目",
                    funding="social",
                    rule={"type": "fixed", "amount": AWARD_FEN},
                    once_only=False,
                    eligible_categories=[],
                    levels=[],
                    notice_days=7,
                    pooling="fifo",
                    created_by="bench",
                    created_at=now,
                )
                .returning(Program.id)
            )
        ).scalar_one()
        await s.execute(
            insert(Donor),
            [
                {
                    "name": f"捐赠方{i}",
                    "kind": "organization",
                    "credit_code": f"{i:018d}",
                    "created_by": "bench",
                    "created_at": now,
                }
                for i in range(1, 101)
            ],
        )
        first_student = 1
        await s.execute(
            insert(Application),
            [
                {
                    "program_id": program,
                    "student_id": first_student + i % n_students,
                    "academic_year": 2000 + i // n_students,
                    "amount": AWARD_FEN,
                    "rule_note": "fixed",
                    "status": "awarded",
                    "prepared_by": 1,
                    "created_at": now,
                }
                for i in range(n_awards)
            ],
        )
        await s.execute(
            insert(Award),
            [
                {
                    "application_id": i + 1,
                    "program_id": program,
                    "student_id": first_student + i % n_students,
                    "academic_year": 2000 + i // n_students,
                    "amount": AWARD_FEN,
                    "funded": 0,
                    "status": "awarded",
                    "finalized_on": date(2025, 9, 8),
                    "version": 1,
                    "created_at": now,
                }
                for i in range(n_awards)
            ],
        )
        per = AWARD_FEN * n_awards // n_donations
        tenth = n_donations // 10
        await s.execute(
            insert(Funding),
            [
                {
                    "kind": "donation",
                    "program_id": program,
                    "donor_id": 1 if i < tenth else 2 + i % 99,
                    "amount": per,
                    "allocated": 0,
                    "received_on": date(2025, 1, 1) + timedelta(days=i // 50),
                    "method": "bank_transfer",
                    "reference": f"B{i:08d}",
                    "directed": False,
                    "created_by": "bench",
                    "created_at": now,
                }
                for i in range(n_donations)
            ],
        )
    return program, n_awards // 10


async def analyze(engine: Any) -> None:
    """Statistics for the planner, as autovacuum keeps them on a live database (not after a bulk load)."""
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))


async def db_part(settings: Any, n_awards: int, n_donations: int) -> dict[str, float]:
    from sqlalchemy import insert, select, text

    from donations.awards import allocate_awards
    from donations.models import Allocation, Award, Donor, Program
    from donations.reports import donor_trace
    from donations.views import trace_out
    from service.db import create_engine, session_factory, write_session
    from service.migrate import upgrade

    engine = create_engine(settings)
    await upgrade(engine, settings)
    program_id, recipients = await setup(engine, n_awards, n_donations)
    await analyze(engine)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    async with write_session(engine) as s:
        program = await s.get(Program, program_id)
        awards = (
            await s.execute(
                select(Award.id, Award.student_id, Award.amount, Award.funded)
                .where(Award.program_id == program_id)
                .order_by(Award.id)
            )
        ).all()
        result = await allocate_awards(s, program, awards, date(2025, 10, 10), "bench")  # type: ignore[arg-type]
    out["allocate"] = time.perf_counter() - t0
    await analyze(engine)
    out["lines"] = len(result.lines)
    out["short"] = len(result.shortfalls)
    rows = [
        {
            "funding_id": x.source_id,
            "award_id": x.award_id,
            "amount": x.amount,
            "rule": x.rule,
            "posted_on": date(2025, 10, 11),
            "actor": "bare",
        }
        for x in result.lines
    ]
    t0 = time.perf_counter()
    async with write_session(engine) as s:
        await s.execute(insert(Allocation), rows)
        await s.rollback()
    out["bare_insert"] = time.perf_counter() - t0

    async with session_factory(engine)() as s:
        donor = await s.get(Donor, 1)
        t0 = time.perf_counter()
        trace = await donor_trace(s, donor)  # type: ignore[arg-type]
        body = trace_out(trace)
        out["report"] = time.perf_counter() - t0
        out["recipients"] = trace.recipients
        assert body["unallocated"] == "0.00" and trace.recipients == recipients, (body["unallocated"], trace.recipients)
        t0 = time.perf_counter()
        (
            await s.execute(
                text(
                    "SELECT a.funding_id, a.award_id, a.amount, st.name, u.name, st.level, aw.paid_on "
                    "FROM grant_allocations a JOIN fundings f ON f.id = a.funding_id JOIN grant_awards aw ON aw.id = a.award_id "
                    "JOIN students st ON st.id = aw.student_id JOIN universities u ON u.code = st.university_code "
                    "WHERE f.donor_id = 1"
                )
            )
        ).all()
        out["bare_report"] = time.perf_counter() - t0
    if not settings.is_sqlite and settings.database_schema:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    await engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--awards", type=int, default=100_000)
    ap.add_argument("--donations", type=int, default=10_000)
    ap.add_argument("--db-url", help="postgresql+asyncpg://… (default: SQLite in a temp folder)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="zizhu-bench-alloc-")
    os.environ["ZIZHU_DATA_DIR"] = tmp
    os.environ.setdefault("ZIZHU_SECRET_KEY", secrets.token_urlsafe(48))
    if args.db_url:
        os.environ["ZIZHU_DATABASE_URL"] = args.db_url
        os.environ["ZIZHU_DATABASE_SCHEMA"] = f"bench_alloc_{secrets.token_hex(4)}"
    else:
        os.environ["ZIZHU_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp}/bench.db"
    from service.settings import Settings

    settings = Settings.from_env()
    print(f"awards {args.awards}, donations {args.donations} (10 % directed in the pure part)")
    pure_part(args.awards, args.donations)
    out = asyncio.run(db_part(settings, args.awards, args.donations))
    database = "PostgreSQL" if args.db_url else "SQLite"
    print(f"database          {database}")
    print(
        f"allocate + write  {out['allocate']:6.2f} s  ({out['lines']:.0f} lines, {out['short']:.0f} short)  "
        f"bare insert of the lines {out['bare_insert']:.2f} s  ratio {out['allocate'] / out['bare_insert']:.1f}  "
        f"(goal < {GOAL_ALLOCATE_S} s)"
    )
    print(
        f"donor report      {out['report']:6.2f} s  ({out['recipients']:.0f} recipients)  "
        f"bare query {out['bare_report']:.2f} s  ratio {out['report'] / out['bare_report']:.1f}  "
        f"(goal < {GOAL_REPORT_S} s)"
    )
    ok = out["allocate"] < GOAL_ALLOCATE_S and out["report"] < GOAL_REPORT_S and out["short"] == 0
    print("goal met" if ok else "goal NOT met")


if __name__ == "__main__":
    main()
