"""A large first sheet cut into chunks of rows (loans.import_chunks), read back as the import's reader and its helper
read it (loans.import_chunked): the first chunk with read_sheet, every other laid out as the first one's header
says. Read back so, a sheet must give exactly what the whole sheet gives (the layout, and every data row with its
number and values); a sheet that is not sure to cut well must make cut() say None, and leave its folder empty."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from loans import import_chunks
from loans.excel import COLUMNS, Sheet, read_sheet
from loans.import_chunks import ChunkMismatch, Chunks, cut, laid_out, load_chunk
from service.errors import Problem

from ..integration.test_loan_import import row

HEADERS = [c.header for c in COLUMNS]
SHEET_PART = "xl/worksheets/sheet1.xml"
MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --- workbooks ---------------------------------------------------------------------------------------------------

def book(rows: list[list[Any]], *, write_only: bool = False) -> bytes:
    """A workbook whose first sheet holds `rows` from row 1 (None: an empty cell; []: a blank row). openpyxl
    writes strings inline in both modes; only the normal one writes <dimension>, and only write_only writes
    the <row> of a blank row."""
    workbook = openpyxl.Workbook(write_only=write_only)
    sheet = workbook.create_sheet() if write_only else workbook.active
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewritten(data: bytes, edit: Callable[[bytes], bytes | None], part: str = SHEET_PART) -> bytes:
    """The workbook with one part's content edited (None: the part left out)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            content = source.read(name) if name != part else edit(source.read(name))
            if content is not None:
                target.writestr(name, content)
    return out.getvalue()


