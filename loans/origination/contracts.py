"""Signing contracts (gapless numbers, terms from policy, a check code), the 回执 and disbursement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import LoanStatus
from loans.models import ContractCounter, Loan, LoanPayout
from loans.origination.applications import BAD_AMOUNT, get_loan, move, parse_amount, policy_problem, policy_rows
from loans.origination.certificate import CertificateData
from loans.origination.check_code import check_code
from loans.origination.numbers import MAX_SERIAL, contract_number
from loans.policy import PolicyError, contract_terms, format_rate
from loans.servicing.booking import book_disbursement
from service.auth import AuthUser
from service.dates import check_date
from service.db import utcnow
from service.errors import CONFLICT, FORBIDDEN, NOT_FOUND, UNPROCESSABLE, Problem
from service.identity import mask_id_number
from service.money import format_yuan
from service.registry.models import CoBorrower, Student, University
from service.registry.study_dates import signed_after_graduation
from service.registry.vocabulary import LEVELS_ZH, RELATIONSHIPS_ZH
from service.settings import Settings


async def next_contract_number(session: AsyncSession, county: str, year: int) -> str:
    """Take the next number in the signing transaction: a rollback gives it back, so there are no gaps.

    One upsert statement, so that two clerks signing the first contract of a year at the same moment
    queue on the counter row instead of both inserting it. Imported contracts never move the counter (an imported
    …-999999 must not push the series to seven digits): a number an import took is skipped here instead, and the
    counter moves past it, so the series has gaps only where imported contracts hold the numbers.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(ContractCounter).values(county=county, year=year, last_seq=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[ContractCounter.county, ContractCounter.year],
        set_={"last_seq": ContractCounter.last_seq + 1},
    ).returning(ContractCounter.last_seq)
    seq = (await session.execute(stmt)).scalar_one()
    number = _in_series(county, year, seq)
    if await session.scalar(select(Loan.id).where(Loan.contract_no == number)) is None:
        return number  # the usual case: one look-up by the unique index
    last = contract_number(county, year, MAX_SERIAL)
    taken = set((await session.scalars(select(Loan.contract_no).where(Loan.contract_no.between(number, last)))).all())
    while number in taken:
        seq += 1
        number = _in_series(county, year, seq)
    await session.execute(
        update(ContractCounter)
        .where(ContractCounter.county == county, ContractCounter.year == year)
        .values(last_seq=seq)
    )
    return number


def _in_series(county: str, year: int, seq: int) -> str:
    if seq > MAX_SERIAL:
        raise Problem(
            CONFLICT,
            f"{county} 县 {year} 年的合同编号已用完（{MAX_SERIAL} 个）。",
            f"The contract numbers of county {county}, year {year} are used up ({MAX_SERIAL}).",
        )
    return contract_number(county, year, seq)


async def get_contract(session: AsyncSession, contract_no: str) -> Loan:
    loan = await session.scalar(select(Loan).where(Loan.contract_no == contract_no))
    if loan is None:
        raise Problem(NOT_FOUND, f"合同 {contract_no} 不存在。", f"Contract {contract_no} does not exist.")
    return loan


async def sign(
    session: AsyncSession, loan_id: int, signed_on: date, user: AuthUser, county: str, secret: str, *, today: date
) -> Loan:
    loan = await get_loan(session, loan_id)
    student = await session.get(Student, loan.student_id)
    assert student is not None
    if loan.status != LoanStatus.APPROVED.value:  # let the state machine word the refusal
        return await move(session, loan, LoanStatus.CONTRACTED, user, "sign")
    check_date(signed_on, "signed_on", today=today)
    signing_fault = signed_after_graduation(signed_on, student.expected_graduation)
    if signing_fault is not None:
        zh, en = signing_fault
        raise Problem(UNPROCESSABLE, zh + "。", en + ".", field="signed_on")
    if signed_on.year < loan.academic_year - 1 or signed_on.year > loan.academic_year + 1:
        raise Problem(
            UNPROCESSABLE,
            f"签约日期 {signed_on} 与贷款学年 {loan.academic_year} 不符。",
            f"Signing date {signed_on} does not fit academic year {loan.academic_year}.",
            field="signed_on",
        )
    graduation_year = student.expected_graduation.year
    try:
        terms = contract_terms(await policy_rows(session), signed_on, graduation_year)
    except PolicyError as exc:
        raise policy_problem(exc, "signed_on") from None
    number = await next_contract_number(session, county, loan.academic_year)
    return await move(
        session,
        loan,
        LoanStatus.CONTRACTED,
        user,
        "sign",
        contract_no=number,
        signed_on=signed_on,
        rate=terms.rate,
        lpr=terms.lpr,
        spread_bp=terms.spread_bp,
        term_years=terms.term_years,
        maturity_date=terms.maturity_date,
        grace_years=terms.grace_years,
        subsidy_end=terms.subsidy_end,
        graduation_year=graduation_year,
        contract_policy_ids=list(terms.policy_ids),
        check_code=check_code(secret, number, student.id_number, loan.amount, signed_on),
    )


