"""The contract spreadsheets we hand out: the import template, the annotated error report, the export.

Written with openpyxl; served by loans.imports.api, the console and the command line alike.
"""

from __future__ import annotations

import io
import itertools
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio.to_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.imports.cells import CATEGORY_LABELS, LEVEL_LABELS, RELATIONSHIP_LABELS, RELATIONSHIPS
from loans.imports.template import (
    COLUMNS,
    DEFAULT_MAX_ROWS,
    REPORT_HEADER,
    RowError,
    read_sheet,
)
from loans.lifecycle import LABELS_ZH, LoanStatus
from loans.models import Loan
from service.identity import mask_id_number, mask_phone
from service.registry.models import CoBorrower, Student
from service.xlsx import cell_of, text_row

# Cell comments are drawn shapes that openpyxl keeps in memory until the end (a 100,000-row file with
# every row wrong took 1.7 GB): past this many, bad cells are only coloured; 错误说明 has every message.
MAX_COMMENTS = 2000
_RED = PatternFill("solid", fgColor="FFC7CE")
_HEAD = PatternFill("solid", fgColor="DDEBF7")
_OPTIONAL = PatternFill("solid", fgColor="F2F2F2")
_TEXT_FIELDS = {"id_number", "phone", "co_id_number", "co_phone", "contract_no", "university_code"}
_DATE_FIELDS = {"enrolled_on", "expected_graduation", "signed_on", "disbursed_on"}
_WIDTHS = {"id_number": 21, "co_id_number": 21, "contract_no": 20, "categories": 16}


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_workbook() -> bytes:
    """The import template: the header row only (no example row to delete by mistake), and 说明."""
    wb = Workbook()
    ws = wb.active
    ws.title = "贷款合同"
    ws.append(text_row(ws, [c.header for c in COLUMNS]))
    for index, c in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.fill = _HEAD if c.required else _OPTIONAL
        ws.column_dimensions[letter].width = _WIDTHS.get(c.field, max(12, len(c.header) * 2 + 2))
        # Text format keeps an ID number's X and every digit: as a number Excel would keep 15 of 18.
        if c.field in _TEXT_FIELDS:
            ws.column_dimensions[letter].number_format = "@"
        elif c.field in _DATE_FIELDS:
            ws.column_dimensions[letter].number_format = "yyyy-mm-dd"
        if c.field in ("level", "relationship"):
            options = ["专科", "本科", "研究生"] if c.field == "level" else list(RELATIONSHIPS)
            check = DataValidation(
                type="list",
                formula1='"' + ",".join(options) + '"',
                allow_blank=False,
                error="请从下拉列表中选择",
                errorTitle="取值无效",
                showErrorMessage=True,
            )
            check.add(f"{letter}2:{letter}100000")
            ws.add_data_validation(check)
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("说明")
    notes.append(["列名", "必填", "说明（取值与格式）", "示例"])
    for c in COLUMNS:
        notes.append(text_row(notes, [c.header, "是" if c.required else "否", c.help_zh, c.example]))
    notes.append([])
    for line in (
        "每行一份合同（一个学生一个学年一笔）；同一学生多个学年请分行填写，学生信息保持一致。",
        "第一个工作表为数据表，只保留表头一行，从第 2 行起填写数据；请勿增删或改名列。",
        "身份证号、手机号、合同编号请保持“文本”格式，以免 Excel 把身份证号末位 X 和后几位数字丢掉。",
        "日期可写成 2024-09-01、2024/9/1 或 20240901，也可以使用 Excel 日期格式。",
        "金额以元为单位，最多两位小数；合同金额须为整元，且不超过该学年、该学历层次的贷款额度。",
        "填写放款日期的合同导入后为“在校”状态；只有回执金额为“高校已回执”；都不填为“已签合同”。",
        "任何一行有误时整份文件都不会导入；系统返回错误清单，或标注了错误的工作簿（红色单元格，批注为原因）。",
    ):
        notes.append(text_row(notes, [line]))
    for cell in notes[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEAD
    for letter, width in (("A", 20), ("B", 6), ("C", 70), ("D", 22)):
        notes.column_dimensions[letter].width = width
    return _save(wb)


def error_report(source: bytes | Path, errors: list[RowError], max_rows: int = DEFAULT_MAX_ROWS) -> bytes:
    """A copy of the uploaded sheet with each bad cell red (and commented), and a 错误说明 column.

    Rebuilt in write-only mode from the values rather than by loading the upload into openpyxl, which
    would take gigabytes for 100,000 rows; the original's formatting is not carried over. Fixed and
    uploaded again, the copy imports: 错误说明 is ignored, and replaced in the next report.
    """
    sheet = read_sheet(source, max_rows)
    letters = {get_column_letter(sheet.first_col + i + 1): i for i in range(len(sheet.leading[-1]))}
    by_row: dict[int, dict[int, list[RowError]]] = defaultdict(lambda: defaultdict(list))
    for e in errors:
        by_row[e.row][letters[e.column]].append(e)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet.name or "贷款合同")
    lead = [None] * sheet.first_col
    width = len(sheet.leading[-1])
    note_at = sheet.report_col if sheet.report_col is not None else width
    comments = 0
    for number, values in enumerate(itertools.chain(sheet.leading, sheet._rows), start=1):
        out: list[Any] = [None if v == "" else v for v in values]
        out.extend([None] * (note_at + 1 - len(out)))
        out[note_at] = None
        if number == sheet.header_row:
            out[note_at] = WriteOnlyCell(ws, value=REPORT_HEADER)
            out[note_at].font, out[note_at].fill = Font(bold=True), _RED
        elif number in by_row:
            notes = []
            for index, found in sorted(by_row[number].items()):
                cell = cell_of(ws, out[index])  # what the clerk typed: text, never a formula
                cell.fill = _RED
                if isinstance(out[index], (date, datetime)):
                    cell.number_format = "yyyy-mm-dd"
                if comments < MAX_COMMENTS:
                    comments += 1
                    cell.comment = Comment("\n".join(e.message_zh for e in found), "资助系统", width=300, height=120)
                out[index] = cell
                notes.extend(f"{e.header}：{e.message_zh}" for e in found)
            out[note_at] = cell_of(ws, "；".join(notes))
            out[note_at].alignment = Alignment(wrap_text=True)
        ws.append(text_row(ws, lead + out))
    return _save(wb)


