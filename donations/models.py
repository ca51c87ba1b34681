"""Tables of the donations domain: donors, programmes, funding, receipts, selection, awards, allocations.

Two invariants are enforced by the database itself, not only by the code: a funding row's `allocated`
never exceeds its amount (nor goes below zero), and an award is `paid` only while its `funded` equals its
amount. Both columns are caches of the allocation lines, updated in the transaction that writes the
lines; tests recompute them from the lines.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UtcDateTime, utcnow


class Donor(Base):
    """An enterprise, association, bank, union (credit code) or a person (ID number)."""

    __tablename__ = "donors"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))  # organization | individual
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True, default=None)
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True, default=None)
    contact: Mapped[str | None] = mapped_column(String(200), default=None)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Program(Base):
    """A grant programme and its rules (donations.rules reads `rule` and the eligibility fields)."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    # Programmes of one family share the once-only rule (e.g. the city grant run again every year).
    family: Mapped[str] = mapped_column(String(100), index=True)
    funding: Mapped[str] = mapped_column(String(12))  # social | government
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)
    once_only: Mapped[bool] = mapped_column(Boolean, default=False)
    first_year_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # freshmen
    eligible_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    quota: Mapped[int | None] = mapped_column(Integer, default=None)  # persons per academic year
    budget: Mapped[int | None] = mapped_column(BigInteger, default=None)  # fen per academic year
    opens_on: Mapped[date | None] = mapped_column(Date, default=None)
    closes_on: Mapped[date | None] = mapped_column(Date, default=None)
    notice_days: Mapped[int] = mapped_column(Integer, default=7)
    pooling: Mapped[str] = mapped_column(String(12), default="fifo")  # fifo | pro_rata
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Funding(Base):
    """Money received for a programme: a donation (with its receipt) or a government appropriation."""

    __tablename__ = "fundings"
    __table_args__ = (
        CheckConstraint("amount > 0", name="positive"),
        CheckConstraint("allocated >= 0 AND allocated <= amount", name="within_amount"),
        CheckConstraint("(kind = 'donation') = (donor_id IS NOT NULL)", name="donor_iff_donation"),
        UniqueConstraint("document_no", "program_id", name="uq_fundings_document_program"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(14))  # donation | appropriation
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donors.id"), index=True, default=None)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    allocated: Mapped[int] = mapped_column(BigInteger, default=0)  # fen; the sum of its allocation lines
    received_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str | None] = mapped_column(String(20), default=None)  # bank_transfer | cash | ...
    reference: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)  # bank serial
    document_no: Mapped[str | None] = mapped_column(String(100), default=None)  # appropriation document
    directed: Mapped[bool] = mapped_column(Boolean, default=False)  # 一对一: only for the named students
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DirectedStudent(Base):
    """A student named by a directed donation (一对一结对)."""

    __tablename__ = "funding_students"

    funding_id: Mapped[int] = mapped_column(ForeignKey("fundings.id"), primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), primary_key=True)


class ReceiptCounter(Base):
    """The last receipt serial per series and year, taken in the donation's transaction: no gaps."""

    __tablename__ = "receipt_counters"

    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Receipt(Base):
    """A donation receipt as issued: its fields are stored once and never edited (void and replace)."""

    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("series", "year", "seq", name="uq_receipts_series_year_seq"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    receipt_no: Mapped[str] = mapped_column(String(24), unique=True)
    series: Mapped[str] = mapped_column(String(8))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    funding_id: Mapped[int] = mapped_column(ForeignKey("fundings.id"), index=True)
    issued_on: Mapped[date] = mapped_column(Date)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)  # what was printed: donor, amount, programme, ...
    verify_code: Mapped[str] = mapped_column(String(24), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="issued")  # issued | void
    void_reason: Mapped[str | None] = mapped_column(Text, default=None)
    replaces_no: Mapped[str | None] = mapped_column(String(24), unique=True, default=None)
    printed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)  # the original; later prints: 副本
    issued_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


_LIVE = "status NOT IN ('rejected', 'withdrawn')"


