"""Pure servicing rules: spreading an allocation over lines, collection days, aging buckets, rates."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from loans.batch.collections import is_collection_day
from loans.reports.aging import BUCKETS, bucket_of
from loans.reports.default_rate import percent
from loans.servicing.allocation import Owed, allocate, dues_of, spread

DAY = date(2030, 12, 20)


def test_spread_pays_oldest_first_interest_before_principal():
    lines = [Owed(2, DAY, 500, 1000), Owed(1, DAY - timedelta(days=365), 300, 2000)]
    dues = dues_of(100, lines, DAY)
    assert (
        dues.penalty,
        dues.overdue_interest,
        dues.overdue_principal,
        dues.current_interest,
        dues.current_principal,
    ) == (100, 300, 2000, 500, 1000)
    a = allocate(2600, dues)  # penalty 100, overdue interest 300, overdue principal 2000, current interest 200
    assert spread(lines, a, DAY) == [(1, 2000, 300), (2, 0, 200)]


def test_negative_penalty_balance_counts_as_none():
    assert dues_of(-5, [], DAY).penalty == 0


@st.composite
def owed_lines(draw):
    n = draw(st.integers(0, 6))
    days = draw(st.lists(st.integers(0, 3000), min_size=n, max_size=n, unique=True))
    return [
        Owed(i, DAY - timedelta(days=d), draw(st.integers(0, 100_000)), draw(st.integers(0, 500_000)))
        for i, d in enumerate(days)
    ]


@given(owed_lines(), st.integers(0, 10_000), st.integers(1, 2_000_000))
def test_spread_never_overpays_and_places_every_allocated_fen(lines, penalty, amount):
    dues = dues_of(penalty, lines, DAY)
    a = allocate(amount, dues)
    paid = spread(lines, a, DAY)
    by_id = {l.line_id: l for l in lines}
    assert all(0 <= p <= by_id[i].principal and 0 <= x <= by_id[i].interest for i, p, x in paid)
    assert sum(p for _, p, _ in paid) == a.principal and sum(x for _, _, x in paid) == a.interest
    assert a.penalty + a.interest + a.principal + a.credit == amount


def test_collection_days():
    assert is_collection_day(date(2030, 1, 20)) and is_collection_day(date(2030, 12, 20))
    assert not is_collection_day(date(2030, 11, 20)) and not is_collection_day(date(2030, 1, 21))


def test_aging_buckets_edges():
    assert bucket_of(0) is None
    assert [bucket_of(d) for d in (1, 30, 31, 90, 91, 180, 181, 365, 366, 5000)] == [
        "1-30",
        "1-30",
        "31-90",
        "31-90",
        "91-180",
        "91-180",
        "181-365",
        "181-365",
        "over-365",
        "over-365",
    ]
    assert [b[0] for b in BUCKETS] == ["1-30", "31-90", "91-180", "181-365", "over-365"]


def test_percent_rounds_half_up():
    assert percent(1, 3) == "33.33" and percent(2, 3) == "66.67" and percent(1, 8) == "12.50"
    assert percent(0, 0) is None and percent(0, 5) == "0.00"
