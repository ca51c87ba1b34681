"""Money as integer fen (分): parsing, formatting, rounding and Chinese capitals.

Every amount in Zizhu is an ``int`` number of fen. Floats are refused everywhere
(``TypeError``) because a binary float cannot hold 0.1 yuan exactly and a single
stray float silently poisons every sum it touches. ``bool`` is refused too: it is an
``int`` subclass, so ``True`` would otherwise pass as one fen.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import TypeAlias

__all__ = [
    "MAX_FEN",
    "Fen",
    "MoneyFormatError",
    "format_wan",
    "format_yuan",
    "parse_yuan",
    "round_half_up",
    "split_residue_last",
    "to_capitals",
]

Fen: TypeAlias = int
"""An amount of money in fen (1 yuan = 100 fen). Plain ``int``; the alias documents intent."""

MAX_FEN: Fen = 10**15
"""Largest magnitude accepted from text (10 trillion yuan).

Far above anything a county centre handles; it exists so that a typo or a hostile
input of thousands of digits fails fast with a clear message instead of flowing on.
"""

# ASCII-only on purpose: \d would also accept full-width and other Unicode digits.
# Leading zeros are rejected ("0100") because they usually mean a mistyped field,
# and a bare ".5" or "5." is rejected because forms and exports never write it.
_YUAN_RE = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?")
_ASCII_WS = " \t\r\n\f\v"
_MAX_INT_DIGITS = len(str(MAX_FEN // 100))


class MoneyFormatError(ValueError):
    """A money string could not be read. ``str(e)`` is the English message."""

    def __init__(self, message_zh: str, message_en: str, *, code: str = "invalid_format") -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


def _require_int(value: object, name: str = "fen") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int amount of fen, not {type(value).__name__}")
    return value


def parse_yuan(text: str, *, allow_negative: bool = False) -> Fen:
    """Parse a decimal yuan string ("16000", "16000.5", "0.01") into fen, strictly.

    Accepted: optional "-" (only with ``allow_negative``), "0" or digits without a
    leading zero, then optionally "." and one or two digits. Surrounding ASCII
    whitespace is stripped. Everything else is rejected with a ``MoneyFormatError``:
    "+", exponents, thousands separators, full-width digits, NaN/Infinity, ".5", "5.",
    and more than two decimals (never silently rounded: "0.005" is a data error).
    """
    if not isinstance(text, str):
        raise TypeError(f"amount text must be str, not {type(text).__name__}")
    stripped = text.strip(_ASCII_WS)
    if not stripped:
        raise MoneyFormatError("金额不能为空", "Amount is empty", code="empty")
    match = _YUAN_RE.fullmatch(stripped)
    # Echo the input back in the message, but never a whole pasted document.
    shown = stripped if len(stripped) <= 32 else stripped[:32] + "…"
    if match is None:
        raise MoneyFormatError(
            f"金额格式不正确：{shown!r}，应为如 16000 或 16000.50 的数字",
            f"Invalid amount {shown!r}: expected a number such as 16000 or 16000.50",
            code="invalid_format",
        )
    sign, whole, decimals = match.groups()
    decimals = decimals or ""
    if len(decimals) > 2:
        raise MoneyFormatError(
            f"金额最多两位小数（到分）：{shown!r}",
            f"Amount has more than 2 decimals (fen is the smallest unit): {shown!r}",
            code="too_many_decimals",
        )
    if sign and not allow_negative:
        raise MoneyFormatError("金额不能为负数", "Amount must not be negative", code="negative")
    # Length check first so that int() never sees thousands of digits.
    if len(whole) > _MAX_INT_DIGITS:
        raise _too_large()
    fen = int(whole) * 100 + int(decimals.ljust(2, "0"))
    if fen > MAX_FEN:
        raise _too_large()
    return -fen if sign else fen


def _too_large() -> MoneyFormatError:
    return MoneyFormatError(
        f"金额过大（上限 {format_yuan(MAX_FEN)} 元）",
        f"Amount too large (limit {format_yuan(MAX_FEN)} yuan)",
        code="too_large",
    )


def format_yuan(fen: Fen) -> str:
    """Format fen as yuan with exactly two decimals: 1600000 -> "16000.00", -1230 -> "-12.30".

    No thousands separators: the result must parse back with ``parse_yuan``.
    """
    _require_int(fen)
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{rest:02d}"


def format_yuan_grouped(fen: Fen) -> str:
    """For paper, not for parsing: 2000000 -> "20,000.00", -123456 -> "-1,234.56" (thousands separators)."""
    whole, _, cents = format_yuan(fen).partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-')):,}.{cents}"


def round_half_up(value: int | Decimal | Fraction, divisor: int = 1) -> Fen:
    """Round an exact amount of fen (``value / divisor``) to a whole fen, halves away from zero.

    THE rounding function of the project (interest shares, instalments, reports).
    Works on exact rationals only: ``Decimal`` is converted to ``Fraction`` without loss,
    so no decimal context precision can truncate a large value behind our back. The
    integer ``divisor`` lets hot paths (the schedule generator) hand over an exact ratio
    of integers without building a Fraction first.
    Examples: Fraction(1, 2) -> 1, Fraction(-1, 2) -> -1, round_half_up(5, 2) -> 3.
    """
    if isinstance(value, bool) or isinstance(divisor, bool):
        raise TypeError("round_half_up does not accept bool")
    if not isinstance(divisor, int) or divisor <= 0:
        raise TypeError("round_half_up's divisor must be a positive int")
    if isinstance(value, int):
        if divisor == 1:
            return value
        numerator, denominator = value, divisor
    else:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"cannot round a non-finite Decimal: {value}")
            value = Fraction(value)
        if not isinstance(value, Fraction):
            raise TypeError(f"round_half_up takes int, Decimal or Fraction, not {type(value).__name__}")
        numerator, denominator = value.numerator, value.denominator * divisor
    # The denominator is positive, so the sign lives in the numerator.
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return -quotient if numerator < 0 else quotient


def split_residue_last(total: Fen, parts: int) -> list[Fen]:
    """Split ``total`` into ``parts`` instalments, the rounding residue in the last one.

    Each instalment but the last is round_half_up(total / parts); the last is whatever
    is left, so the sum is exactly ``total`` (the contract rule: "the residue in the
    last"). split_residue_last(2_000_000, 11) -> [181818] * 10 + [181820].

    Raises ValueError if the rule would give a last instalment of the opposite sign to
    the total (e.g. 5 fen in 7 parts: six of 1 fen and a last of -1), because a
    negative instalment is never a meaningful schedule line.
    """
    _require_int(total, "total")
    _require_int(parts, "parts")
    if parts < 1:
        raise ValueError(f"parts must be at least 1, got {parts}")
    each = round_half_up(Fraction(total, parts))
    last = total - each * (parts - 1)
    if (total >= 0 and last < 0) or (total <= 0 and last > 0):
        raise ValueError(f"cannot split {total} fen into {parts} instalments: the last one would be {last}")
    return [each] * (parts - 1) + [last]


def to_capitals(fen: Fen) -> str:
    """Amount in Chinese financial capitals (大写) for receipts: 7750000 -> "柒万柒仟伍佰元整".

    Built on ``cn2an.an2cn(..., "rmb")`` fed with the exact "yuan.ff" string (never a
    float). cn2an already gives the receipt forms "零元整", "壹元零伍分", "壹万元零伍分",
    "伍分" (under one yuan: no "零元"), and "壹元伍角" (no 整 after 角, which the payment
    rules allow). The one defect found: when a whole four-digit group below 亿 is zero
    and the next group starts at 仟, cn2an drops the 零 ("壹亿壹仟元整" for 100,001,000
    yuan, which reads like 1.1亿); we put it back ("壹亿零壹仟元整").
    """
    _require_int(fen)
    if fen < 0:
        raise ValueError("cannot write a negative amount in capitals (负数金额不能转大写)")
    if fen > MAX_FEN:
        raise ValueError(f"amount too large for capitals: {fen} fen")
    import cn2an  # here, not at the top: a third of a second to import, and few callers need it

    text = cn2an.an2cn(format_yuan(fen), "rmb")
    yuan = fen // 100
    above_yi, below_yi = divmod(yuan, 10**8)
    # 零 is due after 亿 when the next digit down (仟万) is zero, or when the 亿 group
    # itself is zero (e.g. 1万亿 + 1700万: the skipped 亿 group must be read as 零).
    if above_yi and below_yi and (below_yi < 10**7 or above_yi % 10**4 == 0):
        cut = text.rindex("亿") + 1
        if text[cut] != "零":
            text = text[:cut] + "零" + text[cut:]
    return text


def format_wan(fen: Fen) -> str:
    """Amount in 万元 as county reports write it: up to 2 decimals, trailing zeros dropped.

    7_750_000 fen (77,500 yuan) -> "7.75"; 50_500_000 -> "50.5"; 10_000_000 -> "10".
    Rounded with round_half_up to 0.01 万元 (100 yuan).
    """
    _require_int(fen)
    # 1 万元 = 1_000_000 fen, so hundredths of 万元 are units of 10_000 fen.
    hundredths = round_half_up(Fraction(fen, 10_000))
    sign = "-" if hundredths < 0 else ""
    whole, rest = divmod(abs(hundredths), 100)
    if rest == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{rest:02d}".rstrip("0")