async def confirm_receipt(session: AsyncSession, contract_no: str, amount_text: str, user: AuthUser) -> Loan:
    """The university's 回执: the tuition and accommodation it charges, paid to it out of the loan."""
    loan = await get_contract(session, contract_no)
    student = await session.get(Student, loan.student_id)
    assert student is not None
    if user.role == "school" and student.university_code != user.university_code:
        raise Problem(FORBIDDEN, "该合同的学生不在本校，不能回执。", "This student is not at your university.")
    amount = parse_amount(amount_text)
    if amount > loan.amount:
        raise Problem(
            BAD_AMOUNT,
            f"回执金额 {format_yuan(amount)} 元超过贷款金额 {format_yuan(loan.amount)} 元。",
            f"The receipt {format_yuan(amount)} exceeds the loan {format_yuan(loan.amount)}.",
            field="amount",
            extra={"principal": format_yuan(loan.amount)},
        )
    return await move(
        session,
        loan,
        LoanStatus.RECEIPT_CONFIRMED,
        user,
        "receipt",
        receipt_amount=amount,
        receipt_by=user.id,
        receipt_at=utcnow(),
    )


async def disburse(session: AsyncSession, contract_no: str, disbursed_on: date, user: AuthUser, *, today: date) -> Loan:
    """Pay tuition and accommodation to the university and the balance to the student, both recorded."""
    loan = await get_contract(session, contract_no)
    check_date(disbursed_on, "disbursed_on", today=today, after=loan.signed_on, after_zh="签约日期", after_en="signing")
    if loan.status == LoanStatus.RECEIPT_CONFIRMED.value:
        student = await session.get(Student, loan.student_id)
        assert student is not None and loan.receipt_amount is not None
        to_university, to_student = loan.receipt_amount, loan.amount - loan.receipt_amount
        for payee, ref, amount in (
            ("university", student.university_code, to_university),
            ("student", str(student.id), to_student),
        ):
            if amount:
                session.add(
                    LoanPayout(loan_id=loan.id, payee=payee, payee_ref=ref, amount=amount, paid_on=disbursed_on)
                )
    loan = await move(session, loan, LoanStatus.DISBURSED, user, "disburse", disbursed_on=disbursed_on)
    await book_disbursement(session, loan, await policy_rows(session), user.actor)
    # Disbursement is a moment; a student is in school until the subsidy ends.
    return await move(session, loan, LoanStatus.IN_SCHOOL, user, "start-study")


async def certificate_data(session: AsyncSession, loan: Loan, settings: Settings) -> CertificateData:
    student = await session.get(Student, loan.student_id)
    co = await session.get(CoBorrower, loan.co_borrower_id)
    assert student and co and loan.contract_no and loan.signed_on and loan.maturity_date and loan.check_code
    university = await session.get(University, student.university_code)
    return CertificateData(
        centre_name=settings.centre_name,
        contract_no=loan.contract_no,
        student_name=student.name,
        id_number_masked=mask_id_number(student.id_number),
        university=university.name if university else student.university_code,
        level_zh=LEVELS_ZH.get(student.level, student.level),
        academic_year=loan.academic_year,
        principal_fen=loan.amount,
        rate_percent=format_rate(loan.rate or Decimal(0)),
        term_years=loan.term_years or 0,
        signed_on=loan.signed_on,
        maturity_date=loan.maturity_date,
        co_borrower_name=co.name,
        co_borrower_relationship_zh=RELATIONSHIPS_ZH.get(loan.co_borrower_relationship, loan.co_borrower_relationship),
        check_code=loan.check_code,
        verify_url=f"{settings.public_url}/api/v1/loan-contracts/verify/{loan.check_code}",
    )


async def payouts(session: AsyncSession, loan_id: int) -> list[LoanPayout]:
    return list(
        (await session.scalars(select(LoanPayout).where(LoanPayout.loan_id == loan_id).order_by(LoanPayout.id))).all()
    )


__all__ = [
    "BAD_AMOUNT",
    "certificate_data",
    "check_code",
    "confirm_receipt",
    "contract_number",
    "disburse",
    "get_contract",
    "next_contract_number",
    "payouts",
    "sign",
]
