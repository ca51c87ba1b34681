"""The start command's server, as a user meets it: a real process on a loopback port."""

from __future__ import annotations

import subprocess
import time

import httpx

from tests.e2e.conftest import ZIZHU, free_port


def test_serve_answers_health_schema_and_login(cli_env):
    port = free_port()
    proc = subprocess.Popen([ZIZHU, "serve", "--port", str(port)], env=cli_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else "server exited"
            assert time.monotonic() < deadline, "server did not come up in 90 s"
            time.sleep(0.3)
        assert httpx.get(f"{base}/schema/openapi.json").status_code == 200
        home = httpx.get(f"{base}/")
        assert "officer-demo" in home.text  # the demo logins are shown on the demo database
        login = httpx.post(f"{base}/api/v1/auth/login", json={"username": "officer", "password": "officer-demo"})
        assert login.status_code == 200
        token = login.json()["access_token"]
        students = httpx.get(f"{base}/api/v1/students", headers={"Authorization": f"Bearer {token}"})
        assert students.status_code == 200 and students.json()["total"] >= 250
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert f"http://127.0.0.1:{port}" in out and "officer-demo" in out  # where to sign in
