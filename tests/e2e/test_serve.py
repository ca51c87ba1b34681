"""The start command's server, as a user meets it: a real process on a loopback port.

Demo users (published passwords) only where a newcomer tries Zizhu: the embedded database served on loopback;
PostgreSQL or a bind that other machines reach gets them only with --demo (issue #16, finding 8)."""

from __future__ import annotations

import os
import signal
import sys

import httpx
import pytest

from tests.e2e.conftest import free_port, start_server, stop_server
from tests.e2e.test_stop import dev_py_root, start

WARNING = "本数据库中存在演示账号"


def test_serve_answers_health_schema_and_login(cli_env):
    port = free_port()
    on_postgres = bool(cli_env.get("ZIZHU_DATABASE_URL"))
    proc = start_server(cli_env, port, *(["--demo"] if on_postgres else []))  # SQLite on loopback: the default
    base = f"http://127.0.0.1:{port}"
    try:
        assert httpx.get(f"{base}/schema/openapi.json").status_code == 200
        home = httpx.get(f"{base}/")
        assert "zizhu-demo" in home.text and WARNING in home.text  # the demo logins, said plainly
        login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "officer", "password": "zizhu-demo"})
        assert login.status_code == 200
        token = login.json()["access_token"]
        students = httpx.get(f"{base}/api/v1/students", headers={"Authorization": f"Bearer {token}"})
        assert students.status_code == 200 and students.json()["total"] >= 250
    finally:
        out = stop_server(proc)
    assert f"http://127.0.0.1:{port}" in out and "zizhu-demo" in out  # where to sign in
    assert "passwords are published" in out


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_no_demo_users_on_postgresql_or_beyond_loopback_unless_asked(cli_env, host):
    on_postgres = bool(cli_env.get("ZIZHU_DATABASE_URL"))
    if host == "127.0.0.1" and not on_postgres:
        pytest.skip("SQLite on loopback is the newcomer's demo (test above)")
    port = free_port()
    proc = start_server(cli_env, port, "--host", host)
    base = f"http://127.0.0.1:{port}"
    try:
        home = httpx.get(f"{base}/")
        assert home.status_code == 200 and "zizhu-demo" not in home.text and WARNING not in home.text
        login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "officer", "password": "zizhu-demo"})
        assert login.status_code == 401
    finally:
        out = stop_server(proc)
    assert "zizhu-demo" not in out and "--demo" in out  # says how to get the demo, shows no password


def test_dev_py_start_still_gives_a_newcomer_the_demo(cli_env, tmp_path):
    if cli_env.get("ZIZHU_DATABASE_URL"):
        pytest.skip("a newcomer's first start is on the embedded SQLite database")
    port = free_port()
    log = tmp_path / "server.log"
    proc = start(
        [sys.executable, str(dev_py_root(tmp_path) / "dev.py"), "start", "--port", str(port)], cli_env, port, log
    )
    try:
        home = httpx.get(f"http://127.0.0.1:{port}/")
        assert "zizhu-demo" in home.text and WARNING in home.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert "zizhu-demo" in log.read_text()
