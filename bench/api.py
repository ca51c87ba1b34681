"""Benchmark: a basket of ordinary authenticated API reads against the bare GET /health/live of the same app.

    python bench/api.py [--db sqlite|postgres|both] [--seconds 5] [--rounds 1] [--connections 32] [--pg-url URL]

Every endpoint is measured against the same server (one Granian worker on a fresh database with the demo data)
with the same load generator (wrk, one thread, the same shape of Lua script), one after the other in one run, so
each endpoint's ratio to bare shows what authentication, the database and serialisation cost on top of the
framework. Absolute numbers on a small machine are noisy; the ratios are the figures that matter. Goal: the median
ratio at least 0.15 and none below 0.08. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
GOAL_MEDIAN, GOAL_LEAST = 0.15, 0.08
WARMUP_SECONDS = 1

# The same script shape serves both runs: a request() function rotating over paths, so wrk does the same
# per-request Lua work in each. done() prints one JSON line, which is sturdier than parsing wrk's table.
LUA = """
local paths = {%(paths)s}
local i = 0
%(headers)s
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,' ..
    '"timeout":%%d,"p50_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pin(cpu: int) -> list[str]:
    """Prefix that pins a process to one CPU, so the server and wrk do not fight over the same core."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu)]
    return []


def write_lua(workdir: Path, name: str, paths: list[str], token: str | None) -> Path:
    headers = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script = workdir / f"{name}.lua"
    script.write_text(LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "headers": headers})
    return script


def run_wrk(base_url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    cmd = [*pin(1), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), base_url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    r = json.loads(line.removeprefix("WRKJSON "))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return r


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    # This checkout's code (PYTHONPATH), whatever the virtualenv has installed.
    cmd = [
        *pin(0),
        sys.executable,
        "-m",
        "service.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--demo",
    ]
    # A session of its own, so that a stuck server and its worker can be killed together as one group.
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group we created: leftover workers, if any
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)


def wait_ready(base_url: str, proc: subprocess.Popen[bytes], log: Path, limit: float = 120) -> None:
    deadline = time.monotonic() + limit  # migration + demo load (argon2 hashes) take a few seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready after {limit}s:\n{log.read_text(errors='replace')}")


def drop_schema(pg_url: str, schema: str) -> None:
    sql = f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'
    plain_url = pg_url.replace("+asyncpg", "")
    if shutil.which("psql"):
        subprocess.run(["psql", plain_url, "-qc", sql], check=True, timeout=30, capture_output=True)
        return
    code = (
        f"import asyncio,asyncpg\nasync def m():\n c=await asyncpg.connect({plain_url!r})\n"
        f" await c.execute({sql!r})\n await c.close()\nasyncio.run(m())"
    )
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", code], check=True, timeout=30)


def discover(base_url: str) -> tuple[str, dict[str, list[str]]]:
    """Sign in as the demo officer and pick the basket's paths from the demo data (each checked once here, so that a
    broken one fails now, not as a wall of non-2xx in wrk)."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        login = client.post("/api/v1/auth/login", json={"username": "officer", "password": "zizhu-demo"})
        login.raise_for_status()
        token = login.json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        students = [s["id"] for s in client.get("/api/v1/students", params={"limit": 20}).json()["items"]]
        contracts = [
            c["contract_no"] for c in client.get("/api/v1/loan-contracts", params={"limit": 20}).json()["items"]
        ]
        donors = [d["id"] for d in client.get("/api/v1/donors").json()["items"]][:5]
        if not (students and contracts and donors):
            raise RuntimeError("no students, contracts or donors: was the demo loaded?")
        basket = {
            "student": [f"/api/v1/students/{i}" for i in students],
            "contract": [f"/api/v1/loan-contracts/{no}" for no in contracts],
            "schedule": [f"/api/v1/loan-contracts/{no}/schedule" for no in contracts],
            "ledger": [f"/api/v1/loan-contracts/{no}/ledger" for no in contracts],
            "student list": ["/api/v1/students?limit=20", "/api/v1/students?limit=20&offset=20"],
            "programme list": ["/api/v1/programs"],
            "donor report": [f"/api/v1/donors/{i}/allocation-report" for i in donors],
            "notifications": ["/api/v1/notifications?limit=20"],
        }
        for paths in basket.values():
            for path in paths:
                client.get(path).raise_for_status()
    return token, basket


