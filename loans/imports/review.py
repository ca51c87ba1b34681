"""The checker's half of an import (maker-checker for money that enters by spreadsheet).

An import (importer.py) writes its contracts as one batch (loan_imports) in status `pending`, every contract in
`pending_review`: not in the portfolio, the reports or the ledger (the batch books only ACTIVE contracts), and
no repayment, 回执 or disbursement can touch it (the state machine refuses). A user other than the importer, with
the reviewer's role, then either

- accepts the batch: each contract becomes what its row says (signed, receipted, or disbursed and in school), in
  three set-based steps through service.lifecycle; the nightly batch books the disbursed ones; or
- rejects it: the batch's payouts and contracts are deleted (they never counted: no ledger entry, schedule or
  payment can exist for them), so the corrected file can be imported again; the batch row and the audit record
  (with every contract number) remain.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import IMPORT_BATCH, LOAN, LoanStatus
from loans.models import LedgerEntry, Loan, LoanImport, LoanPayout, ScheduleLineRow
from loans.origination.applications import MAKER_CHECKER
from service import lifecycle
from service.auth import AuthUser
from service.db import utcnow
from service.errors import NOT_FOUND, Problem
from service.pagination import fetch_page

S = LoanStatus
PENDING, ACCEPTED, REJECTED = "pending", "accepted", "rejected"


@dataclass(frozen=True)
class BatchView:
    id: int
    status: str
    file: str
    rows: int
    principal: int  # fen
    disbursed: int  # fen
    imported_by: str
    imported_at: str
    decided_by: str | None
    decided_at: str | None
    reason: str | None


def view(batch: LoanImport) -> BatchView:
    return BatchView(
        id=batch.id,
        status=batch.status,
        file=batch.file,
        rows=batch.rows,
        principal=batch.principal,
        disbursed=batch.disbursed,
        imported_by=batch.imported_by_name,
        imported_at=batch.imported_at.isoformat(),
        decided_by=batch.decided_by_name,
        decided_at=batch.decided_at.isoformat() if batch.decided_at else None,
        reason=batch.reason,
    )


async def get_batch(session: AsyncSession, batch_id: int, *, lock: bool = False) -> LoanImport:
    query = select(LoanImport).where(LoanImport.id == batch_id)
    batch = await session.scalar(query.with_for_update() if lock else query)
    if batch is None:
        raise Problem(NOT_FOUND, f"导入批次 {batch_id} 不存在。", f"Import batch {batch_id} does not exist.")
    return batch


async def list_batches(
    session: AsyncSession, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[LoanImport], int]:
    """Newest first; (the page, the total)."""
    where = [LoanImport.status == status] if status else []
    return await fetch_page(session, select(LoanImport).where(*where).order_by(LoanImport.id.desc()), limit, offset)


def _not_the_importer(batch: LoanImport, user: AuthUser) -> None:
    if batch.imported_by == user.id:
        raise Problem(
            MAKER_CHECKER,
            "导入人不能复核自己导入的批次，请由另一位复核人处理。",
            "The user who imported a batch cannot accept or reject it.",
        )


async def accept(session: AsyncSession, batch_id: int, user: AuthUser) -> LoanImport:
    """The batch's contracts become what their rows say; from now on they count (and the batch books them)."""
    batch = await get_batch(session, batch_id, lock=True)
    _not_the_importer(batch, user)
    IMPORT_BATCH.check(batch.status, ACCEPTED)
    now = utcnow()
    mine = Loan.import_batch_id == batch.id
    steps = (
        (S.IN_SCHOOL, [Loan.disbursed_on.is_not(None)]),
        (S.RECEIPT_CONFIRMED, [Loan.disbursed_on.is_(None), Loan.receipt_amount.is_not(None)]),
        (S.CONTRACTED, [Loan.disbursed_on.is_(None), Loan.receipt_amount.is_(None)]),
    )
    for wanted, where in steps:
        await lifecycle.move_all(
            session,
            LOAN,
            Loan,
            wanted,
            where=[mine, *where],
            from_states=[S.PENDING_REVIEW],
            values={"decided_by": user.id, "decided_at": now, "version": Loan.version + 1, "updated_at": now},
            actor=user.actor,
            action="import-accept",
            ref=f"import-{batch.id}",
        )
    await lifecycle.move(
        session,
        IMPORT_BATCH,
        batch,
        ACCEPTED,
        actor=user.actor,
        action="accept",
        decided_by=user.id,
        decided_by_name=user.actor,
        decided_at=now,
    )
    return batch


async def reject(session: AsyncSession, batch_id: int, user: AuthUser, reason: str) -> LoanImport:
    """The batch's contracts and payouts are removed; the batch and its audit record say what they were."""
    batch = await get_batch(session, batch_id, lock=True)
    _not_the_importer(batch, user)
    IMPORT_BATCH.check(batch.status, REJECTED)
    mine = select(Loan.id).where(Loan.import_batch_id == batch.id)
    # Defence in depth: an unaccepted contract can have no entry or schedule (only ACTIVE ones are booked).
    booked = await session.scalar(
        select(exists().where(LedgerEntry.loan_id.in_(mine)) | exists().where(ScheduleLineRow.loan_id.in_(mine)))
    )
    assert not booked, f"import batch {batch.id} has booked contracts"
    numbers = sorted((await session.scalars(select(Loan.contract_no).where(Loan.import_batch_id == batch.id))).all())
    await session.execute(delete(LoanPayout).where(LoanPayout.loan_id.in_(mine)))
    await session.execute(
        delete(Loan)
        .where(Loan.import_batch_id == batch.id, Loan.status == S.PENDING_REVIEW.value)
        .execution_options(synchronize_session=False)
    )
    await lifecycle.move(
        session,
        IMPORT_BATCH,
        batch,
        REJECTED,
        actor=user.actor,
        action="reject",
        also={"contracts_removed": numbers},
        decided_by=user.id,
        decided_by_name=user.actor,
        decided_at=utcnow(),
        reason=reason,
    )
    return batch


__all__ = ["accept", "get_batch", "list_batches", "reject", "view"]
