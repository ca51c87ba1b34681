"""Personal identifiers: validation, masking for display, and redaction for logs.

Resident ID numbers, phones and bank cards are personal data: stored once, shown
masked, never logged. Validation leans on python-stdnum (its region table, cn.uscc, luhn);
the ID number's own checks are written out for speed, with stdnum's cn.ric as their reference in tests.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime
from typing import Literal

from stdnum import luhn, numdb
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, InvalidLength

__all__ = [
    "IdentityError",
    "id_birth_date",
    "id_region",
    "id_sex",
    "make_id_number",
    "mask_bank_card",
    "mask_email",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "normalize_bank_card",
    "normalize_id_number",
    "normalize_phone",
    "normalize_uscc",
    "redact",
]

_ASCII_WS = " \t\r\n\f\v"
# Explicit [0-9]: \d would let full-width digits through into stored identifiers.
_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
_PHONE_RE = re.compile(r"1[3-9][0-9]{9}")
_USCC_CHARS_RE = re.compile(r"[0-9A-Z]+")
_CARD_RE = re.compile(r"[0-9]{12,19}")
_EARLIEST_BIRTH_YEAR = 1900
_CHECK_CHARS = "10X98765432"  # GB 11643: the check character for each weighted sum mod 11


class IdentityError(ValueError):
    """An identifier failed validation. ``code`` is a stable slug; ``str(e)`` is English.

    Codes: empty, invalid_length, invalid_format, invalid_checksum, invalid_birth_date,
    invalid_region.
    """

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    return value.strip(_ASCII_WS)


@functools.lru_cache(maxsize=4096)
def _region_known(code: str) -> bool:
    """Whether stdnum's region table has ever listed this 6-digit code.

    Deliberately ignores the years a code was in use. stdnum's ric.validate requires
    the code to exist in the birth year, which rejects real people whose number was
    first issued after their county was renamed (e.g. 440305197501010015: born 1975,
    南山区 code from 1983/1990) - typical of co-borrowers born before the 1990s.
    """
    parts = numdb.get("cn/loc").info(code)
    return all(props for _, props in parts) and any("county" in p for _, p in parts)


def _check_digit(number: str) -> str:
    """The GB 11643 check character of the first 17 digits (any 18th character is ignored).

    The standard's sum is Σ digit × weight with weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, i.e.
    2^(17-i) mod 11, and the character is "10X98765432"[sum mod 11]. Reading the 17 digits as a
    base-13 number gives the same sum mod 11 in one C call (13 ≡ 2 mod 11): sum ≡ 2 × int(body, 13).
    tests/unit/test_identity_fast.py holds it to the weights and to stdnum.
    """
    return _CHECK_CHARS[2 * int(number[:17], 13) % 11]


def normalize_id_number(text: str, *, today: date | None = None) -> str:
    """Validate a resident ID number (GB 11643) and return its canonical 18-character form.

    Strips surrounding whitespace and upper-cases a trailing x. Checks, in this order so
    the officer gets the most specific message: length, characters, birth date (a real
    date, not after ``today``, not before 1900), check digit, region code.

    The checks are written out rather than left to stdnum's ric (whose generic cleaning
    made a call cost ~11 µs, most of an import's time per row); stdnum stays the reference
    that tests/unit/test_identity_fast.py compares this with.
    """
    number = _require_str(text, "ID number").upper()
    if not number:
        raise IdentityError("empty", "身份证号不能为空", "ID number is empty")
    if len(number) != 18:
        raise IdentityError(
            "invalid_length",
            f"身份证号应为18位，当前为{len(number)}位",
            f"ID number must have 18 characters, got {len(number)}",
        )
    if not _ID_RE.fullmatch(number):
        raise IdentityError(
            "invalid_format", "身份证号应为17位数字加1位数字或X", "ID number must be 17 digits followed by a digit or X"
        )
    try:
        birth = date.fromisoformat(number[6:14])  # YYYYMMDD, ISO 8601's basic form (Python 3.11)
    except ValueError:
        raise IdentityError(
            "invalid_birth_date",
            f"身份证号中的出生日期{number[6:14]}不存在",
            f"ID number contains an impossible birth date {number[6:14]}",
        ) from None
    if birth > (today or date.today()) or birth.year < _EARLIEST_BIRTH_YEAR:
        raise IdentityError(
            "invalid_birth_date",
            f"身份证号中的出生日期{birth.isoformat()}不合理（晚于今天或早于1900年）",
            f"ID number birth date {birth.isoformat()} is in the future or before 1900",
        )
    if _check_digit(number) != number[17]:
        raise IdentityError("invalid_checksum", "身份证号校验位错误", "ID number check digit is wrong")
    if not _region_known(number[:6]):
        raise IdentityError(
            "invalid_region",
            f"身份证号前6位{number[:6]}不是有效的行政区划代码",
            f"ID number region code {number[:6]} is not a known administrative division",
        )
    return number


def id_birth_date(id_number: str) -> date:
    """Birth date encoded in a valid ID number (validated first)."""
    number = normalize_id_number(id_number)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def id_sex(id_number: str) -> Literal["male", "female"]:
    """Sex encoded in the 17th character: odd is male, even is female."""
    number = normalize_id_number(id_number)
    return "male" if int(number[16]) % 2 else "female"


def id_region(id_number: str) -> str:
    """The 6-digit administrative division code at first issue (not where they live now)."""
    return normalize_id_number(id_number)[:6]


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """Build a valid ID number for demo data and tests: region + birth + 3-digit order code.

    The order code's parity sets the sex (odd = male). Raises IdentityError if the result
    would not pass ``normalize_id_number`` (unknown region, birth in the future).
    """
    if not isinstance(region, str) or not re.fullmatch(r"[0-9]{6}", region):
        raise ValueError(f"region must be 6 ASCII digits, got {region!r}")
    if isinstance(birth, datetime) or not isinstance(birth, date):
        raise TypeError("birth must be a datetime.date")
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise TypeError("sequence must be an int")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0..999, got {sequence}")
    body = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{sequence:03d}"
    return normalize_id_number(body + _check_digit(body))


def normalize_uscc(text: str) -> str:
    """Validate a unified social credit code (统一社会信用代码) of an organisation donor."""
    code = _require_str(text, "USCC").replace(" ", "").replace("-", "").upper()
    if not code:
        raise IdentityError("empty", "统一社会信用代码不能为空", "Unified social credit code is empty")
    if not _USCC_CHARS_RE.fullmatch(code):
        raise IdentityError(
            "invalid_format",
            "统一社会信用代码只能包含数字和大写字母",
            "Unified social credit code may contain only digits and capital letters",
        )
    try:
        return uscc.validate(code)
    except InvalidLength:
        raise IdentityError(
            "invalid_length",
            f"统一社会信用代码应为18位，当前为{len(code)}位",
            f"Unified social credit code must have 18 characters, got {len(code)}",
        ) from None
    except InvalidChecksum:
        raise IdentityError(
            "invalid_checksum", "统一社会信用代码校验位错误", "Unified social credit code check character is wrong"
        ) from None
    except ValueError:
        raise IdentityError(
            "invalid_format",
            "统一社会信用代码格式错误（前8位为数字，不含I、O、S、V、Z）",
            "Unified social credit code is malformed (first 8 digits; no I, O, S, V, Z)",
        ) from None


def normalize_bank_card(text: str) -> str:
    """Validate a bank card number: 12 to 19 digits after removing spaces, Luhn check."""
    card = _require_str(text, "bank card").replace(" ", "")
    if not card:
        raise IdentityError("empty", "银行卡号不能为空", "Bank card number is empty")
    if not _CARD_RE.fullmatch(card):
        raise IdentityError("invalid_format", "银行卡号应为12至19位数字", "Bank card number must be 12 to 19 digits")
    if not luhn.is_valid(card):
        raise IdentityError("invalid_checksum", "银行卡号校验位错误", "Bank card number check digit is wrong")
    return card


def _compact_phone(text: str) -> str:
    phone = text.strip(_ASCII_WS).replace(" ", "").replace("-", "")
    if phone.startswith("+86"):
        return phone[3:]
    if phone.startswith("86") and len(phone) == 13:
        return phone[2:]
    return phone


def normalize_phone(text: str) -> str:
    """Validate an 11-digit mainland mobile number; spaces, dashes and +86/86 are tolerated."""
    if text.__class__ is str and _PHONE_RE.fullmatch(text):
        return text  # already the canonical form, which nothing below would change
    phone = _compact_phone(_require_str(text, "phone"))
    if not phone:
        raise IdentityError("empty", "手机号不能为空", "Phone number is empty")
    if not _PHONE_RE.fullmatch(phone):
        raise IdentityError(
            "invalid_format",
            "手机号应为11位大陆手机号码（以13至19开头）",
            "Phone must be an 11-digit mainland mobile number starting with 13 to 19",
        )
    return phone


# Masking never raises: anything it cannot recognise is starred out completely,
# because showing an unrecognised value could show exactly what we meant to hide.
def _all_stars(value: object) -> str:
    return "*" * len(value) if isinstance(value, str) else "***"


def mask_id_number(value: str) -> str:
    """110105199001010023 -> 110105********0023 (region and last 4 stay visible)."""
    if not isinstance(value, str):
        return _all_stars(value)
    number = value.strip(_ASCII_WS).upper()
    if not _ID_RE.fullmatch(number):
        return _all_stars(number)
    return number[:6] + "*" * 8 + number[-4:]


_UNMASKED_ID_RE = re.compile(r"\d{15}")  # 15 digits in a row: an ID number (old or new) left in clear


def require_masked_id(value: str) -> str:
    """The guard for paper: an ID number about to be printed must be masked (a certificate, a receipt, a
    受助回执); only the auditor's cross-check export carries full numbers. ValueError otherwise."""
    if _UNMASKED_ID_RE.search(value):
        raise ValueError("an unmasked ID number is about to be printed; mask it first")
    return value


