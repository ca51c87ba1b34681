"""Cutting a large first sheet into workbooks of consecutive rows (chunks) that two processes load side by side.

Why: python-calamine loads a whole sheet before it yields a row, and holds Python's lock meanwhile (a 100,000-row
sheet: over two seconds and 200 MB). An import's reader could not type a row, nor the service write one, until the
load was done, and one of the two cores sat idle. Cut into chunks, the sheet is loaded a chunk at a time by two
reader processes (loans.import_reader), each typing one chunk while the other loads the next: the first rows reach
the service within a second, and each process holds one chunk's cells at a time.

A chunk is a copy of the workbook whose first sheet has the XML before the rows and only the chunk's rows, their
cells as they were (shared strings, styles and the rest of the package are copied unchanged), stored without
compression in a temporary folder. Row elements keep their numbers (r="…"), so calamine puts each row where it was;
the XML after the rows (merged cells, print settings) holds no values and is left out. A sheet is cut only when
that is sure to work: a first sheet that is a worksheet, rows that carry their numbers, a <sheetData> element. In
any other case SheetCut.open (or `cut`, all chunks at once) says None and the caller loads the whole sheet. The
reader cuts as it reads (SheetCut.next_chunk), a chunk or two ahead. What is found not to fit after rows were sent
(ChunkMismatch) makes the reader process fail, and the service then reads the file itself.
"""

from __future__ import annotations

import ctypes
import io
import posixpath
import re
import shutil
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from loans.excel import Sheet

CHUNK_BYTES = 16 << 20  # of sheet XML a chunk (about 15,000 rows of the template); a sheet under two is not cut
_READ = 1 << 20
_KEEP = 512  # bytes held back between reads, so that no tag the cutting looks for is split across two
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_SHEET_DATA = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)sheetData(?:\s[^>]*?)?(/?)>")
_ROOT = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?worksheet)[\s>]")
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref=\"[A-Z]+\d+:[A-Z]+(\d+)\"")
_CUT_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, ValueError, EOFError, zlib.error,
               ElementTree.ParseError)


class ChunkMismatch(Exception):
    """A chunk read back does not fit the sheet it was cut from: the import must read the whole file."""


@dataclass
class Chunks:
    paths: list[Path]  # in the sheet's order; the first holds the header
    total_rows: int  # the number of the sheet's last row


