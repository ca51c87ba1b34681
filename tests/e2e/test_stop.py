"""Stopping the server: `python3 dev.py start` and `zizhu serve` end on SIGTERM and SIGINT with every process they
started, and the port is free again; a worker follows its main process even when that one is killed outright."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ZIZHU, free_port

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc")

REPO = Path(__file__).resolve().parents[2]


def dev_py_root(tmp_path: Path) -> Path:
    """A copy of the project's dev.py with a set-up .venv beside it (links to this test run's interpreter and
    `zizhu`, the install stamp current): `dev.py start` goes straight to the server, installing nothing."""
    root = tmp_path / "root"
    (root / ".venv" / "bin").mkdir(parents=True)
    for name in ("dev.py", "pyproject.toml"):
        (root / name).write_bytes((REPO / name).read_bytes())
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (root / ".venv" / "bin" / "zizhu").symlink_to(ZIZHU)
    (root / ".venv" / ".zizhu-installed").write_text(hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest())
    return root


def children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rpartition(")")[2].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def process_tree(pid: int) -> list[int]:
    tree, found, todo = children(), [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(tree.get(found[-1], []))
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT connections do not count, a listener does
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def start(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"server did not come up:\n{log.read_text()}")
        time.sleep(0.3)


def stop_and_check(proc: subprocess.Popen[bytes], sig: int, port: int, log: Path, workers: int) -> None:
    # every worker up first: the promise is for running workers (one still starting when its main process is
    # killed outright is left to the kernel's orphan handling; see the note in service.cli.worker_app)
    deadline = time.monotonic() + 60
    while log.read_text().count("Started worker-") < workers and time.monotonic() < deadline:
        time.sleep(0.2)
    tree = process_tree(proc.pid)
    try:
        assert len(tree) >= 1 + workers, f"expected a main process and {workers} worker(s): {tree}"
        os.kill(proc.pid, sig)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 45  # a loaded CI machine: a worker told by the kernel still shuts down in order
        while [pid for pid in tree if running(pid)] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in tree if running(pid)], f"left running after {signal.Signals(sig).name}"
        assert not listening(port), "the port is still taken"
    except BaseException:
        print(log.read_text())
        raise
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever a failure left behind (the group outlives its leader)
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_dev_py_start_stops_with_everything_it_started(cli_env, tmp_path, sig):
    port = free_port()
    root = dev_py_root(tmp_path)
    proc = start(
        [sys.executable, str(root / "dev.py"), "start", "--port", str(port), "--no-demo"],
        cli_env,
        port,
        tmp_path / "server.log",
    )
    stop_and_check(proc, sig, port, tmp_path / "server.log", workers=1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=["SIGTERM", "SIGINT", "SIGKILL"])
def test_zizhu_serve_stops_with_its_workers(cli_env, tmp_path, sig):
    port = free_port()
    proc = start(
        [ZIZHU, "serve", "--port", str(port), "--no-demo", "--workers", "2"], cli_env, port, tmp_path / "server.log"
    )
    stop_and_check(proc, sig, port, tmp_path / "server.log", workers=2)
