"""Every lifecycle table against a hand-written list of its allowed edges: any other pair is forbidden.

The lists below are written out by hand from DOMAIN.md and the workflow, never derived from the tables
they check, so a table that gains or loses an edge fails here until someone decides it should.
"""

from __future__ import annotations

import itertools

import pytest

from donations.lifecycle import APPLICATION, AWARD, CARD_CHANGE, OBJECTION, RECEIPT
from loans.lifecycle import GRADUATION, IMPORT_BATCH, LOAN, PREPAYMENT, RELIEF, SCHEDULE_LINE
from notifications.lifecycle import OUTBOX
from service.lifecycle import BAD_TRANSITION, Lifecycle
from service.problems import Problem


def edges(text: str) -> set[tuple[str, str]]:
    """'a>b c>d' → {(a, b), (c, d)}"""
    return {tuple(pair.split(">")) for pair in text.split()}  # type: ignore[misc]


HAND_WRITTEN: dict[str, tuple[Lifecycle, set[str], set[tuple[str, str]]]] = {
    "loan": (
        LOAN,
        {
            "submitted",
            "approved",
            "rejected",
            "withdrawn",
            "pending_review",
            "contracted",
            "receipt_confirmed",
            "disbursed",
            "in_school",
            "grace",
            "repaying",
            "overdue",
            "settled",
            "written_off",
        },
        edges(
            "submitted>approved submitted>rejected submitted>withdrawn approved>contracted approved>withdrawn "
            "pending_review>contracted pending_review>receipt_confirmed pending_review>in_school "
            "contracted>receipt_confirmed contracted>withdrawn receipt_confirmed>disbursed receipt_confirmed>withdrawn "
            "disbursed>in_school disbursed>grace disbursed>repaying disbursed>settled "
            "in_school>grace in_school>repaying in_school>settled "
            "grace>in_school grace>repaying grace>overdue grace>settled repaying>overdue repaying>settled "
            "overdue>grace overdue>repaying overdue>settled overdue>written_off written_off>settled"
        ),
    ),
    "schedule_line": (
        SCHEDULE_LINE,
        {"pending", "due", "overdue", "paid"},
        edges(
            "pending>due pending>overdue pending>paid due>overdue due>paid overdue>paid "
            "paid>pending paid>due paid>overdue"
        ),
    ),
    "prepayment": (
        PREPAYMENT,
        {"pending", "executed", "failed", "cancelled"},
        edges("pending>executed pending>failed pending>cancelled"),
    ),
    "import_batch": (
        IMPORT_BATCH,
        {"pending", "accepted", "rejected"},
        edges("pending>accepted pending>rejected"),
    ),
    "graduation": (GRADUATION, {"submitted", "approved", "rejected"}, edges("submitted>approved submitted>rejected")),
    "relief": (
        RELIEF,
        {"proposed", "applied", "rejected", "reversed"},
        edges("proposed>applied proposed>rejected applied>reversed"),
    ),
    "grant_application": (
        APPLICATION,
        {"submitted", "approved", "rejected", "noticed", "awarded"},
        edges("submitted>approved submitted>rejected approved>noticed noticed>submitted noticed>awarded"),
    ),
    "award": (
        AWARD,
        {"awarded", "paid", "under_review", "revoked"},
        edges(
            "awarded>paid awarded>under_review awarded>revoked paid>under_review paid>revoked "
            "under_review>awarded under_review>paid under_review>revoked under_review>under_review"
        ),
    ),
    "card_change": (
        CARD_CHANGE,
        {"proposed", "approved", "rejected"},
        edges("proposed>approved proposed>rejected"),
    ),
    "objection": (
        OBJECTION,
        {"open", "dismissed", "upheld", "resolved"},
        edges("open>dismissed open>upheld open>resolved"),
    ),
    "receipt": (RECEIPT, {"issued", "void"}, edges("issued>void")),
    "outbox": (
        OUTBOX,
        {"queued", "sending", "sent", "failed", "delivered"},
        edges(
            "queued>sending sending>sending sending>sent sending>queued sending>failed sending>delivered "
            "sent>delivered sent>failed failed>queued"
        ),
    ),
}

PAIRS = [
    (name, a, b)
    for name, (_, statuses, _) in HAND_WRITTEN.items()
    for a, b in itertools.product(sorted(statuses), sorted(statuses))
]


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_statuses_are_the_hand_written_ones(name: str) -> None:
    machine, statuses, allowed = HAND_WRITTEN[name]
    assert machine.statuses == statuses
    assert {a for a, _ in allowed} | {b for _, b in allowed} <= statuses


@pytest.mark.parametrize("name,current,wanted", PAIRS)
def test_every_pair_is_allowed_exactly_when_listed(name: str, current: str, wanted: str) -> None:
    machine, _, allowed = HAND_WRITTEN[name]
    if (current, wanted) in allowed:
        assert machine.allows(current, wanted)
        assert machine.check(current, wanted) == wanted
    elif current == wanted and machine.idempotent:
        assert machine.allows(current, wanted)  # writing the status a line has is no step
    else:
        assert not machine.allows(current, wanted)
        with pytest.raises(Problem) as err:
            machine.check(current, wanted)
        problem = err.value
        assert problem.kind is BAD_TRANSITION and problem.kind.status == 409
        assert machine.label(current) in problem.detail_zh and machine.label(wanted) in problem.detail_zh
        assert current in problem.detail_en and wanted in problem.detail_en
        assert problem.extra["current_status"] == current and problem.extra["wanted_status"] == wanted


def test_loan_workflow_facts() -> None:
    # nothing skips the university's receipt on the way to disbursement, nor the approval before a contract
    assert not LOAN.allows("contracted", "disbursed")
    assert not LOAN.allows("submitted", "contracted")
    assert LOAN.sources("overdue") == {"grace", "repaying"}


def test_a_table_with_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError):
        Lifecycle("x", "x", "X", {"a": frozenset({"b"})}, {"a": ("甲", "a")})
