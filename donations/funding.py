"""Donors, programmes and the money that comes in: donations (with their receipts) and appropriations."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from donations.models import DirectedStudent, Donor, Funding, Program, Receipt, ReceiptCounter
from donations.rules import RECEIPT_SERIES, RuleError, normalize_rule, receipt_number
from donations.schemas import AppropriationIn, DonationIn, DonorIn, ProgramIn
from service import audit
from service.auth import AuthUser
from service.dates import check_date
from service.errors import CONFLICT, FORBIDDEN, NOT_FOUND, UNPROCESSABLE, Problem, problem_type
from service.identity import IdentityError, mask_name, normalize_uscc
from service.lookups import get_or_404
from service.money import MoneyFormatError, format_yuan, parse_yuan, to_capitals
from service.registry.models import Student
from service.registry.students import checked_id_number
from service.settings import Settings

INVALID_CREDIT_CODE = problem_type("invalid-credit-code", 422, "统一社会信用代码无效", "Invalid credit code")
BAD_RULE = problem_type("invalid-program-rule", 422, "资助规则有误", "Invalid programme rule")
DUPLICATE_REFERENCE = problem_type(
    "duplicate-bank-reference", 409, "银行流水号已入账", "Bank reference already recorded"
)
BAD_MONEY = problem_type("invalid-amount", 422, "金额格式有误", "Invalid amount")
METHODS_ZH = {"bank_transfer": "银行转账", "cash": "现金", "cheque": "支票", "online": "网上支付", "other": "其他"}


def checked_amount(text: str, field: str = "amount") -> int:
    try:
        fen = parse_yuan(text)
    except MoneyFormatError as exc:
        raise Problem(BAD_MONEY, exc.message_zh, exc.message_en, field=field) from None
    if fen <= 0:
        raise Problem(BAD_MONEY, "金额须大于零。", "The amount must be positive.", field=field)
    return fen


def donor_scope(user: AuthUser, donor_id: int) -> None:
    """A donor user sees only its own donor."""
    if user.role == "donor" and user.donor_id != donor_id:
        raise Problem(FORBIDDEN, "只能查看本单位（本人）的捐赠信息。", "A donor sees only its own data.")


async def add_donor(session: AsyncSession, data: DonorIn, actor: str) -> Donor:
    credit_code = id_number = None
    if data.kind == "organization":
        if not data.credit_code:
            raise Problem(
                INVALID_CREDIT_CODE,
                "单位捐赠方须填写统一社会信用代码。",
                "An organisation donor needs its unified social credit code.",
                field="credit_code",
            )
        try:
            credit_code = normalize_uscc(data.credit_code)
        except IdentityError as exc:
            raise Problem(INVALID_CREDIT_CODE, exc.message_zh, exc.message_en, field="credit_code") from None
        clash = await session.scalar(select(Donor.id).where(Donor.credit_code == credit_code))
    else:
        if not data.id_number:
            raise Problem(
                UNPROCESSABLE,
                "个人捐赠方须填写身份证号。",
                "An individual donor needs an ID number.",
                field="id_number",
            )
        id_number = checked_id_number(data.id_number)
        clash = await session.scalar(select(Donor.id).where(Donor.id_number == id_number))
    if clash is not None:
        raise Problem(
            CONFLICT,
            f"该捐赠方已登记（编号 {clash}）。",
            f"The donor is registered already (id {clash}).",
            field="credit_code" if credit_code else "id_number",
            extra={"donor_id": clash},
        )
    donor = Donor(
        name=data.name.strip(),
        kind=data.kind,
        credit_code=credit_code,
        id_number=id_number,
        contact=data.contact,
        created_by=actor,
    )
    session.add(donor)
    await session.flush()
    await audit.record(session, actor, "create", "donor", donor.id, None, audit.model_snapshot(donor))
    return donor


async def get_donor(session: AsyncSession, donor_id: int) -> Donor:
    donor = await get_or_404(session, Donor, donor_id, "捐赠方", "Donor")
    return donor


async def donor_exists(session: AsyncSession, donor_id: int) -> bool:
    """The kernel's hook (app state `donor_exists`): a donor user must name a donor that exists."""
    return await session.get(Donor, donor_id) is not None


