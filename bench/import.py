"""Benchmark: importing a 100,000-row contract workbook against a bare python-calamine pass over it.

    python bench/import.py [--rows 100000] [--db-url URL] [--rounds 5] [--regenerate] [--workbook PATH] [--profile N]

Generates a valid, realistic workbook (about 40,000 students with 2-3 yearly contracts each, academic
years 2021-2025 within the limits of each year, signed in each year's autumn), cached in the temp folder
by row count. Then, each in a child process of its own: a bare calamine pass (open, iterate every row,
touch every cell), and the full import (read, check, write in one transaction) into a fresh migrated
database: SQLite in a temp folder by default, or PostgreSQL (--db-url) in a fresh schema dropped
afterwards. The import is timed from the call to the commit, excluding start-up and migrations; it runs in that
one process (its reading in a worker thread). Peak memory is the child's peak resident size (ru_maxrss).
Goal: import / bare <= 3 and peak < 500 MB. Not part of the test suite.

--profile N runs one import under cProfile instead (its worker-thread part run inline, as cProfile sees one
thread) and prints the N functions with the most time of their own; e.g. --rows 20000 --profile 30.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_RATIO, GOAL_MB = 3.0, 500
REGIONS = ("150430", "150421", "150422", "150423", "150424", "150425", "150426", "150428", "150429", "150102")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鑫宇浩然子涵欣怡梓轩雨桐一诺佳琪思远晨阳博文"
# The limits in force for each academic year (policy seed): junior college / undergraduate, graduate.
LIMITS = {2021: (12000, 16000), 2022: (12000, 16000), 2023: (16000, 20000), 2024: (20000, 25000), 2025: (20000, 25000)}
LEVELS = (("专科", 3, 0.35), ("本科", 4, 0.55), ("研究生", 3, 0.10))
CATEGORIES = ("", "", "", "建档立卡", "建档立卡、低保", "低保", "特困供养", "孤儿", "残疾", "其他")
UNIVERSITIES = [
    (f"1{n:04d}", f"示范大学{n}", p)
    for n, p in zip(range(100, 130), ["内蒙古", "北京", "河北", "山西", "辽宁", "陕西"] * 5, strict=True)
]


def _id_numbers(rng: random.Random, count: int, years: tuple[int, int], parity: list[int]) -> list[str]:
    from service.identity import make_id_number

    seen: set[str] = set()
    out = []
    while len(out) < count:
        birth = date(years[0], 1, 1) + timedelta(days=rng.randrange((years[1] - years[0]) * 365))
        seq = rng.randrange(500) * 2 + parity[len(out)]  # odd = male (father), even = female (mother)
        number = make_id_number(rng.choice(REGIONS), birth, seq)
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out


def generate(path: Path, rows: int, seed: int = 20241104) -> None:
    """A valid workbook of `rows` contracts, written with openpyxl's write-only mode."""
    from openpyxl import Workbook

    from loans.imports.template import COLUMNS

    rng = random.Random(seed)
    plans = []  # (number of contracts) per student, until the rows are covered
    while sum(plans) < rows:
        plans.append(min(rng.choice((2, 3)), rows - sum(plans)))
    fathers = [rng.random() < 0.7 for _ in plans]
    students = _id_numbers(rng, len(plans), (2000, 2007), [rng.randrange(2) for _ in plans])
    parents = _id_numbers(rng, len(plans), (1965, 1982), [1 if f else 0 for f in fathers])
    seq = {y: 0 for y in LIMITS}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("贷款合同")
    ws.append([c.header for c in COLUMNS])
    for n, (k, father) in enumerate(zip(plans, fathers, strict=True)):
        level, years, _ = rng.choices(LEVELS, weights=[w for *_, w in LEVELS])[0]
        k = max(1, min(k, years))
        start = rng.randint(2021, 2026 - k)  # the first academic year with a contract
        enrolled = start - rng.randint(0, years - k)
        surname = rng.choice(SURNAMES)
        name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        parent = surname + rng.choice(GIVEN) + rng.choice(GIVEN) if father else rng.choice(SURNAMES) + rng.choice(GIVEN)
        uni = rng.choice(UNIVERSITIES)[0]
        phone, co_phone = (f"1{rng.choice('356789')}{rng.randrange(10**9):09d}" for _ in range(2))
        category = rng.choice(CATEGORIES)
        for year in range(start, start + k):
            limit = LIMITS[year][1 if level == "研究生" else 0]
            principal = limit if rng.random() < 0.6 else rng.randrange(4, limit // 1000 + 1) * 1000
            seq[year] += 1
            signed = date(year, 9, 1) + timedelta(days=rng.randrange(60))
            disbursed = signed + timedelta(days=rng.randrange(45, 90)) if year < 2025 or rng.random() < 0.5 else None
            receipt = min(principal, rng.randrange(30, 90) * 100) if disbursed or rng.random() < 0.5 else None
            ws.append(
                [
                    name,
                    students[n],
                    phone,
                    "内蒙古",
                    "示范县",
                    uni,
                    level,
                    years,
                    date(enrolled, 9, 1),
                    date(enrolled + years, 6, 30),
                    category,
                    parent,
                    parents[n],
                    co_phone,
                    "父亲" if father else "母亲",
                    year,
                    principal,
                    f"150430-{year}-{seq[year]:06d}",
                    signed,
                    receipt,
                    disbursed,
                ]
            )
    wb.save(path)


def bare_pass(path: str) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    t0, c0 = time.perf_counter(), time.process_time()
    sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    rows = cells = 0
    for row in sheet.iter_rows():
        rows += 1
        for value in row:
            cells += value is not None
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "rows": rows, "cells": cells}


