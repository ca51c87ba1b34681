#!/usr/bin/env python3
"""Set-up and start in one command, with nothing but Python 3.11 on the machine.

    python3 dev.py start [zizhu serve options]   # venv, install, migrate, demo data, serve on 127.0.0.1:8000
    python3 dev.py test  [pytest options]        # venv, install with test extras, run the whole suite

The virtual environment lives in .venv and is only reinstalled when pyproject.toml changes, so a
second run starts at once. Once set up, this process becomes the command it runs (exec), so Ctrl-C and a
SIGTERM reach the server itself and stop it with everything it started.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".zizhu-installed"


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Zizhu needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print("creating the virtual environment in .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("installing Zizhu and its dependencies (first run only) …", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"start", "test"}:
        print(__doc__)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "start":
        return become([str(BIN / "zizhu"), "serve", *rest])
    return become([str(BIN / "python"), "-m", "pytest", *rest])


def become(argv: list[str]) -> int:
    """Replace this process with the command: a parent left in between would die of a SIGTERM and leave the
    server running without it, holding the port. (Windows has no exec that keeps the process: a child there.)"""
    if os.name == "nt":
        return subprocess.call(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
