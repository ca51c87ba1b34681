"""Benchmark: authenticated GET /api/v1/students/{id} against the bare GET /health/live of the same app.

    python bench/api.py [--db sqlite|postgres|both] [--seconds 10] [--connections 32] [--pg-url URL]

Both endpoints are measured against the same server (one Granian worker on a fresh database with the demo
data) with the same load generator (wrk, one thread, the same shape of Lua script), so the ratio
students/bare shows what authentication, the database and serialisation cost on top of the framework.
Absolute numbers on a small machine are noisy; the ratio is the figure that matters (goal >= 0.5).
Not part of the test suite.
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

import httpx

ROOT = Path(__file__).resolve().parent.parent
ZIZHU = ROOT / ".venv" / "bin" / "zizhu"
HOST = "127.0.0.1"
GOAL = 0.5
WARMUP_SECONDS = 2
ROUNDS = 2  # bare/students alternate this many times; the best of each counts

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
    cmd = [*pin(0), str(ZIZHU), "serve", "--host", HOST, "--port", str(port), "--workers", "1"]
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
    code = f"import asyncio,asyncpg\nasync def m():\n c=await asyncpg.connect({plain_url!r})\n" \
           f" await c.execute({sql!r})\n await c.close()\nasyncio.run(m())"
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", code], check=True, timeout=30)


def bench_database(db: str, args: argparse.Namespace) -> dict[str, object]:
    workdir = Path(tempfile.mkdtemp(prefix=f"zizhu-bench-{db}-"))
    env = {**os.environ, "ZIZHU_DATA_DIR": str(workdir / "data"), "ZIZHU_SECRET_KEY": secrets.token_urlsafe(48),
           "ZIZHU_LOG_LEVEL": "WARNING", "ZIZHU_SCHEDULER": "false"}
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
        with httpx.Client(base_url=base_url, timeout=10) as client:
            login = client.post("/api/v1/auth/login", json={"username": "officer", "password": "officer-demo"})
            login.raise_for_status()
            token = login.json()["access_token"]
            page = client.get("/api/v1/students", params={"limit": 50}, headers={"Authorization": f"Bearer {token}"})
            page.raise_for_status()
            ids = [s["id"] for s in page.json()["items"]][:20]
            if not ids:
                raise RuntimeError("no students: was the demo loaded?")
            check = client.get(f"/api/v1/students/{ids[0]}", headers={"Authorization": f"Bearer {token}"})
            check.raise_for_status()  # fail here, not as a wall of non-2xx in wrk
        bare = write_lua(workdir, "bare", ["/health/live"], None)
        students = write_lua(workdir, "students", [f"/api/v1/students/{i}" for i in ids], token)
        for script in (bare, students):
            run_wrk(base_url, script, WARMUP_SECONDS, args.connections)
        runs: dict[str, list[dict[str, float]]] = {"bare": [], "students": []}
        for round_no in range(ROUNDS):
            for name, script in (("bare", bare), ("students", students)):
                r = run_wrk(base_url, script, args.seconds, args.connections)
                runs[name].append(r)
                flag = "" if r["status"] == 0 and r["errors"] == 0 else \
                    f"   !!! {r['status']} non-2xx/3xx, {r['errors']} socket errors: FIGURE INVALID !!!"
                print(f"  {db:<8} round {round_no + 1} {name:<8} {r['rps']:>9.0f} req/s "
                      f"p50 {r['p50_us'] / 1000:6.2f} ms  p99 {r['p99_us'] / 1000:6.2f} ms{flag}", flush=True)
        best = {name: max(rs, key=lambda r: r["rps"]) for name, rs in runs.items()}
        bad = sum(r["status"] + r["errors"] for rs in runs.values() for r in rs)
        return {"db": db, "bare": best["bare"], "students": best["students"], "bad": bad}
    finally:
        stop_server(proc)
        if schema:
            drop_schema(args.pg_url, schema)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed. On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk",
              file=sys.stderr)
        return 2
    if not ZIZHU.exists():
        print(f"{ZIZHU} not found: create the virtualenv first (python3 dev.py start)", file=sys.stderr)
        return 2
    pinned = "server on CPU 0, wrk on CPU 1" if pin(0) else "not pinned (no taskset or one CPU)"
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, {WARMUP_SECONDS}s warm-up each; {ROUNDS} alternating "
          f"rounds of bare/students, best of each reported; 1 Granian worker; {pinned}\n", flush=True)
    results = [bench_database(db, args) for db in (["sqlite", "postgres"] if args.db == "both" else [args.db])]

    print(f"\n{'database':<9}{'bare rps':>10}{'students rps':>14}{'ratio':>7}"
          f"{'bare p50/p99 ms':>18}{'students p50/p99 ms':>22}")
    verdict = 0
    for res in results:
        b, s = res["bare"], res["students"]
        ratio = s["rps"] / b["rps"]
        mark = "ok" if ratio >= GOAL else f"below goal {GOAL}"
        print(f"{res['db']:<9}{b['rps']:>10.0f}{s['rps']:>14.0f}{ratio:>7.2f}"
              f"{b['p50_us'] / 1000:>9.2f}/{b['p99_us'] / 1000:<8.2f}"
              f"{s['p50_us'] / 1000:>13.2f}/{s['p99_us'] / 1000:<8.2f} {mark}")
        if res["bad"]:
            print(f"!!! {res['db']}: {res['bad']} non-2xx responses or socket errors: these figures are INVALID !!!")
            verdict = 1
    print("(best of each over the rounds; ratio = students rps / bare rps)")
    return verdict


if __name__ == "__main__":
    sys.exit(main())
