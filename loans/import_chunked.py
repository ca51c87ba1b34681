"""A large sheet read by two processes at once: the import's reader and a helper it starts, a chunk each in turn.

The reader (loans.import_reader) cuts the first sheet into chunks as it goes (loans.import_chunks) and starts a
helper process (`python -m loans.import_reader --helper`) that takes every other chunk, so that while one process
types a chunk's rows the other loads its next one. The reader reads the header from the first chunk and gives the
helper its layout; it sends the service every block in the sheet's order, its own as it types them and the helper's
as they come (a thread keeps them meanwhile). It keeps the check across rows over all of them (CrossCheck) and
numbers the helper's contract terms on from its own: the service sees one reader, whose blocks came sooner.

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
from loans.import_chunks import CHUNK_BYTES, ChunkMismatch, SheetCut, give_back_memory, laid_out, load_chunk
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
    """Read the sheet in chunks with a helper and send all of it; False (nothing sent) for a sheet not cut.

    The reader cuts the chunks as it goes, two at a time, its own next one and the helper's: the first rows go
    out after two chunks are cut, not the whole sheet (its cutting, a fifth of its load, is spread over the read).
    """
    if zip_bomb(source):
        return False  # read_sheet says so
    cut = SheetCut.open(source, Path(request.folder or "."), request.chunk_bytes or CHUNK_BYTES)
    if cut is None:
        return False
    helper: _Helper | None = None
    try:
        try:
            first, second = cut.next_chunk(), cut.next_chunk()
        except ChunkMismatch:
            return False  # nothing sent yet: the reader reads the whole sheet
        if first is None or second is None:
            return False
        try:
            layout = read_sheet(first)
        except Problem:
            return False  # the whole sheet says what is wrong, and where
        first.unlink()
        layout.total_rows = cut.total_rows()
        helper = _Helper(request)
        helper.send(ChunkFrame(str(second)))
        helper.send(LayoutFrame(SheetFrame.of(layout)))
        out.send(SheetFrame.of(layout))
        blocks, cross = _Blocks(request, layout), CrossCheck()
        sheet, helpers_turn = layout, True
        while sheet is not None:
            for frame in blocks.frames(sheet):
                cross.add(frame.rows)
                out.send(frame)
            del sheet
            give_back_memory()
            # The next two chunks cut before the helper's blocks are taken: it gets its next chunk early.
            mine = cut.next_chunk()
            theirs = cut.next_chunk() if mine is not None else None
            if theirs is not None:
                helper.send(ChunkFrame(str(theirs)))
            else:
                helper.close_input()
            if helpers_turn:
                for frame in helper.blocks(blocks):
                    cross.add(frame.rows)
                    out.send(frame)
            helpers_turn = theirs is not None
            sheet = None
            if mine is not None:
                sheet = laid_out(layout, load_chunk(mine))
                mine.unlink()
        out.send(EndFrame(cross.found))
        return True
    finally:
        cut.close()
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

