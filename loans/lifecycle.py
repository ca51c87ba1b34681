"""The loan lifecycle: one state machine, as a table of allowed transitions in one place.

A loan is one student's borrowing for one academic year: it starts as an application and, once
signed, is a contract (续贷 makes a new loan each year). Every status change in the service goes
through `transition()`, and a test walks every allowed and every forbidden edge of this table.
"""

from __future__ import annotations

from enum import StrEnum


class LoanStatus(StrEnum):
    SUBMITTED = "submitted"  # application taken by an officer
    APPROVED = "approved"  # a reviewer (not the preparer) approved it
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # withdrawn by the student or cancelled before the money moved
    CONTRACTED = "contracted"  # contract signed, 受理证明 printed
    RECEIPT_CONFIRMED = "receipt_confirmed"  # the university's 回执 entered
    DISBURSED = "disbursed"  # money paid out (the moment of disbursement)
    IN_SCHOOL = "in_school"  # studying: the state pays the interest
    GRACE = "grace"  # graduated, paying interest only (principal grace period)
    REPAYING = "repaying"  # principal instalments due
    OVERDUE = "overdue"  # something due is unpaid after its due date
    SETTLED = "settled"  # everything repaid
    WRITTEN_OFF = "written_off"


S = LoanStatus

TRANSITIONS: dict[LoanStatus, frozenset[LoanStatus]] = {
    S.SUBMITTED: frozenset({S.APPROVED, S.REJECTED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.CONTRACTED, S.WITHDRAWN}),
    S.REJECTED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.CONTRACTED: frozenset({S.RECEIPT_CONFIRMED, S.WITHDRAWN}),
    S.RECEIPT_CONFIRMED: frozenset({S.DISBURSED, S.WITHDRAWN}),
    S.DISBURSED: frozenset({S.IN_SCHOOL, S.GRACE, S.REPAYING, S.SETTLED}),
    S.IN_SCHOOL: frozenset({S.GRACE, S.REPAYING, S.SETTLED}),
    S.GRACE: frozenset({S.IN_SCHOOL, S.REPAYING, S.OVERDUE, S.SETTLED}),  # back to school: further study
    S.REPAYING: frozenset({S.OVERDUE, S.SETTLED}),
    S.OVERDUE: frozenset({S.GRACE, S.REPAYING, S.SETTLED, S.WRITTEN_OFF}),
    S.SETTLED: frozenset(),
    S.WRITTEN_OFF: frozenset({S.SETTLED}),  # recovered after all
}

# Statuses in which money is lent out (the portfolio).
ACTIVE = frozenset({S.DISBURSED, S.IN_SCHOOL, S.GRACE, S.REPAYING, S.OVERDUE})
# Statuses that still count against the student's "one loan per academic year".
LIVE = frozenset(set(LoanStatus) - {S.REJECTED, S.WITHDRAWN})

LABELS_ZH = {
    S.SUBMITTED: "已受理", S.APPROVED: "已审批", S.REJECTED: "未通过", S.WITHDRAWN: "已撤回",
    S.CONTRACTED: "已签合同", S.RECEIPT_CONFIRMED: "高校已回执", S.DISBURSED: "已放款", S.IN_SCHOOL: "在校",
    S.GRACE: "宽限期", S.REPAYING: "还本期", S.OVERDUE: "逾期", S.SETTLED: "已结清", S.WRITTEN_OFF: "已核销",
}


class TransitionError(ValueError):
    def __init__(self, current: LoanStatus, wanted: LoanStatus) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        super().__init__(f"a loan that is {current} cannot become {wanted} (allowed: {allowed})")
        self.current, self.wanted = current, wanted
        self.message_zh = (f"当前状态为“{LABELS_ZH[current]}”，不能变为“{LABELS_ZH[wanted]}”。")


def can_transition(current: LoanStatus | str, wanted: LoanStatus | str) -> bool:
    return LoanStatus(wanted) in TRANSITIONS[LoanStatus(current)]


def transition(current: LoanStatus | str, wanted: LoanStatus | str) -> LoanStatus:
    """The new status, or TransitionError when the table does not allow the step."""
    cur, new = LoanStatus(current), LoanStatus(wanted)
    if new not in TRANSITIONS[cur]:
        raise TransitionError(cur, new)
    return new
