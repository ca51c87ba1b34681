"""Payment allocation: the order of DOMAIN.md, and that every fen lands somewhere exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans.servicing.allocation import ORDER, Dues, allocate


def test_worked_order():
    dues = Dues(
        penalty=500,
        overdue_interest=10_000,
        overdue_principal=181_818,
        current_interest=56_000,
        current_principal=181_818,
    )
    a = allocate(200_000, dues)
    assert (a.penalty, a.overdue_interest, a.overdue_principal, a.current_interest, a.credit) == (
        500,
        10_000,
        181_818,
        7_682,
        0,
    )
    assert allocate(1_000_000, dues).credit == 1_000_000 - dues.total


def test_nothing_due_is_all_credit():
    a = allocate(50_000, Dues())
    assert a.credit == 50_000 and a.principal == a.interest == a.penalty == 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_amounts(bad):
    with pytest.raises(ValueError):
        allocate(bad, Dues(penalty=1))


dues_st = st.builds(Dues, *(st.integers(0, 10**8) for _ in ORDER))


@given(st.integers(1, 10**9), dues_st)
def test_conservation_and_order(amount, dues):
    a = allocate(amount, dues)
    parts = [getattr(a, k) for k in ORDER]
    assert sum(parts) + a.credit == amount
    for k in ORDER:
        assert 0 <= getattr(a, k) <= getattr(dues, k)
    # a later bucket only gets money when every earlier one is full
    for i, k in enumerate(ORDER):
        if getattr(a, k) > 0:
            assert all(getattr(a, e) == getattr(dues, e) for e in ORDER[:i])
    assert a.credit == 0 or all(getattr(a, k) == getattr(dues, k) for k in ORDER)
