"""The 15th/20th/November rule, every day of a year, and the borrower's accrued interest."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans.servicing.prepayment import Quote, accrued_borrower_interest, execution_date


@pytest.mark.parametrize(
    "requested,executed",
    [
        ("2030-03-01", "2030-03-20"),
        ("2030-03-15", "2030-03-20"),
        ("2030-03-16", "2030-04-20"),
        ("2030-10-01", "2030-10-20"),
        ("2030-10-15", "2030-10-20"),
        ("2030-10-16", "2030-12-20"),
        ("2030-11-01", "2030-12-20"),
        ("2030-11-30", "2030-12-20"),
        ("2030-12-15", "2030-12-20"),
        ("2030-12-16", "2031-01-20"),
        ("2030-09-30", "2030-10-20"),
    ],
)
def test_execution_dates(requested, executed):
    assert execution_date(date.fromisoformat(requested)) == date.fromisoformat(executed)


@given(st.dates(date(2020, 1, 1), date(2060, 12, 31)))
def test_execution_is_a_20th_soon_after_and_never_in_november(day):
    ex = execution_date(day)
    assert ex.day == 20 and ex.month != 11
    assert day <= ex if day.day <= 15 else day < ex
    assert (ex - day).days <= 65


def test_accrued_interest_only_after_the_subsidy():
    # everything paid before the subsidy ends costs no interest
    assert accrued_borrower_interest(2_000_000, 28_000, date(2027, 12, 20), date(2028, 8, 31), date(2028, 8, 31)) == 0
    # 2028-09-01 .. 2028-10-01 (30 days) on 20,000 at 2.80%: 46.03
    assert (
        accrued_borrower_interest(2_000_000, 28_000, date(2027, 12, 20), date(2028, 10, 1), date(2028, 8, 31)) == 4603
    )
    q = Quote(date(2028, 10, 1), 2_000_000, 0, 0, 4603, 10_000)
    assert q.total == 2_000_000 + 4603 - 10_000


def test_quote_never_negative():
    assert Quote(date(2030, 1, 1), 100, 0, 0, 0, 1_000).total == 0
