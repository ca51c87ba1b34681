"""The data folder is the service's alone: the folder 0700, every file the service writes there 0600.

The embedded database holds full ID numbers, phones and password hashes, and the folder holds the signing
and audit keys, so no other local user may read any of it. The service sets the modes itself (not the
umask of whoever started it) whenever it makes the folder or a file in it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """Make the folder (and its missing parents) and leave it readable by this user only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def make_private(path: Path) -> None:
    """Tighten a file the service (or a library it called, SQLite say) has already written."""
    with contextlib.suppress(FileNotFoundError):  # not there (yet): nothing to tighten
        os.chmod(path, PRIVATE_FILE_MODE)


def private_file(path: Path) -> Path:
    """The file exists, mode 0600, before anything writes into it (made empty if missing; the folder is left as it
    is). A library that then opens it keeps the mode: SQLite writes into the file it finds, and gives its -wal,
    -shm and -journal files the mode of the database file, whatever the umask."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        pass
    os.chmod(path, PRIVATE_FILE_MODE)
    return path


def private_sqlite(database: Path) -> None:
    """An SQLite database file and its companions 0600: made so before SQLite creates it, tightened if it exists."""
    if database.parent.is_dir():  # a missing folder is SQLite's error to report, as before
        private_file(database)
    for suffix in SQLITE_COMPANIONS:
        make_private(Path(f"{database}{suffix}"))


def tighten(folder: Path) -> None:
    """At start: the folder and every folder in it 0700, every file 0600, whatever an older version, a copy by hand
    or a wide umask left there (backups kept in a sub-folder too). Links are neither followed nor changed.

    The folder itself must be the service's (an error otherwise); something inside that another user owns is left
    as it is: behind a 0700 folder no one else can reach it anyway."""
    private_dir(folder)
    for root, dirs, files in os.walk(folder):  # os.walk does not descend into linked folders
        for names, wanted in ((dirs, PRIVATE_DIR_MODE), (files, PRIVATE_FILE_MODE)):
            for name in names:
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    # gone meanwhile (a -journal SQLite just removed), or not ours
                    with contextlib.suppress(FileNotFoundError, PermissionError):
                        os.chmod(path, wanted)


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
