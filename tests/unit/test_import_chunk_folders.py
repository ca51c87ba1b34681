"""Chunk folders left by a service process that died mid-import are removed by the next import (import_sources)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from loans.import_sources import CHUNK_FOLDER, sweep_chunk_folders


def test_only_the_folders_of_ended_processes_are_removed(tmp_path: Path) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(ended.stdout)
    dead = tmp_path / f"{CHUNK_FOLDER}{dead_pid}-abc123"
    alive = tmp_path / f"{CHUNK_FOLDER}{os.getpid()}-def456"
    other = tmp_path / f"{CHUNK_FOLDER}qlw6mx3o"  # not named by a process: not ours to judge
    for folder in (dead, alive, other):
        folder.mkdir()
        (folder / "chunk-001.xlsx").write_bytes(b"x" * 1000)
    assert sweep_chunk_folders(tmp_path) == [dead]
    assert not dead.exists() and alive.exists() and other.exists()
