"""Walk every allowed and every forbidden edge of the loan state machine."""

from __future__ import annotations

import itertools

import pytest

from loans.lifecycle import LABELS_ZH, TRANSITIONS, LoanStatus, TransitionError, can_transition, transition

ALL_PAIRS = list(itertools.product(LoanStatus, LoanStatus))
ALLOWED = [(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS[a]]
FORBIDDEN = [(a, b) for a, b in ALL_PAIRS if b not in TRANSITIONS[a]]


def test_table_covers_every_status():
    assert set(TRANSITIONS) == set(LoanStatus) == set(LABELS_ZH)
    assert all(targets <= set(LoanStatus) for targets in TRANSITIONS.values())


@pytest.mark.parametrize("current,wanted", ALLOWED, ids=lambda s: str(s))
def test_allowed_edge(current, wanted):
    assert can_transition(current, wanted)
    assert transition(current.value, wanted.value) is wanted


@pytest.mark.parametrize("current,wanted", FORBIDDEN, ids=lambda s: str(s))
def test_forbidden_edge(current, wanted):
    assert not can_transition(current, wanted)
    with pytest.raises(TransitionError) as err:
        transition(current, wanted)
    assert LABELS_ZH[current] in err.value.message_zh and LABELS_ZH[wanted] in err.value.message_zh


def test_terminal_and_reachability():
    assert TRANSITIONS[LoanStatus.REJECTED] == TRANSITIONS[LoanStatus.WITHDRAWN] == TRANSITIONS[LoanStatus.SETTLED] == frozenset()
    # every status is reachable from an application
    seen, todo = {LoanStatus.SUBMITTED}, [LoanStatus.SUBMITTED]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    assert seen == set(LoanStatus)
    # nothing skips the university's receipt on the way to disbursement
    assert LoanStatus.DISBURSED not in TRANSITIONS[LoanStatus.CONTRACTED]
    assert LoanStatus.CONTRACTED not in TRANSITIONS[LoanStatus.SUBMITTED]
