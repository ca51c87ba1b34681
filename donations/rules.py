"""Programme rules, eligibility, notice dates and receipt numbers: plain functions over plain values.

No session, no clock: the date an application is taken on is an argument. Reasons come back in Chinese
and English so the HTTP layer can put them in one 422 that lists all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from service.money import MoneyFormatError, format_yuan, parse_yuan
from service.registry.vocabulary import CATEGORIES_ZH, LEVELS_ZH

RULE_TYPES = ("fixed", "by_level", "by_province")
RECEIPT_SERIES = "JZ"


class RuleError(ValueError):
    """A programme rule that cannot be used, in both languages."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh = message_zh
        self.message_en = message_en


def _amount(value: Any, where: str) -> int:
    if not isinstance(value, str):
        raise RuleError(
            f'规则中的金额 {where} 须为元的字符串，如 "3000.00"。',
            f'Rule amount {where} must be a yuan string such as "3000.00".',
        )
    try:
        fen = parse_yuan(value)
    except MoneyFormatError as exc:
        raise RuleError(f"规则金额 {where}：{exc.message_zh}", f"Rule amount {where}: {exc.message_en}") from None
    if fen <= 0:
        raise RuleError(f"规则金额 {where} 须大于零。", f"Rule amount {where} must be positive.")
    return fen


def normalize_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """Check a rule as the API gives it and return it in canonical form (amounts in fen)."""
    kind = rule.get("type")
    if kind == "fixed":
        return {"type": "fixed", "amount": _amount(rule.get("amount"), "amount")}
    if kind == "by_level":
        amounts = rule.get("amounts")
        if not isinstance(amounts, Mapping) or not amounts:
            raise RuleError("按层次规则须给出各层次金额 amounts。", "A by_level rule needs its amounts.")
        unknown = set(amounts) - set(LEVELS_ZH)
        if unknown:
            raise RuleError(f"未知的层次：{', '.join(sorted(unknown))}。", f"Unknown levels: {sorted(unknown)}.")
        return {"type": "by_level", "amounts": {k: _amount(v, f"amounts.{k}") for k, v in amounts.items()}}
    if kind == "by_province":
        return {
            "type": "by_province",
            "in_province": _amount(rule.get("in_province"), "in_province"),
            "out_of_province": _amount(rule.get("out_of_province"), "out_of_province"),
        }
    raise RuleError(f"规则类型须为 {'、'.join(RULE_TYPES)} 之一。", f"The rule type must be one of {RULE_TYPES}.")


