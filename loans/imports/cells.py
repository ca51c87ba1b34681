"""The contract spreadsheet's cell parsers: a cell as python-calamine gives it (str, float, bool, date or
datetime) to a typed value, or a CellError a clerk can act on.

Excel keeps every number as a binary double, so money is turned into fen through its decimal text (never by
arithmetic on the float), and an ID number that Excel stored as a number has already lost its last digits (and any
X): that is reported, not guessed at. Messages are for clerks: Chinese first, English alongside.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from loans.origination.numbers import CONTRACT_NO
from service.edge import has_control_character, normalise
from service.identity import IdentityError, normalize_id_number, normalize_phone
from service.money import MoneyFormatError, parse_yuan
from service.registry import vocabulary
from service.registry.provinces import normalize_province

LEVEL_LABELS = vocabulary.LEVELS_ZH
LEVELS = {
    **{zh: code for code, zh in LEVEL_LABELS.items()},
    "高职": "junior_college",
    "硕士": "graduate",
    "博士": "graduate",
}
CATEGORY_LABELS = vocabulary.CATEGORIES_ZH
CATEGORIES = {zh: code for code, zh in CATEGORY_LABELS.items()}
RELATIONSHIP_LABELS = vocabulary.RELATIONSHIPS_ZH
RELATIONSHIPS = {RELATIONSHIP_LABELS[code]: code for code in vocabulary.CO_BORROWER_RELATIONSHIPS}
_CATEGORY_SPLIT = re.compile(r"[、;；,，\s]+")
_DATE_TEXT = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_DATE_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YEAR_TEXT = re.compile(r"(\d{4})(?:\s*[-—–/至]\s*(\d{4}))?\s*(?:学年|年)?")


class CellError(ValueError):
    """One cell's value cannot be used; carries the clerk's message in both languages."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh, self.message_en = message_zh, message_en


