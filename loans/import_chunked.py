"""A large sheet read by two processes at once: the import's reader and a helper it starts, a chunk each in turn.

The reader (loans.import_reader) cuts the first sheet into chunks (loans.import_chunks) and starts a helper process
(`python -m loans.import_reader --helper`) that takes every other chunk, so that while one process types a chunk's
rows the other loads its next one. The reader reads the header from the first chunk and gives the helper its
layout; it sends the service every block in the sheet's order, its own as it types them and the helper's as they
come (a thread keeps them meanwhile). It keeps the check across rows over all of them (CrossCheck) and numbers the
helper's contract terms on from its own: the service sees one reader, whose blocks came sooner.

Between reader and helper, frames as between service and reader: to the helper the Request, then a ChunkFrame for
each of its chunks and one LayoutFrame (in any order), then the end of its input; from the helper, per chunk, its
BlockFrames then ChunkDone. Whatever goes wrong, the reader exits non-zero and the service reads the file itself.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from loans.excel import read_sheet
from loans.import_chunks import CHUNK_BYTES, cut, give_back_memory, laid_out, load_chunk
from loans.import_reader import (BlockFrame, CrossCheck, EndFrame, Request, SheetFrame, _Blocks, _read_frame,
                                 _Writer)
from service.problems import Problem
from service.uploads import zip_bomb


class ChunkFrame(msgspec.Struct, tag="chunk"):
    path: str


class LayoutFrame(msgspec.Struct, tag="layout"):
    sheet: SheetFrame


class ChunkDone(msgspec.Struct, tag="done"):
    pass


class HelperFailed(Exception):
    pass


def read_in_chunks(request: Request, source: bytes | Path, out: _Writer) -> bool:
    """Read the sheet in chunks with a helper and send all of it; False (nothing sent) for a sheet not cut."""
    if zip_bomb(source):
        return False  # read_sheet says so
    folder = Path(request.folder or ".")
    helper: _Helper | None = None

    def done(index: int, path: Path) -> None:
        nonlocal helper
        if index == 0:
            helper = _Helper(request)
        elif index % 2 and helper is not None:
            helper.send(ChunkFrame(str(path)))

    try:
        chunks = cut(source, folder, request.chunk_bytes or CHUNK_BYTES, done)
        if chunks is None or helper is None:
            return False
        try:
            layout = read_sheet(chunks.paths[0])
        except Problem:
            return False  # the whole sheet says what is wrong, and where
        layout.total_rows = chunks.total_rows
        chunks.paths[0].unlink()
        helper.send(LayoutFrame(SheetFrame.of(layout)))
        helper.close_input()
        out.send(SheetFrame.of(layout))
        blocks, cross = _Blocks(request, layout), CrossCheck()
        for index, path in enumerate(chunks.paths):
            if index % 2:
                for frame in helper.blocks(blocks):
                    cross.add(frame.rows)
                    out.send(frame)
                continue
            if index:
                sheet = laid_out(layout, load_chunk(path))
                path.unlink()
            else:
                sheet = layout
            for frame in blocks.frames(sheet):
                cross.add(frame.rows)
                out.send(frame)
            del sheet
            give_back_memory()
        out.send(EndFrame(cross.found))
        return True
    finally:
        if helper is not None:
            helper.stop()


class _Helper:
    """The helper process, from the reader's side; its frames are taken off its pipe by a thread as they come."""

    def __init__(self, request: Request) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "loans.import_reader", "--helper"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.input = _Writer(self.process.stdin)
        self.input.send(msgspec.structs.replace(request, path=None, folder=None))
        self.frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.numbers: list[int] = []  # the reader's number for each of the helper's terms, in the helper's order
        self._decoder = msgspec.msgpack.Decoder(BlockFrame | ChunkDone)  # type: ignore[arg-type]
        threading.Thread(target=_relay, args=(self.process.stdout, self.frames), daemon=True).start()

    def send(self, frame: Any) -> None:
        self.input.send(frame)

    def close_input(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()

    def blocks(self, reader: _Blocks) -> Any:
        """The helper's blocks of its next chunk, its contract terms numbered as the reader's (`reader.number`)."""
        numbered = reader.numbered
        while True:
            body = self.frames.get()
            if body is None:
                raise HelperFailed(f"the helper ended with {self.process.wait()}")
            frame = self._decoder.decode(body)
            if isinstance(frame, ChunkDone):
                return
            known = len(numbered)
            # Each of the helper's terms is hashed once, when it first comes: by value, as its object will go.
            self.numbers.extend(numbered.setdefault(terms, len(numbered)) for terms in frame.terms)
            numbers = self.numbers
            frame.plans = [p if p is None else (p[0], p[1], numbers[p[2]]) for p in frame.plans]
            frame.terms = list(numbered)[known:]
            yield frame

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _relay(stream: BinaryIO, into: queue.SimpleQueue[bytes | None]) -> None:
    try:
        while True:
            into.put(_read_frame(stream))
    except (EOFError, OSError, ValueError):
        into.put(None)


def helper() -> None:
    """The helper process: load each chunk as its path comes, then (the layout known) type it and send its blocks."""
    stdin = sys.stdin.buffer
    out = _Writer(sys.stdout.buffer)
    request = msgspec.msgpack.decode(_read_frame(stdin), type=Request)
    decoder = msgspec.msgpack.Decoder(ChunkFrame | LayoutFrame)  # type: ignore[arg-type]
    paths: deque[Path] = deque()
    layout: SheetFrame | None = None
    ended = False

    def pull() -> None:
        nonlocal layout, ended
        try:
            frame = decoder.decode(_read_frame(stdin))
        except EOFError:
            ended = True
            return
        if isinstance(frame, ChunkFrame):
            paths.append(Path(frame.path))
        else:
            layout = frame.sheet

    blocks = None
    while True:
        while not paths and not ended:
            pull()
        if not paths:
            return
        path = paths.popleft()
        loaded = load_chunk(path)
        path.unlink()
        while layout is None and not ended:
            pull()
        if layout is None:
            return  # the reader gave up on chunks
        sheet = laid_out(layout.layout(), loaded)
        del loaded
        blocks = blocks or _Blocks(request, sheet)
        for frame in blocks.frames(sheet):
            out.send(frame)
        out.send(ChunkDone())
        del sheet
        give_back_memory()