def mask_phone(value: str) -> str:
    """13812341234 -> 138****1234."""
    if not isinstance(value, str):
        return _all_stars(value)
    phone = _compact_phone(value)
    if not _PHONE_RE.fullmatch(phone):
        return _all_stars(phone)
    return phone[:3] + "****" + phone[-4:]


def _mask_card_digits(card: str) -> str:
    # First 6 (the bank's BIN) and last 4, but always at least 6 hidden: on a 12-digit
    # card "first 6 + last 4" would hide 2 digits, which the Luhn digit nearly reveals.
    shown_head = max(0, min(6, len(card) - 10))
    return card[:shown_head] + "*" * (len(card) - shown_head - 4) + card[-4:]


def mask_bank_card(value: str) -> str:
    """6222021234567890123 -> 622202*********0123 (first 6 and last 4)."""
    if not isinstance(value, str):
        return _all_stars(value)
    card = value.strip(_ASCII_WS).replace(" ", "")
    if not _CARD_RE.fullmatch(card):
        return _all_stars(card)
    return _mask_card_digits(card)


def mask_name(value: str) -> str:
    """For public notices: 张三 -> 张*, 张三丰 -> 张*丰, 欧阳娜娜 -> 欧**娜, 张 -> 张."""
    if not isinstance(value, str):
        return _all_stars(value)
    name = value.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_email(value: str) -> str:
    """zhang.san@example.com -> z***@example.com (the first letter and the domain)."""
    name, _, domain = value.partition("@")
    return f"{name[:1]}***@{domain}"


