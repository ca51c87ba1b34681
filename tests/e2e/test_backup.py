"""`zizhu backup` / `zizhu restore`: a restored database has the same fingerprint (ledger, audit chain, every
table) as when it was backed up, its audit chain verifies, and a bad backup file is refused with nothing changed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.e2e.conftest import zizhu

FINGERPRINT = re.compile(r"fingerprint of the database: ([0-9a-f]{64})")


def _fingerprint(out: str) -> str:
    found = FINGERPRINT.search(out)
    assert found, out
    return found.group(1)


def test_backup_then_restore_gives_back_the_same_books(cli_env, tmp_path: Path):
    if cli_env.get("ZIZHU_DATABASE_URL") and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    assert zizhu(cli_env, "demo", "--students", "12", timeout=300).returncode == 0
    assert zizhu(cli_env, "batch", "run").returncode == 0  # the books up to today
    assert zizhu(cli_env, "audit", "verify").returncode == 0  # sealed: the backup holds a checkpoint
    saved = tmp_path / "zizhu.backup"
    done = zizhu(cli_env, "backup", str(saved))
    assert done.returncode == 0, done.stderr
    before = _fingerprint(done.stdout)

    changed = zizhu(cli_env, "users", "add", "late-clerk", "--role", "officer", "--password", "a-long-password-1")
    assert changed.returncode == 0, changed.stderr
    sealed = zizhu(cli_env, "audit", "verify")  # the checkpoint file now vouches for more than the backup holds
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    assert zizhu(cli_env, "import", "contracts", "--help").returncode == 0

    done = zizhu(cli_env, "restore", str(saved), "--yes")
    assert done.returncode == 0, done.stderr
    assert _fingerprint(done.stdout) == before
    verified = zizhu(cli_env, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_broken_backup_is_refused_and_nothing_changes(cli_env, tmp_path: Path):
    if cli_env.get("ZIZHU_DATABASE_URL"):
        pytest.skip("SQLite's restore checks the file itself; pg_restore checks its own")
    assert zizhu(cli_env, "demo", "--students", "10", timeout=300).returncode == 0
    saved = tmp_path / "zizhu.backup"
    before = _fingerprint(zizhu(cli_env, "backup", str(saved)).stdout)
    broken = tmp_path / "broken.backup"
    broken.write_bytes(saved.read_bytes()[:5000])  # truncated
    done = zizhu(cli_env, "restore", str(broken), "--yes")
    assert done.returncode != 0 and "broken.backup" in done.stderr
    not_ours = tmp_path / "other.db"
    import sqlite3

    with sqlite3.connect(not_ours) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    done = zizhu(cli_env, "restore", str(not_ours), "--yes")
    assert done.returncode != 0 and "not a Zizhu database" in done.stderr
    again = zizhu(cli_env, "backup", str(tmp_path / "again.backup"))
    assert _fingerprint(again.stdout) == before
