"""The contract spreadsheet: its columns (each with its parser from loans.imports.cells) and reading the sheet
(python-calamine).

Pure: no database, no request. Typing whole rows with these parsers (into rows.Row) and the rules over
the typed rows are in loans.imports.rows; the workbooks we write are in loans.imports.workbooks.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from loans.imports.cells import (
    a_date,
    academic_year,
    categories,
    contract_no,
    id_number,
    level,
    money,
    phone,
    province,
    relationship,
    study_years,
    text,
)
from service.problems import Problem, problem_type
from service.uploads import check_sheet_size, zip_bomb

REPORT_HEADER = "错误说明"  # the column our error report adds; ignored when the report is uploaded again
BAD_FILE = problem_type("loan-import-file", 422, "导入文件无法读取", "The import file cannot be used")
BAD_COLUMNS = problem_type(
    "loan-import-columns", 422, "导入文件的列与模板不符", "The columns do not match the template"
)


# The sheet's words for the codes come from the one vocabulary (service.registry.vocabulary); the template also
# reads a few synonyms clerks type (高职, 硕士, 博士).
@dataclass(frozen=True)
class Column:
    header: str
    field: str
    parse: Callable[[Any], Any]
    required: bool
    help_zh: str
    example: str


COLUMNS: tuple[Column, ...] = (
    Column("学生姓名", "name", text(50), True, "与身份证一致", "张三"),
    Column("学生身份证号", "id_number", id_number, True, "18 位，末位可为 X；请设为文本格式", "11010519491231002X"),
    Column("学生手机号", "phone", phone, True, "11 位大陆手机号", "13812341234"),
    Column("户籍省份", "household_province", province, True, "省级行政区，简称或全称", "内蒙古"),
    Column("户籍县区", "household_county", text(50), True, "户籍所在县（区、旗）", "示范县"),
    Column("院校代码", "university_code", text(20), True, "须已在系统中登记的院校代码", "10126"),
    Column("学历层次", "level", level, True, "专科、本科 或 研究生", "本科"),
    Column("学制(年)", "study_years", study_years, True, "1 到 8 的整数", "4"),
    Column("入学日期", "enrolled_on", a_date, True, "日期，如 2024-09-01、2024/9/1、20240901", "2024-09-01"),
    Column("预计毕业日期", "expected_graduation", a_date, True, "日期，须晚于入学日期", "2028-06-30"),
    Column(
        "困难类别",
        "categories",
        categories,
        False,
        "建档立卡、低保、特困供养、孤儿、残疾、其他；多个用“、”或“；”分隔；可空",
        "建档立卡、低保",
    ),
    Column("共同借款人姓名", "co_name", text(50), True, "父母或法定监护人", "张大山"),
    Column(
        "共同借款人身份证号",
        "co_id_number",
        id_number,
        True,
        "18 位；不能是学生本人，不能是其他贷款的借款学生",
        "11010519491231002X",
    ),
    Column("共同借款人手机号", "co_phone", phone, True, "11 位大陆手机号", "13912345678"),
    Column("与学生关系", "relationship", relationship, True, "父亲、母亲、监护人、配偶、其他", "父亲"),
    Column("贷款学年", "academic_year", academic_year, True, "学年开始的年份，如 2024（2024-2025 学年）", "2024"),
    Column("合同金额(元)", "principal", money, True, "整元，不超过该学年该学历层次的额度", "16000"),
    Column(
        "合同编号",
        "contract_no",
        contract_no,
        True,
        "唯一；本中心格式：本县代码-贷款学年-6位序号",
        "150430-2024-000001",
    ),
    Column("签约日期", "signed_on", a_date, True, "日期；该日须有生效的利率与期限政策", "2024-09-20"),
    Column("回执金额(元)", "receipt_amount", money, False, "高校回执的学费和住宿费，不超过合同金额；可空", "6000"),
    Column("放款日期", "disbursed_on", a_date, False, "日期，不早于签约日期；可空（未放款）", "2024-11-20"),
)
BY_FIELD = {c.field: c for c in COLUMNS}
FIELDS = tuple(c.field for c in COLUMNS)


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # Excel row number, the header row being 1 in a template-shaped file
    column: str  # letter
    header: str
    field: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "header": self.header,
            "field": self.field,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


def _norm_header(value: Any) -> str:
    return re.sub(r"\s+", "", str(value)).replace("（", "(").replace("）", ")").rstrip("*")


_HEADERS = {_norm_header(c.header): c for c in COLUMNS}


@dataclass
class Sheet:
    """The first sheet, opened: where each field's column is, and its data rows still to be read."""

    name: str
    header_row: int
    first_col: int  # 0-based index of the sheet's first used column
    columns: dict[str, int]  # field -> index within a row list
    total_rows: int  # rows up to the last used one, header included
    _rows: Iterator[list[Any]]
    leading: list[list[Any]]  # the rows down to the header, for a copy of the sheet
    report_col: int | None  # where an earlier error report's 错误说明 column is

    def letter(self, field: str) -> str:
        return get_column_letter(self.first_col + self.columns[field] + 1)

    def error(self, row: int, field: str, message_zh: str, message_en: str) -> RowError:
        return RowError(row, self.letter(field), BY_FIELD[field].header, field, message_zh, message_en)

    def data_rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(Excel row number, cell values) of every row after the header that is not entirely empty."""
        for number, values in enumerate(self._rows, start=self.header_row + 1):
            if values.count("") < len(values):
                yield number, values
        self._rows = iter(())  # let go of calamine's copy of the sheet


def _file_problem(zh: str, en: str) -> Problem:
    return Problem(BAD_FILE, zh, en, field="file")


MAX_COLUMNS = 32  # no cell past column AF: the template's 21 columns, 错误说明, and room for a few to their left
DEFAULT_MAX_ROWS = 200_000  # settings.import_max_rows (ZIZHU_IMPORT_MAX_ROWS) in the service


def measure(source: bytes | Path, max_rows: int = DEFAULT_MAX_ROWS) -> int:
    """The rows of the first sheet, counted cheaply before it is loaded (0 when it is no workbook); refuses one
    taller than `max_rows` or wider than the template (service.uploads: calamine would allocate the grid)."""
    size = check_sheet_size(source, max_rows=max_rows, max_columns=MAX_COLUMNS)
    return size.rows if size else 0


def open_workbook(source: bytes | Path, max_rows: int = DEFAULT_MAX_ROWS) -> CalamineWorkbook:
    if isinstance(source, bytes):
        head = source[:8]
    else:
        with Path(source).open("rb") as fh:
            head = fh.read(8)
    if not head:
        raise _file_problem("上传的文件是空的。", "The uploaded file is empty.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_problem(
            "这是旧版 Excel 97-2003（.xls）文件，请在 Excel 中“另存为” .xlsx 后再导入。",
            "This is an old Excel 97-2003 (.xls) file; save it as .xlsx and import that.",
        )
    if not head.startswith(b"PK\x03\x04"):
        raise _file_problem(
            "文件不是 Excel 工作簿（.xlsx），请使用下载的模板填写后上传。",
            "The file is not an Excel workbook (.xlsx); fill in the downloadable template.",
        )
    if zip_bomb(source):
        raise _file_problem(
            "文件解压后过大，不像是正常的 Excel 工作簿，已拒绝。请分批导入。",
            "The file unpacks to too much (or is compressed suspiciously well): refused. Split it into smaller files.",
        )
    measure(source, max_rows)
    try:
        if isinstance(source, bytes):
            return CalamineWorkbook.from_filelike(io.BytesIO(source))
        return CalamineWorkbook.from_path(str(source))
    except Exception:  # calamine raises its own types for broken zips, missing parts, bad XML
        raise _file_problem(
            "文件已损坏或不是 Excel 工作簿（.xlsx），无法读取。",
            "The file is damaged or is not an Excel workbook (.xlsx).",
        ) from None


def read_sheet(source: bytes | Path, max_rows: int = DEFAULT_MAX_ROWS) -> Sheet:
    """Open the first sheet and check its header row against the template; stop on any mismatch."""
    book = open_workbook(source, max_rows)
    try:
        sheet = book.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except Exception:
        raise _file_problem("无法读取工作簿的第一个工作表。", "The first sheet cannot be read.") from None
    # calamine yields rows from row 1, and columns from the first used one (sheet.start[1]).
    first_col = sheet.start[1] if sheet.start else 0
    # The header is the first row naming at least three template columns: ledgers often carry a title
    # row or two above it. Without one, the first non-empty row is the header that gets reported.
    header_row, header, first = 0, None, None
    leading: list[list[Any]] = []
    for number, values in enumerate(rows, start=1):
        leading.append(values)
        if any(v != "" for v in values):
            first = first or (number, values)
            if sum(_norm_header(v) in _HEADERS for v in values) >= 3:
                header_row, header = number, values
                break
            if number - first[0] >= 20:
                break
    if header is None:
        if first is None:
            raise _file_problem("工作簿的第一个工作表是空的，没有表头和数据。", "The first sheet is empty.")
        header_row, header = first
    columns: dict[str, int] = {}
    unknown, repeated = [], []
    report_col = None
    for index, value in enumerate(header):
        name = _norm_header(value)
        if name == REPORT_HEADER:
            report_col = index
        if not name or name == REPORT_HEADER:
            continue
        column = _HEADERS.get(name)
        if column is None:
            unknown.append(str(value).strip())
        elif column.field in columns:
            repeated.append(column.header)
        else:
            columns[column.field] = index
    missing = [c.header for c in COLUMNS if c.field not in columns]
    if missing or unknown or repeated:
        zh = "；".join(
            part
            for part in (
                missing and "缺少列：" + "、".join(missing),
                unknown and "模板中没有的列：" + "、".join(unknown),
                repeated and "重复的列：" + "、".join(repeated),
            )
            if part
        )
        en = "; ".join(
            part
            for part in (
                missing and f"{len(missing)} column(s) missing",
                unknown and f"{len(unknown)} unknown column(s)",
                repeated and f"{len(repeated)} repeated column(s)",
            )
            if part
        )
        raise Problem(
            BAD_COLUMNS,
            f"第 {header_row} 行的表头与模板不符（{zh}）。请使用下载的模板。",
            f"The header row {header_row} does not match the template ({en}).",
            field="file",
            extra={"missing": missing, "unknown": unknown, "repeated": repeated},
        )
    total = (sheet.end[0] + 1) if sheet.end else header_row
    return Sheet(sheet.name, header_row, first_col, columns, total, rows, leading[:header_row], report_col)
