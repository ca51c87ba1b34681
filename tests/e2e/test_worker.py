"""`zizhu worker` killed with SIGKILL in the middle of a dispatch and started again: no message is lost, and a
message the gateway got twice carries the same id (and the same text) both times."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from notifications.models import OutboxMessage
from notifications.outbox import Message, enqueue
from service.db import create_engine, write_session
from service.settings import Settings
from tests.e2e.conftest import ZIZHU, free_port, zizhu

MESSAGES = 200


def _gateway(port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "notifications.fake_gateway",
            "--port",
            str(port),
            "--log",
            str(log),
            "--delay",
            "0.05",
            "--token",
            "gw-token",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and b"listening" in process.stdout.readline()
    return process


async def _queue(settings: Settings) -> None:
    engine = create_engine(settings)
    async with write_session(engine) as session:
        await enqueue(
            session,
            [
                Message(
                    f"150430-2024-{i:06d}",
                    "due_7",
                    "before_due",
                    date(2028, 12, 20),
                    "graduate",
                    f"1381234{i:04d}",
                    contract_no=f"150430-2024-{i:06d}",
                    amount=56000,
                )
                for i in range(MESSAGES)
            ],
        )
    await engine.dispose()


async def _statuses(settings: Settings) -> dict[str, int]:
    engine = create_engine(settings)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
    await engine.dispose()
    return dict(rows)  # type: ignore[arg-type]


def _received(log: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_sigkill_mid_dispatch_loses_nothing(cli_env, tmp_path):
    port, log = free_port(), tmp_path / "gateway.jsonl"
    env = {
        **cli_env,
        "ZIZHU_SMS_URL": f"http://127.0.0.1:{port}/sms",
        "ZIZHU_SMS_TOKEN": "gw-token",
        "ZIZHU_SMS_QUIET_HOURS": "off",
        "ZIZHU_SMS_CONCURRENCY": "2",
        "ZIZHU_NOTIFY_LEASE_SECONDS": "3",
        "ZIZHU_DISPATCH_EVERY_SECONDS": "1",
    }
    settings = Settings.from_env(env)
    assert zizhu(env, "db", "upgrade").returncode == 0
    asyncio.run(_queue(settings))
    gateway = _gateway(port, log)
    workers = []
    try:
        first = subprocess.Popen([ZIZHU, "worker"], env=env, stderr=subprocess.PIPE)
        workers.append(first)
        _wait(lambda: log.exists() and len(_received(log)) >= 20, 60, "the first messages")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        after_kill = asyncio.run(_statuses(settings))
        assert after_kill.get("sent", 0) < MESSAGES and after_kill.get("sending", 0) > 0, after_kill

        second = subprocess.Popen([ZIZHU, "worker"], env=env, stderr=subprocess.PIPE)
        workers.append(second)
        _wait(lambda: asyncio.run(_statuses(settings)) == {"sent": MESSAGES}, 90, "every message sent")
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0
    finally:
        for process in (*workers, gateway):
            if process.poll() is None:
                process.kill()
                process.wait(10)

    texts: dict[str, set[str]] = defaultdict(set)
    for message in _received(log):
        texts[message["id"]].add(message["text"])
    engine_ids = asyncio.run(_ids(settings))
    assert set(texts) == engine_ids  # nothing lost, nothing foreign
    assert all(len(variants) == 1 for variants in texts.values())  # a resend is the same message
    assert len(_received(log)) > len(texts)  # and there were resends: the kill came mid-dispatch


async def _ids(settings: Settings) -> set[str]:
    engine = create_engine(settings)
    async with engine.connect() as conn:
        ids = (await conn.execute(select(OutboxMessage.id))).scalars().all()
    await engine.dispose()
    return {f"zizhu-{i}" for i in ids}