async def add_program(session: AsyncSession, data: ProgramIn, actor: str) -> Program:
    try:
        rule = normalize_rule(data.rule)
    except RuleError as exc:
        raise Problem(BAD_RULE, exc.message_zh, exc.message_en, field="rule") from None
    if data.opens_on and data.closes_on and data.closes_on < data.opens_on:
        raise Problem(
            UNPROCESSABLE, "申请截止日期早于开始日期。", "The window closes before it opens.", field="closes_on"
        )
    program = Program(
        name=data.name.strip(),
        family=(data.family or data.name).strip(),
        funding=data.funding,
        rule=rule,
        once_only=data.once_only,
        first_year_only=data.first_year_only,
        eligible_categories=sorted(set(data.eligible_categories)),
        levels=sorted(set(data.levels)),
        quota=data.quota,
        budget=checked_amount(data.budget, "budget") if data.budget else None,
        opens_on=data.opens_on,
        closes_on=data.closes_on,
        notice_days=data.notice_days,
        pooling=data.pooling,
        created_by=actor,
    )
    session.add(program)
    await session.flush()
    await audit.record(session, actor, "create", "program", program.id, None, audit.model_snapshot(program))
    return program


async def get_program(
    session: AsyncSession, program_id: int, *, lock: bool = False, field: str | None = None
) -> Program:
    program = await session.get(Program, program_id, with_for_update=lock or None)
    if program is None:
        kind = UNPROCESSABLE if field else NOT_FOUND
        raise Problem(kind, f"资助项目 {program_id} 不存在。", f"Programme {program_id} does not exist.", field=field)
    return program


