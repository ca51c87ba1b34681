"""The centre's contract number: county code, loan (academic) year and a 6-digit serial, 150430-2025-000123.

Pure: the format in one place, for signing (contracts.next_contract_number) and for the import, which accepts only
numbers of this form, of the centre's county and of the row's academic year (finding 19 of issue 16).
"""

from __future__ import annotations

import re
from typing import NamedTuple

CONTRACT_NO = re.compile(r"([0-9]{6})-([0-9]{4})-([0-9]{6})")
MAX_SERIAL = 999_999  # six digits: the series of a county and year never grows a seventh


class ContractNumber(NamedTuple):
    county: str
    year: int
    serial: int


def contract_number(county: str, year: int, seq: int) -> str:
    """County code, loan year and a 6-digit sequence: 150430-2025-000123."""
    if not 1 <= seq <= MAX_SERIAL:
        raise ValueError(f"contract serial {seq} is outside 1..{MAX_SERIAL}")
    return f"{county}-{year}-{seq:06d}"


def parse_contract_number(text: str) -> ContractNumber | None:
    """The parts of a number of the centre's form; None for any other text."""
    m = CONTRACT_NO.fullmatch(text)
    return ContractNumber(m[1], int(m[2]), int(m[3])) if m else None