def bench_database(db: str, args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix=f"zizhu-bench-{db}-"))
    env = {
        **os.environ,
        "ZIZHU_DATA_DIR": str(workdir / "data"),
        "ZIZHU_SECRET_KEY": secrets.token_urlsafe(48),
        "ZIZHU_LOG_LEVEL": "WARNING",
        "ZIZHU_SCHEDULER": "false",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("ZIZHU_DATABASE_URL", "ZIZHU_DATABASE_SCHEMA", "ZIZHU_ADMIN_PASSWORD"):
        env.pop(name, None)  # the caller's settings must not leak into the fresh environment
    schema = None
    if db == "postgres":
        schema = f"zizhu_bench_{secrets.token_hex(4)}"
        env.update(ZIZHU_DATABASE_URL=args.pg_url, ZIZHU_DATABASE_SCHEMA=schema)
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    log = workdir / "server.log"
    proc = start_server(env, port, log)
    try:
        wait_ready(base_url, proc, log)
        token, basket = discover(base_url)
        scripts = {"bare": write_lua(workdir, "bare", ["/health/live"], None)}
        scripts.update({name: write_lua(workdir, name, paths, token) for name, paths in basket.items()})
        for script in scripts.values():
            run_wrk(base_url, script, WARMUP_SECONDS, args.connections)
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in scripts}
        for round_no in range(args.rounds):
            for name, script in scripts.items():
                r = run_wrk(base_url, script, args.seconds, args.connections)
                runs[name].append(r)
                flag = (
                    ""
                    if r["status"] == 0 and r["errors"] == 0
                    else f"   !!! {r['status']} non-2xx/3xx, {r['errors']} socket errors: FIGURE INVALID !!!"
                )
                print(
                    f"  {db:<8} round {round_no + 1} {name:<14} {r['rps']:>8.0f} req/s "
                    f"p50 {r['p50_us'] / 1000:6.2f} ms  p99 {r['p99_us'] / 1000:6.2f} ms{flag}",
                    flush=True,
                )
        best = {name: max(rs, key=lambda r: r["rps"]) for name, rs in runs.items()}
        bad = sum(r["status"] + r["errors"] for rs in runs.values() for r in rs)
        return {"db": db, "best": best, "bad": bad}
    finally:
        stop_server(proc)
        if schema:
            drop_schema(args.pg_url, schema)
        shutil.rmtree(workdir, ignore_errors=True)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def report(res: dict[str, Any]) -> bool:
    best = res["best"]
    bare = best["bare"]["rps"]
    print(f"\n{res['db']}: {'endpoint':<16}{'req/s':>9}{'ratio':>8}{'p50 ms':>9}{'p99 ms':>9}")
    ratios = []
    for name, r in best.items():
        ratio = r["rps"] / bare
        if name != "bare":
            ratios.append(ratio)
        print(
            f"{'':<{len(res['db']) + 2}}{name:<16}{r['rps']:>9.0f}{ratio:>8.3f}{r['p50_us'] / 1000:>9.2f}"
            f"{r['p99_us'] / 1000:>9.2f}"
        )
    ok = median(ratios) >= GOAL_MEDIAN and min(ratios) >= GOAL_LEAST
    print(
        f"  median ratio {median(ratios):.3f} (goal >= {GOAL_MEDIAN}), least {min(ratios):.3f} "
        f"(goal >= {GOAL_LEAST}): {'ok' if ok else 'below goal'}"
    )
    if res["bad"]:
        print(f"!!! {res['db']}: {res['bad']} non-2xx responses or socket errors: these figures are INVALID !!!")
    return ok and not res["bad"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=5, help="length of each measured wrk run")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over the basket; the best of each counts")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print(
            "wrk is not installed. On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk",
            file=sys.stderr,
        )
        return 2
    pinned = "server on CPU 0, wrk on CPU 1" if pin(0) else "not pinned (no taskset or one CPU)"
    print(
        f"wrk -t1 -c{args.connections} -d{args.seconds}s, {WARMUP_SECONDS}s warm-up each; {args.rounds} round(s) "
        f"over bare and the basket, best of each reported; 1 Granian worker; {pinned}\n",
        flush=True,
    )
    results = [bench_database(db, args) for db in (["sqlite", "postgres"] if args.db == "both" else [args.db])]
    verdicts = [report(res) for res in results]
    print("(ratio = endpoint req/s / bare req/s, bare = GET /health/live of the same server)")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
