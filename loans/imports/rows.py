"""The checks of a contract import that need no database, row by row: typing every row of the sheet with its
columns' parsers and the rules within a row (the rules across rows and the policy's are in sheet_rules).

loans.imports.template knows the columns and reads the sheet; loans.imports.importer runs these checks once,
over the whole file, then the ones against the database (lookups) and the write. Every rule appends a RowError per fault it finds and goes on: the clerk
gets all of them at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from loans.imports.cells import CellError
from loans.imports.template import (
    BAD_FILE,
    COLUMNS,
    DEFAULT_MAX_ROWS,
    Column,
    RowError,
    Sheet,
    read_sheet,
)
from service.dates import date_fault
from service.problems import Problem
from service.registry.study_dates import signed_after_graduation, study_date_faults, year_outside_studies

Progress = Callable[[str, int, int], None]  # (phase, done, total)
BLOCK = 5000  # rows typed together, column by column
_UNCACHED = {"contract_no"}  # unique per row: remembering it would only cost memory
MEMO_MAX = 2 * BLOCK  # values a column remembers at most (RowTyping)


class Row(msgspec.Struct, gc=False):
    """One data row as typed values, a field per column in template.COLUMNS' order; a field whose cell
    was bad (or empty and optional) is None, and so is one that a rule within the row found wrong.

    A msgspec Struct: a slotted record that, never part of a reference cycle, the cycle collector need
    not track (gc=False): an import holds a hundred thousand of them.
    """

    row: int
    name: str | None
    id_number: str | None
    phone: str | None
    household_province: str | None
    household_county: str | None
    university_code: str | None
    level: str | None
    study_years: int | None
    enrolled_on: date | None
    expected_graduation: date | None
    categories: tuple[str, ...] | None
    co_name: str | None
    co_id_number: str | None
    co_phone: str | None
    relationship: str | None
    academic_year: int | None
    principal: int | None
    contract_no: str | None
    signed_on: date | None
    receipt_amount: int | None
    disbursed_on: date | None


def _cell(column: Column, raw: Any) -> Any:
    """A cell's typed value, None when empty and optional, or the CellError that explains it."""
    if raw == "" or raw is None or (raw.__class__ is str and not raw.strip()):
        return CellError(f"“{column.header}”不能为空", f"{column.field} is required") if column.required else None
    try:
        return column.parse(raw)
    except CellError as exc:
        return exc


class RowTyping:
    """The columns' parsers applied to blocks of rows, column by column.

    Each column remembers what its values parsed to (or why they failed): a county's sheet repeats the
    same provinces, universities, dates and amounts thousands of times, and its students once a year.
    A block's column is then looked up in one pass (`map` over the column's memo), not cell by cell.
    """

    def __init__(self, sheet: Sheet) -> None:
        self.sheet = sheet
        self.plan = [(sheet.columns[c.field], c, None if c.field in _UNCACHED else {}) for c in COLUMNS]
        self.failed: list[set[Any]] = [set() for _ in COLUMNS]  # per column, the values that failed
        self.width = max(sheet.columns.values()) + 1

    def rows(self, block: list[tuple[int, list[Any]]], errors: list[RowError]) -> list[Row]:
        """Typed rows of (Excel row number, cell values); a bad or missing required cell becomes None and
        appends an error, in row order and, within a row, in column order."""
        if not block:
            return []
        width, sheet = self.width, self.sheet
        numbers = [number for number, _ in block]
        # calamine pads every row to the sheet's width; other callers may not.
        cells = list(zip(*(v if len(v) >= width else [*v, *[""] * (width - len(v))] for _, v in block), strict=False))
        typed: list[list[Any]] = []
        found: list[tuple[int, int, CellError]] = []  # (row number, column position, error)
        for position, (index, column, seen) in enumerate(self.plan):
            raw = cells[index]
            failed = self.failed[position]
            if seen is None:
                out = [_cell(column, v) for v in raw]
                bad: Iterable[int] = [i for i, v in enumerate(out) if v.__class__ is CellError]
            else:
                values = set(raw)
                if len(seen) > MEMO_MAX:  # names and ID numbers pile up; what repeats, repeats within a block
                    seen.clear()
                for v in values.difference(seen):
                    got = seen[v] = _cell(column, v)
                    if got.__class__ is CellError:
                        failed.add(v)
                out = list(map(seen.__getitem__, raw))
                bad = [i for i, v in enumerate(raw) if v in failed] if not failed.isdisjoint(values) else ()
            for i in bad:
                found.append((numbers[i], position, out[i]))
                out[i] = None
            typed.append(out)
        found.sort(key=lambda f: f[:2])
        errors.extend(
            sheet.error(number, self.plan[position][1].field, e.message_zh, e.message_en)
            for number, position, e in found
        )
        return list(map(Row, numbers, *typed))


