"""The contract spreadsheet without a database: cells to typed values, headers, and the row rules."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest

from loans.imports import cells as excel
from loans.imports.cells import CellError
from loans.imports.rows import Row, parse_row, read_rows, row_rules
from loans.imports.sheet_rules import PolicyCheck, cross_rules, policy_rules
from loans.imports.template import COLUMNS, FIELDS, read_sheet
from loans.imports.workbooks import error_report, template_workbook
from loans.policy import PolicyRow, contract_terms
from service.errors import Problem
from service.identity import make_id_number

HEADERS = [c.header for c in COLUMNS]
TODAY = date(2026, 6, 1)  # the business date the sheets are checked on
SID = make_id_number("150430", date(2005, 3, 14), 21)
CID = make_id_number("150430", date(1976, 5, 2), 33)


def values(**over: Any) -> list[Any]:
    base = {
        "name": "张三",
        "id_number": SID,
        "phone": "13812341234",
        "household_province": "内蒙古自治区",
        "household_county": "示范县",
        "university_code": "10126",
        "level": "本科",
        "study_years": 4.0,
        "enrolled_on": date(2024, 9, 1),
        "expected_graduation": date(2028, 6, 30),
        "categories": "",
        "co_name": "张大山",
        "co_id_number": CID,
        "co_phone": "13912345678",
        "relationship": "父亲",
        "academic_year": 2024.0,
        "principal": 16000.0,
        "contract_no": "150430-2024-000001",
        "signed_on": date(2024, 9, 20),
        "receipt_amount": "",
        "disbursed_on": "",
    }
    base.update(over)
    return [base[c.field] for c in COLUMNS]


def xlsx(rows: list[list[Any]], at: str = "A1") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    start = openpyxl.utils.cell.coordinate_from_string(at)
    col0, row0 = openpyxl.utils.column_index_from_string(start[0]), start[1]
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if v not in ("", None):
                ws.cell(row=row0 + i, column=col0 + j, value=v)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("cell", "fen"),
    [
        (16000.0, 1_600_000),
        (5200.5, 520_050),
        ("16000", 1_600_000),
        ("16000.50", 1_600_050),
        (0.07, 7),
        (1234.5600000000001, 123_456),  # what Excel shows as 1234.56 (15 significant digits)
        (0.1 + 0.2, 30),
        (16000, 1_600_000),
    ],
)
def test_money_from_cells_is_exact(cell: Any, fen: int) -> None:
    assert excel.money(cell) == fen


@pytest.mark.parametrize("cell", [0.005, "16,000", -5.0, "abc", 1e20, "1.234"])
def test_money_refuses_what_is_not_fen(cell: Any) -> None:
    with pytest.raises(CellError) as info:
        excel.money(cell)
    assert info.value.message_zh and info.value.message_en


def test_id_number_stored_as_a_number_is_reported_not_guessed() -> None:
    with pytest.raises(CellError) as info:
        excel.id_number(float(SID[:17] + "0"))
    assert "数字" in info.value.message_zh and "X" in info.value.message_zh
    assert excel.id_number(" " + SID.lower() + " ") == SID
    wrong = SID[:-1] + ("1" if SID[-1] != "1" else "2")
    with pytest.raises(CellError, match="check digit"):
        excel.id_number(wrong)


@pytest.mark.parametrize(
    "cell",
    [
        date(2024, 9, 1),
        datetime(2024, 9, 1, 10, 30),
        "2024-09-01",
        "2024/9/1",
        "20240901",
        "2024.9.1",
        "2024年9月1日",
        " 2024-09-01 00:00:00 ",
        20240901.0,
        45536.0,
    ],
)
def test_dates_in_the_forms_clerks_use(cell: Any) -> None:
    assert excel.a_date(cell) == date(2024, 9, 1)


@pytest.mark.parametrize("cell", ["2024-02-30", "9/1/2024", "明天", 1.5, True])
def test_bad_dates(cell: Any) -> None:
    with pytest.raises(CellError):
        excel.a_date(cell)


def test_choices_categories_and_numbers() -> None:
    assert excel.level("本科") == "undergraduate" and excel.level("graduate") == "graduate"
    assert excel.relationship(" 母亲 ") == "mother"
    with pytest.raises(CellError, match="relationship"):
        excel.relationship("舅舅")
    assert excel.categories("建档立卡、低保") == ("minimum_allowance", "registered_poor")
    assert excel.categories("低保;孤儿，残疾 其他；低保") == ("disabled", "minimum_allowance", "orphan", "other")
    with pytest.raises(CellError):
        excel.categories("富裕")
    assert [excel.academic_year(v) for v in (2024.0, "2024", "2024-2025", "2024学年")] == [2024] * 4
    for bad in ("2024-2026", 1999.0, 2024.5, "二〇二四"):
        with pytest.raises(CellError):
            excel.academic_year(bad)
    assert excel.phone(13812341234.0) == "13812341234" and excel.text(20)(10126.0) == "10126"
    assert excel.province("内蒙古自治区") == "内蒙古" and excel.study_years("4") == 4


def test_template_round_trips_and_has_notes() -> None:
    content = template_workbook()
    sheet = read_sheet(content)
    assert sheet.header_row == 1 and list(sheet.columns) == [c.field for c in COLUMNS]
    with pytest.raises(Problem, match="no data rows"):
        read_rows(content, TODAY)
    notes = openpyxl.load_workbook(io.BytesIO(content))["说明"]
    assert [notes.cell(i + 2, 1).value for i in range(len(COLUMNS))] == HEADERS


def test_header_anywhere_with_full_width_brackets_and_report_column() -> None:
    headers = [h.replace("(", "（").replace(")", "）") for h in HEADERS] + ["错误说明"]
    content = xlsx([headers, values(phone="123")], at="C3")
    sheet, rows, errors = read_rows(content, TODAY)
    assert sheet.header_row == 3 and rows[0].row == 4
    assert [(e.row, e.column, e.header, e.field) for e in errors] == [(4, "E", "学生手机号", "phone")]
    assert rows[0].household_province == "内蒙古" and rows[0].principal == 1_600_000 and rows[0].phone is None


def test_header_problems_are_named() -> None:
    headers = [h for h in HEADERS if h != "签约日期"] + ["备注", "学生姓名"]
    with pytest.raises(Problem) as info:
        read_sheet(xlsx([headers]))
    p = info.value
    assert p.extra == {"missing": ["签约日期"], "unknown": ["备注"], "repeated": ["学生姓名"]}
    assert "签约日期" in p.detail_zh and "备注" in p.detail_zh


@pytest.mark.parametrize(("content", "phrase"), [(b"", "空"), (b"hello", ".xlsx"), (b"PK\x03\x04broken", "损坏")])
def test_files_that_are_not_workbooks(content: bytes, phrase: str) -> None:
    with pytest.raises(Problem) as info:
        read_sheet(content)
    assert phrase in info.value.detail_zh and info.value.kind.status == 422


def test_empty_rows_are_skipped_and_required_cells_reported() -> None:
    content = xlsx([HEADERS, values(), [""] * len(HEADERS), values(name="", contract_no="")])
    _, rows, errors = read_rows(content, TODAY)
    assert [r.row for r in rows] == [2, 4]
    assert [(e.row, e.field) for e in errors] == [(4, "name"), (4, "contract_no")]
    assert "不能为空" in errors[0].message_zh


def _row(n: int, **over: Any) -> Row:
    base: dict[str, Any] = dict(
        row=n,
        name="张三",
        id_number=SID,
        phone="13812341234",
        household_province="内蒙古",
        household_county="示范县",
        university_code="10126",
        level="undergraduate",
        study_years=4,
        enrolled_on=date(2024, 9, 1),
        expected_graduation=date(2028, 6, 30),
        categories=(),
        co_name="张大山",
        co_id_number=CID,
        co_phone="13912345678",
        relationship="father",
        academic_year=2024,
        principal=1_600_000,
        contract_no=f"C-{n}",
        signed_on=date(2024, 9, 20),
        receipt_amount=None,
        disbursed_on=None,
    )
    base.update(over)
    return Row(**base)


SHEET = read_sheet(xlsx([HEADERS]))


def test_rules_within_a_row() -> None:
    errors: list[Any] = []
    rows = [
        _row(2, expected_graduation=date(2024, 6, 30)),
        _row(3, academic_year=2030),
        _row(4, signed_on=date(2022, 9, 1)),
        _row(5, receipt_amount=1_700_000),
        _row(6, disbursed_on=date(2024, 9, 1)),
        _row(7, co_id_number=SID),
        _row(8),
    ]
    for r in rows:
        row_rules(SHEET, r, errors, TODAY)
    assert [(e.row, e.field) for e in errors] == [
        (2, "expected_graduation"),
        (3, "academic_year"),
        (4, "signed_on"),
        (5, "receipt_amount"),
        (6, "disbursed_on"),
        (7, "co_id_number"),
    ]


POLICY = [
    PolicyRow(1, "limit_max", "undergraduate", date(2023, 9, 1), "16000", "2023 通知"),
    PolicyRow(2, "limit_max", "undergraduate", date(2024, 9, 1), "20000", "2024 通知"),
    PolicyRow(3, "limit_min", "", date(2000, 1, 1), "1000", "min"),
    PolicyRow(4, "lpr_5y", "", date(2023, 6, 20), "4.20", "lpr"),
    PolicyRow(5, "spread_bp", "", date(2023, 9, 1), "-60", "spread"),
    PolicyRow(6, "term_extra_years", "", date(2020, 1, 1), "15", "term"),
    PolicyRow(7, "term_max_years", "", date(2020, 1, 1), "22", "term"),
    PolicyRow(8, "grace_years", "", date(2020, 1, 1), "5", "grace"),
    PolicyRow(9, "subsidy_end", "", date(2000, 1, 1), "08-31", "subsidy"),
]


def test_limits_by_year_and_level_and_terms_memoised() -> None:
    errors: list[Any] = []
    rows = [
        _row(2, principal=2_000_000),
        _row(3, principal=2_000_100),
        _row(4, academic_year=2023, principal=1_600_100, signed_on=date(2023, 9, 20)),
        _row(5, principal=1_600_050),
        _row(6, principal=99_900),
        _row(7, level="graduate"),
        _row(8, signed_on=date(2023, 8, 1), academic_year=2023),
    ]
    check = PolicyCheck(POLICY)
    plans = policy_rules(SHEET, rows, check, errors)
    found = {(e.row, e.field): e.message_zh for e in errors}
    assert set(plans) == {2} and plans[2][0] == (3, 2) and str(plans[2][1].rate) == "3.6"
    assert "20000.00" in found[(3, "principal")] and "2024 通知" in found[(3, "principal")]
    assert "16000.00" in found[(4, "principal")] and "整元" in found[(5, "principal")]
    assert "不低于" in found[(6, "principal")] and "没有生效" in found[(7, "academic_year")]
    assert "没有生效" in found[(8, "signed_on")]
    assert sum(key[0] is contract_terms for key in check._found) == 3  # (signed_on, graduation year) once each


def test_rules_across_rows_mark_every_row_involved() -> None:
    other = make_id_number("150430", date(2006, 1, 2), 45)
    rows = [
        _row(2, contract_no="X"),
        _row(3, contract_no="X", academic_year=2025),
        _row(4, id_number=other, name="李四", co_id_number=SID, contract_no="Y"),
        _row(5, id_number=other, name="李五", academic_year=2025, contract_no="Z"),
    ]
    errors: list[Any] = []
    cross_rules(SHEET, rows, errors)
    found = {(e.row, e.field) for e in errors}
    assert found == {(2, "contract_no"), (3, "contract_no"), (4, "name"), (5, "name"), (4, "co_id_number")}


def test_error_report_marks_cells_where_they_were() -> None:
    content = xlsx([["说明文字"], [], HEADERS, values(), values(phone="123", principal=99999.0)], at="B1")
    sheet, _rows, errors = read_rows(content, TODAY)
    assert sheet.header_row == 3 and [e.column for e in errors] == ["D"]
    ws = openpyxl.load_workbook(io.BytesIO(error_report(content, errors))).worksheets[0]
    assert ws["D5"].comment is not None and "手机号" in ws["D5"].comment.text
    assert ws["D5"].fill.fgColor.rgb.endswith("FFC7CE") and ws["D4"].comment is None
    note_col = 2 + len(HEADERS)
    assert ws.cell(3, note_col).value == "错误说明" and "学生手机号" in ws.cell(5, note_col).value
    assert ws["C4"].value == SID and ws["J4"].value.date() == date(2024, 9, 1) and ws["B1"].value == "说明文字"


def test_a_row_has_a_field_per_column_in_their_order() -> None:
    assert Row.__struct_fields__ == ("row", *FIELDS)


def test_parse_row_handles_short_rows() -> None:
    errors: list[Any] = []
    r = parse_row(SHEET, 9, values()[:5], errors)
    assert r.name == "张三" and r.university_code is None
    assert {e.field for e in errors} == {c.field for c in COLUMNS[5:] if c.required}


def test_rows_typed_in_blocks_match_rows_typed_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """read_rows types blocks of rows column by column, remembering each column's values; the rows and
    the errors (in row order, a row's cell errors before its rules' errors) are what typing each row on
    its own gives."""
    from loans.imports import rows as import_rules

    other = make_id_number("150430", date(2006, 1, 2), 45)
    data = [
        values(),
        values(phone="123", principal=16000.5),
        values(id_number=other, name="李四", contract_no="150430-2024-000002"),
        values(phone="123", level="小学", enrolled_on=date(2029, 9, 1)),
        values(contract_no="", co_id_number=SID),
        values(id_number=float(SID[:17] + "0"), signed_on="2024-13-01"),
        values(principal="abc"),
        values(expected_graduation=date(2024, 6, 30), disbursed_on=date(2024, 9, 1)),
        values(phone="123"),
    ]
    content = xlsx([HEADERS, *data])
    monkeypatch.setattr(import_rules, "BLOCK", 3)
    sheet, rows, errors = read_rows(content, TODAY)
    one_by_one: list[Any] = []
    alone = []
    for n, v in enumerate(data, start=2):
        r = parse_row(sheet, n, v, one_by_one)
        row_rules(sheet, r, one_by_one, TODAY)
        alone.append(r)
    assert rows == alone and errors == one_by_one
    assert [(e.row, e.field) for e in errors] == [
        (3, "phone"),
        (5, "phone"),
        (5, "level"),
        (5, "enrolled_on"),
        (6, "contract_no"),
        (6, "co_id_number"),
        (7, "id_number"),
        (7, "signed_on"),
        (8, "principal"),
        (9, "expected_graduation"),
        (9, "disbursed_on"),
        (10, "phone"),
    ]