class SheetCut:
    """A first sheet being cut into chunks, one chunk a call of `next_chunk`: the reader cuts a chunk or two ahead
    of what it reads, so that it starts on the first one at once, not after the whole sheet is cut."""

    def __init__(self, book: zipfile.ZipFile, cutter: _Cutter, chunks: Iterator[Path], size: int) -> None:
        self._book, self._cutter, self._chunks, self._size = book, cutter, chunks, size
        self.paths: list[Path] = []

    @classmethod
    def open(cls, source: bytes | Path, folder: Path, chunk_bytes: int = CHUNK_BYTES) -> SheetCut | None:
        """Ready to cut; None when the sheet is small or not sure to cut well."""
        book = None
        try:
            book = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
            name = _first_sheet(book)
            size = book.getinfo(name).file_size if name else 0
            if name is None or size < 2 * chunk_bytes:
                book.close()
                return None
            # An even number of chunks of about the same size: the two readers take turns.
            pairs = -(-size // (2 * chunk_bytes))
            others = [(info, book.read(info)) for info in book.infolist()
                      if info.filename != name and not info.is_dir()]
            cutter = _Cutter(folder, name, others, -(-size // (2 * pairs)))
            cutter.start(book.open(name))  # what cannot be cut at all is known before the first chunk
            return cls(book, cutter, cutter.chunks(), size)
        except _CUT_ERRORS:
            if book is not None:
                book.close()
            return None

    def next_chunk(self) -> Path | None:
        """The next chunk, cut; None after the last. Raises ChunkMismatch for a sheet found not to cut well."""
        try:
            path = next(self._chunks, None)
        except _CUT_ERRORS as exc:
            raise ChunkMismatch(f"the sheet cannot be cut on: {exc!r}") from None
        if path is not None:
            self.paths.append(path)
        return path

    def total_rows(self) -> int:
        """The sheet's rows, for progress: its <dimension> says, or the first chunk's rows times the chunks."""
        return self._cutter.dimension_rows or self._cutter.last_row * max(1, -(-self._size // self._cutter.size))

    @property
    def last_row(self) -> int:
        """The number of the last row cut so far (all of them once next_chunk has said None)."""
        return self._cutter.last_row

    def close(self) -> None:
        self._cutter.close()
        self._book.close()


def cut(source: bytes | Path, folder: Path, chunk_bytes: int = CHUNK_BYTES,
        done: Callable[[int, Path], None] | None = None) -> Chunks | None:
    """The whole sheet cut at once (SheetCut), calling `done(index, path)` as each chunk is complete; None when the
    sheet is small or not sure to cut well (the folder then emptied: chunks already done are gone)."""
    sheet = SheetCut.open(source, folder, chunk_bytes)
    if sheet is None:
        return None
    try:
        while (path := sheet.next_chunk()) is not None:
            if done:
                done(len(sheet.paths) - 1, path)
        if len(sheet.paths) < 2:
            raise ChunkMismatch("one chunk")
        return Chunks(sheet.paths, sheet.last_row)
    except ChunkMismatch:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        return None
    finally:
        sheet.close()


def load_chunk(path: Path) -> Any:
    """A chunk's sheet, loaded by calamine (its cells held in Rust until its rows are read)."""
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)


def laid_out(layout: Sheet, loaded: Any) -> Sheet:
    """A chunk other than the first, its rows laid out as the first one's header says (`layout`).

    Its rows are taken from calamine at once, from the chunk's first row (the sheet's iter_rows would first yield
    an empty row for every row of the chunks before), and calamine's copy can go: `loaded` is not needed after.
    The chunk's Sheet has the row before its first as its header row, from which data_rows numbers its rows."""
    if not loaded.start:
        return replace(layout, _rows=iter(()), leading=[])
    (first_row, first_col), (last_row, _) = loaded.start, loaded.end
    if first_col < layout.first_col:  # a cell left of every column of the first chunk: read the whole sheet
        raise ChunkMismatch(f"a cell in column {first_col}, left of the first chunk's {layout.first_col}")
    rows = loaded.to_python(skip_empty_area=True)
    if len(rows) != last_row - first_row + 1:
        raise ChunkMismatch(f"calamine gave {len(rows)} rows for rows {first_row + 1} to {last_row + 1}")
    if first_col > layout.first_col:
        blanks = [""] * (first_col - layout.first_col)
        rows = [blanks + values for values in rows]
    return replace(layout, header_row=first_row, _rows=iter(rows), leading=[])


def give_back_memory() -> None:
    """Return the memory of a chunk's cells, freed, to the system (glibc keeps freed memory for reuse, and a
    process reading chunk after chunk grew by most of a chunk each time). Nothing elsewhere."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _NotCuttable(ValueError):
    pass


def _first_sheet(book: zipfile.ZipFile) -> str | None:
    """The part of the workbook's first sheet (calamine's sheet 0), when it is a worksheet."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    first = workbook.find(f"{_MAIN}sheets/{_MAIN}sheet")
    if first is None:
        return None
    rel_id = first.get(f"{_REL}id")
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(f"{_PACKAGE_REL}Relationship"):
        if rel.get("Id") == rel_id and rel.get("TargetMode") != "External":
            target = rel.get("Target") or ""
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            return name if name.startswith("xl/worksheets/") and name in book.namelist() else None
    return None


class _Cutter:
    """Streams the sheet's XML into chunk files, cutting before a row element once a chunk has its size."""

    def __init__(self, folder: Path, name: str, others: list[tuple[zipfile.ZipInfo, bytes]], size: int) -> None:
        self.folder, self.name, self.others, self.size = folder, name, others, size
        self.paths: list[Path] = []
        self.prefix = b""  # the XML down to and with <sheetData>
        self.closing = b""  # </sheetData></worksheet>, with the file's namespace prefixes
        self.row_open = b"<row"
        self.row_tag = re.compile(b"<row[\\s>]")
        self.end_tag = b"</sheetData>"
        self._row_number = re.compile(b"")
        self.last_row = 0
        self.dimension_rows = 0  # the last row <dimension ref="A1:U100001"/> names, if there is one
        self._xml: IO[bytes] | None = None
        self._buffer = b""
        self._book: zipfile.ZipFile | None = None
        self._sheet: IO[bytes] | None = None
        self._written = 0
        self._completed: deque[Path] = deque()

    def start(self, xml: IO[bytes]) -> None:
        """Read the head of the sheet, down to <sheetData>; _NotCuttable when it has no rows to cut."""
        self._xml = xml
        buffer = b""
        while not self.prefix:
            piece = xml.read(_READ)
            if not piece:
                raise _NotCuttable("no <sheetData>")
            buffer += piece
            found = _SHEET_DATA.search(buffer)
            if found is None:
                if len(buffer) > 16 * _READ:
                    raise _NotCuttable("no <sheetData> near the start")
                continue
            root = _ROOT.search(buffer, 0, found.start())
            if found.group(2) or root is None:  # <sheetData/>: no rows
                raise _NotCuttable("no rows or no worksheet element")
            ns = found.group(1)
            self.prefix = buffer[:found.end()]
            self.closing = b"</" + ns + b"sheetData></" + root.group(1) + b">"
            self.row_open = b"<" + ns + b"row"
            self.row_tag = re.compile(re.escape(self.row_open) + b"[\\s>]")
            self.end_tag = b"</" + ns + b"sheetData>"
            self._row_number = re.compile(re.escape(self.row_open) + b"\\s[^>]*?\\br=\"(\\d+)\"")
            dimension = _DIMENSION.search(self.prefix)
            self.dimension_rows = int(dimension.group(1)) if dimension else 0
            self._buffer = buffer[found.end():]

    def chunks(self) -> Iterator[Path]:
        """Each chunk's path as soon as it is complete."""
        assert self._xml is not None
        self._open()
        buffer, done = self._buffer, False
        while not done:
            piece = self._xml.read(_READ)
            buffer += piece
            end = buffer.find(self.end_tag)
            done = end >= 0 or not piece
            if not piece and end < 0:
                raise _NotCuttable("the sheet ends without </sheetData>")
            upto = end if end >= 0 else max(0, len(buffer) - _KEEP)
            buffer = self._rows(buffer, upto)
            while self._completed:
                yield self._completed.popleft()
        self._close()
        yield from self._completed

    def _rows(self, buffer: bytes, upto: int) -> bytes:
        """Write buffer[:upto] (whole rows and cells) into chunks, cutting where one is full; the rest is kept."""
        at = 0
        while self._written + (upto - at) >= self.size:
            found = self.row_tag.search(buffer, at + max(0, self.size - self._written), upto)
            if found is None:
                break
            # A chunk's first row must say its number: calamine numbers one without it on from the chunk's start.
            # (Rows after it without one are numbered on from the row before, as in the whole sheet.)
            if self._row_number.match(buffer, found.start()) is None:
                raise _NotCuttable("a row without its number")
            self._write(buffer[at:found.start()])
            self._close()
            self._open()
            at = found.start()
        # A row whose tag begins before `upto` and ends after it is counted here: the next piece begins inside it.
        last = buffer.rfind(self.row_open, at, upto + len(self.row_open) - 1)
        number = self._row_number.match(buffer, last) if last >= 0 else None
        if number is not None:
            self.last_row = max(self.last_row, int(number.group(1)))
        self._write(buffer[at:upto])
        return buffer[upto:]

    def _open(self) -> None:
        path = self.folder / f"chunk-{len(self.paths):03d}.xlsx"
        self.paths.append(path)
        self._book = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED)
        for info, content in self.others:
            self._book.writestr(info.filename, content)
        self._sheet = self._book.open(self.name, "w")
        self._sheet.write(self.prefix)
        self._written = 0

    def _write(self, data: bytes) -> None:
        assert self._sheet is not None
        self._sheet.write(data)
        self._written += len(data)

    def close(self) -> None:
        """Close a chunk left open by an error (its file is left incomplete, for the folder's owner to remove)."""
        if self._sheet is not None:
            self._sheet.close()
        if self._book is not None:
            self._book.close()
        self._book = self._sheet = None

    def _close(self) -> None:
        assert self._sheet is not None and self._book is not None
        self._sheet.write(self.closing)
        self._sheet.close()
        self._book.close()
        self._book = self._sheet = None
        self._completed.append(self.paths[-1])
