"""Money in integer fen: strict parsing, formatting, the one rounding rule, capitals."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.money import (
    MAX_FEN,
    MoneyFormatError,
    format_wan,
    format_yuan,
    parse_yuan,
    round_half_up,
    split_residue_last,
    to_capitals,
)

# No example database: tests must not leave a .hypothesis folder in the repository.
FAST = settings(max_examples=150, deadline=None, database=None)
fen_in_range = st.integers(min_value=-MAX_FEN, max_value=MAX_FEN)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("16000", 1_600_000),
        ("16000.5", 1_600_050),
        ("16000.50", 1_600_050),
        ("0.01", 1),
        ("0", 0),
        ("0.00", 0),
        ("  12.3\n", 1230),
        ("\t7.05 ", 705),
        ("100000", 10_000_000),
    ],
)
def test_parse_yuan_valid(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(("text", "fen"), [("-12.30", -1230), ("-0.01", -1), ("-0", 0), ("5", 500)])
def test_parse_yuan_negative_only_when_allowed(text: str, fen: int) -> None:
    assert parse_yuan(text, allow_negative=True) == fen


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1 000", "invalid_format"),
        ("+5", "invalid_format"),
        ("1e3", "invalid_format"),
        ("1E3", "invalid_format"),
        ("1,000", "invalid_format"),
        ("1.005", "too_many_decimals"),
        ("0.001", "too_many_decimals"),
        ("16000.500", "too_many_decimals"),
        ("NaN", "invalid_format"),
        ("nan", "invalid_format"),
        ("Infinity", "invalid_format"),
        ("inf", "invalid_format"),
        ("１６０００", "invalid_format"),
        ("٣", "invalid_format"),
        (".5", "invalid_format"),
        ("5.", "invalid_format"),
        ("0100", "invalid_format"),
        ("--1", "invalid_format"),
        ("12.3.4", "invalid_format"),
        ("\u3000100", "invalid_format"),
        ("0x10", "invalid_format"),
        ("1_000", "invalid_format"),
        ("¥100", "invalid_format"),
        ("-5", "negative"),
        ("-0.01", "negative"),
        (str(MAX_FEN // 100 + 1), "too_large"),
        ("9" * 5000, "too_large"),
    ],
)
def test_parse_yuan_rejects(text: str, code: str) -> None:
    with pytest.raises(MoneyFormatError) as info:
        parse_yuan(text)
    err = info.value
    assert err.code == code
    assert isinstance(err, ValueError)
    assert str(err) == err.message_en
    assert err.message_zh and err.message_en and err.message_zh != err.message_en


def test_parse_yuan_limit_is_inclusive() -> None:
    assert parse_yuan(format_yuan(MAX_FEN)) == MAX_FEN
    assert parse_yuan(format_yuan(-MAX_FEN), allow_negative=True) == -MAX_FEN
    with pytest.raises(MoneyFormatError):
        parse_yuan(format_yuan(MAX_FEN + 1))


@pytest.mark.parametrize("value", [16000, 16000.0, None, b"16000", Decimal("1")])
def test_parse_yuan_requires_str(value: object) -> None:
    with pytest.raises(TypeError):
        parse_yuan(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (1_600_000, "16000.00"),
        (5, "0.05"),
        (-1230, "-12.30"),
        (0, "0.00"),
        (-5, "-0.05"),
        (100, "1.00"),
        (MAX_FEN, "10000000000000.00"),
    ],
)
def test_format_yuan(fen: int, text: str) -> None:
    assert format_yuan(fen) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7),
        (-7, -7),
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(5, 2), 3),
        (Fraction(-5, 2), -3),
        (Fraction(1, 3), 0),
        (Fraction(2, 3), 1),
        (Fraction(-2, 3), -1),
        (Fraction(-1, 3), 0),
        (Fraction(10**30 + 1, 2), 10**30 // 2 + 1),
        (Decimal("2.5"), 3),
        (Decimal("-2.5"), -3),
        (Decimal("2.49999999999999999999999999999999999"), 2),
        (Decimal("0.5"), 1),
        (Decimal("-0.0"), 0),
        (Decimal("1E+40"), 10**40),
        (Decimal("123456789012345678901234567890.5"), 123456789012345678901234567891),
    ],
)
def test_round_half_up_table(value: int | Decimal | Fraction, expected: int) -> None:
    assert round_half_up(value) == expected


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")])
def test_round_half_up_rejects_non_finite(value: Decimal) -> None:
    with pytest.raises(ValueError):
        round_half_up(value)


@pytest.mark.parametrize("value", ["1", None, complex(1, 0)])
def test_round_half_up_rejects_other_types(value: object) -> None:
    with pytest.raises(TypeError):
        round_half_up(value)  # type: ignore[arg-type]


def test_split_residue_last_contract_example() -> None:
    # The DOMAIN worked example: 20,000.00 in 11 instalments.
    assert split_residue_last(2_000_000, 11) == [181_818] * 10 + [181_820]
    assert split_residue_last(-2_000_000, 11) == [-181_818] * 10 + [-181_820]
    assert split_residue_last(100, 1) == [100]
    assert split_residue_last(0, 3) == [0, 0, 0]
    assert split_residue_last(1, 10) == [0] * 9 + [1]


def test_split_residue_last_refuses_a_negative_last_instalment() -> None:
    with pytest.raises(ValueError):
        split_residue_last(5, 7)  # six of 1 fen would leave -1
    with pytest.raises(ValueError):
        split_residue_last(100, 0)


@pytest.mark.parametrize(
    ("fen", "capitals"),
    [
        (7_750_000, "柒万柒仟伍佰元整"),
        (1_600_000, "壹万陆仟元整"),
        (105, "壹元零伍分"),
        (1_000_005, "壹万元零伍分"),
        (0, "零元整"),
        (1, "壹分"),
        (5, "伍分"),
        (10, "壹角"),
        (150, "壹元伍角"),
        (1005, "壹拾元零伍分"),
        (2_000_000, "贰万元整"),
        (181_818, "壹仟捌佰壹拾捌元壹角捌分"),
        (168_032, "壹仟陆佰捌拾元叁角贰分"),
        (10_700_053, "壹拾万柒仟元伍角叁分"),
        (10_010_000, "壹拾万零壹佰元整"),
        (100_100, "壹仟零壹元整"),
        (1_000_100_000, "壹仟万壹仟元整"),  # a group's trailing zeros are not read as 零
        # cn2an drops the 零 after 亿 here; money.to_capitals puts it back.
        (100_001_000_00, "壹亿零壹仟元整"),
        (100_000_001_00, "壹亿零壹元整"),
        (100_001_003_20, "壹亿零壹仟零叁元贰角"),
        (100_001_700_005_983, "壹万亿零壹仟柒佰万零伍拾玖元捌角叁分"),
        (MAX_FEN, "壹拾万亿元整"),
    ],
)
def test_to_capitals(fen: int, capitals: str) -> None:
    assert to_capitals(fen) == capitals


def test_to_capitals_rejects_negative_and_huge() -> None:
    with pytest.raises(ValueError):
        to_capitals(-1)
    with pytest.raises(ValueError):
        to_capitals(MAX_FEN + 1)


_DIGITS = "零壹贰叁肆伍陆柒捌玖"


def _group(n: int) -> str:
    """One 4-digit group (0 < n < 10000), 零 for inner zeros only."""
    out, pending_zero = "", False
    for i, ch in enumerate(f"{n:04d}"):
        if ch == "0":
            pending_zero = pending_zero or bool(out)
            continue
        out += ("零" if pending_zero else "") + _DIGITS[int(ch)] + ("仟", "佰", "拾", "")[i]
        pending_zero = False
    return out


def _integer(n: int) -> str:
    """Independent oracle: 零 marks a skipped group or a group that does not start at 仟."""
    if n >= 10**8:
        high, low = divmod(n, 10**8)
        zero = "零" if low and (low < 10**7 or high % 10**4 == 0) else ""
        return _integer(high) + "亿" + zero + (_integer(low) if low else "")
    high, low = divmod(n, 10**4)
    text = _group(high) + "万" if high else ""
    return text + ("零" if high and low and low < 1000 else "") + (_group(low) if low else "")


def _oracle_capitals(fen: int) -> str:
    yuan, rest = divmod(fen, 100)
    jiao, fen_digit = divmod(rest, 10)
    text = _integer(yuan) + "元" if yuan else ""
    if not rest:
        return (text or "零元") + "整"
    text += _DIGITS[jiao] + "角" if jiao else ""
    return text + (("零" if yuan and not jiao else "") + _DIGITS[fen_digit] + "分" if fen_digit else "")


# Sparse digits reach the 零 rules far more often than uniform integers do.
sparse_fen = st.lists(st.sampled_from("0000000123456789"), min_size=1, max_size=16).map(
    lambda ds: min(int("".join(ds)), MAX_FEN)
)


@FAST
@given(st.one_of(sparse_fen, st.integers(min_value=0, max_value=MAX_FEN)))
def test_to_capitals_matches_independent_oracle(fen: int) -> None:
    assert to_capitals(fen) == _oracle_capitals(fen)


@pytest.mark.parametrize(
    ("fen", "wan"),
    [
        (7_750_000, "7.75"),
        (50_500_000, "50.5"),
        (10_000_000, "10"),
        (0, "0"),
        (1_000_000, "1"),
        (5_000, "0.01"),
        (4_999, "0"),
        (-4_999, "0"),
        (-5_000, "-0.01"),
        (123_456_789, "123.46"),
        (101_000_000, "101"),
        (99_950_000, "99.95"),
        (99_995_000, "100"),
        (-50_500_000, "-50.5"),
    ],
)
def test_format_wan(fen: int, wan: str) -> None:
    assert format_wan(fen) == wan


def _float_calls() -> list[tuple[str, object]]:
    return [
        ("format_yuan", lambda x: format_yuan(x)),
        ("round_half_up", lambda x: round_half_up(x)),
        ("split_total", lambda x: split_residue_last(x, 2)),
        ("split_parts", lambda x: split_residue_last(100, x)),
        ("to_capitals", lambda x: to_capitals(x)),
        ("format_wan", lambda x: format_wan(x)),
        ("parse_yuan", lambda x: parse_yuan(x)),
    ]


@pytest.mark.parametrize(("name", "call"), _float_calls())
@pytest.mark.parametrize("value", [1.0, 0.5, 16000.0, float("nan"), True, False])
def test_floats_and_bools_are_refused(name: str, call, value: object) -> None:
    with pytest.raises(TypeError):
        call(value)


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(_float_calls()))
def test_any_float_is_refused(value: float, named_call) -> None:
    with pytest.raises(TypeError):
        named_call[1](value)


@FAST
@given(fen_in_range)
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_yuan(fen), allow_negative=True) == fen


_CANONICAL = re.compile(r"-?(0|[1-9][0-9]*)\.[0-9]{2}")


# Built from parts rather than st.from_regex, which costs seconds of Unicode tables on a cold run.
yuan_texts = st.builds(
    lambda minus, whole, decimals: f"{minus}{whole}{'.' if decimals else ''}{decimals}",
    st.sampled_from(["", "-"]),
    st.integers(0, 10**13 - 1),
    st.text(alphabet="0123456789", max_size=2),
)


@FAST
@given(yuan_texts)
def test_parse_then_format_is_canonical(text: str) -> None:
    fen = parse_yuan(text, allow_negative=True)
    out = format_yuan(fen)
    assert _CANONICAL.fullmatch(out)
    assert parse_yuan(out, allow_negative=True) == fen
    whole, _, decimals = text.partition(".")
    expected = f"{whole}.{decimals.ljust(2, '0')}"
    assert out == ("0.00" if fen == 0 else expected)


# Denominators 2^a * 5^b make the Fraction exactly representable as a Decimal.
exact_fractions = st.builds(
    lambda n, a, b: Fraction(n, 2**a * 5**b),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(0, 8),
    st.integers(0, 8),
)


@FAST
@given(exact_fractions)
def test_round_half_up_agrees_with_decimal_quantize(value: Fraction) -> None:
    with localcontext() as ctx:
        ctx.prec = 100
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        assert Fraction(exact) == value  # the conversion really was exact
        expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert round_half_up(value) == expected
    assert round_half_up(exact) == expected


@FAST
@given(st.fractions())
def test_round_half_up_is_nearest_with_halves_away_from_zero(value: Fraction) -> None:
    result = round_half_up(value)
    assert abs(result - value) <= Fraction(1, 2)
    if abs(result - value) == Fraction(1, 2):
        assert abs(result) > abs(value)
    assert round_half_up(-value) == -result


@FAST
@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=40))
def test_split_residue_last_sums_and_is_even(total: int, parts: int) -> None:
    each = round_half_up(Fraction(total, parts))
    last = total - each * (parts - 1)
    if (total >= 0 > last) or (total <= 0 < last):
        with pytest.raises(ValueError):
            split_residue_last(total, parts)
        return
    split = split_residue_last(total, parts)
    assert len(split) == parts
    assert sum(split) == total
    assert len(set(split[:-1])) <= 1
    assert all(x == each for x in split[:-1])
    assert abs(split[-1] - each) <= parts // 2 + 1


@given(st.integers(-(10**15), 10**15), st.integers(1, 10**12))
def test_round_half_up_with_divisor_matches_fraction(numerator, divisor):
    from fractions import Fraction

    assert round_half_up(numerator, divisor) == round_half_up(Fraction(numerator, divisor))


def test_round_half_up_divisor_must_be_positive_int():
    for bad in (0, -3, 2.0, True):
        with pytest.raises(TypeError):
            round_half_up(5, bad)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_grouped_is_format_yuan_with_thousands_separators(fen: int) -> None:
    from service.money import format_yuan_grouped

    grouped = format_yuan_grouped(fen)
    assert grouped.replace(",", "") == format_yuan(fen)
    whole = grouped.lstrip("-").split(".")[0]
    assert all(len(group) == 3 for group in whole.split(",")[1:]) and 1 <= len(whole.split(",")[0]) <= 3