async def import_once(path: str, profile: Any = None) -> dict[str, Any]:
    """In the child: migrate a fresh database, add universities and an admin, then time the import
    (under `profile`, a cProfile.Profile, when given)."""
    from sqlalchemy import insert

    from loans.imports.importer import import_contracts
    from service.auth import User
    from service.db import create_engine, utcnow, write_session
    from service.migrate import upgrade
    from service.registry.models import University
    from service.settings import Settings

    settings = Settings.from_env()
    engine = create_engine(settings)
    await upgrade(engine, settings)
    async with write_session(engine) as session:
        await session.execute(
            insert(University),
            [{"code": c, "name": n, "province": p, "created_at": utcnow()} for c, n, p in UNIVERSITIES],
        )
        admin = User(username="admin", password_hash="x", role="admin")
        session.add(admin)
        await session.flush()
        admin_id = admin.id
    phases: dict[str, float] = {}
    cpu_phases: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()

    def progress(phase: str, done: int, total: int) -> None:
        phases.setdefault(phase, time.perf_counter() - t0)
        cpu_phases.setdefault(phase, time.process_time() - c0)

    if profile:
        profile.enable()
    async with write_session(engine) as session:
        result = await import_contracts(
            session,
            Path(path),
            filename=Path(path).name,
            user_id=admin_id,
            actor="bench:admin",
            secret=settings.secret_key,
            progress=progress,
            today=settings.today(),
        )
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if profile:
        profile.disable()
    await engine.dispose()
    starts = [*sorted(phases.items(), key=lambda kv: kv[1]), ("end", seconds)]
    split = {name: round(starts[i + 1][1] - at, 2) for i, (name, at) in enumerate(starts[:-1])}
    cpu_starts = [*sorted(cpu_phases.items(), key=lambda kv: kv[1]), ("end", cpu)]
    cpu_split = {name: round(cpu_starts[i + 1][1] - at, 2) for i, (name, at) in enumerate(cpu_starts[:-1])}
    return {"seconds": seconds, "cpu": cpu, "phases": split, "cpu_phases": cpu_split, **result.summary(max_errors=5)}


def profile_once(path: str, top: int) -> dict[str, Any]:
    """In the child: one import under cProfile; the costliest functions go to stderr."""
    import cProfile
    import pstats

    import anyio.to_thread

    async def inline(fn: Any, *args: Any, **_: Any) -> Any:
        return fn(*args)

    anyio.to_thread.run_sync = inline  # cProfile follows one thread: run the worker-thread part in this one
    profile = cProfile.Profile()
    result = asyncio.run(import_once(path, profile))
    pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(top)
    return result


def child(kind: str, path: Path, env: dict[str, str]) -> tuple[dict[str, Any], float]:
    """Run one measurement in a child process; its result and its peak resident memory in MB."""
    proc = subprocess.Popen(
        [sys.executable, __file__, f"--child-{kind}", str(path)], env=env, stdout=subprocess.PIPE, text=True
    )
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{kind} child failed ({proc.returncode})")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024  # KB on Linux


