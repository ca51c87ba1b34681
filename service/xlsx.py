"""Cells of every workbook the service writes: what a person typed is written as text, never as a formula.

openpyxl turns any string that starts with "=" into a formula, so a student named `=HYPERLINK("http://…"&A1,"点击")`
would become a live link in the cross-check export, beside full ID numbers ("formula injection", issue #16). It
also refuses control characters with an exception, which made one bad name a 500 for every export. Every writer
(the contract export, the import's error report and template, the loan reports, the cross-check list) passes its
rows through `text_row`, so the rule lives here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

# What a spreadsheet reads as the start of a formula when the cell is typed into (OWASP's CSV-injection list).
# Only "=" makes openpyxl write a formula; the others are marked quotePrefix so that editing the cell in Excel or
# LibreOffice does not turn them into one either.
FORMULA_START = ("=", "+", "-", "@")
REPLACEMENT = "\ufffd"  # what stands in for a control character a spreadsheet cannot hold

Sheet = Worksheet | WriteOnlyWorksheet


def _needs_care(value: str) -> bool:
    return value.startswith(FORMULA_START) or ILLEGAL_CHARACTERS_RE.search(value) is not None


def text_cell(ws: Sheet, value: str) -> Cell:
    """A cell that holds `value` as a string, whatever it starts with; control characters become U+FFFD."""
    cell = WriteOnlyCell(ws, value=None)
    cell.value = ILLEGAL_CHARACTERS_RE.sub(REPLACEMENT, value)
    cell.data_type = "s"  # after the value: openpyxl's setter has just made "=…" a formula
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


def as_text(ws: Sheet, value: Any) -> Any:
    """The value to append: a string that could be read as a formula (or holds a control character) as a text
    cell, a cell already holding such a string made text too, anything else unchanged (the common, fast path:
    openpyxl writes plain strings as strings)."""
    if isinstance(value, str):
        return text_cell(ws, value) if _needs_care(value) else value
    if isinstance(value, Cell) and isinstance(value.value, str) and value.data_type == "f":
        value.data_type = "s"
        value.quotePrefix = True
    return value


def cell_of(ws: Sheet, value: Any) -> Cell:
    """A cell to style: strings as text cells, anything else as it is."""
    return text_cell(ws, value) if isinstance(value, str) else WriteOnlyCell(ws, value=value)


def text_row(ws: Sheet, values: Iterable[Any]) -> list[Any]:
    """A row for `ws.append`: every string in it written as text (see `as_text`)."""
    return [as_text(ws, v) for v in values]
