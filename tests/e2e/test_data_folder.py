"""The data folder is the service's alone (issue #16, finding 6): a fresh one is 0700 and every file in it 0600
after serving requests, after a backup and after a restore, whatever the umask of whoever started the service;
a folder an older version left open is tightened at the next start."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import free_port, start_server, stop_server, zizhu

ADMIN_PASSWORD = "a-long-secret-for-the-centre-1"  # keeps the password rules: not the user name


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def modes(folder: Path) -> dict[str, int]:
    """Every folder and file under `folder` (the folder itself as ".") with its mode."""
    found = {".": mode(folder)}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root, name)
            found[str(path.relative_to(folder))] = mode(path)
    return found


def assert_private(folder: Path) -> None:
    seen = modes(folder)
    wrong = {name: m for name, m in seen.items() if m != (0o700 if (folder / name).is_dir() else 0o600)}
    assert wrong == {}, seen


@pytest.fixture
def wide_umask() -> Iterator[None]:
    old = os.umask(0o022)  # inherited by the `zizhu` processes: without the service's own modes, 0755 and 0644
    yield
    os.umask(old)


def test_a_fresh_data_folder_stays_private(cli_env, tmp_path: Path, wide_umask: None):
    on_postgres = bool(cli_env.get("ZIZHU_DATABASE_URL"))
    data = Path(cli_env["ZIZHU_DATA_DIR"])
    assert not data.exists()
    env = {**cli_env, "ZIZHU_ADMIN_PASSWORD": ADMIN_PASSWORD}
    port = free_port()
    proc = start_server(env, port, "--no-demo")
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        token = httpx.post(f"{base}/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        made = httpx.post(
            f"{base}/universities", json={"code": "10126", "name": "内蒙古大学", "province": "内蒙古"}, headers=auth
        )
        assert made.status_code == 201, made.text
        assert httpx.get(f"{base}/universities", headers=auth).status_code == 200
        if not on_postgres:  # the database, its WAL and shared memory are there while the server runs
            assert {"zizhu.db", "zizhu.db-wal", "zizhu.db-shm"} <= set(os.listdir(data))
        assert_private(data)
    finally:
        stop_server(proc)
    assert_private(data)

    if on_postgres and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    for target in (tmp_path / "backups" / "zizhu.backup", data / "backups" / "zizhu.backup"):  # README's example
        done = zizhu(env, "backup", str(target))
        assert done.returncode == 0, done.stderr
        assert mode(target) == 0o600
    assert_private(data)
    if not on_postgres:
        done = zizhu(env, "restore", str(tmp_path / "backups" / "zizhu.backup"), "--yes")
        assert done.returncode == 0, done.stderr
        assert_private(data)

    # a folder left open (an older version, a copy by hand) is tightened by the next start of any command
    for name in modes(data):
        os.chmod(data / name, 0o755 if (data / name).is_dir() else 0o644)
    assert (
        mode(data / "backups") == 0o755 and mode(data / "zizhu.db" if not on_postgres else data / "secret.key") == 0o644
    )
    assert zizhu(env, "db", "current").returncode == 0
    assert_private(data)
