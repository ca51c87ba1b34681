"""A large write's checkpoint runs after its commit, in a thread, not inside it (service.sqlite_checkpoint)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service import sqlite_checkpoint
from service.db import session_factory, write_intent


@pytest.fixture(autouse=True)
def _sqlite_only(db: AsyncEngine) -> None:
    if db.dialect.name != "sqlite" or (db.url.database or ":memory:") == ":memory:":
        pytest.skip("SQLite's write-ahead log")


def _checkpoints(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    done: list[Any] = []
    real = sqlite_checkpoint.checkpoint

    def recorded(path: str) -> Any:
        done.append(real(path))
        return done[-1]

    monkeypatch.setattr(sqlite_checkpoint, "checkpoint", recorded)
    return done


async def _write_pages(db: AsyncEngine, defer: bool) -> tuple[int, int]:
    """Write ~2,500 pages in one transaction; the auto-checkpoint setting inside it and after the commit."""
    token = write_intent.set(True)
    try:
        async with session_factory(db)() as session:
            async with session.begin():
                connection = await session.connection()
                if defer:
                    await sqlite_checkpoint.defer_checkpoint(connection)
                await connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS checkpoint_probe (x BLOB)")
                await connection.exec_driver_sql("DELETE FROM checkpoint_probe")
                await connection.exec_driver_sql(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
                    "INSERT INTO checkpoint_probe SELECT randomblob(4000) FROM n")
                during = (await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one()
                driver = (await connection.get_raw_connection()).driver_connection
            # The same connection, back in the pool (and idle there): asked directly.
            cursor = await driver.execute("PRAGMA wal_autocheckpoint")
            after = (await cursor.fetchone())[0]
            await cursor.close()
        return during, after
    finally:
        write_intent.reset(token)
        async with db.begin() as conn:
            await conn.execute(text("DROP TABLE IF EXISTS checkpoint_probe"))


def _join_checkpoint_threads() -> None:
    for thread in threading.enumerate():
        if thread.name == "sqlite-checkpoint":
            thread.join(timeout=30)


async def test_a_deferred_checkpoint_runs_after_the_commit_and_the_connection_checkpoints_again(
        db: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    done = _checkpoints(monkeypatch)
    during, after = await _write_pages(db, defer=True)
    _join_checkpoint_threads()
    assert during == 0 and after == sqlite_checkpoint.AUTO_CHECKPOINT_PAGES
    assert len(done) == 1 and done[0] is not None
    busy, log_pages, copied = done[0]
    # The commit left its pages in the log for the thread to copy (an auto-checkpoint would have emptied it).
    assert busy == 0 and log_pages >= 2500 and copied == log_pages


async def test_an_ordinary_write_checkpoints_as_sqlite_does(db: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    done = _checkpoints(monkeypatch)
    during, after = await _write_pages(db, defer=False)
    _join_checkpoint_threads()
    assert during == after == sqlite_checkpoint.AUTO_CHECKPOINT_PAGES and done == []


def test_a_failed_checkpoint_is_logged_not_raised(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "not-a-db").write_bytes(b"this is not a database file" * 100)
    assert sqlite_checkpoint.checkpoint(str(tmp_path / "not-a-db")) is None
    assert "checkpoint" in caplog.text
