"""Cross-checking (大数据比对): the recipient list with full ID numbers for the auditor, and the flags that
come back, which put those awards under review.

The export is the one place where full ID numbers leave the service, so only the auditor role may take
it and every export is in the audit trail. The import changes nothing unless every row checks out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from python_calamine import CalamineWorkbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from donations.awards import flag
from donations.lifecycle import LABELS_ZH, AwardStatus
from donations.models import Award, Program
from service.errors import UNPROCESSABLE, Problem, problem_type
from service.money import format_yuan
from service.registry.models import Student, University
from service.registry.vocabulary import CATEGORIES_ZH, LEVELS_ZH
from service.uploads import check_sheet_size, zip_bomb
from service.xlsx import cell_of

BAD_FILE = problem_type(
    "cross-check-file-invalid", 422, "比对结果文件有误，未导入", "The cross-check file is invalid; nothing was imported"
)
HEADERS = [
    "资助编号",
    "项目",
    "学年",
    "姓名",
    "身份证号",
    "院校",
    "层次",
    "困难类别",
    "金额（元）",
    "状态",
    "发放日期",
    "比对结果",
    "说明",
]
RESULT_COL, NOTE_COL = HEADERS.index("比对结果"), HEADERS.index("说明")
# What the data office writes for "nothing found"; anything else in 比对结果 is a finding.
CLEAR = {"", "通过", "正常", "无", "无异常", "符合", "ok", "pass"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def export_rows(session: AsyncSession, academic_year: int | None, program_id: int | None) -> list[list[Any]]:
    query = (
        select(Award, Program.name, Student.name, Student.id_number, University.name, Student.level, Student.categories)
        .join(Program, Program.id == Award.program_id)
        .join(Student, Student.id == Award.student_id)
        .join(University, University.code == Student.university_code)
        .where(Award.status != AwardStatus.REVOKED.value)
        .order_by(Award.id)
    )
    if academic_year is not None:
        query = query.where(Award.academic_year == academic_year)
    if program_id is not None:
        query = query.where(Award.program_id == program_id)
    return [
        [
            a.id,
            program,
            a.academic_year,
            name,
            id_number,
            university,
            LEVELS_ZH.get(level, level),
            "、".join(CATEGORIES_ZH.get(c, c) for c in categories or []),
            format_yuan(a.amount),
            LABELS_ZH.get(a.status, a.status),
            a.paid_on.isoformat() if a.paid_on else "",
            "",
            "",
        ]
        for a, program, name, id_number, university, level, categories in (await session.execute(query)).all()
    ]


def workbook(rows: list[list[Any]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("受助学生比对")
    for letter, width in zip("ABCDEFGHIJKLM", (10, 24, 8, 10, 22, 24, 8, 16, 12, 8, 12, 12, 30), strict=False):
        ws.column_dimensions[letter].width = width
    head = []
    for text in HEADERS:
        cell = WriteOnlyCell(ws, value=text)
        cell.font = Font(bold=True)
        head.append(cell)
    ws.append(head)
    id_col = HEADERS.index("身份证号")
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            cell = cell_of(ws, value)  # names and the rest as text, never a formula (service.xlsx)
            if i == id_col:
                cell.number_format = "@"  # text: Excel would keep 15 of the 18 digits of a number
            cells.append(cell)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class Finding:
    row: int
    award_id: int
    id_number: str
    text: str


def read_findings(content: bytes, max_rows: int) -> tuple[list[Finding], list[dict[str, Any]]]:
    """The flagged rows of a returned workbook, and the rows that cannot be read. Its size is checked before
    calamine loads it (service.uploads)."""
    if not content.startswith(b"PK\x03\x04"):
        raise Problem(BAD_FILE, "文件不是 Excel 工作簿（.xlsx）。", "The file is not an .xlsx workbook.", field="file")
    if zip_bomb(content):
        raise Problem(
            BAD_FILE,
            "文件解压后过大，不像是正常的 Excel 工作簿，已拒绝。",
            "The file unpacks to too much: refused.",
            field="file",
        )
    check_sheet_size(content, max_rows=max_rows, max_columns=len(HEADERS))
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception:  # calamine raises its own types for broken files
        raise Problem(BAD_FILE, "文件已损坏，无法读取。", "The file is damaged.", field="file") from None
    if not rows or [str(c).strip() for c in rows[0][: len(HEADERS)]] != HEADERS:
        raise Problem(
            BAD_FILE,
            "表头与导出的比对表不一致，请在导出的文件上填写比对结果。",
            "The header differs from the exported list; fill in the exported file.",
            field="file",
        )
    findings, errors = [], []
    for number, row in enumerate(rows[1:], start=2):
        row = list(row) + [""] * (len(HEADERS) - len(row))
        result = str(row[RESULT_COL]).strip()
        if result.lower() in CLEAR:
            continue
        raw_id = row[0]
        if isinstance(raw_id, float) and raw_id.is_integer():
            raw_id = int(raw_id)
        try:
            award_id = int(str(raw_id).strip())
        except ValueError:
            errors.append({"row": number, "message_zh": "资助编号无效", "message_en": "Invalid award number"})
            continue
        note = str(row[NOTE_COL]).strip()
        findings.append(
            Finding(
                number,
                award_id,
                str(row[HEADERS.index("身份证号")]).strip().upper(),
                f"{result}：{note}" if note else result,
            )
        )
    return findings, errors


async def import_findings(session: AsyncSession, content: bytes, actor: str, max_rows: int) -> list[int]:
    """Put every flagged award under review; 422 and nothing changed if any row does not match an award."""
    findings, errors = await anyio.to_thread.run_sync(read_findings, content, max_rows)  # off the event loop
    awards = {
        a.id: (a, id_number)
        for a, id_number in (
            await session.execute(
                select(Award, Student.id_number)
                .join(Student, Student.id == Award.student_id)
                .where(Award.id.in_([f.award_id for f in findings]))
            )
        ).all()
    }
    for f in findings:
        found = awards.get(f.award_id)
        if found is None:
            errors.append(
                {
                    "row": f.row,
                    "message_zh": f"资助编号 {f.award_id} 不存在",
                    "message_en": f"Award {f.award_id} does not exist",
                }
            )
        elif found[1] != f.id_number:
            errors.append(
                {
                    "row": f.row,
                    "message_zh": "身份证号与该资助的学生不符",
                    "message_en": "The ID number is not the award's student's",
                }
            )
        elif found[0].status == AwardStatus.REVOKED.value:
            errors.append({"row": f.row, "message_zh": "该资助已撤销", "message_en": "The award is revoked"})
    if errors:
        raise Problem(
            UNPROCESSABLE,
            f"比对结果中有 {len(errors)} 行无法对应，未导入任何标记。",
            f"{len(errors)} rows do not match an award; nothing was imported.",
            field="file",
            extra={"errors": errors},
        )
    for f in findings:
        await flag(session, awards[f.award_id][0], f.text, actor)
    return sorted({f.award_id for f in findings})
