"""Ledger entries must balance: property tests over the pure checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans.servicing.ledger import ACCOUNTS, Line, UnbalancedEntry, check_lines, disbursement_lines, mirror

amounts = st.integers(1, 10**12)


@given(st.lists(st.tuples(st.sampled_from(ACCOUNTS), amounts), min_size=1, max_size=6), st.sampled_from(ACCOUNTS))
def test_any_balanced_entry_passes_and_its_mirror_too(debits, credit_account):
    lines = [Line(a, debit=x) for a, x in debits] + [Line(credit_account, credit=sum(x for _, x in debits))]
    check_lines(lines)
    check_lines(mirror(lines))
    assert sum(l.debit for l in lines + mirror(lines)) == sum(l.credit for l in lines + mirror(lines))


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [Line("cash", debit=100), Line("principal", credit=99)],
        [Line("cash", debit=100, credit=100)],
        [Line("cash", debit=-1), Line("principal", credit=-1)],
        [Line("cash"), Line("principal")],
        [Line("nowhere", debit=1), Line("cash", credit=1)],
        [Line("cash", debit=1.0), Line("principal", credit=1.0)],  # type: ignore[arg-type]
    ],
)
def test_bad_entries_are_refused(lines):
    with pytest.raises(UnbalancedEntry):
        check_lines(lines)


def test_disbursement():
    assert disbursement_lines(2_000_000) == [Line("principal", debit=2_000_000), Line("cash", credit=2_000_000)]
