"""What the loan endpoints take and give."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Money = Annotated[str, msgspec.Meta(pattern=r"^\d{1,12}(\.\d{1,2})?$", description='yuan, e.g. "16000.00"')]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
# A co-borrower is a parent or legal guardian: service.registry.vocabulary.CO_BORROWER_RELATIONSHIPS, the codes
# the console's form and the import take too (a unit test keeps this literal equal to that tuple).
Relationship = Literal["father", "mother", "guardian"]


class CoBorrowerIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    id_number: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    relationship: Relationship


class ApplicationIn(msgspec.Struct, forbid_unknown_fields=True):
    student_id: int
    academic_year: Annotated[int, msgspec.Meta(ge=2000, le=2100)]
    amount: Money
    co_borrower: CoBorrowerIn


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class SignIn(msgspec.Struct, forbid_unknown_fields=True):
    signed_on: date


class ReceiptIn(msgspec.Struct, forbid_unknown_fields=True):
    amount: Money


class DisburseIn(msgspec.Struct, forbid_unknown_fields=True):
    disbursed_on: date


class CoBorrowerOut(msgspec.Struct):
    name: str
    id_number: str  # masked
    phone: str  # masked
    relationship: str


class ApplicationOut(msgspec.Struct):
    id: int
    status: str
    student_id: int
    academic_year: int
    amount: str
    co_borrower: CoBorrowerOut
    limit: str
    prepared_by: int
    decided_by: int | None
    reason: str | None
    contract_no: str | None
    created_at: datetime


class PayoutOut(msgspec.Struct):
    payee: str
    payee_ref: str
    amount: str
    paid_on: date


class ContractOut(msgspec.Struct):
    contract_no: str
    application_id: int
    student_id: int
    academic_year: int
    status: str
    principal: str
    outstanding_principal: str
    rate: str
    lpr: str
    spread_bp: int
    term_years: int
    signed_on: date
    maturity_date: date
    grace_years: int
    subsidy_end: date
    receipt_amount: str | None
    disbursed_on: date | None
    payouts: list[PayoutOut]
    policy_ids: list[int]
    check_code: str


class PolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    effective_from: date
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    key: str = ""


class PolicyOut(msgspec.Struct):
    id: int
    kind: str
    key: str
    effective_from: date
    value: str
    source: str
    label: str


class VerifiedContract(msgspec.Struct):
    contract_no: str
    borrower: str  # masked name
    principal: str
    signed_on: date
    status: str


class ScheduleLineOut(msgspec.Struct):
    due_on: date
    payer: str
    principal: str
    interest: str
    paid: str
    status: str
    days: int


class ScheduleOut(msgspec.Struct):
    contract_no: str
    lines: list[ScheduleLineOut]
    totals: dict[str, str]


class LedgerLineOut(msgspec.Struct):
    account: str
    debit: str
    credit: str


class LedgerEntryOut(msgspec.Struct):
    id: int
    kind: str
    posted_on: date
    reference: str | None
    reverses: int | None
    lines: list[LedgerLineOut]


class LedgerOut(msgspec.Struct):
    contract_no: str
    entries: list[LedgerEntryOut]
    balances: dict[str, str]


class RepaymentIn(msgspec.Struct, forbid_unknown_fields=True):
    amount: Money
    paid_on: date
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_.:/-]+$")]


class RepaymentOut(msgspec.Struct):
    id: int
    contract_no: str
    amount: str
    paid_on: date
    allocated: dict[str, str]
    credit: str


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    as_of: date


class BatchOut(msgspec.Struct):
    as_of: date
    days_run: list[date]
    contracts_booked: int
    interest_entries: int
    lines_due: int
    lines_overdue: int
    penalty_entries: int
    status_changes: dict[str, int]
    credit_applied: int = 0
    prepayments_executed: int = 0
    prepayments_failed: int = 0
    collection_attempts: dict[str, int] = {}
    reminders_queued: int = 0


Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ContactIn(msgspec.Struct, forbid_unknown_fields=True):
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    address: Text


class GraduationIn(msgspec.Struct, forbid_unknown_fields=True):
    employer: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    address: Text
