"""The checks of a contract import across the sheet's rows, still without a database: contract numbers of the
centre's form, the policy's limits and terms for each row, and the rules between rows (a number or a student's
year twice, one ID with two names, a co-borrower who borrows). Each appends a RowError per fault and goes on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

from loans.imports.cells import LEVEL_LABELS
from loans.imports.rows import Row
from loans.imports.template import (
    RowError,
    Sheet,
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
from service.money import format_yuan


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
