"""Uploaded archives checked before they are opened.

An .xlsx is a zip of XML parts. A real sheet of 100,000 contracts unpacks to ~110 MB at a ratio of ~10:1; a
"zip bomb" unpacks a small upload into gigabytes. The sizes the zip declares are checked before anything is
unpacked (readers such as calamine trust them too).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree

from service.edge import clean_text
from service.problems import TOO_LARGE, Problem, problem_type

MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # an uploaded workbook's size at most (every door that takes one)
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_PART_RATIO = 200


async def read_upload(file: Any) -> bytes:
    """The bytes of an uploaded file (Litestar's UploadFile), or a 413 problem past MAX_UPLOAD_BYTES. Reads one byte
    more than allowed at most, so an oversized upload is never held whole."""
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise Problem(
            TOO_LARGE,
            f"上传文件超过 {MAX_UPLOAD_BYTES // 2**20} MB，请分成几个文件上传。",
            f"The file is over {MAX_UPLOAD_BYTES // 2**20} MB; split it into several files.",
            field="file",
        )
    return content


def upload_name(file: Any, default: str = "upload.xlsx") -> str:
    """The uploaded file's own name (no folders), held to the edge's text rules: it goes into the audit record and
    the import job, and a U+0000 in it was a 500 on PostgreSQL (multipart fields bypass service.edge's request)."""
    name = PurePosixPath(str(file.filename or "").replace("\\", "/")).name
    return clean_text(name, "file", multiline=False)[:200] or default


def zip_bomb(source: bytes | Path) -> bool:
    """True when the zip declares more than MAX_UNPACKED_BYTES, or a large part compressed beyond MAX_PART_RATIO.

    A file that is no readable zip is not a bomb: the reader that opens it next reports it as damaged.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    unpacked = sum(p.file_size for p in parts)
    worst = max((p.file_size / max(p.compress_size, 1) for p in parts if p.file_size > 1024 * 1024), default=0)
    return unpacked > MAX_UNPACKED_BYTES or worst > MAX_PART_RATIO


# --- a workbook's first sheet measured before a reader loads it ------------------------------------------------
# python-calamine makes one dense grid from the first used cell to the last: a 5 KB upload with cells at A1 and
# XFD1048576 asks for 512 GB and the process aborts (no exception to catch). So the sheet's cell references are
# read first, from the zip, without building anything per cell.

SHEET_TOO_WIDE = problem_type("sheet-too-wide", 422, "工作表列数超出模板", "The sheet is wider than its template")
SHEET_TOO_TALL = problem_type("sheet-too-tall", 413, "工作表行数过多", "The sheet has too many rows")
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref=["\'](?:[A-Z]+[0-9]+:)?([A-Z]+)([0-9]+)["\']')


@dataclass(frozen=True)
class SheetSize:
    rows: int  # the highest row number with a cell (0: none)
    columns: int  # the highest column number with a cell (1 = A)


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _first_sheet_part(archive: zipfile.ZipFile) -> str | None:
    """The part of the workbook's first sheet (calamine's sheet 0), from workbook.xml and its relationships."""
    try:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return None
    sheet = book.find(f"{_NS_MAIN}sheets/{_NS_MAIN}sheet")
    if sheet is None:
        return None
    for rel in rels.iter(f"{_NS_PKG}Relationship"):
        if rel.get("Id") == sheet.get(f"{_NS_REL}id"):
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
    return None


def sheet_size(source: bytes | Path, max_rows: int, max_columns: int) -> SheetSize | None:
    """The first sheet's extent by its declared <dimension> and its cells' references (r="…"), in one streaming pass
    over the part that builds nothing per cell: only references past a limit are matched and looked at. What lies
    within both limits is reported as the highest row element seen (the rows are counted by their tags), so the
    answer is exact whenever a limit is passed and a fair count otherwise. None when the file is no readable
    workbook (the reader says what is wrong with it). Check zip_bomb first."""
    digits = len(str(max_rows + 1))
    # A reference whose column has as many letters as the limit's, or its row as many digits. Single letters are
    # never matched (that would be every cell): columns up to Z are let through, a grid small enough either way.
    letters = max(2, len(_column_letters(max_columns)))
    # `r=` with nothing before it: a search for a fixed text runs far faster than one for any word boundary, and
    # the attribute may follow any white space. (An attribute of another name ending in r would only be looked at.)
    beyond = re.compile(rb'r=["\']([A-Z]{%d,}[0-9]+|[A-Z]+[0-9]{%d,})["\']' % (letters, digits))
    rows = columns = counted = 0
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            part = _first_sheet_part(archive)
            if part is None:
                return None
            with archive.open(part) as stream:
                tail, first = b"", True
                while block := stream.read(1 << 20):
                    data = tail + block
                    cut = data.rfind(b">") + 1
                    data, tail = data[:cut], data[cut:]
                    if first and (dim := _DIMENSION.search(data)):
                        columns, rows = column_number(dim[1].decode()), int(dim[2])
                    first = False
                    counted += data.count(b"row ")  # <row …> and <x:row …>: a count, for the row estimate
                    for ref in beyond.findall(data):
                        letters_end = len(ref) - len(ref.lstrip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
                        columns = max(columns, column_number(ref[:letters_end].decode()))
                        rows = max(rows, int(ref[letters_end:]))
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError):
        return None
    if rows <= max_rows and columns <= max_columns:  # within the limits: the count of row elements
        rows = counted or rows
    return SheetSize(rows, columns)


def _column_letters(number: int) -> str:
    out = ""
    while number:
        number, rest = divmod(number - 1, 26)
        out = chr(65 + rest) + out
    return out


def check_sheet_size(source: bytes | Path, *, max_rows: int, max_columns: int) -> SheetSize | None:
    """Refuse a first sheet taller than `max_rows` rows or wider than `max_columns` columns (Problem), before any
    reader loads it; its size otherwise (None: not a readable workbook, left to the reader to report)."""
    size = sheet_size(source, max_rows, max_columns)
    if size is not None and size.columns > max_columns:
        last = _column_letters(max_columns)
        raise Problem(
            SHEET_TOO_WIDE,
            f"工作表第一页用到了第 {_column_letters(size.columns)} 列，超出模板的宽度（最多到 {last} 列）。"
            f"请删除右侧多余的内容或格式后重新上传。",
            f"The first sheet has cells as far right as column {_column_letters(size.columns)}, past the "
            f"template's last column {last}; delete them and upload again.",
            field="file",
            extra={"columns": size.columns, "max_columns": max_columns},
        )
    if size is not None and size.rows > max_rows:
        raise Problem(
            SHEET_TOO_TALL,
            f"工作表第一页用到了第 {size.rows} 行，超过一次导入的上限 {max_rows} 行。请分成几个文件导入。",
            f"The first sheet reaches row {size.rows}, over the limit of {max_rows} rows for one "
            f"import; split it into several files.",
            field="file",
            extra={"rows": size.rows, "max_rows": max_rows},
        )
    return size
