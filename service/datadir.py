"""The data folder is the service's alone: the folder 0700, every file the service writes there 0600.

The embedded database holds full ID numbers, phones and password hashes, and the folder holds the signing
and audit keys, so no other local user may read any of it. The service sets the modes itself (not the
umask of whoever started it) whenever it makes the folder or a file in it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Make the folder (and its missing parents) and leave it readable by this user only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def make_private(path: Path) -> None:
    """Tighten a file the service (or a library it called, SQLite say) has already written."""
    if path.exists():
        os.chmod(path, PRIVATE_FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write the whole file atomically, mode 0600 from its first byte (a reader sees the old or the new)."""
    private_dir(path.parent)
    staged = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise


def generated_key(path: Path, make: Callable[[], str]) -> str:
    """A secret made once and kept in the data folder (mode 0600); a second process racing to make it reads
    the first one's instead of writing its own."""
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)
    key = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:  # another worker process made it a moment ago
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key
