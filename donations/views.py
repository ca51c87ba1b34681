"""Rows to API answers: money as yuan strings, identifiers masked."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from donations import selection
from donations.funding import get_program
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
    Program,
    Receipt,
)
from donations.reports import DonorTrace
from donations.rules import LEVELS_ZH, rule_out
from donations.schemas import (
    AllocationLineOut,
    ApplicationOut,
    AwardOut,
    CardChangeOut,
    DonorOut,
    FundingOut,
    NoticeEntry,
    NoticeOut,
    ObjectionOut,
    ProgramOut,
    ReceiptOut,
)
from service.identity import mask_bank_card, mask_id_number, mask_name, mask_phone
from service.money import format_yuan


def donor_out(d: Donor) -> DonorOut:
    return DonorOut(
        id=d.id,
        name=d.name,
        kind=d.kind,
        credit_code=d.credit_code,
        id_number=mask_id_number(d.id_number) if d.id_number else None,
        contact=d.contact,
        created_at=d.created_at,
    )


def program_out(p: Program) -> ProgramOut:
    return ProgramOut(
        id=p.id,
        name=p.name,
        family=p.family,
        funding=p.funding,
        rule=rule_out(p.rule),
        once_only=p.once_only,
        first_year_only=p.first_year_only,
        eligible_categories=list(p.eligible_categories),
        levels=list(p.levels),
        quota=p.quota,
        budget=format_yuan(p.budget) if p.budget is not None else None,
        opens_on=p.opens_on,
        closes_on=p.closes_on,
        notice_days=p.notice_days,
        pooling=p.pooling,
    )


async def funding_out(session: AsyncSession, f: Funding) -> FundingOut:
    receipt_no = students = None
    if f.kind == "donation":
        receipt_no = await session.scalar(
            select(Receipt.receipt_no)
            .where(Receipt.funding_id == f.id, Receipt.status == "issued")
            .order_by(Receipt.id.desc())
            .limit(1)
        )
        if f.directed:
            students = list(
                (
                    await session.scalars(
                        select(DirectedStudent.student_id)
                        .where(DirectedStudent.funding_id == f.id)
                        .order_by(DirectedStudent.student_id)
                    )
                ).all()
            )
    return FundingOut(
        id=f.id,
        kind=f.kind,
        program_id=f.program_id,
        amount=format_yuan(f.amount),
        allocated=format_yuan(f.allocated),
        unallocated=format_yuan(f.amount - f.allocated),
        received_on=f.received_on,
        donor_id=f.donor_id,
        method=f.method,
        reference=f.reference,
        receipt_no=receipt_no,
        document_no=f.document_no,
        directed_student_ids=students,
    )


def receipt_out(r: Receipt, public_url: str, replaced_by_no: str | None = None) -> ReceiptOut:
    f = r.fields
    return ReceiptOut(
        receipt_no=r.receipt_no,
        status=r.status,
        issued_on=r.issued_on,
        donor=f["donor"],
        amount=f["amount"],
        amount_in_words=f["amount_in_words"],
        program=f["program"],
        method=f["method"],
        issuer=f["issuer"],
        organisation=f["organisation"],
        verify_code=r.verify_code,
        verify_url=verify_url(public_url, r.verify_code),
        donation_id=r.funding_id,
        void_reason=r.void_reason,
        replaces_no=r.replaces_no,
        replaced_by_no=replaced_by_no,
    )


def verify_url(public_url: str, code: str) -> str:
    return f"{public_url}/api/v1/receipts/verify/{code}"


SHORT_VERIFY_PATH = "/V/"  # served by donations.funding_api.short_verify, which redirects to verify_url


def receipt_qr_url(public_url: str, code: str) -> str:
    """What a receipt's QR code holds: the short public path, upper case when the public URL is only a scheme
    and a host (both case-insensitive), so the code is in QR alphanumeric mode and the smallest version (a
    fraction of the encoding and drawing). A public URL with a path of its own keeps its case."""
    short = f"{public_url}{SHORT_VERIFY_PATH}{code}"
    _scheme, _, rest = public_url.partition("://")
    return short.upper() if "/" not in rest and "?" not in rest and "#" not in rest else short


async def application_out(session: AsyncSession, a: Application) -> ApplicationOut:
    open_objections = await session.scalar(
        select(func.count()).select_from(Objection).where(Objection.application_id == a.id, Objection.status == "open")
    )
    return ApplicationOut(
        id=a.id,
        program_id=a.program_id,
        student_id=a.student_id,
        academic_year=a.academic_year,
        status=a.status,
        amount=format_yuan(a.amount),
        rule_note=a.rule_note,
        bank_card=mask_bank_card(a.bank_card) if a.bank_card else None,
        prepared_by=a.prepared_by,
        reviewed_by=a.reviewed_by,
        reason=a.reason,
        notice_id=a.notice_id,
        open_objections=int(open_objections or 0),
    )


def award_out(a: Award) -> AwardOut:
    return AwardOut(
        id=a.id,
        application_id=a.application_id,
        program_id=a.program_id,
        student_id=a.student_id,
        academic_year=a.academic_year,
        amount=format_yuan(a.amount),
        funded=format_yuan(a.funded),
        status=a.status,
        finalized_on=a.finalized_on,
        paid_on=a.paid_on,
        payment_reference=a.payment_reference,
        bank_card=mask_bank_card(a.bank_card) if a.bank_card else None,
        acknowledged_on=a.acknowledged_on,
        flag=a.flag,
        revoked_on=a.revoked_on,
        revoke_reason=a.revoke_reason,
    )


def line_out(line: Allocation) -> AllocationLineOut:
    return AllocationLineOut(
        id=line.id,
        funding_id=line.funding_id,
        amount=format_yuan(line.amount),
        rule=line.rule,
        reverses=line.reverses_id,
    )


def trace_out(t: DonorTrace) -> dict[str, Any]:
    """The donor allocation report as API.md gives it."""
    return {
        "donor": {"id": t.donor_id, "name": t.donor, "kind": t.kind},
        "received": format_yuan(t.received),
        "allocated": format_yuan(t.allocated),
        "paid": format_yuan(t.paid),
        "unallocated": format_yuan(t.unallocated),
        "recipients": t.recipients,
        "donations": [
            {
                "id": d.id,
                "receipt_no": d.receipt_no,
                "program": d.program,
                "amount": format_yuan(d.amount),
                "received_on": d.received_on.isoformat(),
                "directed": d.directed,
                "allocated": format_yuan(d.allocated),
                "unallocated": format_yuan(d.unallocated),
                "allocations": [
                    {
                        "award_id": x.award_id,
                        "student": x.student,
                        "university": x.university,
                        "level": x.level,
                        "amount": format_yuan(x.amount),
                        "paid_on": x.paid_on.isoformat() if x.paid_on else None,
                    }
                    for x in d.lines
                ],
            }
            for d in t.donations
        ],
    }


async def notice_out(session: AsyncSession, notice: Notice) -> NoticeOut:
    program = await get_program(session, notice.program_id)
    entries = [
        NoticeEntry(
            application_id=i,
            student=mask_name(name),
            university=university,
            level=LEVELS_ZH.get(level, level),
            amount=format_yuan(amount),
        )
        for i, amount, name, level, university in await selection.notice_entries(session, notice)
    ]
    return NoticeOut(
        id=notice.id,
        program_id=program.id,
        program=program.name,
        starts_on=notice.starts_on,
        ends_on=notice.ends_on,
        entries=entries,
    )


def change_out(c: CardChange) -> CardChangeOut:
    return CardChangeOut(
        id=c.id,
        award_id=c.award_id,
        status=c.status,
        bank_card=mask_bank_card(c.bank_card),
        previous_card=mask_bank_card(c.previous_card) if c.previous_card else None,
        reason=c.reason,
        proposed_by=c.proposed_by_name,
        proposed_at=c.proposed_at.isoformat(),
        decided_by=c.decided_by_name,
        decided_at=c.decided_at.isoformat() if c.decided_at else None,
        decision_note=c.decision_note,
    )


_MASKED_PHONE = re.compile(r"1[3-9][0-9]\*{4}[0-9]{4}")


def _shown_phone(phone: str | None) -> str | None:
    # The column holds the masked number; anything else in it (a row written by hand) leaves masked too.
    if phone is None or _MASKED_PHONE.fullmatch(phone):
        return phone
    return mask_phone(phone)


def objection_out(o: Objection) -> ObjectionOut:
    return ObjectionOut(
        id=o.id,
        notice_id=o.notice_id,
        application_id=o.application_id,
        status=o.status,
        reason=o.reason,
        contact_name=o.contact_name,
        contact_phone=_shown_phone(o.contact_phone),
        created_at=o.created_at,
        resolution=o.resolution,
        decided_by=o.decided_by,
        decided_at=o.decided_at,
    )
