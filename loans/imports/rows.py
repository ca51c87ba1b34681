"""The checks of a contract import that need no database: typing every row of the sheet with its
columns' parsers, the rules within a row, the policy's limits and terms, and the rules across rows.

loans.imports.template knows the columns and reads the sheet; loans.imports.importer runs these checks once,
over the whole file, then the ones against the database (lookups) and the write. Every rule appends a RowError per fault it finds and goes on: the clerk
gets all of them at once.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from loans.imports.cells import LEVEL_LABELS, CellError
from loans.imports.template import (
    BAD_FILE,
    COLUMNS,
    DEFAULT_MAX_ROWS,
    Column,
    RowError,
    Sheet,
    read_sheet,
)
from loans.origination.numbers import parse_contract_number
from loans.policy import (
    ContractTerms,
    Limits,
    PolicyError,
    PolicyRow,
    contract_terms,
    limits_for,
)
from service.dates import date_fault
from service.money import format_yuan
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


def number_rules(sheet: Sheet, rows: list[Row], errors: list[RowError], county: str | None) -> None:
    """A contract number (of the centre's form, cells.contract_no) names the row's academic year and, when given,
    the centre's county: the own series (loans.origination.numbers) is per county and loan year."""
    for r in rows:
        parts = parse_contract_number(r.contract_no) if r.contract_no else None
        if parts is None:
            continue
        if county is not None and parts.county != county:
            errors.append(
                sheet.error(
                    r.row,
                    "contract_no",
                    f"合同编号的县代码 {parts.county} 不是本中心的 {county}",
                    f"The number's county code {parts.county} is not the centre's ({county})",
                )
            )
        if r.academic_year and parts.year != r.academic_year:
            errors.append(
                sheet.error(
                    r.row,
                    "contract_no",
                    f"合同编号的年份 {parts.year} 与贷款学年 {r.academic_year} 不符",
                    f"The number's year {parts.year} is not the academic year {r.academic_year}",
                )
            )


class PolicyCheck:
    """Limits and contract terms from the policy rows, each combination worked out once (or why there is none)."""

    def __init__(self, rows: list[PolicyRow]) -> None:
        self.rows = rows
        self._found: dict[tuple[Any, ...], Any] = {}

    def _once(self, rule: Callable[..., Any], *args: Any) -> Any:
        key = (rule, *args)
        if key not in self._found:
            try:
                self._found[key] = rule(self.rows, *args)
            except PolicyError as exc:
                self._found[key] = exc
        return self._found[key]

    def limits(self, year: int, level: str) -> Limits | PolicyError:
        return self._once(limits_for, year, level)  # type: ignore[no-any-return]

    def terms(self, signed_on: date, graduation_year: int) -> ContractTerms | PolicyError:
        return self._once(contract_terms, signed_on, graduation_year)  # type: ignore[no-any-return]


def policy_rules(
    sheet: Sheet, rows: list[Row], policy: PolicyCheck, errors: list[RowError]
) -> dict[int, tuple[tuple[int, int], ContractTerms]]:
    """The limit in force for each row's academic year and level, and its terms; by row number."""
    found: dict[int, tuple[tuple[int, int], ContractTerms]] = {}
    for r in rows:
        limit_ids = terms = None
        if r.academic_year and r.level and r.principal is not None:
            limits = policy.limits(r.academic_year, r.level)
            p = r.principal
            if isinstance(limits, PolicyError):
                errors.append(sheet.error(r.row, "academic_year", limits.message_zh, limits.message_en))
            elif p % 100:
                errors.append(
                    sheet.error(
                        r.row,
                        "principal",
                        f"合同金额 {format_yuan(p)} 元须为整元",
                        f"The principal {format_yuan(p)} must be whole yuan",
                    )
                )
            elif p > limits.maximum:
                hi = limits.rows[1]
                errors.append(
                    sheet.error(
                        r.row,
                        "principal",
                        f"{r.academic_year} 学年{LEVEL_LABELS[r.level]}学生每年贷款上限为 {format_yuan(limits.maximum)} 元"
                        f"（依据：{hi.source}），合同金额 {format_yuan(p)} 元超出",
                        f"The limit for a {r.level.replace('_', ' ')} student in academic year {r.academic_year} is "
                        f"{format_yuan(limits.maximum)} yuan (policy row {hi.id}); {format_yuan(p)} is over it",
                    )
                )
            elif p < limits.minimum:
                errors.append(
                    sheet.error(
                        r.row,
                        "principal",
                        f"每学年贷款金额不低于 {format_yuan(limits.minimum)} 元",
                        f"The minimum is {format_yuan(limits.minimum)} yuan a year",
                    )
                )
            else:
                limit_ids = (limits.rows[0].id, limits.rows[1].id)
        if r.signed_on and r.expected_graduation:
            got = policy.terms(r.signed_on, r.expected_graduation.year)
            if isinstance(got, PolicyError):
                errors.append(sheet.error(r.row, "signed_on", got.message_zh, got.message_en))
            else:
                terms = got
        if limit_ids and terms:
            found[r.row] = (limit_ids, terms)
    return found


def _rows_text(numbers: list[int]) -> tuple[str, str]:
    shown = "、".join(str(n) for n in numbers[:5]) + ("等" if len(numbers) > 5 else "")
    return shown, ", ".join(str(n) for n in numbers[:5]) + (" …" if len(numbers) > 5 else "")


def cross_rules(sheet: Sheet, rows: list[Row], errors: list[RowError]) -> None:
    """Rules across rows: repeated contracts, one loan per student and year, consistent names, and a
    borrower who is someone's co-borrower. Every row involved is marked: which one is right is the
    clerk's call, not ours. One pass with dictionaries; groups are only built for the repeats."""
    contracts: dict[str, Row] = {}
    years: dict[tuple[str, int], Row] = {}
    student_names: dict[str, str] = {}
    co_names: dict[str, str] = {}
    borrowers: dict[str, int] = {}
    repeated: dict[Any, list[Row]] = {}
    odd: set[tuple[str, str]] = set()  # (field, ID number) seen with two names
    for r in rows:
        if r.contract_no is not None and contracts.setdefault(r.contract_no, r) is not r:
            repeated.setdefault(("contract_no", r.contract_no), [contracts[r.contract_no]]).append(r)
        sid = r.id_number
        if sid is not None:
            borrowers.setdefault(sid, r.row)
            if r.academic_year and years.setdefault((sid, r.academic_year), r) is not r:
                repeated.setdefault(("academic_year", sid, r.academic_year), [years[(sid, r.academic_year)]]).append(r)
            if r.name and student_names.setdefault(sid, r.name) != r.name:
                odd.add(("id_number", sid))
        if r.co_id_number is not None and r.co_name and co_names.setdefault(r.co_id_number, r.co_name) != r.co_name:
            odd.add(("co_id_number", r.co_id_number))
    for key, group in repeated.items():
        for r in group:
            zh, en = _rows_text([o.row for o in group if o is not r])
            if key[0] == "contract_no":
                errors.append(
                    sheet.error(r.row, "contract_no", f"合同编号与第 {zh} 行重复", f"Same contract number as row {en}")
                )
            else:
                errors.append(
                    sheet.error(
                        r.row,
                        "academic_year",
                        f"同一学生同一学年只能有一笔贷款，与第 {zh} 行重复",
                        f"One loan per student and academic year; also in row {en}",
                    )
                )
    if odd:
        named: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for r in rows:
            for key in (("id_number", r.id_number), ("co_id_number", r.co_id_number)):
                if key in odd:
                    named[key].append(r)
        for (id_field, _), group in named.items():
            name_field, who = ("name", "学生") if id_field == "id_number" else ("co_name", "共同借款人")
            names = "、".join(dict.fromkeys(getattr(r, name_field) for r in group if getattr(r, name_field)))
            for r in group:
                errors.append(
                    sheet.error(
                        r.row,
                        name_field,
                        f"同一{who}身份证号在文件中有不同姓名：{names}",
                        f"The same {id_field} appears with different names",
                    )
                )
    for r in rows:
        cid = r.co_id_number
        if cid is not None and cid in borrowers and cid != r.id_number:
            errors.append(
                sheet.error(
                    r.row,
                    "co_id_number",
                    f"共同借款人本人是借款学生（第 {borrowers[cid]} 行），借款人不能担任共同借款人",
                    f"The co-borrower is a borrower in row {borrowers[cid]}",
                )
            )
