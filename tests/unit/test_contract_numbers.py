"""The centre's contract number format (loans.origination.numbers): six digits of serial, never seven."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans.origination.numbers import MAX_SERIAL, ContractNumber, contract_number, parse_contract_number


def test_the_form_and_its_parts() -> None:
    assert contract_number("150430", 2025, 123) == "150430-2025-000123"
    assert parse_contract_number("150430-2025-000123") == ContractNumber("150430", 2025, 123)
    for other in (
        "150430-2025-1234567",
        "150430-2025-12345",
        "HT-2025-000001",
        "150430-25-000001",
        " 150430-2025-000001",
    ):
        assert parse_contract_number(other) is None


def test_a_serial_outside_six_digits_is_no_number() -> None:
    for seq in (0, MAX_SERIAL + 1):
        with pytest.raises(ValueError):
            contract_number("150430", 2025, seq)


@given(st.integers(1, MAX_SERIAL), st.integers(2007, 2099))
def test_every_number_reads_back(seq: int, year: int) -> None:
    number = contract_number("150430", year, seq)
    assert len(number) == 18 and parse_contract_number(number) == ContractNumber("150430", year, seq)