EXPORT_COLUMNS = (
    ("合同编号", 20),
    ("学生姓名", 10),
    ("学生身份证号", 21),
    ("学生手机号", 14),
    ("院校代码", 10),
    ("学历层次", 9),
    ("困难类别", 14),
    ("贷款学年", 9),
    ("合同金额(元)", 14),
    ("签约日期", 12),
    ("利率(%)", 9),
    ("期限(年)", 9),
    ("到期日", 12),
    ("贴息截止日", 12),
    ("回执金额(元)", 14),
    ("放款日期", 12),
    ("状态", 10),
    ("共同借款人姓名", 14),
    ("共同借款人身份证号", 21),
    ("与学生关系", 10),
    ("来源", 8),
)


async def export_contracts(session: AsyncSession, academic_year: int | None = None, status: str | None = None) -> bytes:
    """Every signed contract as a workbook, identifiers masked, streamed from the database in chunks."""
    query = (
        select(
            Loan.contract_no,
            Student.name,
            Student.id_number,
            Student.phone,
            Student.university_code,
            Student.level,
            Student.categories,
            Loan.academic_year,
            Loan.amount,
            Loan.signed_on,
            Loan.rate,
            Loan.term_years,
            Loan.maturity_date,
            Loan.subsidy_end,
            Loan.receipt_amount,
            Loan.disbursed_on,
            Loan.status,
            CoBorrower.name,
            CoBorrower.id_number,
            Loan.co_borrower_relationship,
            Loan.imported,
        )
        .join(Student, Student.id == Loan.student_id)
        .join(CoBorrower, CoBorrower.id == Loan.co_borrower_id)
        .where(Loan.contract_no.is_not(None))
        .order_by(Loan.contract_no)
    )
    if academic_year is not None:
        query = query.where(Loan.academic_year == academic_year)
    if status:
        query = query.where(Loan.status == status)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("贷款合同")
    for index, (_, width) in enumerate(EXPORT_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    head = []
    for title, _ in EXPORT_COLUMNS:
        cell = WriteOnlyCell(ws, value=title)
        cell.font, cell.fill = Font(bold=True), _HEAD
        head.append(cell)
    ws.append(head)

    def yuan(fen: int | None) -> Any:
        if fen is None:
            return None
        cell = WriteOnlyCell(ws, value=Decimal(fen).scaleb(-2))  # exact: written as its decimal text
        cell.number_format = "#,##0.00"
        return cell

    def append(chunk: list[Any]) -> None:
        for (
            number,
            name,
            id_no,
            phone,
            uni,
            level,
            cats,
            year,
            amount,
            signed,
            rate,
            term,
            maturity,
            subsidy_end,
            receipt,
            disbursed,
            status_,
            co_name,
            co_id,
            rel,
            imported,
        ) in chunk:
            ws.append(
                text_row(
                    ws,
                    [
                        number,
                        name,
                        mask_id_number(id_no),
                        mask_phone(phone),
                        uni,
                        LEVEL_LABELS.get(level, level),
                        "、".join(CATEGORY_LABELS.get(c, c) for c in cats or []),
                        year,
                        yuan(amount),
                        signed,
                        rate,
                        term,
                        maturity,
                        subsidy_end,
                        yuan(receipt),
                        disbursed,
                        LABELS_ZH.get(LoanStatus(status_), status_),
                        co_name,
                        mask_id_number(co_id),
                        RELATIONSHIP_LABELS.get(rel, rel),
                        "导入" if imported else "系统",
                    ],
                )
            )

    # openpyxl takes ~50 µs a row: in a worker thread, chunk by chunk, so a 100,000-contract export
    # does not hold up every other request for half a minute.
    stream = await session.stream(query.execution_options(yield_per=2000))
    async for chunk in stream.partitions():
        await anyio.to_thread.run_sync(append, chunk)
    return await anyio.to_thread.run_sync(_save, wb)
