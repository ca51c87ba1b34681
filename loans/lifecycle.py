"""The loan domain's lifecycles, each one table of allowed transitions (written by service.lifecycle).

A loan is one student's borrowing for one academic year: it starts as an application and, once signed, is
a contract (续贷 makes a new loan each year). Its schedule lines, prepayment requests, graduation
confirmations and relief measures have lifecycles of their own. Every status write goes through
`service.lifecycle.move` / `move_all` with one of the tables below; tests/unit/test_lifecycles.py walks a
hand-written list of allowed and forbidden edges of each.
"""

from __future__ import annotations

from enum import StrEnum

from service.lifecycle import Lifecycle


class LoanStatus(StrEnum):
    SUBMITTED = "submitted"  # application taken by an officer
    APPROVED = "approved"  # a reviewer (not the preparer) approved it
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # withdrawn by the student or cancelled before the money moved
    PENDING_REVIEW = "pending_review"  # imported from a spreadsheet: waits for a reviewer's acceptance of its batch
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
    # An imported contract becomes what its row says (signed, receipted or disbursed) once a second person accepts
    # its batch; a rejected batch's contracts are deleted (they never counted, so nothing is left to reverse).
    S.PENDING_REVIEW: frozenset({S.CONTRACTED, S.RECEIPT_CONFIRMED, S.IN_SCHOOL}),
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
# Statuses that are not (or not yet) a contract that counts: reports and the portfolio leave them out.
NOT_COUNTED = frozenset({S.SUBMITTED, S.APPROVED, S.REJECTED, S.WITHDRAWN, S.PENDING_REVIEW})

LOAN = Lifecycle(
    "loan",
    "贷款",
    "A loan",
    TRANSITIONS,
    {
        S.SUBMITTED: ("已受理", "submitted"),
        S.APPROVED: ("已审批", "approved"),
        S.REJECTED: ("未通过", "rejected"),
        S.WITHDRAWN: ("已撤回", "withdrawn"),
        S.PENDING_REVIEW: ("导入待复核", "imported, awaiting review"),
        S.CONTRACTED: ("已签合同", "contracted"),
        S.RECEIPT_CONFIRMED: ("高校已回执", "receipt confirmed"),
        S.DISBURSED: ("已放款", "disbursed"),
        S.IN_SCHOOL: ("在校", "in school"),
        S.GRACE: ("宽限期", "grace period"),
        S.REPAYING: ("还本期", "repaying"),
        S.OVERDUE: ("逾期", "overdue"),
        S.SETTLED: ("已结清", "settled"),
        S.WRITTEN_OFF: ("已核销", "written off"),
    },
)
LABELS_ZH = {status: LOAN.label(status) for status in LoanStatus}

# A schedule line's status follows its figures and dates: pending until its due date, due on it, overdue
# after it while unpaid, paid when settled; a reversal or a relief puts a paid line back by its date.
# Its changes are recorded by the ledger entries that cause them (no audit record of its own).
SCHEDULE_LINE = Lifecycle(
    "schedule_line",
    "还款计划行",
    "A schedule line",
    {
        "pending": frozenset({"due", "overdue", "paid"}),
        "due": frozenset({"overdue", "paid"}),
        "overdue": frozenset({"paid"}),
        "paid": frozenset({"pending", "due", "overdue"}),
    },
    {
        "pending": ("未到期", "pending"),
        "due": ("今日到期", "due"),
        "overdue": ("逾期", "overdue"),
        "paid": ("已还清", "paid"),
    },
    audited=False,
    idempotent=True,
)

PREPAYMENT = Lifecycle(
    "prepayment_request",
    "提前还款申请",
    "A prepayment request",
    {
        "pending": frozenset({"executed", "failed", "cancelled"}),
        "executed": frozenset(),
        "failed": frozenset(),
        "cancelled": frozenset(),
    },
    {
        "pending": ("待执行", "pending"),
        "executed": ("已执行", "executed"),
        "failed": ("未能执行", "failed"),
        "cancelled": ("已取消", "cancelled"),
    },
)

GRADUATION = Lifecycle(
    "graduation_confirmation",
    "毕业确认",
    "A graduation confirmation",
    {
        "submitted": frozenset({"approved", "rejected"}),
        "approved": frozenset(),
        "rejected": frozenset(),
    },
    {"submitted": ("待审核", "submitted"), "approved": ("已通过", "approved"), "rejected": ("未通过", "rejected")},
)

# A batch of imported contracts (loan_imports): maker-checker for money that entered by spreadsheet.
IMPORT_BATCH = Lifecycle(
    "loan_import",
    "导入批次",
    "An import batch",
    {"pending": frozenset({"accepted", "rejected"}), "accepted": frozenset(), "rejected": frozenset()},
    {"pending": ("待复核", "pending"), "accepted": ("已接受", "accepted"), "rejected": ("已退回", "rejected")},
)

RELIEF = Lifecycle(
    "loan_relief",
    "减免措施",
    "A relief measure",
    {
        "proposed": frozenset({"applied", "rejected"}),
        "applied": frozenset({"reversed"}),
        "rejected": frozenset(),
        "reversed": frozenset(),
    },
    {
        "proposed": ("待审批", "proposed"),
        "applied": ("已执行", "applied"),
        "rejected": ("未通过", "rejected"),
        "reversed": ("已撤销", "reversed"),
    },
)
