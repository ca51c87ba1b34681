"""What the donations endpoints take and give (money as yuan strings, identifiers masked)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec

Money = Annotated[str, msgspec.Meta(pattern=r"^\d{1,12}(\.\d{1,2})?$", description='yuan, e.g. "3000.00"')]
MAX_DIRECTED = 1000
Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
BankRef = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:/-]+$")]
Level = Literal["junior_college", "undergraduate", "graduate"]
Category = Literal["registered_poor", "minimum_allowance", "destitute", "orphan", "disabled", "other"]


class DonorIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Text100
    kind: Literal["organization", "individual"]
    credit_code: str | None = None
    id_number: str | None = None
    contact: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class DonorOut(msgspec.Struct):
    id: int
    name: str
    kind: str
    credit_code: str | None
    id_number: str | None  # masked
    contact: str | None
    created_at: datetime


class ProgramIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Text100
    funding: Literal["social", "government"]
    rule: dict[str, Any]
    once_only: bool = False
    first_year_only: bool = False  # only a student's first academic year (新生入学资助)
    eligible_categories: list[Category] = []
    levels: list[Level] = []
    quota: Annotated[int, msgspec.Meta(ge=1)] | None = None
    notice_days: Annotated[int, msgspec.Meta(ge=1, le=60)] = 7
    family: Text100 | None = None  # once-only is checked across the family; default: the name
    budget: Money | None = None
    opens_on: date | None = None
    closes_on: date | None = None
    pooling: Literal["fifo", "pro_rata"] = "fifo"


class ProgramOut(msgspec.Struct):
    id: int
    name: str
    family: str
    funding: str
    rule: dict[str, Any]
    once_only: bool
    first_year_only: bool
    eligible_categories: list[str]
    levels: list[str]
    quota: int | None
    budget: str | None
    opens_on: date | None
    closes_on: date | None
    notice_days: int
    pooling: str


class DonationIn(msgspec.Struct, forbid_unknown_fields=True):
    donor_id: int
    program_id: int
    amount: Money
    received_on: date
    method: Literal["bank_transfer", "cash", "cheque", "online", "other"]
    reference: BankRef
    # A donation names a handful of students; a million ids was a 500 (issue #16): more than this is a 400.
    directed_student_ids: Annotated[list[int], msgspec.Meta(max_length=MAX_DIRECTED)] | None = None


class AppropriationIn(msgspec.Struct, forbid_unknown_fields=True):
    program_id: int
    amount: Money
    document_no: Text100
    received_on: date


class FundingOut(msgspec.Struct):
    id: int
    kind: str
    program_id: int
    amount: str
    allocated: str
    unallocated: str
    received_on: date
    donor_id: int | None = None
    method: str | None = None
    reference: str | None = None
    receipt_no: str | None = None
    document_no: str | None = None
    directed_student_ids: list[int] | None = None


class ReceiptOut(msgspec.Struct):
    receipt_no: str
    status: str
    issued_on: date
    donor: str
    amount: str
    amount_in_words: str
    program: str
    method: str
    issuer: str
    organisation: str
    verify_code: str
    verify_url: str
    donation_id: int
    void_reason: str | None = None
    replaces_no: str | None = None
    replaced_by_no: str | None = None


class VerifiedReceipt(msgspec.Struct):
    receipt_no: str
    issued_on: date
    donor: str  # masked
    amount: str
    status: str


class ApplicationIn(msgspec.Struct, forbid_unknown_fields=True):
    student_id: int
    academic_year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    bank_card: str | None = None


class ApplicationOut(msgspec.Struct):
    id: int
    program_id: int
    student_id: int
    academic_year: int
    status: str
    amount: str
    rule_note: str
    bank_card: str | None  # masked
    prepared_by: int
    reviewed_by: int | None
    reason: str | None
    notice_id: int | None
    open_objections: int = 0


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    approved: bool
    reason: Reason | None = None


class NoticeIn(msgspec.Struct, forbid_unknown_fields=True):
    starts_on: date


class NoticeEntry(msgspec.Struct):
    application_id: int
    student: str  # masked name
    university: str
    level: str
    amount: str


class NoticeOut(msgspec.Struct):
    id: int
    program_id: int
    program: str
    starts_on: date
    ends_on: date
    entries: list[NoticeEntry]


class ObjectionIn(msgspec.Struct, forbid_unknown_fields=True):
    application_id: int
    reason: Reason
    contact_name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    contact_phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20, description="mainland mobile")]


class ObjectionOut(msgspec.Struct):
    id: int
    notice_id: int
    application_id: int
    status: str  # open | dismissed | upheld | resolved
    reason: str
    contact_name: str | None
    contact_phone: str | None  # masked: 138****1234 (only the masked number is stored)
    created_at: datetime
    resolution: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


class ObjectionDecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["dismiss", "uphold"]
    reason: Reason


class ObjectionDecisionOut(msgspec.Struct):
    objection: ObjectionOut
    application_status: str


class FinalizeIn(msgspec.Struct, forbid_unknown_fields=True):
    as_of: date | None = None  # the centre's today when absent; after today: 422


class AwardOut(msgspec.Struct):
    id: int
    application_id: int
    program_id: int
    student_id: int
    academic_year: int
    amount: str
    funded: str
    status: str
    finalized_on: date
    paid_on: date | None = None
    payment_reference: str | None = None
    bank_card: str | None = None  # masked
    acknowledged_on: date | None = None
    flag: str | None = None
    revoked_on: date | None = None
    revoke_reason: str | None = None


class FinalizeOut(msgspec.Struct):
    awards: list[AwardOut]


class PayIn(msgspec.Struct, forbid_unknown_fields=True):
    paid_on: date
    reference: BankRef
    bank_card: str | None = None


class AllocationLineOut(msgspec.Struct):
    id: int
    funding_id: int
    amount: str
    rule: str
    reverses: int | None


class PaymentOut(msgspec.Struct):
    award: AwardOut
    allocations: list[AllocationLineOut]


class RevokeIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason
    revoked_on: date | None = None  # default: today in the centre's time zone


class AwardReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    confirmed: bool  # true: the finding does not stand; false: the award is revoked
    reason: Reason
    on: date | None = None  # default: today in the centre's time zone


class AcknowledgeIn(msgspec.Struct, forbid_unknown_fields=True):
    acknowledged_on: date


class VoidIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class CardChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    bank_card: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    reason: Reason


class CardDecisionIn(msgspec.Struct, forbid_unknown_fields=True):
    approved: bool
    note: Reason | None = None


class CardChangeOut(msgspec.Struct):
    id: int
    award_id: int
    status: str
    bank_card: str  # masked
    previous_card: str | None  # masked
    reason: str
    proposed_by: str
    proposed_at: str
    decided_by: str | None
    decided_at: str | None
    decision_note: str | None