def parse_row(sheet: Sheet, number: int, values: list[Any], errors: list[RowError]) -> Row:
    """One row typed on its own (no memory of other rows); its bad cells append errors."""
    return RowTyping(sheet).rows([(number, values)], errors)[0]


def _row_number(error: RowError) -> int:
    return error.row


def typed_blocks(sheet: Sheet, today: date, size: int | None = None) -> Iterator[tuple[list[Row], list[RowError]]]:
    """The sheet's data rows typed, a block at a time, with the errors of their cells and of the rules
    within a row (in row order; a row's cell errors before its rules' errors)."""
    typing = RowTyping(sheet)
    data = sheet.data_rows()
    while block := list(itertools.islice(data, size or BLOCK)):
        found: list[RowError] = []
        typed = typing.rows(block, found)
        for row in typed:
            row_rules(sheet, row, found, today)
        found.sort(key=_row_number)  # stable: each row's cell errors, then its rules' errors
        yield typed, found


def no_rows() -> Problem:
    return Problem(BAD_FILE, "文件只有表头，没有数据行。", "The file has a header row but no data rows.", field="file")


def read_rows(
    source: bytes | Path, today: date, progress: Progress | None = None, max_rows: int = DEFAULT_MAX_ROWS
) -> tuple[Sheet, list[Row], list[RowError]]:
    """Open, check the header, type every cell and apply the rules within a row. No database."""
    sheet = read_sheet(source, max_rows)
    rows: list[Row] = []
    errors: list[RowError] = []
    if progress:
        progress("reading", 0, sheet.total_rows)
    for typed, found in typed_blocks(sheet, today):
        errors.extend(found)
        rows.extend(typed)
        if progress:
            progress("reading", typed[-1].row, sheet.total_rows)
    if not rows:
        raise no_rows()
    if progress:
        progress("reading", sheet.total_rows, sheet.total_rows)
    return sheet, rows, errors


def row_rules(sheet: Sheet, r: Row, errors: list[RowError], today: date) -> None:
    """Rules within one row; a field found wrong is cleared so that later rules skip it. The course and the
    money dates are the registry's and the service's rules (study_dates, service.dates), not copies."""

    def bad(name: str, zh: str, en: str) -> None:
        errors.append(sheet.error(r.row, name, zh, en))
        setattr(r, name, None)

    for name, zh, en in study_date_faults(
        id_number=r.id_number,
        level=r.level,
        study_years=r.study_years,
        enrolled_on=r.enrolled_on,
        expected_graduation=r.expected_graduation,
        today=today,
    ):
        if getattr(r, name) is not None:
            bad(name, zh, en)
    for name in ("signed_on", "disbursed_on"):
        on = getattr(r, name)
        fault = None if on is None else date_fault(on, name, today=today)
        if fault is not None:
            bad(name, fault[0], fault[1])
    if r.signed_on and r.expected_graduation and (late := signed_after_graduation(r.signed_on, r.expected_graduation)):
        bad("signed_on", *late)
    if (
        r.academic_year
        and r.enrolled_on
        and r.expected_graduation
        and (outside := year_outside_studies(r.academic_year, r.enrolled_on, r.expected_graduation))
    ):
        bad("academic_year", *outside)
    if r.signed_on and r.academic_year and not r.academic_year - 1 <= r.signed_on.year <= r.academic_year + 1:
        bad(
            "signed_on",
            f"签约日期 {r.signed_on} 与贷款学年 {r.academic_year} 不符",
            f"Signing date {r.signed_on} does not fit academic year {r.academic_year}",
        )
    if r.receipt_amount is not None and r.principal is not None and r.receipt_amount > r.principal:
        bad("receipt_amount", "回执金额不能超过合同金额", "The receipt amount cannot exceed the principal")
    if r.disbursed_on and r.signed_on and r.disbursed_on < r.signed_on:
        bad("disbursed_on", "放款日期不能早于签约日期", "Disbursement cannot precede signing")
    if r.co_id_number and r.co_id_number == r.id_number:
        bad("co_id_number", "共同借款人不能是学生本人", "The co-borrower cannot be the student")
