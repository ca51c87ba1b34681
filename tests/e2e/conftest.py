"""Fixtures for tests that run the `zizhu` command and the real server as separate processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from service.db import create_engine
from service.settings import Settings

ZIZHU = str(Path(sys.executable).parent / "zizhu")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_env(folder: Path) -> dict[str, str]:
    """Environment for a fresh installation: its own data folder, and on PostgreSQL its own schema."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZIZHU_")}
    env.update(ZIZHU_DATA_DIR=str(folder / "var"), ZIZHU_LOG_LEVEL="WARNING", ZIZHU_SCHEDULER="false")
    test_url = os.environ.get("ZIZHU_TEST_DATABASE_URL", "").strip()
    if test_url:
        env["ZIZHU_DATABASE_URL"] = test_url
        env["ZIZHU_DATABASE_SCHEMA"] = f"zizhu_cli_{uuid.uuid4().hex[:10]}"
    return env


def drop_env_schema(env: dict[str, str]) -> None:
    if env.get("ZIZHU_DATABASE_SCHEMA"):
        asyncio.run(_drop_schema(Settings.from_env(env)))


@pytest.fixture
def cli_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = fresh_env(tmp_path)
    yield env
    drop_env_schema(env)
    shutil.rmtree(tmp_path / "var", ignore_errors=True)


async def _drop_schema(settings: Settings) -> None:
    engine = create_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
    await engine.dispose()


def zizhu(env: dict[str, str], *args: str, input: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ZIZHU, *args], env=env, capture_output=True, text=True, input=input, timeout=timeout)
