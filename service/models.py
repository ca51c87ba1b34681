"""Every table of the service, imported in one place so that Alembic and the tests see all of them.

This module sits in the composition layer: it may import the domain packages' models.
"""

from __future__ import annotations

from donations.models import (
    Allocation,
    Application,
    Award,
    CardChange,
    DirectedStudent,
    Donor,
    Funding,
    Notice,
    Objection,
    ObjectionQuota,
    Program,
    Receipt,
    ReceiptCounter,
)
from loans.imports.job import ImportJob
from loans.models import (  # Loans II: servicing
    CollectionAttempt,
    ContractCounter,
    GraduationConfirmation,
    LedgerEntry,
    LedgerLine,
    LinePayment,
    Loan,
    LoanImport,
    LoanPayout,
    PolicyRule,
    PrepaymentRequest,
    Relief,
    ReliefItem,
    ScheduleLineRow,
    SubsidySettlement,
)
from notifications.models import OutboxMessage, ReminderRule
from service.audit import AuditRecord
from service.auth import User
from service.db import Base
from service.idempotency import IdempotencyRecord
from service.meta import ServiceMeta
from service.registry.models import CoBorrower, Student, University
from service.throttle import LoginThrottle

metadata = Base.metadata

__all__ = [
    "Allocation",
    "Application",
    "AuditRecord",
    "Award",
    "CardChange",
    "CoBorrower",
    "CollectionAttempt",
    "ContractCounter",
    "DirectedStudent",
    "Donor",
    "Funding",
    "GraduationConfirmation",
    "IdempotencyRecord",
    "ImportJob",
    "LedgerEntry",
    "LedgerLine",
    "LinePayment",
    "Loan",
    "LoanImport",
    "LoanPayout",
    "LoginThrottle",
    "Notice",
    "Objection",
    "ObjectionQuota",
    "OutboxMessage",
    "PolicyRule",
    "PrepaymentRequest",
    "Program",
    "Receipt",
    "ReceiptCounter",
    "Relief",
    "ReliefItem",
    "ReminderRule",
    "ScheduleLineRow",
    "ServiceMeta",
    "Student",
    "SubsidySettlement",
    "University",
    "User",
    "metadata",
]
