"""Where a streamed import's rows come from (loans.import_stream): the reader process, or the service itself.

ReaderProcess runs loans.import_reader in a process of its own and turns its frames back into blocks of rows;
InServiceReader reads a small file in a worker thread (a process costs ~0.2 s to start) and cuts it into the
same blocks. Both are async context managers with `sheet()`, then `blocks()`, then `repeats` (whether a rule
across rows fails; None when not known, and the caller checks the rows itself).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import msgspec

from loans import import_chunks, import_rules
from loans.excel import RowError, Sheet
from loans.import_reader import LENGTH, BlockFrame, EndFrame, Frame, ProblemFrame, Request, SheetFrame
from loans.import_rules import PolicyCheck, Row, read_rows
from loans.policy import ContractTerms
from service.problems import Problem, get_problem_type

log = logging.getLogger("zizhu.import")
# How far the reader may run ahead of the service, in bytes of frames not yet taken (a block of 5,000 rows is
# ~1.5 MB): with the pipe's own 64 KB it would stop within its next block until the service asked for it.
READ_AHEAD = 8 << 20


@dataclass
class Block:
    """Rows as read, with the errors of their cells and of the rules within a row; from the reader process also
    their check codes, their policy: limits and terms by row number (`plans`), whether any row broke it, and the
    frame they came in."""

    rows: list[Row]
    errors: list[RowError]
    codes: list[str | None] | None = None
    plans: dict[int, tuple[tuple[int, int], ContractTerms]] | None = None
    over_limit: bool = False
    frame: bytes | None = None  # the reader's frame: kept instead of the rows (KeptFrames), a fifth of their size


_BLOCKS = msgspec.msgpack.Decoder(BlockFrame)


class KeptFrames:
    """The reader's frames, kept in a temporary file in case the whole file must be checked after all (rows): a
    100,000-row file's frames are ~23 MB, which the service need not hold while it writes (tempfile's own
    folder, deleted when closed)."""

    def __init__(self) -> None:
        self._file: Any = None

    def add(self, frame: bytes) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="zizhu-import-")
        self._file.write(LENGTH.pack(len(frame)))
        self._file.write(frame)

    def rows(self) -> list[Row]:
        """The rows of the frames kept."""
        if self._file is None:
            return []
        self._file.seek(0)
        rows: list[Row] = []
        while head := self._file.read(LENGTH.size):
            (size,) = LENGTH.unpack(head)
            rows.extend(_BLOCKS.decode(self._file.read(size)).rows)
        return rows

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


CHUNK_FOLDER = "zizhu-import-"  # + the service's process id + a random part, in the system's temporary folder


def sweep_chunk_folders(parent: Path | None = None) -> list[Path]:
    """Remove chunk folders left by service processes that ended without removing them (killed mid-import, say):
    a large sheet's chunks are up to its unpacked size. A folder of a process still running is kept; so is one
    named otherwise. The folders removed."""
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{CHUNK_FOLDER}*-*"):
        owner = folder.name[len(CHUNK_FOLDER):].split("-", 1)[0]
        if not owner.isdigit() or _running(int(owner)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


class ReaderFailed(Exception):
    """The reader process could not be started or broke its protocol: read the file in the service instead."""


class ReaderProcess:
    """A running reader process for one file (loans.import_reader). Leaving the context ends it in any state."""

    command = (sys.executable, "-m", "loans.import_reader")
    chunk_bytes = import_chunks.CHUNK_BYTES  # a sheet of more than two such chunks of XML is read in chunks

    def __init__(self, source: bytes | Path, secret: str, policy: PolicyCheck) -> None:
        self.source, self.secret, self.policy = source, secret, policy
        self._process: Any = None
        self._folder: str | None = None  # for the chunks of a large sheet (loans.import_chunked)
        self._terms: list[ContractTerms] = []
        self._body = b""  # the last frame as it came
        self._decoder = msgspec.msgpack.Decoder(Frame)  # type: ignore[arg-type]
        self.repeats: bool | None = None  # at the end: whether a rule across rows fails (None: not known)

    async def __aenter__(self) -> ReaderProcess:
        try:
            await anyio.to_thread.run_sync(sweep_chunk_folders)
            self._folder = tempfile.mkdtemp(prefix=f"{CHUNK_FOLDER}{os.getpid()}-")
            self._process = await asyncio.create_subprocess_exec(
                *self.command, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=READ_AHEAD)
            path = str(self.source) if isinstance(self.source, Path) else None
            frames = [msgspec.msgpack.encode(Request(self.secret, self.policy.rows, import_rules.BLOCK, path,
                                                     self._folder, self.chunk_bytes))]
            if path is None:
                frames.append(bytes(self.source))  # type: ignore[arg-type]
            for body in frames:
                self._process.stdin.write(LENGTH.pack(len(body)) + body)
            await self._process.stdin.drain()
            self._process.stdin.close()
        except (OSError, ConnectionResetError) as exc:
            await self.__aexit__()
            raise ReaderFailed(f"cannot start the reader process: {exc}") from exc
        return self

    async def __aexit__(self, *_: Any) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.returncode is None:
                process.kill()
            await process.wait()
        folder, self._folder = self._folder, None
        if folder is not None:
            await anyio.to_thread.run_sync(shutil.rmtree, folder, True)

    async def _next(self) -> Frame:
        try:
            (size,) = LENGTH.unpack(await self._process.stdout.readexactly(LENGTH.size))
            self._body = await self._process.stdout.readexactly(size)
            return self._decoder.decode(self._body)
        except (asyncio.IncompleteReadError, msgspec.DecodeError) as exc:
            code = await self._process.wait()
            log.warning("import reader process ended with exit code %s; the service reads the file itself", code)
            raise ReaderFailed(f"the reader process ended with {code}") from exc

    async def sheet(self) -> Sheet:
        """The sheet's layout; the file's own Problem (not a workbook, wrong columns, ...) is raised here."""
        frame = await self._next()
        if isinstance(frame, ProblemFrame):
            kind = get_problem_type(frame.slug)
            if kind is None:
                raise ReaderFailed(f"unknown problem type {frame.slug!r}")
            raise Problem(kind, frame.detail_zh, frame.detail_en, field=frame.field, extra=frame.extra)
        if not isinstance(frame, SheetFrame):
            raise ReaderFailed("the reader process did not start with the sheet")
        return frame.layout()

    async def blocks(self) -> AsyncIterator[Block]:
        while True:
            frame = await self._next()
            if isinstance(frame, EndFrame):
                self.repeats = frame.repeats
                return
            if not isinstance(frame, BlockFrame):
                raise ReaderFailed("unexpected frame from the reader process")
            terms = self._terms
            terms.extend(frame.terms)
            plans = {r.row: ((p[0], p[1]), terms[p[2]]) for r, p in zip(frame.rows, frame.plans) if p is not None}
            yield Block(frame.rows, [RowError(*e) for e in frame.errors], frame.codes, plans, frame.over_limit,
                        self._body)


class InServiceReader:
    """The same interface over loans.import_rules.read_rows in a worker thread: blocks cut from the rows it read,
    without check codes (the writer signs them)."""

    def __init__(self, source: bytes | Path) -> None:
        self.source = source
        self._read: tuple[Sheet, list[Row], list[RowError]] | None = None
        self.repeats: bool | None = None

    async def __aenter__(self) -> InServiceReader:
        return self

    async def __aexit__(self, *_: Any) -> None:
        self._read = None

    async def sheet(self) -> Sheet:
        self._read = await anyio.to_thread.run_sync(read_rows, self.source)
        return self._read[0]

    async def blocks(self) -> AsyncIterator[Block]:
        assert self._read is not None
        _, rows, errors = self._read
        size = import_rules.BLOCK
        for start in range(0, len(rows), size):  # the errors go with the first block: they stop the writing
            yield Block(rows[start:start + size], errors if start == 0 else [])