class Application(Base):
    """A student's application to a programme for an academic year, through review and public notice."""

    __tablename__ = "grant_applications"
    __table_args__ = (
        Index(
            "uq_grant_applications_live",
            "program_id",
            "student_id",
            "academic_year",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    academic_year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen, from the programme's rule
    rule_note: Mapped[str] = mapped_column(String(100))  # which part of the rule gave the amount
    status: Mapped[str] = mapped_column(String(12), index=True)  # donations.selection.STATUSES
    bank_card: Mapped[str | None] = mapped_column(String(19), default=None)
    prepared_by: Mapped[int] = mapped_column(IdType)
    reviewed_by: Mapped[int | None] = mapped_column(IdType, default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("grant_notices.id"), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Notice(Base):
    """A public notice (公示) of a programme's reviewed applications, `ends_on` included."""

    __tablename__ = "grant_notices"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Objection(Base):
    """An objection to one noticed application, open until a reviewer dismisses or upholds it (or the second
    review of an application sent back answers it). The contact's phone is stored masked: the full number
    never reaches the database, so it cannot leak from it."""

    __tablename__ = "grant_objections"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("grant_notices.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("grant_applications.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)  # personal numbers in it masked (service.identity.redact)
    status: Mapped[str] = mapped_column(String(10), default="open")  # donations.lifecycle.OBJECTION
    resolution: Mapped[str | None] = mapped_column(Text, default=None)
    # None only on objections taken before contacts were required (migration 0012)
    contact_name: Mapped[str | None] = mapped_column(String(50), default=None)
    contact_phone: Mapped[str | None] = mapped_column(String(11), default=None)  # masked: 138****1234
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ObjectionQuota(Base):
    """Objections taken per notice, client (a keyed hash of its address, never the address) and clock hour:
    one upsert per objection in its own transaction, so parallel requests queue on the row and the limit
    holds; a refused or failed objection rolls its count back."""

    __tablename__ = "grant_objection_quotas"

    notice_id: Mapped[int] = mapped_column(ForeignKey("grant_notices.id"), primary_key=True)
    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    taken: Mapped[int] = mapped_column(Integer, default=0)


class Award(Base):
    """An application that passed its notice: an amount to pay, funded line by line (Allocation)."""

    __tablename__ = "grant_awards"
    __table_args__ = (
        CheckConstraint("funded >= 0 AND funded <= amount", name="funded_within_amount"),
        CheckConstraint("status <> 'paid' OR funded = amount", name="paid_only_funded"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("grant_applications.id"), unique=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    academic_year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    funded: Mapped[int] = mapped_column(BigInteger, default=0)  # the sum of its allocation lines
    status: Mapped[str] = mapped_column(String(12), index=True)  # awarded | paid | under_review | revoked
    finalized_on: Mapped[date] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date, index=True, default=None)
    payment_reference: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    bank_card: Mapped[str | None] = mapped_column(String(19), default=None)
    acknowledged_on: Mapped[date | None] = mapped_column(Date, default=None)
    flag: Mapped[str | None] = mapped_column(Text, default=None)  # cross-check finding under review
    revoked_on: Mapped[date | None] = mapped_column(Date, default=None)
    revoke_reason: Mapped[str | None] = mapped_column(Text, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class Allocation(Base):
    """One line: this much of this funding went to this award, by this rule. Append-only; a revocation adds
    a reversing line (negative amount) that names the line it reverses."""

    __tablename__ = "grant_allocations"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="nonzero"),
        # A line is reversed at most once. Partial: the NULLs of the (nearly all) forward lines are not indexed,
        # one index entry less for each of the 100,000 lines a batch allocation writes.
        Index(
            "uq_grant_allocations_reverses_id",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    funding_id: Mapped[int] = mapped_column(ForeignKey("fundings.id"), index=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("grant_awards.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[str] = mapped_column(String(12))  # directed | fifo | pro_rata | reversal
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("grant_allocations.id"), default=None)
    posted_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CardChange(Base):
    """A change of the bank card an award is paid to: proposed by one user, approved by another, and only then
    written on the award (maker-checker: no one alone redirects a payment)."""

    __tablename__ = "grant_card_changes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("grant_awards.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)  # donations.lifecycle.CARD_CHANGE
    bank_card: Mapped[str] = mapped_column(String(19))
    previous_card: Mapped[str | None] = mapped_column(String(19), default=None)
    reason: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[int] = mapped_column(IdType)
    proposed_by_name: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(IdType, default=None)
    decided_by_name: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    decision_note: Mapped[str | None] = mapped_column(Text, default=None)
