"""Receipts after issue: printing (the first print is the original, later ones are 副本 from the stored
fields), voiding with a reason and the replacement that names the original, and the papers' data."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from donations.funding import issue_receipt
from donations.lifecycle import RECEIPT
from donations.models import Funding, Receipt
from donations.papers.receipt import ReceiptData
from donations.papers.reports import DonorReportData, RecipientRow
from donations.reports import DonorTrace, by_key
from donations.views import receipt_qr_url, verify_url
from service import audit, lifecycle
from service.db import utcnow, write_beside
from service.errors import NOT_FOUND, Problem
from service.money import parse_yuan
from service.registry.vocabulary import level_zh


async def get_receipt(session: AsyncSession, receipt_no: str) -> Receipt:
    receipt = await session.scalar(select(Receipt).where(Receipt.receipt_no == receipt_no))
    if receipt is None:
        raise Problem(NOT_FOUND, f"收据 {receipt_no} 不存在。", f"Receipt {receipt_no} does not exist.")
    return receipt


def receipt_data(r: Receipt, public_url: str, copy: bool) -> ReceiptData:
    f = r.fields
    return ReceiptData(
        organisation=f["organisation"],
        receipt_no=r.receipt_no,
        issued_on=r.issued_on,
        donor=f["donor"],
        amount_fen=parse_yuan(f["amount"]),
        purpose=f.get("purpose", f["program"]),
        method=f["method"],
        reference=f.get("reference", ""),
        issuer=f["issuer"],
        verify_code=r.verify_code,
        verify_url=verify_url(public_url, r.verify_code),
        qr_url=receipt_qr_url(public_url, r.verify_code),
        copy=copy,
        void_reason=r.void_reason if r.status == "void" else None,
        replaces_no=r.replaces_no,
    )


async def take_print(session: AsyncSession, engine: AsyncEngine, r: Receipt, actor: str) -> bool:
    """Whether this print is a copy (副本): only the first print of a receipt is the original. Marking it is one
    conditional write (printed_at still empty), in a write transaction of its own beside the request's read-only
    session: of any number of first prints at once, in any number of processes, only the one whose UPDATE marks the
    row is the original, and only it leaves the audit record."""
    if r.printed_at is not None:
        return True
    printed_at = utcnow()
    async with write_beside(session, engine) as writer:
        marked = await writer.execute(
            update(Receipt).where(Receipt.id == r.id, Receipt.printed_at.is_(None)).values(printed_at=printed_at)
        )
        if marked.rowcount == 0:  # type: ignore[attr-defined]
            return True
        await audit.record(writer, actor, "print", "receipt", r.receipt_no, None, {"printed_at": printed_at})
    return False


async def void(session: AsyncSession, receipt_no: str, reason: str, today: date, actor: str, secret: str) -> Receipt:
    """Void a receipt and issue its replacement (a new number of today's year, the same stored fields)."""
    original = await session.scalar(select(Receipt).where(Receipt.receipt_no == receipt_no).with_for_update())
    if original is None:
        raise Problem(NOT_FOUND, f"收据 {receipt_no} 不存在。", f"Receipt {receipt_no} does not exist.")
    RECEIPT.check(original.status, "void")
    funding = await session.get(Funding, original.funding_id)
    assert funding is not None
    fields = {k: v for k, v in original.fields.items() if k != "issued_on"}
    replacement = await issue_receipt(session, funding, today, fields, actor, secret, replaces_no=original.receipt_no)
    await lifecycle.move(
        session,
        RECEIPT,
        original,
        "void",
        actor=actor,
        action="void",
        audit_note=f"replaced by {replacement.receipt_no}",
        void_reason=reason.strip(),
    )
    await audit.record(
        session, actor, "issue", "receipt", replacement.receipt_no, None, audit.model_snapshot(replacement)
    )
    return replacement


def report_code(secret: str, donor_id: int, received: int, allocated: int, paid: int, on: date) -> str:
    mac = hmac.digest(
        secret.encode(), f"donor-report|{donor_id}|{received}|{allocated}|{paid}|{on}".encode(), hashlib.sha256
    )
    return mac.hex()[:12].upper()


def donor_report_data(t: DonorTrace, centre: str, period: str, on: date, secret: str) -> DonorReportData:
    rows = [
        RecipientRow(d.receipt_no or "", x.student, x.university, level_zh(x.level), x.program, x.amount, x.paid_on)
        for d in t.donations
        for x in d.lines
    ]
    return DonorReportData(
        centre=centre,
        donor=t.donor,
        period=period,
        generated_on=on,
        received=t.received,
        allocated=t.allocated,
        paid=t.paid,
        unallocated=t.unallocated,
        donations=len(t.donations),
        verify_code=report_code(secret, t.donor_id, t.received, t.allocated, t.paid, on),
        by_program=by_key(t, "program"),
        by_level=by_key(t, "level"),
        recipients=rows,
    )
