"""The lifecycles of the grants domain, each one table of allowed transitions (written by service.lifecycle).

Application: taken → reviewed (maker-checker) → on public notice → awarded; an objection a reviewer upholds
sends a noticed application back to review, and the second review resolves the objections still open.
Objection: open → dismissed or upheld (a reviewer's decision), or resolved (by that second review). Award: finalised → paid (only
when fully funded) → acknowledged by the student (a date, not a status); a cross-check flag puts it under
review (a second flag keeps it there), which confirms it or revokes it. Receipt: issued → void (with its
replacement named).
"""

from __future__ import annotations

from enum import StrEnum

from service.lifecycle import Lifecycle


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
    A.NOTICED: frozenset({A.SUBMITTED, A.AWARDED}),  # an upheld objection sends it back to review
    A.AWARDED: frozenset(),
}

AWARD_TRANSITIONS: dict[AwardStatus, frozenset[AwardStatus]] = {
    W.AWARDED: frozenset({W.PAID, W.UNDER_REVIEW, W.REVOKED}),
    W.PAID: frozenset({W.UNDER_REVIEW, W.REVOKED}),
    # back where it was, or revoked; a second finding keeps it under review (its note grows)
    W.UNDER_REVIEW: frozenset({W.AWARDED, W.PAID, W.REVOKED, W.UNDER_REVIEW}),
    W.REVOKED: frozenset(),
}

APPLICATION = Lifecycle(
    "grant_application",
    "资助申请",
    "A grant application",
    APP_TRANSITIONS,
    {
        A.SUBMITTED: ("待审核", "submitted"),
        A.APPROVED: ("已审核", "approved"),
        A.REJECTED: ("未通过", "rejected"),
        A.NOTICED: ("公示中", "on public notice"),
        A.AWARDED: ("已确定", "awarded"),
    },
)
AWARD = Lifecycle(
    "grant_award",
    "资助",
    "An award",
    AWARD_TRANSITIONS,
    {
        W.AWARDED: ("已确定", "awarded"),
        W.PAID: ("已发放", "paid"),
        W.UNDER_REVIEW: ("复查中", "under review"),
        W.REVOKED: ("已撤销", "revoked"),
    },
)
OBJECTION = Lifecycle(
    "grant_objection",
    "异议",
    "An objection",
    {
        "open": frozenset({"dismissed", "upheld", "resolved"}),
        "dismissed": frozenset(),
        "upheld": frozenset(),
        "resolved": frozenset(),
    },
    {
        "open": ("待处理", "open"),
        "dismissed": ("不予采纳", "dismissed"),
        "upheld": ("已采纳", "upheld"),
        "resolved": ("已处理", "resolved"),
    },
)
# A change of an award's bank card: one user proposes, another approves (then the award carries the new card).
CARD_CHANGE = Lifecycle(
    "grant_card_change",
    "银行卡变更",
    "A bank card change",
    {"proposed": frozenset({"approved", "rejected"}), "approved": frozenset(), "rejected": frozenset()},
    {"proposed": ("待审批", "proposed"), "approved": ("已批准", "approved"), "rejected": ("未批准", "rejected")},
)
RECEIPT = Lifecycle(
    "receipt",
    "收据",
    "A receipt",
    {
        "issued": frozenset({"void"}),
        "void": frozenset(),
    },
    {"issued": ("有效", "issued"), "void": ("已作废", "void")},
    key="receipt_no",
)

LABELS_ZH: dict[str, str] = {**{s: APPLICATION.label(s) for s in AppStatus}, **{s: AWARD.label(s) for s in AwardStatus}}

# Applications that count against the once-per-year, quota and budget rules.
LIVE_APPS = frozenset({A.SUBMITTED, A.APPROVED, A.NOTICED, A.AWARDED})
