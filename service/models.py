"""Every table of the service, imported in one place so that Alembic and the tests see all of them.

This module sits in the composition layer: it may import the domain packages' models.
"""

from __future__ import annotations

from service.audit import AuditRecord
from service.auth import User
from service.meta import ServiceMeta
from service.db import Base
from service.registry.models import CoBorrower, Student, University
from loans.models import ContractCounter, Loan, LoanPayout, PolicyRule

metadata = Base.metadata

__all__ = [
    "AuditRecord", "CoBorrower", "ContractCounter", "Loan", "LoanPayout", "PolicyRule", "Student", "University", "ServiceMeta", "User", "metadata"]
