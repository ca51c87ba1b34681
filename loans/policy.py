"""Loan policy as data: typed rows with effective dates, and the pure rules that read them.

The ministry changes limits, spreads and terms by notice; each notice is a new row, never a release.
A figure computed from policy names the rows it used (`PolicyRow.id`), so a contract signed in 2019
keeps its 2019 rules and anyone can see which ones they were. Nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from service.money import MoneyFormatError, parse_yuan

LEVELS = ("junior_college", "undergraduate", "graduate")


class PolicyError(ValueError):
    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh, self.message_en = message_zh, message_en


def _fen(value: str) -> int:
    try:
        return parse_yuan(value)
    except MoneyFormatError as exc:
        raise PolicyError(exc.message_zh, exc.message_en) from None


def _percent(value: str) -> Decimal:
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise PolicyError(f"“{value}”不是百分比数值。", f"{value!r} is not a percentage.") from None
    if not d.is_finite() or not Decimal(0) <= d <= Decimal(100) or d.as_tuple().exponent < -4:  # type: ignore[operator]
        raise PolicyError(f"百分比 {value} 超出范围或小数位过多。", f"Percentage {value} is out of range.")
    return d


def _int(lo: int, hi: int) -> Any:
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise PolicyError(f"“{value}”不是整数。", f"{value!r} is not a whole number.") from None
        if not lo <= n <= hi:
            raise PolicyError(f"{n} 不在 {lo} 到 {hi} 之间。", f"{n} is not between {lo} and {hi}.")
        return n

    return parse


def _month_day(value: str) -> tuple[int, int]:
    try:
        month, day = (int(p) for p in value.split("-"))
        date(2001, month, day)
    except (ValueError, TypeError):
        raise PolicyError(f"“{value}”不是“月-日”格式（如 08-31）。", f"{value!r} is not MM-DD.") from None
    return month, day


def _factor(value: str) -> Decimal:
    try:
        d = Decimal(value)
    except InvalidOperation:
        d = Decimal(-1)
    if not Decimal(1) <= d <= Decimal(3):
        raise PolicyError(f"罚息系数 {value} 须在 1 到 3 之间。", f"Penalty factor {value} must be between 1 and 3.")
    return d


def _choice(*options: str) -> Any:
    def parse(value: str) -> str:
        if value not in options:
            raise PolicyError(f"“{value}”须为 {'、'.join(options)} 之一。", f"{value!r} must be one of {options}.")
        return value

    return parse


@dataclass(frozen=True)
class PolicyKind:
    name: str
    keyed_by_level: bool
    parse: Any
    label_zh: str


KINDS: dict[str, PolicyKind] = {
    k.name: k
    for k in (
        PolicyKind("limit_max", True, _fen, "每学年贷款上限（元）"),
        PolicyKind("limit_min", False, _fen, "每学年贷款下限（元）"),
        PolicyKind("lpr_5y", False, _percent, "五年期以上 LPR（%）"),
        PolicyKind("spread_bp", False, _int(-500, 500), "利率加点（基点，负数为减点）"),
        PolicyKind("term_extra_years", False, _int(1, 30), "期限 = 剩余学制 + N 年"),
        PolicyKind("term_max_years", False, _int(1, 40), "最长期限（年）"),
        PolicyKind("grace_years", False, _int(0, 10), "本金宽限期（年）"),
        PolicyKind("subsidy_end", False, _month_day, "贴息截止日（毕业当年 月-日）"),
        PolicyKind("penalty_factor", False, _factor, "罚息倍数（合同利率的倍数）"),
        PolicyKind("penalty_on_interest", False, _choice("true", "false"), "逾期利息是否计罚息"),
        PolicyKind("day_count", False, _choice("ACT/365", "ACT/360"), "计息天数规则"),
        PolicyKind("repricing_date", False, _month_day, "利率重定价日（月-日）"),
        PolicyKind("prepayment_min", False, _fen, "部分提前还款最低金额（元）"),
    )
}


@dataclass(frozen=True)
class PolicyRow:
    id: int
    kind: str
    key: str  # the level for limit_max, "" otherwise
    effective_from: date
    value: str
    source: str

    @property
    def parsed(self) -> Any:
        return KINDS[self.kind].parse(self.value)


def validate_row(kind: str, key: str, value: str) -> Any:
    """Check a row an admin wants to add; returns the parsed value."""
    if kind not in KINDS:
        raise PolicyError(f"未知的政策类别 {kind}。", f"Unknown policy kind {kind!r}.")
    spec = KINDS[kind]
    if spec.keyed_by_level and key not in LEVELS:
        raise PolicyError(f"{kind} 须指明学历层次（{'、'.join(LEVELS)}）。", f"{kind} needs a level key {LEVELS}.")
    if not spec.keyed_by_level and key:
        raise PolicyError(f"{kind} 不按学历层次区分，key 须为空。", f"{kind} takes no key.")
    return spec.parse(value)


def in_force(rows: Iterable[PolicyRow], kind: str, on: date, key: str = "") -> PolicyRow:
    """The row of this kind (and key) with the latest effective date on or before `on`."""
    best: PolicyRow | None = None
    for row in rows:
        in_scope = row.kind == kind and row.key == key and row.effective_from <= on
        if in_scope and (best is None or row.effective_from > best.effective_from):
            best = row
    if best is None:
        label = KINDS[kind].label_zh if kind in KINDS else kind
        raise PolicyError(
            f"{on.isoformat()} 没有生效的政策：{label}{'（' + key + '）' if key else ''}。",
            f"No {kind}{' for ' + key if key else ''} policy in force on {on.isoformat()}.",
        )
    return best


def loan_year_starts(academic_year: int) -> date:
    """Limits follow the date the loan year starts (autumn): 1 September of the academic year."""
    return date(academic_year, 9, 1)


@dataclass(frozen=True)
class Limits:
    minimum: int
    maximum: int
    rows: tuple[PolicyRow, PolicyRow]


def limits_for(rows: Iterable[PolicyRow], academic_year: int, level: str) -> Limits:
    rows = list(rows)
    on = loan_year_starts(academic_year)
    hi = in_force(rows, "limit_max", on, level)
    lo = in_force(rows, "limit_min", on)
    return Limits(lo.parsed, hi.parsed, (lo, hi))


@dataclass(frozen=True)
class ContractTerms:
    lpr: Decimal
    spread_bp: int
    rate: Decimal  # annual, percent
    term_years: int
    maturity_date: date
    grace_years: int
    subsidy_end: date
    policy_ids: tuple[int, ...]


def contract_terms(rows: Iterable[PolicyRow], signed_on: date, graduation_year: int) -> ContractTerms:
    """Rate, term, maturity, grace and subsidy end for a contract signed on `signed_on`.

    Rate = the 5-year LPR in force minus the spread in force. Maturity = 20 September of
    (graduation year + extra years), capped at signing year + the longest term.
    """
    rows = list(rows)
    lpr, spread = in_force(rows, "lpr_5y", signed_on), in_force(rows, "spread_bp", signed_on)
    extra, longest = in_force(rows, "term_extra_years", signed_on), in_force(rows, "term_max_years", signed_on)
    grace, subsidy = in_force(rows, "grace_years", signed_on), in_force(rows, "subsidy_end", signed_on)
    rate = lpr.parsed + Decimal(spread.parsed) / 100
    if rate <= 0:
        raise PolicyError("按当前政策计算的利率不为正数。", "The policy gives a rate that is not positive.")
    maturity_year = min(graduation_year + extra.parsed, signed_on.year + longest.parsed)
    if maturity_year <= graduation_year:
        raise PolicyError("到期日早于毕业年份，请检查期限政策。", "Maturity would fall before graduation.")
    month, day = subsidy.parsed
    return ContractTerms(
        lpr=lpr.parsed,
        spread_bp=spread.parsed,
        rate=rate.quantize(Decimal("0.0001")).normalize(),
        term_years=maturity_year - signed_on.year,
        maturity_date=date(maturity_year, 9, 20),
        grace_years=grace.parsed,
        subsidy_end=date(graduation_year, month, day),
        policy_ids=tuple(r.id for r in (lpr, spread, extra, longest, grace, subsidy)),
    )


def format_rate(rate: Decimal) -> str:
    """The API's rate: percent with at least two decimals ("2.80", "3.05", "2.875")."""
    q = rate.quantize(Decimal("0.01")) if rate == rate.quantize(Decimal("0.01")) else rate.normalize()
    return f"{q:f}"