def rule_out(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical rule as the API shows it (yuan strings)."""
    if rule["type"] == "fixed":
        return {"type": "fixed", "amount": format_yuan(rule["amount"])}
    if rule["type"] == "by_level":
        return {"type": "by_level", "amounts": {k: format_yuan(v) for k, v in rule["amounts"].items()}}
    return {
        "type": "by_province",
        "in_province": format_yuan(rule["in_province"]),
        "out_of_province": format_yuan(rule["out_of_province"]),
    }


@dataclass(frozen=True)
class Candidate:
    """What the rules need to know about a student."""

    level: str
    categories: tuple[str, ...]
    university_province: str
    household_province: str
    year_of_study: int = 1  # the application's academic year counted from the enrolment's (1: a freshman)


@dataclass(frozen=True)
class ProgramRules:
    rule: Mapping[str, Any]  # canonical (normalize_rule)
    eligible_categories: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    quota: int | None = None
    budget: int | None = None  # fen
    opens_on: date | None = None
    closes_on: date | None = None
    first_year_only: bool = False


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Decision:
    amount: int  # fen; 0 when the rule gives none
    rule_note: str
    reasons: list[Reason] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not self.reasons


def rule_amount(rule: Mapping[str, Any], c: Candidate) -> tuple[int, str]:
    """The amount the rule gives this student (0 if none) and a note naming the part of the rule used."""
    if rule["type"] == "fixed":
        return rule["amount"], "fixed"
    if rule["type"] == "by_level":
        return rule["amounts"].get(c.level, 0), f"by_level:{c.level}"
    if c.university_province == c.household_province:
        return rule["in_province"], "by_province:in_province"
    return rule["out_of_province"], "by_province:out_of_province"


def decide(
    p: ProgramRules, c: Candidate, applied_on: date, *, taken_persons: int = 0, taken_amount: int = 0
) -> Decision:
    """Whether the student may apply, with every reason why not. `taken_*`: this year's live applications."""
    amount, note = rule_amount(p.rule, c)
    reasons: list[Reason] = []
    if p.opens_on is not None and applied_on < p.opens_on:
        reasons.append(Reason("window", f"申请期自 {p.opens_on} 开始。", f"Applications open on {p.opens_on}."))
    if p.closes_on is not None and applied_on > p.closes_on:
        reasons.append(Reason("window", f"申请期已于 {p.closes_on} 截止。", f"Applications closed on {p.closes_on}."))
    if p.levels and c.level not in p.levels:
        allowed = "、".join(LEVELS_ZH.get(x, x) for x in p.levels)
        reasons.append(
            Reason(
                "level",
                f"本项目只资助{allowed}学生，该生为{LEVELS_ZH.get(c.level, c.level)}。",
                f"The programme is for {', '.join(p.levels)} students, not {c.level}.",
            )
        )
    if p.first_year_only and c.year_of_study != 1:
        reasons.append(
            Reason(
                "first_year",
                f"本项目只资助新生（入学第一学年），该生本学年为第 {c.year_of_study} 学年。",
                f"The programme is for first-year students; this is the student's year {c.year_of_study}.",
            )
        )
    if p.eligible_categories and not set(c.categories) & set(p.eligible_categories):
        allowed = "、".join(CATEGORIES_ZH.get(x, x) for x in p.eligible_categories)
        reasons.append(
            Reason(
                "category",
                f"本项目只资助以下困难类别的学生：{allowed}；该生不属于其中任何一类。",
                f"The student is in none of the eligible categories {list(p.eligible_categories)}.",
            )
        )
    if amount <= 0:
        reasons.append(
            Reason(
                "rule",
                f"资助标准中没有{LEVELS_ZH.get(c.level, c.level)}学生的金额。",
                f"The programme's rule gives no amount for a {c.level} student.",
            )
        )
    if p.quota is not None and taken_persons >= p.quota:
        reasons.append(
            Reason(
                "quota",
                f"本项目本学年名额 {p.quota} 人已满。",
                f"The programme's quota of {p.quota} for the year is taken.",
            )
        )
    if p.budget is not None and amount > 0 and taken_amount + amount > p.budget:
        left = max(0, p.budget - taken_amount)
        reasons.append(
            Reason(
                "budget",
                f"本项目本学年预算 {format_yuan(p.budget)} 元，剩余 {format_yuan(left)} 元，"
                f"不足 {format_yuan(amount)} 元。",
                f"The budget {format_yuan(p.budget)} has {format_yuan(left)} left, less than {format_yuan(amount)}.",
            )
        )
    return Decision(amount, note, reasons)


def notice_ends_on(starts_on: date, notice_days: int) -> date:
    """A notice runs `notice_days` calendar days, the first day counted: 7 days from the 1st end on the 7th."""
    if notice_days < 1:
        raise ValueError("a notice lasts at least one day")
    return starts_on + timedelta(days=notice_days - 1)


def notice_has_ended(ends_on: date, as_of: date) -> bool:
    """The last day is still a day of the notice: it has ended only on the day after."""
    return as_of > ends_on


def receipt_number(year: int, seq: int, series: str = RECEIPT_SERIES) -> str:
    """JZ-2026-000123: series, year, a six-digit serial gapless within the year."""
    if not 1 <= seq <= 999_999:
        raise ValueError(f"receipt serial {seq} out of range")
    return f"{series}-{year:04d}-{seq:06d}"


def missing_serials(serials: Iterable[int]) -> list[int]:
    """The gaps in a year's serials (for checks and tests): numbers from 1 to the highest not present."""
    seen = set(serials)
    return [n for n in range(1, max(seen, default=0) + 1) if n not in seen]
