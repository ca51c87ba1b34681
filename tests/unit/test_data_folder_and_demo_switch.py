"""Issue #16, findings 6, 8 and 20 in pure functions: the data folder's modes (whatever the umask), when the start
command loads the demo, and the one masking function on e-mail addresses and on what a failed message keeps."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from notifications.policy import ERROR_CHARS, Outcome, Verdict, error_text
from service.datadir import private_sqlite, tighten
from service.demo import demo_wanted, is_loopback
from service.identity import redact


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def wide_umask() -> Iterator[None]:
    old = os.umask(0o022)  # a clerk's shell: files 0644, folders 0755 unless the service says otherwise
    yield
    os.umask(old)


def test_sqlite_database_wal_and_shm_are_0600_from_the_start(tmp_path: Path, wide_umask: None) -> None:
    database = tmp_path / "zizhu.db"
    private_sqlite(database)
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        made = sorted(p.name for p in tmp_path.iterdir())
        assert made == ["zizhu.db", "zizhu.db-shm", "zizhu.db-wal"]
        assert {p.name: mode(p) for p in tmp_path.iterdir()} == dict.fromkeys(made, 0o600)
    conn.close()


def test_an_existing_open_folder_is_tightened_at_start_without_following_links(
    tmp_path: Path, wide_umask: None
) -> None:
    data, outside = tmp_path / "var", tmp_path / "elsewhere.txt"
    data.mkdir(mode=0o755)
    outside.write_text("not ours")
    os.chmod(outside, 0o644)
    for name in ("zizhu.db", "zizhu.db-wal", "secret.key", "zizhu.db.backup"):
        (data / name).write_bytes(b"x")
        os.chmod(data / name, 0o644)
    (data / "link").symlink_to(outside)
    (data / "backups").mkdir(mode=0o755)
    (data / "backups" / "2026-12-01.db").write_bytes(b"x")
    os.chmod(data / "backups" / "2026-12-01.db", 0o644)
    tighten(data)
    assert mode(data) == 0o700 and mode(data / "backups") == 0o700
    assert mode(data / "backups" / "2026-12-01.db") == 0o600
    assert {p.name: mode(p) for p in data.iterdir() if p.is_file() and not p.is_symlink()} == {
        "zizhu.db": 0o600,
        "zizhu.db-wal": 0o600,
        "secret.key": 0o600,
        "zizhu.db.backup": 0o600,
    }
    assert mode(outside) == 0o644  # a link in the folder is not followed


@pytest.mark.parametrize(
    ("asked", "sqlite", "host", "loaded"),
    [
        (None, True, "127.0.0.1", True),  # `python3 dev.py start`: a newcomer's first start
        (None, True, "localhost", True),
        (None, True, "::1", True),
        (None, True, "127.0.0.2", True),
        (None, True, "0.0.0.0", False),  # reachable from other machines
        (None, True, "::", False),
        (None, True, "192.168.1.20", False),
        (None, True, "zizhu.example.cn", False),
        (None, False, "127.0.0.1", False),  # PostgreSQL is a real installation
        (True, False, "0.0.0.0", True),  # only when asked by name
        (True, True, "10.0.0.5", True),
        (False, True, "127.0.0.1", False),
    ],
)
def test_demo_only_on_sqlite_and_loopback_unless_asked(asked: bool | None, sqlite: bool, host: str, loaded: bool):
    assert demo_wanted(asked, sqlite=sqlite, host=host) is loaded


def test_loopback_names() -> None:
    assert is_loopback("[::1]") and is_loopback("LOCALHOST") and not is_loopback("") and not is_loopback("::")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to zhang.san@example.com failed", "to z***@example.com failed"),
        ("13812341234@sms.example.cn", "1***@sms.example.cn"),  # an address made of a phone number
        ("张三@例子.中国", "张***@例子.中国"),
        ("z***@example.com", "z***@example.com"),  # masked twice: the same
        ("a@b and user@localhost", "a@b and user@localhost"),  # no domain with a dot: not an address
    ],
)
def test_redact_masks_email_addresses(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_failure_is_masked_before_it_is_cut() -> None:
    # the phone number straddles the cut: masking first leaves no readable part of it
    reply = "x" * (ERROR_CHARS - 6) + "13812341234 and more"
    kept = error_text(reply)
    assert kept is not None and len(kept) == ERROR_CHARS and "138123" not in kept and kept.endswith("138***")
    assert error_text(None) is None
    made = Outcome(Verdict.FAIL, 'HTTP 400: {"mobile": "13812341234", "id": "150430200705060775", "m": "li@x.cn"}')
    assert made.error == 'HTTP 400: {"mobile": "138****1234", "id": "150430********0775", "m": "l***@x.cn"}'