def shared_strings(data: bytes) -> bytes:
    """The workbook with its inline strings moved to a shared-strings part, as Excel writes them."""
    table: dict[bytes, int] = {}

    def shared(found: re.Match[bytes]) -> bytes:
        index = table.setdefault(found[3], len(table))
        return b"<c " + found[1] + b't="s"' + found[2] + b"><v>%d</v></c>" % index

    sheet = re.sub(rb'<c ([^>]*?)t="inlineStr"([^>]*)><is>(.*?)</is></c>', shared,
                   zipfile.ZipFile(io.BytesIO(data)).read(SHEET_PART), flags=re.DOTALL)
    data = rewritten(data, lambda _: sheet)
    data = rewritten(data, lambda types: types.replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>')), "[Content_Types].xml")
    data = rewritten(data, lambda rels: rels.replace(b"</Relationships>", (
        b'<Relationship Id="rIdShared" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'sharedStrings" Target="sharedStrings.xml"/></Relationships>')), "xl/_rels/workbook.xml.rels")
    items = b"".join(b"<si>" + text + b"</si>" for text in table)
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a") as target:
        target.writestr("xl/sharedStrings.xml", b'<sst xmlns="' + MAIN + b'" count="%d" uniqueCount="%d">%s</sst>'
                        % (len(table), len(table), items))
    return out.getvalue()


def prefixed(xml: bytes) -> bytes:
    """The sheet XML with every element in the main namespace under the prefix x: (x:worksheet, x:row, x:c...)."""
    xml = xml.replace(b'xmlns="' + MAIN + b'"', b'xmlns:x="' + MAIN + b'"')
    return re.sub(rb"<(/?)([A-Za-z]\w*)(?=[\s/>])", rb"<\1x:\2", xml)


def contract_rows(count: int, start: int = 1) -> list[list[Any]]:
    """The template's cells of `count` contracts, optional cells empty and dates as text in some of them."""
    rows = []
    for n in range(start, start + count):
        over: dict[str, Any] = {"principal": 16000.5 if n % 5 == 0 else 16000}
        if n % 3 == 0:
            over.update(receipt_amount=None, disbursed_on=None, categories=None)
        if n % 7 == 0:
            over.update(name=f"<&学生{n}> ", signed_on="2024/9/20", enrolled_on=datetime(2024, 9, 1, 8, 30))
        values = row(n, **over)
        rows.append([values[c.field] for c in COLUMNS])
    return rows


# --- reading back ------------------------------------------------------------------------------------------------

def shape(sheet: Sheet) -> tuple[int, int, dict[str, int], int | None]:
    return sheet.header_row, sheet.first_col, sheet.columns, sheet.report_col


def read_back(chunks: Chunks) -> tuple[Sheet, list[tuple[int, list[Any]]]]:
    """The chunks read as the reader and its helper read them: the layout, and the data rows in order."""
    layout = read_sheet(chunks.paths[0])
    rows = list(layout.data_rows())
    for path in chunks.paths[1:]:
        rows.extend(laid_out(layout, load_chunk(path)).data_rows())
    return layout, rows


def trimmed(rows: list[tuple[int, list[Any]]]) -> list[tuple[int, list[Any]]]:
    """Rows without their trailing empty cells: calamine makes a chunk's rows as wide as that chunk's widest, and
    a row shorter than the header is typed as if padded (loans.import_rules.RowTyping)."""
    out = []
    for number, values in rows:
        end = len(values)
        while end and values[end - 1] == "":
            end -= 1
        out.append((number, values[:end]))
    return out


def cut_recorded(data: bytes, folder: Path, chunk_bytes: int) -> tuple[Chunks | None, list[tuple[int, Path]]]:
    done: list[tuple[int, Path]] = []
    chunks = cut(data, folder, chunk_bytes, lambda index, path: done.append((index, path)))
    return chunks, done


# --- whole sheets against their chunks ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["openpyxl", "write_only", "shared strings"])
def test_a_sheet_cut_into_many_chunks_reads_back_as_the_whole_sheet(tmp_path: Path, kind: str) -> None:
    data = book([HEADERS, *contract_rows(3000)], write_only=kind == "write_only")
    if kind == "shared strings":
        data = shared_strings(data)
        assert b't="s"' in zipfile.ZipFile(io.BytesIO(data)).read(SHEET_PART)
    whole = read_sheet(data)
    expected = list(whole.data_rows())
    assert len(expected) == 3000

    chunks, done = cut_recorded(data, tmp_path, 20_000)
    assert chunks is not None
    assert len(chunks.paths) >= 20 and len(chunks.paths) % 2 == 0  # the two readers take turns
    assert done == list(enumerate(chunks.paths))  # each chunk handed on as soon as it was complete, in order
    assert chunks.total_rows == whole.total_rows == 3001
    layout, rows = read_back(chunks)
    assert shape(layout) == shape(whole)
    assert rows == expected  # row numbers and values, exactly


def test_a_path_is_cut_as_its_bytes_are(tmp_path: Path) -> None:
    source = tmp_path / "book.xlsx"
    source.write_bytes(book([HEADERS, *contract_rows(300)]))
    folder = tmp_path / "chunks"
    folder.mkdir()
    chunks = cut(source, folder, 20_000)
    assert chunks is not None and len(chunks.paths) > 2
    assert read_back(chunks)[1] == list(read_sheet(source).data_rows())


cells = st.one_of(
    st.none(),
    st.text(alphabet="ab Z<>&\"'\n学生张三内蒙古档", max_size=12),
    st.integers(-10**9, 10**9),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.dates(date(1950, 1, 1), date(2100, 12, 31)),
)
# A few distinct rows, repeated into a sheet: hypothesis stays fast on sheets of hundreds of rows.
row_kinds = st.lists(st.one_of(st.just([]), st.lists(cells, min_size=1, max_size=23)), min_size=1, max_size=6)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kinds=row_kinds, picks=st.integers(1, 300).flatmap(lambda n: st.lists(st.integers(0, 5), min_size=n,
                                                                              max_size=n)),
       titles=st.integers(0, 3), offset=st.integers(0, 2), write_only=st.booleans(),
       chunk_bytes=st.one_of(st.integers(1, 500), st.integers(500, 5_000), st.integers(5_000, 60_000)),
       read=st.sampled_from([1 << 20, 4096, 1000]))
def test_any_sheet_cut_reads_back_as_the_whole_sheet_or_is_not_cut(
        tmp_path_factory: pytest.TempPathFactory, kinds: list[list[Any]], picks: list[int], titles: int,
        offset: int, write_only: bool, chunk_bytes: int, read: int) -> None:
    data_rows = [kinds[p % len(kinds)] for p in picks]
    rows: list[list[Any]] = [["某县生源地助学贷款台账"] if n % 2 == 0 else [] for n in range(titles)]
    rows.append([None] * offset + HEADERS)
    rows += [[None] * offset + values if values else [] for values in data_rows]
    rows.append([None] * offset + ["末行"])  # the sheet ends in a used row: its number is the sheet's total
    data = book(rows, write_only=write_only)
    whole = read_sheet(data)
    expected = list(whole.data_rows())

    folder = tmp_path_factory.mktemp("chunks")
    with mock.patch.object(import_chunks, "_READ", read):  # the XML read in pieces of any size
        chunks, done = cut_recorded(data, folder, chunk_bytes)
    if chunks is None:
        event("not cut")
        assert list(folder.iterdir()) == []
        return
    event(f"cut: {'many' if len(chunks.paths) > 10 else len(chunks.paths)} chunks")
    assert len(chunks.paths) >= 2 and done == list(enumerate(chunks.paths))
    assert chunks.total_rows == whole.total_rows
    first = load_chunk(chunks.paths[0])
    if first.end is None or first.end[0] + 1 < whole.header_row:  # the header is in a later chunk
        event("the header in a later chunk")
        with pytest.raises(Problem):  # the reader then reads the whole sheet (loans.import_chunked)
            read_sheet(chunks.paths[0])
        return
    layout, got = read_back(chunks)
    assert shape(layout) == shape(whole)
    assert trimmed(got) == trimmed(expected)


def test_the_last_row_is_found_wherever_the_reads_of_the_xml_fall(tmp_path: Path) -> None:
    """Whatever the pieces the XML is read in, the row that starts across the end of one is counted: here the
    sheet's last row, which gives the sheet's number of rows."""
    data = book([HEADERS, *contract_rows(30)])
    xml = zipfile.ZipFile(io.BytesIO(data)).read(SHEET_PART)
    last = xml.rfind(b"<row")
    read, keep = 4096, import_chunks._KEEP
    assert xml.find(b"</row>", last) - last > keep + 4  # the row goes on past the end of the piece it starts in
    # The XML is read in pieces and written up to `keep` bytes before the end of what was read: the last row's
    # tag is made to start a byte or three before such a place (after enough room to be cut into chunks).
    for before in (1, 2, 3, 4, 0):
        at = -(-(last + keep + before) // read) * read - keep - before  # the first such place after the row
        padded = rewritten(data, lambda x: x[:last] + b" " * (at - last) + x[last:])
        folder = tmp_path / str(before)
        folder.mkdir()
        with mock.patch.object(import_chunks, "_READ", read):
            chunks = cut(padded, folder, 4_000)
        assert chunks is not None
        assert chunks.total_rows == read_sheet(padded).total_rows == 31, before
        assert trimmed(read_back(chunks)[1]) == trimmed(list(read_sheet(padded).data_rows()))


# --- sheets not cut ----------------------------------------------------------------------------------------------

def _no_row_numbers(xml: bytes) -> bytes:
    return re.sub(rb'(<row)\s+r="\d+"', rb"\1", xml)


def _no_rows(xml: bytes) -> bytes:
    return re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData/>", xml, flags=re.DOTALL)


def _empty_sheet_data(xml: bytes) -> bytes:
    return re.sub(rb"<sheetData>.*</sheetData>", b"<sheetData></sheetData>", xml, flags=re.DOTALL)


def _no_end(xml: bytes) -> bytes:
    return xml[:xml.rfind(b"</sheetData>")]


def _missing(xml: bytes) -> None:
    return None


@pytest.mark.parametrize("edit", [_no_row_numbers, _no_rows, _empty_sheet_data, _no_end, _missing],
                         ids=["rows without numbers", "<sheetData/>", "no rows", "no </sheetData>",
                              "first sheet missing"])
def test_a_sheet_not_sure_to_cut_well_is_not_cut(tmp_path: Path, edit: Callable[[bytes], bytes | None]) -> None:
    data = book([HEADERS, *contract_rows(30)])
    control, folder = tmp_path / "control", tmp_path / "chunks"
    control.mkdir()
    folder.mkdir()
    assert cut(data, control, 100) is not None  # cut as it was written
    assert cut(rewritten(data, edit), folder, 100) is None
    assert folder.is_dir() and list(folder.iterdir()) == []  # chunks begun are gone, the folder is left usable
    chunks = cut(data, folder, 2_000)
    assert chunks is not None and read_back(chunks)[1] == list(read_sheet(data).data_rows())


@pytest.mark.parametrize("content", [b"PK\x03\x04 not a zip at all", b"hello", b""])
def test_bytes_that_are_not_a_workbook_are_not_cut(tmp_path: Path, content: bytes) -> None:
    assert cut(content, tmp_path, 1) is None
    assert tmp_path.is_dir() and list(tmp_path.iterdir()) == []


def test_a_small_sheet_is_not_cut(tmp_path: Path) -> None:
    data = book([HEADERS, *contract_rows(200)])
    assert cut(data, tmp_path) is None  # under two chunks of the usual size
    assert list(tmp_path.iterdir()) == []
    assert cut(data, tmp_path, 10**6) is None


# --- namespaces and columns --------------------------------------------------------------------------------------

def test_a_sheet_whose_elements_carry_a_namespace_prefix_is_cut_and_reads_back_the_same(tmp_path: Path) -> None:
    plain = book([HEADERS, *contract_rows(300)])
    data = rewritten(plain, prefixed)
    xml = zipfile.ZipFile(io.BytesIO(data)).read(SHEET_PART)
    assert b"<x:worksheet xmlns:x=" in xml and b"<x:row " in xml and b"<row" not in xml
    whole = read_sheet(data)
    expected = list(whole.data_rows())
    assert expected == list(read_sheet(plain).data_rows())  # calamine reads the prefixed sheet alike
    chunks = cut(data, tmp_path, 20_000)
    assert chunks is not None and len(chunks.paths) > 2
    parts = [zipfile.ZipFile(p).read(SHEET_PART) for p in chunks.paths]
    assert all(b"<x:row " in x and x.endswith(b"</x:sheetData></x:worksheet>") for x in parts)
    assert chunks.total_rows == whole.total_rows
    layout, rows = read_back(chunks)
    assert shape(layout) == shape(whole) and rows == expected


def test_a_later_chunk_with_a_cell_left_of_the_first_chunks_columns_does_not_fit(tmp_path: Path) -> None:
    rows: list[list[Any]] = [[None, *HEADERS], *([None, *values] for values in contract_rows(300))]
    late = 280  # a data row whose column A holds a note
    rows[late][0] = "备注"
    data = book(rows)
    chunks = cut(data, tmp_path, 20_000)
    assert chunks is not None and len(chunks.paths) > 2
    layout = read_sheet(chunks.paths[0])
    assert layout.first_col == 1
    mismatched = []
    for index, path in enumerate(chunks.paths[1:], start=1):
        loaded = load_chunk(path)
        if loaded.start[0] <= late <= loaded.end[0]:  # 0-based: the sheet's row late + 1
            with pytest.raises(ChunkMismatch):
                laid_out(layout, loaded)
            mismatched.append(index)
        else:
            list(laid_out(layout, loaded).data_rows())
    assert len(mismatched) == 1


def test_a_later_chunk_whose_first_columns_are_empty_is_padded_to_the_first_chunks_columns(tmp_path: Path) -> None:
    rows = [HEADERS, *contract_rows(300)]
    for values in rows[150:]:  # no name in column A from row 151 on
        values[0] = None
    data = book(rows)
    whole = read_sheet(data)
    expected = list(whole.data_rows())
    chunks = cut(data, tmp_path, 20_000)
    assert chunks is not None
    starts = [load_chunk(p).start[1] for p in chunks.paths]
    assert starts[0] == 0 and starts[-1] == 1  # later chunks begin at column B
    layout, got = read_back(chunks)
    assert shape(layout) == shape(whole)
    assert got == expected
    assert all(values[0] == "" and values[1].startswith("1504") for _, values in got[149:])
