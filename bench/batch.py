"""Benchmark: the nightly batch over a million contracts on PostgreSQL, against the bare SQL floor.

    python bench/batch.py [--contracts 1000000] [--db-url URL] [--as-of 2026-12-20] [--rounds 1] [--keep]

1. The pure schedule generator on one core: schedules per second (goal >= 10,000/s).
2. A portfolio in a fresh schema: students, contracts signed 2020-2026 (one a year per student, three
   years each), each with its stored schedule (about 20 lines a contract), a disbursement entry, held
   credit for 1 % of contracts, and 3 % of borrowers in default (their past borrower lines unpaid and
   overdue). Schedules come from the real generator: every distinct contract shape (year, study years
   left, amount, disbursement day) is generated once in Python, and PostgreSQL fans the template lines
   out to the contracts of that shape (INSERT … SELECT … JOIN, indexes built after the load).
3. Close of business on a due date (20 December: interest recognised on ~1 M lines, credit used,
   lines due, penalty on the overdue) and on the day after (the unpaid lines of the 20th become
   overdue, penalty, contracts move to overdue), each timed as `loans.batch.close_of_business` and as
   the bare SQL statements that make the same changes, in the same run, on the same data (each run
   inside a transaction that is rolled back; the batch's run of the 20th is then committed for the 21st).
   An untimed bare pass goes first each day, so that neither side alone pays for growing the files.
   Goal: batch <= 2x bare.
--statements N prints the N slowest statements of each batch run (to see what to make faster).

Not part of the test suite. The schema is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_RATIO, GOAL_RATE = 2.0, 10_000
sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling modules (batch_book, batch_bare)

from batch_book import build, generator_rate, vacuum  # noqa: E402

SLOW: list[tuple[float, str]] = []
WATCH = 0


def watch_statements(engine: Any) -> None:
    """--statements: remember how long each statement of the batch takes."""
    from sqlalchemy import event

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        SLOW.append((time.perf_counter() - conn.info.pop("t0", time.perf_counter()), " ".join(statement.split())))


async def timed_batch(engine: Any, day: date, commit: bool = False) -> tuple[float, Any]:
    from loans.batch.close_of_business import close_of_business
    from service.db import session_factory

    SLOW.clear()

    async with session_factory(engine)() as session:
        start = time.perf_counter()
        report = await close_of_business(session, day, "bench")
        await session.flush()
        elapsed = time.perf_counter() - start
        if commit:
            await session.commit()
        else:
            await session.rollback()
    if WATCH:
        for took, sql in sorted(SLOW, reverse=True)[:WATCH]:
            print(f"   {took:6.2f} s  {sql[:300]}")
    return elapsed, report


async def timed_bare(engine: Any, day: date, factor: Any) -> tuple[float, list[float]]:
    from batch_bare import bare_statements
    from sqlalchemy import text

    async with engine.connect() as conn:
        trans = await conn.begin()
        each = []
        start = time.perf_counter()
        for sql, params in bare_statements(day, factor.numerator, factor.denominator):
            t = time.perf_counter()
            await conn.execute(text(sql), params)
            each.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        await trans.rollback()
    return elapsed, each


async def run(args: argparse.Namespace) -> None:
    from fractions import Fraction

    from sqlalchemy import text

    from loans.origination.applications import policy_rows
    from loans.policy import in_force
    from service.db import create_engine, session_factory
    from service.migrate import upgrade
    from service.settings import Settings

    schema = f"bench_batch_{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "ZIZHU_DATABASE_URL": args.db_url,
        "ZIZHU_DATABASE_SCHEMA": schema,
        "ZIZHU_DATA_DIR": str(Path(os.environ.get("TMPDIR", "/tmp")) / schema),
    }
    settings = Settings.from_env(env)
    engine = create_engine(settings)
    if WATCH:
        watch_statements(engine)
    as_of = date.fromisoformat(args.as_of)
    try:
        await upgrade(engine, settings)
        async with session_factory(engine)() as session:
            rows = await policy_rows(session)
        factor = Fraction(in_force(rows, "penalty_factor", as_of).parsed)
        rate = generator_rate(rows)
        print(
            f"schedule generator: {rate:,.0f} schedules/s on one core (goal >= {GOAL_RATE:,}) "
            f"{'OK' if rate >= GOAL_RATE else 'MISSED'}",
            flush=True,
        )
        t = time.perf_counter()
        times = await build(engine, args.contracts, as_of, rows)
        total = time.perf_counter() - t
        async with engine.connect() as conn:
            lines = await conn.scalar(text("SELECT count(*) FROM loan_schedule_lines"))
            due = await conn.scalar(text("SELECT count(*) FROM loan_schedule_lines WHERE due_on = :d"), {"d": as_of})
        print(
            f"generated {args.contracts:,} contracts, {lines:,} schedule lines ({due:,} due {as_of}) in "
            f"{total:.1f} s: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()),
            flush=True,
        )
        results = []
        for day in (as_of, as_of + timedelta(days=1)):
            best_batch = best_bare = float("inf")
            report = None
            if args.warmup:  # an untimed pass first, so that neither side pays alone for growing the files
                await timed_bare(engine, day, factor)
                await vacuum(engine)
            for _ in range(args.rounds):
                elapsed, report = await timed_batch(engine, day)
                best_batch = min(best_batch, elapsed)
                await vacuum(engine)
                bare, each = await timed_bare(engine, day, factor)
                best_bare = min(best_bare, bare)
                await vacuum(engine)
            assert report is not None
            print(
                f"{day}: batch {best_batch:.2f} s, bare SQL {best_bare:.2f} s, ratio {best_batch / best_bare:.2f} "
                f"(goal <= {GOAL_RATIO}); interest entries {report.interest_entries:,}, lines due "
                f"{report.lines_due:,}, overdue {report.lines_overdue:,}, penalty entries {report.penalty_entries:,}, "
                f"credit used {report.credit_applied:,}, collection attempts "
                f"{sum(report.collection_attempts.values()):,}, status changes {report.status_changes}",
                flush=True,
            )
            print("   bare statements: " + " ".join(f"{x:.2f}" for x in each), flush=True)
            results.append((best_batch, best_bare))
            if day == as_of:  # the 21st runs on the books as the 20th left them
                await timed_batch(engine, day, commit=True)
                await vacuum(engine)
        batch_total, bare_total = (sum(x) for x in zip(*results, strict=True))
        ratio = batch_total / bare_total
        print(
            f"both days: batch {batch_total:.2f} s, bare {bare_total:.2f} s, ratio {ratio:.2f} "
            f"{'OK' if ratio <= GOAL_RATIO else 'MISSED'}",
            flush=True,
        )
    finally:
        if not args.keep:
            async with engine.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        else:
            print(f"kept schema {schema}")
        await engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--contracts", type=int, default=1_000_000)
    ap.add_argument("--db-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--as-of", default="2026-12-20", help="a due date (20 December)")
    ap.add_argument("--rounds", type=int, default=1, help="batch and bare this many times each; best counts")
    ap.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    ap.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="skip the untimed bare pass before each day's timed runs",
    )
    ap.add_argument(
        "--statements", type=int, default=0, metavar="N", help="print the N slowest statements of each batch run"
    )
    args = ap.parse_args()
    global WATCH
    WATCH = args.statements
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
