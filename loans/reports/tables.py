"""Loan reports as tables: the same rows give the JSON answer and the .xlsx export (Chinese headers)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from service.money import format_yuan
from service.xlsx import cell_of, text_row


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # zh-CN, as printed
    kind: str = "text"  # text | int | yuan (fen in, yuan out) | percent (a "3.57" string)


def json_row(columns: Sequence[Column], row: dict[str, Any]) -> dict[str, Any]:
    return {
        c.key: format_yuan(row[c.key]) if c.kind == "yuan" and row[c.key] is not None else row[c.key] for c in columns
    }


def workbook(sheet: str, title: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> bytes:
    """One sheet: a title line, the header row, the rows; money as exact decimals with two places."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    for i, c in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(12, 2 * len(c.header) + 4)
    head = cell_of(ws, title)
    head.font = Font(bold=True, size=13)
    ws.append([head])
    cells = []
    for c in columns:
        cell = WriteOnlyCell(ws, value=c.header)
        cell.font = Font(bold=True)
        cells.append(cell)
    ws.append(cells)
    for row in rows:
        out: list[Any] = []
        for c in columns:
            value = row[c.key]
            if c.kind == "yuan" and value is not None:
                cell = WriteOnlyCell(ws, value=Decimal(value).scaleb(-2))
                cell.number_format = "#,##0.00"
                out.append(cell)
            elif c.kind == "percent" and value is not None:
                cell = WriteOnlyCell(ws, value=Decimal(value) / 100)
                cell.number_format = "0.00%"
                out.append(cell)
            else:
                out.append(value)
        ws.append(text_row(ws, out))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