def _whole(value: float) -> str | None:
    """A float that holds a whole number as its digits ("10126"), else None."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else None


def text(limit: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, float):  # a code typed as a number: 10126 arrives as 10126.0
            value = _whole(value) or repr(value)
        elif not isinstance(value, str):
            value = str(value)
        if has_control_character(value, multiline=False):  # as at every other edge (service.edge)
            raise CellError("含有不允许的控制字符", "Contains a control character")
        value = normalise(value)
        if len(value) > limit:
            raise CellError(f"内容过长（最多 {limit} 个字）", f"Too long (at most {limit} characters)")
        return value

    return parse


def id_number(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise CellError(
            "身份证号被 Excel 存成了数字，末位的 X 和最后几位数字已经丢失，无法恢复；请把该列设为“文本”格式后重新录入",
            "The ID number was stored by Excel as a number, which loses its last digits and any "
            "trailing X; format the column as text and enter it again",
        )
    try:
        return normalize_id_number(str(value))
    except IdentityError as exc:
        raise CellError(exc.message_zh, exc.message_en) from None


def phone(value: Any) -> str:
    if isinstance(value, float):
        value = _whole(value) or repr(value)
    try:
        return normalize_phone(str(value))
    except IdentityError as exc:
        raise CellError(exc.message_zh, exc.message_en) from None


def province(value: Any) -> str:
    short = normalize_province(str(value))
    if short is None:
        raise CellError(f"“{value}”不是省级行政区名称", f"{value!r} is not a province of China")
    return short


def _choice(mapping: dict[str, str], what_zh: str, what_en: str) -> Callable[[Any], str]:
    codes = set(mapping.values())
    allowed = "、".join(dict.fromkeys(mapping))

    def parse(value: Any) -> str:
        key = str(value).strip()
        found = mapping.get(key) or (key if key in codes else None)
        if found is None:
            raise CellError(
                f"{what_zh}“{key}”无效，应为：{allowed}", f"Unknown {what_en} {key!r}; use one of {allowed}"
            )
        return found

    return parse


level = _choice(LEVELS, "学历层次", "level")
relationship = _choice(RELATIONSHIPS, "关系", "relationship")


def categories(value: Any) -> tuple[str, ...]:
    found = set()
    for part in _CATEGORY_SPLIT.split(str(value).strip()):
        if not part:
            continue
        code = CATEGORIES.get(part) or (part if part in CATEGORY_LABELS else None)
        if code is None:
            raise CellError(
                f"困难类别“{part}”无效，应为：{'、'.join(CATEGORIES)}（多个用“、”分隔）",
                f"Unknown hardship category {part!r}; use {'/'.join(CATEGORIES)} separated by 、",
            )
        found.add(code)
    return tuple(sorted(found))


def _integer(value: Any) -> int | None:
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def study_years(value: Any) -> int:
    n = _integer(value)
    if n is None or not 1 <= n <= 8:
        raise CellError(f"学制“{value}”应为 1 到 8 的整数", f"Study years {value!r} must be a whole number 1-8")
    return n


def academic_year(value: Any) -> int:
    n = _integer(value)
    if n is None and isinstance(value, str) and (m := _YEAR_TEXT.fullmatch(value.strip())):
        n = int(m[1]) if m[2] is None or int(m[2]) == int(m[1]) + 1 else None
    if n is None or not 2000 <= n <= 2100:
        raise CellError(
            f"贷款学年“{value}”应为四位年份，如 2024", f"Academic year {value!r} must be a year such as 2024"
        )
    return n


def _date_or_none(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def a_date(value: Any) -> date:
    if type(value) is date:
        return value
    if isinstance(value, datetime):
        return value.date()
    found = None
    if isinstance(value, float) and value.is_integer():
        n = int(value)
        if 19000101 <= n <= 21001231:  # 20240901 typed as a number
            found = _date_or_none(n // 10000, n // 100 % 100, n % 100)
        elif 1 <= n <= 73050:  # a date cell that lost its format: the 1900 date system's serial number
            found = date.fromordinal(date(1899, 12, 30).toordinal() + n)
    elif isinstance(value, str):
        s = value.strip()
        m = _DATE_TEXT.fullmatch(s) or _DATE_DIGITS.fullmatch(s)
        if m:
            found = _date_or_none(int(m[1]), int(m[2]), int(m[3]))
    if found is None or not 1950 <= found.year <= 2100:
        raise CellError(
            f"日期“{value}”无法识别，请写成 2024-09-01 或设为日期格式",
            f"Date {value!r} not understood; write 2024-09-01 or use a date cell",
        )
    return found


def money(value: Any) -> int:
    """Fen from a cell; 2 decimals at most. A float is read through its shortest decimal text."""
    if isinstance(value, float):
        whole = _whole(value)
        if whole is not None and value >= 0:
            return int(whole) * 100
        textual = whole or repr(value)
        if "." in textual and len(textual.split(".")[1]) > 2 and "e" not in textual:
            # Excel shows 15 significant digits; 1234.5600000000001 is what it displays as 1234.56.
            textual = format(value, ".15g")
        value = textual
    try:
        return parse_yuan(str(value))
    except MoneyFormatError as exc:
        raise CellError(exc.message_zh, exc.message_en) from None


_contract_text = text(32)


def contract_no(value: Any) -> str:
    """The centre's own form only (loans.origination.numbers): county-year-6-digit serial."""
    if value.__class__ is str and CONTRACT_NO.fullmatch(s := value.strip()):
        return s  # the usual case, and one a cell per row: the pattern also bounds the length
    s = _contract_text(value)
    if not CONTRACT_NO.fullmatch(s):
        raise CellError(
            "合同编号须为本中心格式：县代码-年份-6位序号，如 150430-2024-000001",
            "A contract number must have the centre's form: county-year-6-digit serial, e.g. 150430-2024-000001",
        )
    return s
