"""A workbook's first sheet is measured before python-calamine loads it (service.uploads.check_sheet_size): a
small file whose cells reach far right or far down is refused with a problem, not loaded (calamine would
allocate the grid between its first and last cell: 512 GB for A1 and XFD1048576, and abort the process)."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import pytest

from service.app import create_app
from service.uploads import check_sheet_size, sheet_size

from .test_loan_import import count, row, setup, upload, workbook

_CT = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/data.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_BOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="贷款合同" sheetId="1" r:id="rId7"/></sheets></workbook>'
)
_BOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    'package/2006/relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet" Target="worksheets/data.xml"/></Relationships>'
)


def handmade(cells: list[str], dimension: str = "A1", separator: str = " ") -> bytes:
    """A minimal .xlsx written by hand: one text cell at each reference, each in its own row element."""
    rows = "".join(
        f'<row r="{"".join(filter(str.isdigit, ref))}"><c{separator}r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>'
        for ref in cells
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (
            ("[Content_Types].xml", _CT),
            ("_rels/.rels", _RELS),
            ("xl/workbook.xml", _BOOK),
            ("xl/_rels/workbook.xml.rels", _BOOK_RELS),
            ("xl/worksheets/data.xml", sheet),
        ):
            z.writestr(name, text)
    return buf.getvalue()


@pytest.fixture
def app(db, settings):  # a low row limit (ZIZHU_IMPORT_MAX_ROWS) for this module
    return create_app(dataclasses.replace(settings, import_max_rows=3))


def test_sheet_size_reads_the_references_and_the_dimension() -> None:
    assert sheet_size(handmade(["A1", "C2", "B3"]), 100, 30).rows == 3
    far = sheet_size(handmade(["A1", "XFD1048576"], separator="\n"), 100, 30)  # any white space before r=
    assert (far.rows, far.columns) == (1048576, 16384)
    declared = sheet_size(handmade(["A1"], dimension="A1:AZ5000"), 100, 30)
    assert (declared.rows, declared.columns) == (5000, 52)
    assert sheet_size(b"PK\x03\x04 not a zip", 100, 30) is None
    with pytest.raises(Exception) as refused:
        check_sheet_size(handmade(["A1", "A101"]), max_rows=100, max_columns=30)
    assert refused.value.kind.slug == "sheet-too-tall"  # type: ignore[attr-defined]


async def test_a_5_kb_workbook_with_a_cell_at_xfd1048576_is_refused_before_loading(client, make_user, sessions):
    from loans.models import Loan

    officer = await setup(client, make_user)
    bomb = handmade(["A1", "XFD1048576"])
    assert len(bomb) < 5000
    r = await upload(client, officer, bomb)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert p["type"] == "/problems/sheet-too-wide" and p["columns"] == 16384 and p["field"] == "file"
    assert "XFD" in p["detail_zh"] and "column XFD" in p["detail_en"]
    r = await upload(client, officer, handmade(["A1", "A1048576"]))  # one column, a million rows down
    assert r.status_code == 413 and r.json()["type"] == "/problems/sheet-too-tall"
    assert "上限 3 行" in r.json()["detail_zh"] and r.json()["rows"] == 1048576 and r.json()["detail_en"]
    r = await upload(client, officer, handmade(["A1"], dimension="A1:XFD1048576"))  # a declared size that lies
    assert r.status_code == 422 and r.json()["type"] == "/problems/sheet-too-wide"
    r = await upload(client, officer, handmade(["A1", "XFD1048576"]), format="xlsx")
    assert r.status_code == 422 and r.json()["type"] == "/problems/sheet-too-wide"
    assert await count(sessions, Loan) == 0


async def test_the_row_limit_is_a_setting(client, make_user):
    officer = await setup(client, make_user)
    assert (await upload(client, officer, workbook([row(1), row(2)]))).status_code == 200
    r = await upload(client, officer, workbook([row(3), row(4), row(5)]))
    assert r.status_code == 413 and r.json()["type"] == "/problems/sheet-too-tall" and r.json()["max_rows"] == 3


async def test_cross_check_findings_get_the_same_guard(client, make_user):
    officer = await make_user("officer")
    r = await client.post(
        "/api/v1/cross-check/findings",
        headers=officer,
        files={"file": ("f.xlsx", handmade(["A1", "XFD1048576"]), "application/octet-stream")},
    )
    assert r.status_code == 422 and r.json()["type"] == "/problems/sheet-too-wide", r.text
