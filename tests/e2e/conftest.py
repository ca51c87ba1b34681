"""Fixtures for tests that run the `zizhu` command and the real server as separate processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from service.db import create_engine
from service.settings import Settings

ZIZHU = str(Path(sys.executable).parent / "zizhu")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def installation_env(data_dir: Path) -> dict[str, str]:
    """Environment for a fresh installation in `data_dir`: on PostgreSQL in a schema of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIZHU_")}
    env.update(ZIZHU_DATA_DIR=str(data_dir), ZIZHU_LOG_LEVEL="WARNING", ZIZHU_SCHEDULER="false")
    test_url = os.environ.get("ZIZHU_TEST_DATABASE_URL", "").strip()
    if test_url:
        env["ZIZHU_DATABASE_URL"] = test_url
        env["ZIZHU_DATABASE_SCHEMA"] = f"zizhu_cli_{uuid.uuid4().hex[:10]}"
    return env


def remove_installation(env: dict[str, str]) -> None:
    if env.get("ZIZHU_DATABASE_SCHEMA"):
        asyncio.run(_drop_schema(Settings.from_env(env)))
    shutil.rmtree(env["ZIZHU_DATA_DIR"], ignore_errors=True)


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = installation_env(tmp_path / "var")
    yield env
    remove_installation(env)


def start_server(env: dict[str, str], port: int, *options: str, wait: float = 90) -> subprocess.Popen[str]:
    """`zizhu serve` on a loopback port, once /health answers (the demo loaded into an empty database)."""
    proc = subprocess.Popen(
        [ZIZHU, "serve", "--port", str(port), *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + wait
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read() if proc.stdout else "server exited")
        if time.monotonic() > deadline:
            stop_server(proc)
            raise AssertionError(f"server did not come up in {wait} s")
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen[str]) -> str:
    """Stop the server; what it printed."""
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


async def _drop_schema(settings: Settings) -> None:
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    await engine.dispose()


def zizhu(
    env: dict[str, str], *args: str, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ZIZHU, *args], env=env, capture_output=True, text=True, input=input, timeout=timeout)
