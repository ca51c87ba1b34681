"""Load: 200 concurrent clients on PostgreSQL mixing reads and repayments, then a count of every posting.

    python bench/load.py [--seconds 60] [--connections 200] [--workers 2] [--writes 0.2] [--pg-url URL]

A fresh schema with the demo county is served by `zizhu serve --workers N` (Granian); wrk drives it with one
Lua script: of every request, a share (--writes) records a repayment of 1.00 yuan on a random disbursed
contract with a unique bank reference and Idempotency-Key, the rest read a student or a contract. Reported:
requests per second, p50/p99 latency, errors (socket errors, 5xx, any status other than 200/201), and, read
back from the database afterwards, the repayments posted: exactly one ledger entry per accepted repayment (201),
no reference twice, every entry balanced. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import HOST, ZIZHU, drop_schema, free_port, pin, stop_server, wait_ready

LUA = """
local students = {%(students)s}
local contracts = {%(contracts)s}
local token = "Bearer %(token)s"
local share = %(writes)f
local today = "%(today)s"
local tag = "%(tag)s"
local n = 0
status = {}  -- global: thread:get reads it
math.randomseed(os.time())

request = function()
  n = n + 1
  if math.random() < share then
    local ref = string.format("LOAD-%%s-%%d", tag, n)
    local no = contracts[math.random(#contracts)]
    local body = string.format('{"amount":"1.00","paid_on":"%%s","reference":"%%s"}', today, ref)
    return wrk.format("POST", "/api/v1/loan-contracts/" .. no .. "/repayments",
      {["Authorization"] = token, ["Content-Type"] = "application/json", ["Idempotency-Key"] = ref}, body)
  end
  if math.random() < 0.5 then
    return wrk.format("GET", "/api/v1/students/" .. students[math.random(#students)], {["Authorization"] = token})
  end
  return wrk.format("GET", "/api/v1/loan-contracts/" .. contracts[math.random(#contracts)],
    {["Authorization"] = token})
end

response = function(code, headers, body)
  status[code] = (status[code] or 0) + 1
end

-- done() runs in another Lua state than the requests: it reads each thread's counts through thread:get.
local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("status")) do total[code] = (total[code] or 0) + count end
  end
  local parts = {}
  for code, count in pairs(total) do table.insert(parts, string.format('"%%d":%%d', code, count)) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"timeout":%%d,' ..
    '"p50_us":%%d,"p99_us":%%d,"status":{%%s}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), table.concat(parts, ",")))
end
"""


async def postings(pg_url: str, schema: str, tag: str) -> dict[str, int]:
    """What the database holds of this run's repayments, read straight from the tables."""
    import asyncpg

    conn = await asyncpg.connect(pg_url.replace("+asyncpg", ""), server_settings={"search_path": schema})
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS entries, count(DISTINCT reference) AS refs FROM ledger_entries "
            "WHERE kind = 'repayment' AND reference LIKE $1",
            f"LOAD-{tag}-%",
        )
        unbalanced = await conn.fetchval(
            "SELECT count(*) FROM (SELECT entry_id FROM ledger_lines GROUP BY entry_id "
            "HAVING sum(debit) <> sum(credit)) AS u"
        )
        return {"entries": row["entries"], "distinct_references": row["refs"], "unbalanced_entries": unbalanced}
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="API processes (Granian workers)")
    parser.add_argument("--writes", type=float, default=0.2, help="share of requests that are repayments")
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="zizhu-load-"))
    schema = f"zizhu_load_{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "ZIZHU_DATA_DIR": str(workdir / "data"),
        "ZIZHU_SECRET_KEY": secrets.token_urlsafe(48),
        "ZIZHU_LOG_LEVEL": "WARNING",
        "ZIZHU_SCHEDULER": "false",
        "ZIZHU_DATABASE_URL": args.pg_url,
        "ZIZHU_DATABASE_SCHEMA": schema,
    }
    env.pop("ZIZHU_ADMIN_PASSWORD", None)
    port = free_port()
    base = f"http://{HOST}:{port}"
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *pin(0),
                str(ZIZHU),
                "serve",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--demo",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    tag = secrets.token_hex(3)
    try:
        wait_ready(base, proc, log, limit=300)
        with httpx.Client(base_url=base, timeout=30) as client:
            token = client.post("/api/v1/auth/login", json={"username": "officer", "password": "zizhu-demo"}).json()[
                "access_token"
            ]
            auth = {"Authorization": f"Bearer {token}"}
            students = [
                s["id"] for s in client.get("/api/v1/students", params={"limit": 200}, headers=auth).json()["items"]
            ]
            contracts = [
                c["contract_no"]
                for c in client.get(
                    "/api/v1/loan-contracts", params={"limit": 200, "status": "in_school"}, headers=auth
                ).json()["items"]
            ]
        if not contracts:
            raise RuntimeError("no disbursed contracts in the demo")
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        script = workdir / "load.lua"
        script.write_text(
            LUA
            % {
                "students": ",".join(map(str, students)),
                "contracts": ",".join(json.dumps(c) for c in contracts),
                "token": token,
                "writes": args.writes,
                "today": today,
                "tag": tag,
            }
        )
        cmd = [
            *pin(1),
            "wrk",
            "-t1",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ]
        print(
            f"wrk -t1 -c{args.connections} -d{args.seconds}s; {args.workers} API processes on PostgreSQL; "
            f"{args.writes:.0%} repayments, the rest reads",
            flush=True,
        )
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 60)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk failed:\n{done.stdout}\n{done.stderr}")
        r = json.loads(line.removeprefix("WRKJSON "))
        books = asyncio.run(postings(args.pg_url, schema, tag))
    finally:
        stop_server(proc)
        drop_schema(args.pg_url, schema)
        shutil.rmtree(workdir, ignore_errors=True)

    status = {int(k): v for k, v in r["status"].items()}
    socket_errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    bad_status = sum(v for k, v in status.items() if k not in (200, 201))
    accepted = status.get(201, 0)
    rps = r["requests"] / (r["duration_us"] / 1e6)
    print(f"requests        {r['requests']:,} in {r['duration_us'] / 1e6:.1f} s = {rps:,.0f} req/s")
    print(f"latency         p50 {r['p50_us'] / 1000:.1f} ms   p99 {r['p99_us'] / 1000:.1f} ms")
    print(f"statuses        {dict(sorted(status.items()))}")
    print(f"errors          {socket_errors} socket errors, {bad_status} other than 200/201")
    print(
        f"repayments      {accepted:,} accepted (201); ledger entries {books['entries']:,}, distinct references "
        f"{books['distinct_references']:,}, unbalanced entries {books['unbalanced_entries']}"
    )
    double = books["entries"] - books["distinct_references"]
    # wrk stops counting at the deadline while up to one request per connection is still in flight; the server
    # finishes those, so the books may hold a few more repayments than the 201s wrk saw, never fewer.
    in_flight = books["entries"] - accepted
    print(f"in flight       {in_flight} repayments finished after wrk's deadline (at most {args.connections})")
    ok = (
        socket_errors == 0
        and bad_status == 0
        and double == 0
        and 0 <= in_flight <= args.connections
        and books["unbalanced_entries"] == 0
    )
    print(f"double postings {double}; " + ("all good" if ok else "NOT GOOD"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
