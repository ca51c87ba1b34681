"""The two lifecycles of the grants domain, each one table of allowed transitions.

Application: taken → reviewed (maker-checker) → on public notice → awarded; an objection sends a noticed
application back to review. Award: finalised → paid (only when fully funded) → acknowledged by the student
(a date, not a status); a cross-check flag puts it under review, which confirms it or revokes it.
"""

from __future__ import annotations

from enum import StrEnum


class AppStatus(StrEnum):
    SUBMITTED = "submitted"  # waiting for review (again, after an objection)
    APPROVED = "approved"  # reviewed, waiting for the public notice
    REJECTED = "rejected"
    NOTICED = "noticed"  # on a public notice
    AWARDED = "awarded"  # the notice ended with no open objection


class AwardStatus(StrEnum):
    AWARDED = "awarded"  # to be paid
    PAID = "paid"  # fully funded and paid to the student's card
    UNDER_REVIEW = "under_review"  # flagged by the cross-check
    REVOKED = "revoked"  # taken back; its allocation reversed


A, W = AppStatus, AwardStatus

APP_TRANSITIONS: dict[AppStatus, frozenset[AppStatus]] = {
    A.SUBMITTED: frozenset({A.APPROVED, A.REJECTED}),
    A.APPROVED: frozenset({A.NOTICED}),
    A.REJECTED: frozenset(),
    A.NOTICED: frozenset({A.SUBMITTED, A.AWARDED}),  # an objection sends it back to review
    A.AWARDED: frozenset(),
}

AWARD_TRANSITIONS: dict[AwardStatus, frozenset[AwardStatus]] = {
    W.AWARDED: frozenset({W.PAID, W.UNDER_REVIEW, W.REVOKED}),
    W.PAID: frozenset({W.UNDER_REVIEW, W.REVOKED}),
    W.UNDER_REVIEW: frozenset({W.AWARDED, W.PAID, W.REVOKED}),  # back where it was, or revoked
    W.REVOKED: frozenset(),
}

LABELS_ZH: dict[str, str] = {
    A.SUBMITTED: "待审核", A.APPROVED: "已审核", A.REJECTED: "未通过", A.NOTICED: "公示中", A.AWARDED: "已确定",
    W.PAID: "已发放", W.UNDER_REVIEW: "复查中", W.REVOKED: "已撤销",
}

# Applications that count against the once-per-year, quota and budget rules.
LIVE_APPS = frozenset({A.SUBMITTED, A.APPROVED, A.NOTICED, A.AWARDED})


class TransitionError(ValueError):
    def __init__(self, what: str, current: str, wanted: str, allowed: frozenset[str]) -> None:
        super().__init__(f"{what} that is {current} cannot become {wanted} "
                         f"(allowed: {', '.join(sorted(allowed)) or 'none'})")
        self.current, self.wanted = current, wanted
        self.message_zh = f"当前状态为“{LABELS_ZH.get(current, current)}”，不能变为“{LABELS_ZH.get(wanted, wanted)}”。"


def app_transition(current: str, wanted: str) -> AppStatus:
    cur, new = AppStatus(current), AppStatus(wanted)
    if new not in APP_TRANSITIONS[cur]:
        raise TransitionError("an application", cur, new, APP_TRANSITIONS[cur])
    return new


def award_transition(current: str, wanted: str) -> AwardStatus:
    cur, new = AwardStatus(current), AwardStatus(wanted)
    if new not in AWARD_TRANSITIONS[cur]:
        raise TransitionError("an award", cur, new, AWARD_TRANSITIONS[cur])
    return new
