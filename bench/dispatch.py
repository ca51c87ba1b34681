"""Benchmark: the dispatcher sending 100,000 SMS to a loopback gateway, against a bare httpx loop.

    python bench/dispatch.py [--messages 100000] [--concurrency 8] [--pg-url postgresql+asyncpg://…]

The gateway (notifications.fake_gateway) runs as a process of its own and answers at once. The baseline is a
bare loop: one httpx.AsyncClient with the same pool limits and a semaphore of the same size, POSTing the same
JSON to the same gateway, with no database. Ours is the real thing: the messages queued in the outbox (SQLite
in a temporary folder, or PostgreSQL), then Dispatcher.drain(): claims, renders, sends and records every
result. The ratio ours/bare shows what the outbox costs on top of the HTTP work (goal >= 0.5).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from notifications.channels import SmsChannel  # noqa: E402
from notifications.dispatcher import Dispatcher  # noqa: E402
from notifications.models import OutboxMessage  # noqa: E402
from notifications.outbox import Message, enqueue  # noqa: E402
from service.db import create_engine, write_session  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.settings import Settings  # noqa: E402

GOAL = 0.5
TOKEN = "bench-token"
TEXT = (
    "【示范县学生资助管理中心】您的生源地信用助学贷款（合同号150430-2024-000001）将于2028-12-20到期，"
    "应还560.00元。还款方式：到期前将应还金额存入还款账户，到期自动扣款。"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "notifications.fake_gateway", "--port", str(port), "--token", TOKEN],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None and b"listening" in process.stdout.readline()
    return process


async def bare_loop(url: str, messages: int, concurrency: int) -> float:
    """Messages per second of a plain httpx loop: `concurrency` workers sharing one client, no database."""
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    numbers = iter(range(messages))
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(10, connect=5),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    ) as client:

        async def worker() -> None:
            for i in numbers:
                body = json.dumps(
                    {"id": f"bare-{i}", "to": f"138{i:08d}", "text": TEXT, "template": "before_due"}, ensure_ascii=False
                ).encode()
                response = await client.post(url, content=body, headers=headers)
                assert response.status_code == 200

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return messages / (time.perf_counter() - start)


async def ours(settings: Settings, url: str, messages: int, concurrency: int) -> tuple[float, float]:
    engine = create_engine(settings)
    await upgrade(engine, settings)
    start = time.perf_counter()
    async with write_session(engine) as session:
        await enqueue(
            session,
            (
                Message(
                    f"150430-2024-{i:06d}",
                    "due_7",
                    "before_due",
                    date(2028, 12, 20),
                    "graduate",
                    f"138{i:08d}",
                    contract_no=f"150430-2024-{i:06d}",
                    amount=56000,
                )
                for i in range(messages)
            ),
        )
    queued = messages / (time.perf_counter() - start)
    dispatcher = Dispatcher(engine, settings, {"sms": SmsChannel(url, TOKEN, concurrency, 10)}, batch_size=1000)
    start = time.perf_counter()
    report = await dispatcher.drain()
    rate = messages / (time.perf_counter() - start)
    await dispatcher.aclose()
    async with engine.connect() as conn:
        sent = await conn.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
        if not settings.is_sqlite and settings.database_schema:
            await conn.execute(text(f'DROP SCHEMA "{settings.database_schema}" CASCADE'))
            await conn.commit()
    await engine.dispose()
    assert report.sent == messages == sent, (report, sent)
    return rate, queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pg-url", help="PostgreSQL instead of SQLite (a scratch schema is made and dropped)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="zizhu-bench-"))
    env = {"ZIZHU_DATA_DIR": str(folder), "ZIZHU_SECRET_KEY": "bench", "ZIZHU_SMS_QUIET_HOURS": "off"}
    if args.pg_url:
        env.update(ZIZHU_DATABASE_URL=args.pg_url, ZIZHU_DATABASE_SCHEMA=f"zizhu_bench_{uuid.uuid4().hex[:8]}")
    settings = Settings.from_env(env)
    settings = replace(settings, notify=replace(settings.notify, sms_daily_cap=10**6))
    port = free_port()
    url = f"http://127.0.0.1:{port}/sms"
    gateway = start_gateway(port)
    try:
        print(
            f"{args.messages:,} SMS, concurrency {args.concurrency}, "
            f"{'PostgreSQL' if args.pg_url else 'SQLite'}, gateway on :{port}",
            flush=True,
        )
        bare = asyncio.run(bare_loop(url, args.messages, args.concurrency))
        print(f"bare httpx loop : {bare:8.0f} messages/s", flush=True)
        rate, queued = asyncio.run(ours(settings, url, args.messages, args.concurrency))
        print(f"dispatcher      : {rate:8.0f} messages/s   (queueing them: {queued:,.0f} messages/s)")
        ratio = rate / bare
        print(f"ratio dispatcher/bare = {ratio:.2f}  (goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'})")
    finally:
        gateway.terminate()
        gateway.wait(10)


if __name__ == "__main__":
    main()
