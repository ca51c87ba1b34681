"""The donor allocation (pure): worked scenarios computed by hand, properties, and a stateful run of
donations, awards, payments and revocations that checks the invariants after every step."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from donations.allocation import Line, Need, Shortfall, Source, allocate, largest_remainder

D = date(2025, 9, 1)


def day(n: int) -> date:
    return D + timedelta(days=n)


def test_directed_first_then_pooled_fifo_by_date_received():
    # A 50.00 (1 Sep), B 30.00 (10 Sep) pooled; C 20.00 (1 Aug) directed to student 7.
    sources = [Source(1, day(0), 5000), Source(2, day(9), 3000), Source(3, day(-31), 2000, frozenset({7}))]
    needs = [Need(101, 1, 3000), Need(102, 7, 3000), Need(103, 2, 3000)]
    r = allocate(needs, sources, "fifo")
    # 102 takes C's 20.00 first and 10.00 from the pool; the pool (80.00) pays 30 + 10 + 30 = 70, oldest first:
    # A gives 30.00 to 101, 10.00 to 102, its last 10.00 to 103; B gives 20.00 to 103 and keeps 10.00.
    assert r.shortfalls == []
    assert r.lines == [
        Line(3, 102, 2000, "directed"),
        Line(1, 101, 3000, "fifo"),
        Line(1, 102, 1000, "fifo"),
        Line(1, 103, 1000, "fifo"),
        Line(2, 103, 2000, "fifo"),
    ]


def test_pro_rata_every_source_gives_the_same_share():
    # Pool 60 + 30 + 10 = 100.00; awards need 30.00: each source gives 30 % of what it holds.
    sources = [Source(1, day(0), 6000), Source(2, day(1), 3000), Source(3, day(2), 1000)]
    r = allocate([Need(1, 1, 1000), Need(2, 2, 2000)], sources, "pro_rata")
    given_by = defaultdict(int)
    for line in r.lines:
        given_by[line.source_id] += line.amount
    assert dict(given_by) == {1: 1800, 2: 900, 3: 300}
    assert r.lines == [
        Line(1, 1, 1000, "pro_rata"),
        Line(1, 2, 800, "pro_rata"),
        Line(2, 2, 900, "pro_rata"),
        Line(3, 2, 300, "pro_rata"),
    ]


def test_largest_remainder_gives_the_odd_fen_to_the_older_source_on_a_tie():
    assert largest_remainder(1000, [1000, 1000, 1000]) == [334, 333, 333]
    assert largest_remainder(2, [5, 3, 2]) == [1, 1, 0]  # exact 1.0, 0.6, 0.4: one fen left, to the 0.6
    assert largest_remainder(0, [4, 4]) == [0, 0]
    with pytest.raises(ValueError):
        largest_remainder(10, [4, 4])


def test_an_award_that_cannot_be_funded_in_full_takes_nothing_and_states_the_shortfall():
    sources = [Source(1, day(0), 5000)]
    r = allocate([Need(1, 1, 3000), Need(2, 2, 3000), Need(3, 3, 2000)], sources)
    assert r.shortfalls == [Shortfall(2, 3000, 2000)]
    assert r.shortfalls[0].missing == 1000
    assert [(x.award_id, x.amount) for x in r.lines] == [(1, 3000), (3, 2000)]


def test_directed_money_never_pays_another_student():
    r = allocate([Need(1, 1, 1000)], [Source(1, day(0), 3000, frozenset({7}))])
    assert r.lines == [] and r.shortfalls == [Shortfall(1, 1000, 0)]


def test_a_directed_shortfall_is_made_up_from_the_pool_and_a_failed_award_gives_back_its_directed_take():
    sources = [Source(1, day(0), 500, frozenset({7})), Source(2, day(1), 200)]
    r = allocate([Need(1, 7, 1000), Need(2, 7, 400)], sources)
    # award 1 would take 5.00 directed + 5.00 pooled, but the pool has 2.00: nothing; award 2 then fits.
    assert r.shortfalls == [Shortfall(1, 1000, 700)]
    assert r.lines == [Line(1, 2, 400, "directed")]


sources_st = st.lists(
    st.tuples(st.integers(0, 30), st.integers(1, 50_000), st.sampled_from([None, 1, 2, 3])), max_size=12
)
needs_st = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 30_000)), max_size=15)


def _build(raw_sources, raw_needs):
    sources = [
        Source(i + 1, day(d), a, None if s is None else frozenset({s})) for i, (d, a, s) in enumerate(raw_sources)
    ]
    needs = [Need(100 + i, s, a) for i, (s, a) in enumerate(raw_needs)]
    return sources, needs


@settings(max_examples=300, deadline=None)
@given(sources_st, needs_st, st.sampled_from(["fifo", "pro_rata"]))
def test_properties_of_any_allocation(raw_sources, raw_needs, method):
    sources, needs = _build(raw_sources, raw_needs)
    r = allocate(needs, sources, method)
    by_source, by_award = defaultdict(int), defaultdict(int)
    kinds = {s.id: s for s in sources}
    for line in r.lines:
        assert line.amount > 0
        by_source[line.source_id] += line.amount
        by_award[line.award_id] += line.amount
        src = kinds[line.source_id]
        if src.students is not None:
            assert line.rule == "directed"
            assert next(n for n in needs if n.award_id == line.award_id).student_id in src.students
        else:
            assert line.rule == method
    for s in sources:
        assert by_source[s.id] <= s.available  # never more than a source holds
    short = {x.award_id for x in r.shortfalls}
    for n in needs:
        assert by_award[n.award_id] == (0 if n.award_id in short else n.amount)  # all or nothing
    if method == "fifo":  # a newer pooled source is touched only once every older one is empty
        pooled = sorted((s for s in sources if s.students is None), key=lambda s: (s.received_on, s.id))
        used = [by_source[s.id] for s in pooled]
        for i, s in enumerate(pooled[:-1]):
            if any(used[i + 1 :]):
                assert used[i] == s.available
    else:  # every pooled source gives its exact share, to within one fen
        pooled = [s for s in sources if s.students is None]
        total = sum(by_source[s.id] for s in pooled)
        whole = sum(s.available for s in pooled)
        for s in pooled:
            assert abs(by_source[s.id] - Fraction(total * s.available, whole)) < 1


class Programme(RuleBasedStateMachine):
    """Random donations, awards, payments and revocations against one programme's money."""

    @initialize(method=st.sampled_from(["fifo", "pro_rata"]))
    def start(self, method):
        self.method = method
        self.sources: dict[int, Source] = {}  # as received (available = amount)
        self.lines: list[tuple[int, int, int]] = []  # (source, award, amount); a reversal is negative
        self.awards: dict[int, tuple[int, int, str]] = {}  # award → (student, amount, status)

    def _allocated(self, source_id: int) -> int:
        return sum(a for s, _, a in self.lines if s == source_id)

    @rule(amount=st.integers(1, 20_000), student=st.sampled_from([None, 1, 2]), days=st.integers(0, 60))
    def donate(self, amount, student, days):
        sid = len(self.sources) + 1
        self.sources[sid] = Source(sid, day(days), amount, None if student is None else frozenset({student}))

    @rule(student=st.integers(1, 4), amount=st.integers(1, 15_000))
    def award(self, student, amount):
        self.awards[len(self.awards) + 1] = (student, amount, "awarded")

    @precondition(lambda self: any(s == "awarded" for _, _, s in self.awards.values()))
    @rule(data=st.data())
    def pay(self, data):
        award_id = data.draw(st.sampled_from(sorted(k for k, v in self.awards.items() if v[2] == "awarded")))
        student, amount, _ = self.awards[award_id]
        now = [
            Source(s.id, s.received_on, s.available - self._allocated(s.id), s.students) for s in self.sources.values()
        ]
        r = allocate([Need(award_id, student, amount)], now, self.method)
        if r.shortfalls:
            assert r.lines == [] and r.shortfalls[0].missing > 0
            return
        self.lines += [(x.source_id, x.award_id, x.amount) for x in r.lines]
        self.awards[award_id] = (student, amount, "paid")

    @precondition(lambda self: any(s == "paid" for _, _, s in self.awards.values()))
    @rule(data=st.data())
    def revoke(self, data):
        award_id = data.draw(st.sampled_from(sorted(k for k, v in self.awards.items() if v[2] == "paid")))
        net = defaultdict(int)
        for s, a, x in self.lines:
            if a == award_id:
                net[s] += x
        self.lines += [(s, award_id, -x) for s, x in net.items() if x]
        student, amount, _ = self.awards[award_id]
        self.awards[award_id] = (student, amount, "revoked")

    @invariant()
    def allocations_never_exceed_a_donation(self):
        for s in getattr(self, "sources", {}).values():
            assert 0 <= self._allocated(s.id) <= s.available

    @invariant()
    def every_paid_award_is_exactly_funded(self):
        for award_id, (_, amount, status) in getattr(self, "awards", {}).items():
            funded = sum(x for _, a, x in self.lines if a == award_id)
            assert funded == (amount if status == "paid" else 0)

    @invariant()
    def money_in_is_allocated_plus_unallocated(self):
        sources = getattr(self, "sources", {})
        received = sum(s.available for s in sources.values())
        allocated = sum(x for _, _, x in self.lines)
        unallocated = sum(s.available - self._allocated(s.id) for s in sources.values())
        assert received == allocated + unallocated
        assert allocated == sum(amount for _, amount, status in self.awards.values() if status == "paid")


Programme.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestProgramme = Programme.TestCase
