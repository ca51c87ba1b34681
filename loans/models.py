"""Tables of the loans domain: policy rows, loans (application + contract) and their payouts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UtcDateTime, utcnow


class PolicyRule(Base):
    """One policy value with the date from which it is in force (see loans.policy.KINDS)."""

    __tablename__ = "loan_policy"
    __table_args__ = (UniqueConstraint("kind", "key", "effective_from", name="uq_loan_policy_kind_key_from"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(40), default="")
    effective_from: Mapped[date] = mapped_column(Date)
    value: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64), default="migration")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


_LIVE = "status NOT IN ('rejected', 'withdrawn')"


class LoanImport(Base):
    """One spreadsheet import (maker) awaiting, or given, a reviewer's decision (checker): its contracts count only
    once it is accepted by a user other than the importer."""

    __tablename__ = "loan_imports"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(10), index=True)  # loans.lifecycle.IMPORT_BATCH
    file: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(16))  # of the file (loans.imports.importer.file_digest)
    rows: Mapped[int] = mapped_column(Integer)  # contracts written
    principal: Mapped[int] = mapped_column(BigInteger)  # fen, their sum
    disbursed: Mapped[int] = mapped_column(BigInteger)  # fen, the sum of those disbursed
    imported_by: Mapped[int] = mapped_column(IdType)  # user id (maker)
    imported_by_name: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(IdType, default=None)  # user id (checker)
    decided_by_name: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # of a rejection
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Loan(Base):
    """One student's loan for one academic year: an application that becomes a contract (续贷: one a year)."""

    __tablename__ = "loans"
    __table_args__ = (
        # one live application per student and academic year; a rejected or withdrawn one may be redone
        Index(
            "uq_loans_student_year_live",
            "student_id",
            "academic_year",
            unique=True,
            sqlite_where=text(_LIVE),
            postgresql_where=text(_LIVE),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    academic_year: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)  # fen, as applied for; the principal once signed
    co_borrower_id: Mapped[int] = mapped_column(ForeignKey("co_borrowers.id"), index=True)
    co_borrower_relationship: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    prepared_by: Mapped[int] = mapped_column(IdType)  # user id of the officer (maker)
    decided_by: Mapped[int | None] = mapped_column(IdType, default=None)  # the reviewer (checker)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # of a rejection or withdrawal
    limit_policy_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # the contract
    contract_no: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    signed_on: Mapped[date | None] = mapped_column(Date, default=None)
    rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 4, asdecimal=True), default=None)  # annual percent
    lpr: Mapped[Decimal | None] = mapped_column(Numeric(7, 4, asdecimal=True), default=None)
    spread_bp: Mapped[int | None] = mapped_column(Integer, default=None)
    term_years: Mapped[int | None] = mapped_column(Integer, default=None)
    maturity_date: Mapped[date | None] = mapped_column(Date, default=None)
    grace_years: Mapped[int | None] = mapped_column(Integer, default=None)
    subsidy_end: Mapped[date | None] = mapped_column(Date, default=None)
    graduation_year: Mapped[int | None] = mapped_column(Integer, default=None)
    contract_policy_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    check_code: Mapped[str | None] = mapped_column(String(16), unique=True, default=None)
    # the university's receipt (回执): tuition and accommodation it charges, paid to it at disbursement
    receipt_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    receipt_by: Mapped[int | None] = mapped_column(IdType, default=None)
    receipt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    disbursed_on: Mapped[date | None] = mapped_column(Date, default=None)
    imported: Mapped[bool] = mapped_column(default=False)  # came from the centre's spreadsheets
    # the import batch it came in (loans.imports.review): it counts only once a second person accepted that batch
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("loan_imports.id"), index=True, default=None)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class LoanPayout(Base):
    """Where disbursed money went: the university's tuition and accommodation, the balance to the student."""

    __tablename__ = "loan_payouts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    payee: Mapped[str] = mapped_column(String(20))  # "university" | "student"
    payee_ref: Mapped[str] = mapped_column(String(32))  # university code or student id
    amount: Mapped[int] = mapped_column(BigInteger)  # fen
    paid_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ContractCounter(Base):
    """The last contract sequence per county and year: taken in the signing transaction, so no gaps."""

    __tablename__ = "loan_contract_counters"

    county: Mapped[str] = mapped_column(String(6), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


_UNPOSTED = {"sqlite_where": text("interest_posted = 0"), "postgresql_where": text("interest_posted = false")}
_OPEN = "payer = 'borrower' AND status IN ('pending', 'due')"


class ScheduleLineRow(Base):
    """One line of a contract's repayment schedule (loans.schedule), stored at disbursement."""

    __tablename__ = "loan_schedule_lines"
    __table_args__ = (
        UniqueConstraint("loan_id", "due_on", "payer", name="uq_loan_schedule_lines_due"),
        # The nightly batch's questions, each answered by a small partial index instead of a walk over
        # every past line: whose interest is not yet recognised, which borrower lines are still open,
        # which are overdue.
        Index("ix_loan_schedule_lines_unposted", "due_on", **_UNPOSTED),
        Index("ix_loan_schedule_lines_open", "due_on", sqlite_where=text(_OPEN), postgresql_where=text(_OPEN)),
        Index(
            "ix_loan_schedule_lines_overdue",
            "loan_id",
            sqlite_where=text("status = 'overdue'"),
            postgresql_where=text("status = 'overdue'"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    # no index of its own: the unique (loan_id, due_on, payer) serves every lookup by contract
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    due_on: Mapped[date] = mapped_column(Date, index=True)
    payer: Mapped[str] = mapped_column(String(12))  # "government" | "borrower"
    principal: Mapped[int] = mapped_column(BigInteger)  # fen
    interest: Mapped[int] = mapped_column(BigInteger)  # fen
    days: Mapped[int] = mapped_column(Integer)
    paid_principal: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_interest: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | due | paid | overdue
    interest_posted: Mapped[bool] = mapped_column(default=False)  # recognised in the ledger on its due date
    penalty_to: Mapped[date | None] = mapped_column(Date, default=None)  # penalty charged up to this day


class LedgerEntry(Base):
    """A journal entry of one contract; its lines sum to zero. Never updated or deleted."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    posted_on: Mapped[date] = mapped_column(Date, index=True)
    reference: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)  # bank serial
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True, default=None)
    # the schedule line whose interest this entry recognises: at most once per line
    schedule_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("loan_schedule_lines.id"), unique=True, default=None
    )
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class LedgerLine(Base):
    __tablename__ = "ledger_lines"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0 AND (debit = 0) <> (credit = 0)", name="one_side"),
        # the batch asks "who holds credit" over the whole portfolio: a small index answers
        Index(
            "ix_ledger_lines_suspense",
            "loan_id",
            sqlite_where=text("account = 'suspense'"),
            postgresql_where=text("account = 'suspense'"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)  # for set-based balances
    account: Mapped[str] = mapped_column(String(24))
    debit: Mapped[int] = mapped_column(BigInteger, default=0)
    credit: Mapped[int] = mapped_column(BigInteger, default=0)


class GraduationConfirmation(Base):
    """毕业确认: a graduate's employer and contact details, reviewed by the university's aid office."""

    __tablename__ = "graduation_confirmations"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    employer: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(11))
    address: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="submitted")  # submitted | approved | rejected
    reviewed_by: Mapped[int | None] = mapped_column(IdType, default=None)
    review_note: Mapped[str | None] = mapped_column(Text, default=None)
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class LinePayment(Base):
    """What one ledger entry paid on one schedule line: lets a reversal restore the lines exactly."""

    __tablename__ = "loan_line_payments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    schedule_line_id: Mapped[int] = mapped_column(ForeignKey("loan_schedule_lines.id"), index=True)
    principal: Mapped[int] = mapped_column(BigInteger, default=0)
    interest: Mapped[int] = mapped_column(BigInteger, default=0)


class PrepaymentRequest(Base):
    """A borrower's request to repay principal early, executed by the batch on its execution date."""

    __tablename__ = "loan_prepayment_requests"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    full: Mapped[bool] = mapped_column(default=False)
    amount: Mapped[int | None] = mapped_column(BigInteger, default=None)  # fen of principal; None when full
    requested_on: Mapped[date] = mapped_column(Date)
    execute_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | executed | failed | cancelled
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), default=None)
    paid: Mapped[int | None] = mapped_column(BigInteger, default=None)  # fen taken on execution
    note: Mapped[str | None] = mapped_column(Text, default=None)
    policy_id: Mapped[int | None] = mapped_column(IdType, default=None)  # the minimum-amount row applied
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CollectionAttempt(Base):
    """A collection day's (20th, not November) attempt on a contract's overdue amounts; hooks read it."""

    __tablename__ = "loan_collection_attempts"
    __table_args__ = (UniqueConstraint("loan_id", "collect_on", name="uq_loan_collection_attempts_day"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    collect_on: Mapped[date] = mapped_column(Date, index=True)
    overdue_principal: Mapped[int] = mapped_column(BigInteger)
    overdue_interest: Mapped[int] = mapped_column(BigInteger)
    oldest_due_on: Mapped[date] = mapped_column(Date)


class SubsidySettlement(Base):
    """The state paying one year's subsidy bill (财政贴息结算); the bank reference makes it idempotent."""

    __tablename__ = "loan_subsidy_settlements"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    contracts: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)
    settled_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Relief(Base):
    """A relief measure as data: graduates of `year` or earlier pay no interest for `year` (the state
    does) and their principal of `year` is deferred by one year, with no penalty."""

    __tablename__ = "loan_reliefs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    graduated_by: Mapped[int] = mapped_column(Integer)  # cohort: graduation year <= this
    source: Mapped[str] = mapped_column(String(200))  # the notice it implements
    status: Mapped[str] = mapped_column(String(12), default="proposed")  # proposed | applied | rejected | reversed
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(IdType, default=None)
    approved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    applied_on: Mapped[date | None] = mapped_column(Date, default=None)
    reversed_on: Mapped[date | None] = mapped_column(Date, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # of a rejection or reversal
    contracts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReliefItem(Base):
    """What a relief changed on one schedule line, so that reversing it restores exactly that."""

    __tablename__ = "loan_relief_items"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    relief_id: Mapped[int] = mapped_column(ForeignKey("loan_reliefs.id"), index=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("loan_schedule_lines.id"))  # the borrower's line of the year
    government_line_id: Mapped[int | None] = mapped_column(ForeignKey("loan_schedule_lines.id"), default=None)
    deferred_line_id: Mapped[int | None] = mapped_column(ForeignKey("loan_schedule_lines.id"), default=None)
    interest_moved: Mapped[int] = mapped_column(BigInteger, default=0)
    principal_deferred: Mapped[int] = mapped_column(BigInteger, default=0)
    penalty_waived: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), default=None)
    previous_status: Mapped[str] = mapped_column(String(12))