# An address as gateways and mail servers quote it; Unicode \w (names may be Chinese). The masked form no longer
# matches (a "*" before the @), so masking twice changes nothing.
_EMAIL_RE = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")


# One pass over the text. \d (Unicode) on purpose: full-width digits are personal data
# too. Only a digit is excluded before a match, not a letter, so "id110105..." is caught.
# The leading (?=\d) only makes non-digit positions fail fast (about twice as quick).
_REDACT_RE = re.compile(
    r"(?=\d)(?<!\d)(?:"
    r"(?P<id_sep>\d{6}[ -]\d{8}[ -]\d{3}[\dXx])(?!\d)"
    r"|(?P<phone_sep>1[3-9]\d[ -]\d{4}[ -]\d{4})(?!\d)"
    r"|(?P<card_sep>\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,3})?)(?!\d)"
    r"|(?P<id>\d{17}[Xx])"
    r"|(?P<run>\d{11,})"
    r")"
)
_SEPARATORS = str.maketrans("", "", " -")


def _ascii_digits(text: str) -> str:
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(c, c)) for c in text)


def _redact_match(match: re.Match[str]) -> str:
    digits = match.group().translate(_SEPARATORS)
    plain = _ascii_digits(digits)
    size = len(digits)
    if size == 18:
        # An 18-digit card masks to the same shape, so ID vs card need not be told apart.
        return digits[:6] + "*" * 8 + digits[-4:]
    if size == 11:
        if _PHONE_RE.fullmatch(plain):
            return digits[:3] + "****" + digits[-4:]
        return match.group()
    if size == 13 and plain.startswith("86") and _PHONE_RE.fullmatch(plain[2:]):
        return digits[:2] + digits[2:5] + "****" + digits[-4:]
    if size <= 19:
        return _mask_card_digits(digits)
    # Longer runs could hide an ID number anywhere inside; keep none of it.
    return "*" * size


def redact(text: str) -> str:
    """Mask every ID number, mobile phone, bank card or e-mail address in free text: the one masking function for
    text that may quote anyone (log lines, problem details, a gateway's reply kept with a message).

    Errs on the side of masking: any run of 12-19 digits is treated as a card without
    a Luhn check (some Chinese debit cards fail Luhn), so long order numbers or epoch
    milliseconds get masked too. Dates, amounts and numbers up to 11 digits are kept,
    except 11-digit mobile numbers.
    """
    if not isinstance(text, str):
        raise TypeError(f"redact expects str, not {type(text).__name__}")
    if "@" in text:  # first: an address made of digits (13812341234@sms.example) is masked as an address
        text = _EMAIL_RE.sub(lambda m: mask_email(m.group()), text)
    return _REDACT_RE.sub(_redact_match, text)