async def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--db-url", help="postgresql+asyncpg://… (default: SQLite in a temp folder)")
    ap.add_argument("--regenerate", action="store_true", help="Build the workbook again even if cached.")
    ap.add_argument(
        "--workbook",
        type=Path,
        help="Import this workbook instead of the generated one (e.g. one saved by Excel, with shared strings).",
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="Alternate bare and import this many times; the best of each counts (this machine is noisy).",
    )
    ap.add_argument("--profile", type=int, metavar="N", help="Profile one import; print its N costliest functions.")
    ap.add_argument("--child-bare", help=argparse.SUPPRESS)
    ap.add_argument("--child-import", help=argparse.SUPPRESS)
    ap.add_argument("--child-profile", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_bare:
        print(json.dumps(bare_pass(args.child_bare)))
        return
    if args.child_import:
        print(json.dumps(asyncio.run(import_once(args.child_import)), default=str))
        return
    if args.child_profile:
        print(json.dumps(profile_once(args.child_profile, int(os.environ["BENCH_PROFILE_TOP"])), default=str))
        return

    path = args.workbook or Path(tempfile.gettempdir()) / f"zizhu-bench-import-{args.rows}.xlsx"
    if not args.workbook and (args.regenerate or not path.exists()):
        t0 = time.perf_counter()
        generate(path, args.rows)
        print(f"generated {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    if args.profile:
        args.rounds = 1
    bare = result = None
    bare_mb = peak_mb = 0.0
    # The machine may be shared: bare and import alternate, and the best of each round counts.
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="zizhu-bench-") as tmp:
            env = {
                **os.environ,
                "ZIZHU_DATA_DIR": tmp,
                "ZIZHU_SECRET_KEY": secrets.token_urlsafe(48),
                "ZIZHU_LOG_LEVEL": "WARNING",
                "ZIZHU_SCHEDULER": "false",
            }
            env.pop("ZIZHU_DATABASE_SCHEMA", None)
            schema = None
            if args.db_url:
                schema = f"bench_import_{secrets.token_hex(4)}"
                env.update(ZIZHU_DATABASE_URL=args.db_url, ZIZHU_DATABASE_SCHEMA=schema)
            else:
                env["ZIZHU_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp}/bench.db"
            try:
                if args.profile:
                    got, _ = child("profile", path, {**env, "BENCH_PROFILE_TOP": str(args.profile)})
                    print(
                        f"profiled import {got['seconds']:.2f} s (imported {got['imported']}, "
                        f"errors {got['errors_total']})"
                    )
                    return
                got, mb = child("bare", path, env)
                if bare is None or got["seconds"] < bare["seconds"]:
                    bare, bare_mb = got, mb
                got, mb = child("import", path, env)
                if result is None or got["seconds"] < result["seconds"]:
                    result = got
                peak_mb = max(peak_mb, mb)
            finally:
                if schema:
                    asyncio.run(drop_schema(args.db_url, schema))
        print(
            f"  round: bare {bare['seconds']:.2f} s, import {got['seconds']:.2f} s (cpu {got['cpu']:.2f} s) "
            f"{got['phases']}, {mb:.0f} MB"
        )
    assert bare is not None and result is not None
    ratio = result["seconds"] / bare["seconds"]
    database = "PostgreSQL" if args.db_url else "SQLite"
    print(f"database        {database}")
    print(
        f"rows            {result['rows']} (imported {result['imported']}, students {result['students_created']}, "
        f"payouts {result['payouts']}, errors {result['errors_total']})"
    )
    print(f"bare calamine   {bare['seconds']:.2f} s  (cpu {bare['cpu']:.2f} s, peak {bare_mb:.0f} MB)")
    print(f"import          {result['seconds']:.2f} s  (cpu {result['cpu']:.2f} s)  {result['phases']}")
    print(f"ratio           {ratio:.2f}  (goal <= {GOAL_RATIO}; by CPU time {result['cpu'] / bare['cpu']:.2f})")
    print(f"peak memory     {peak_mb:.0f} MB  (goal < {GOAL_MB} MB)")
    if result["errors_total"]:
        print("first errors:", json.dumps(result["errors"], ensure_ascii=False, indent=1))
    ok = (
        ratio <= GOAL_RATIO
        and peak_mb < GOAL_MB
        and result["imported"] == result["rows"]
        and not result["errors_total"]
    )
    print("goal met" if ok else "goal NOT met")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