async def next_receipt_number(session: AsyncSession, year: int, series: str = RECEIPT_SERIES) -> tuple[int, str]:
    """Take the next serial of the year in the caller's transaction (one upsert: concurrent first receipts of
    a year queue on the counter row); a rollback gives it back, so the numbers have no gaps."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(ReceiptCounter)
        .values(series=series, year=year, last_seq=1)
        .on_conflict_do_update(
            index_elements=[ReceiptCounter.series, ReceiptCounter.year],
            set_={"last_seq": ReceiptCounter.last_seq + 1},
        )
        .returning(ReceiptCounter.last_seq)
    )
    seq = (await session.execute(stmt)).scalar_one()
    return seq, receipt_number(year, seq, series)


def verify_code(secret: str, receipt_no: str, amount: int, donor_name: str) -> str:
    """A code printed on the receipt that only this service can make (HMAC), for the public verify page."""
    mac = hmac.digest(secret.encode(), f"receipt|{receipt_no}|{amount}|{donor_name}".encode(), hashlib.sha256)
    code = base64.b32encode(mac[:10]).decode()
    return f"{code[:4]}-{code[4:8]}-{code[8:12]}"


async def _reference_free(session: AsyncSession, reference: str) -> None:
    if await session.scalar(select(Funding.id).where(Funding.reference == reference)) is not None:
        raise Problem(
            DUPLICATE_REFERENCE,
            f"银行流水号 {reference} 已入账。",
            f"Bank reference {reference} is already recorded.",
            field="reference",
        )


async def issue_receipt(
    session: AsyncSession,
    funding: Funding,
    issued_on: date,
    fields: dict[str, Any],
    issued_by: str,
    secret: str,
    replaces_no: str | None = None,
) -> Receipt:
    """Number and store a receipt for a donation; its printed fields are kept as issued (reprints use them)."""
    seq, number = await next_receipt_number(session, issued_on.year)
    receipt = Receipt(
        receipt_no=number,
        series=RECEIPT_SERIES,
        year=issued_on.year,
        seq=seq,
        funding_id=funding.id,
        issued_on=issued_on,
        fields={**fields, "issued_on": issued_on.isoformat()},
        issued_by=issued_by,
        replaces_no=replaces_no,
        verify_code=verify_code(secret, number, funding.amount, str(fields["donor"])),
    )
    session.add(receipt)
    await session.flush()
    return receipt


async def add_donation(
    session: AsyncSession, data: DonationIn, user: AuthUser, settings: Settings, *, today: date
) -> tuple[Funding, Receipt]:
    amount = checked_amount(data.amount)
    check_date(data.received_on, "received_on", today=today)  # it dates the receipt and takes its year's number
    donor = await session.get(Donor, data.donor_id)
    if donor is None:
        raise Problem(
            UNPROCESSABLE,
            f"捐赠方 {data.donor_id} 不存在。",
            f"Donor {data.donor_id} does not exist.",
            field="donor_id",
        )
    program = await get_program(session, data.program_id, field="program_id")
    await _reference_free(session, data.reference)
    students = sorted(set(data.directed_student_ids or []))
    if data.directed_student_ids is not None and not students:
        raise Problem(
            UNPROCESSABLE,
            "定向捐赠须指明受助学生。",
            "A directed donation names its students.",
            field="directed_student_ids",
        )
    if students:
        found = set((await session.scalars(select(Student.id).where(Student.id.in_(students)))).all())
        missing = [s for s in students if s not in found]
        if missing:
            raise Problem(
                UNPROCESSABLE,
                f"定向受助学生不存在：{missing}。",
                f"Students {missing} do not exist.",
                field="directed_student_ids",
                extra={"missing": missing},
            )
    funding = Funding(
        kind="donation",
        program_id=program.id,
        donor_id=donor.id,
        amount=amount,
        received_on=data.received_on,
        method=data.method,
        reference=data.reference,
        directed=bool(students),
        created_by=user.actor,
    )
    session.add(funding)
    await session.flush()
    session.add_all(DirectedStudent(funding_id=funding.id, student_id=s) for s in students)
    receipt = await issue_receipt(
        session,
        funding,
        data.received_on,
        {
            "organisation": settings.centre_name,
            "donor": donor.name,
            "donor_kind": donor.kind,
            "amount": format_yuan(amount),
            "amount_in_words": to_capitals(amount),
            "program": program.name,
            "purpose": program.name + ("（一对一结对）" if students else ""),
            "method": METHODS_ZH[data.method],
            "reference": data.reference,
            "issuer": user.username,
        },
        user.actor,
        settings.secret_key,
    )
    await audit.record(
        session,
        user.actor,
        "receive-donation",
        "funding",
        funding.id,
        None,
        {**audit.model_snapshot(funding), "receipt_no": receipt.receipt_no, "directed_student_ids": students},
    )
    return funding, receipt


async def add_appropriation(session: AsyncSession, data: AppropriationIn, actor: str, *, today: date) -> Funding:
    amount = checked_amount(data.amount)
    check_date(data.received_on, "received_on", today=today)
    program = await get_program(session, data.program_id, field="program_id")
    if program.funding != "government":
        raise Problem(
            UNPROCESSABLE,
            "财政拨款只能拨入政府资助项目。",
            "An appropriation funds a government programme only.",
            field="program_id",
        )
    document_no = data.document_no.strip()
    clash = await session.scalar(
        select(Funding.id).where(Funding.document_no == document_no, Funding.program_id == program.id)
    )
    if clash is not None:
        raise Problem(
            CONFLICT,
            f"文件 {document_no} 已为该项目拨款入账（编号 {clash}）。",
            f"Document {document_no} is already recorded for this programme.",
            field="document_no",
        )
    funding = Funding(
        kind="appropriation",
        program_id=program.id,
        amount=amount,
        received_on=data.received_on,
        document_no=document_no,
        created_by=actor,
    )
    session.add(funding)
    await session.flush()
    await audit.record(
        session, actor, "receive-appropriation", "funding", funding.id, None, audit.model_snapshot(funding)
    )
    return funding


def masked_donor_name(donor_name: str) -> str:
    """The donor as the public verify page shows it: enough to recognise, not to read off (person or organisation:
    whoever checks a receipt holds the paper and sees the full name there)."""
    return mask_name(donor_name)


__all__ = [
    "add_appropriation",
    "add_donation",
    "add_donor",
    "add_program",
    "checked_amount",
    "donor_scope",
    "get_donor",
    "get_program",
    "issue_receipt",
    "masked_donor_name",
    "next_receipt_number",
    "verify_code",
]
