"""The start command's server, as a user meets it: a real process on a loopback port."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import free_port, start_server, stop_server


def test_serve_answers_health_schema_and_login(cli_env):
    port = free_port()
    proc = start_server(cli_env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        assert httpx.get(f"{base}/schema/openapi.json").status_code == 200
        home = httpx.get(f"{base}/")
        assert "zizhu-demo" in home.text  # the demo logins are shown on the demo database
        login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "officer", "password": "zizhu-demo"})
        assert login.status_code == 200
        token = login.json()["access_token"]
        students = httpx.get(f"{base}/api/v1/students", headers={"Authorization": f"Bearer {token}"})
        assert students.status_code == 200 and students.json()["total"] >= 250
    finally:
        out = stop_server(proc)
    assert f"http://127.0.0.1:{port}" in out and "zizhu-demo" in out  # where to sign in
