"""The loans' answers (applications, contracts) and what a school may see: shared by the API and the console."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from loans.models import Loan
from loans.origination import applications as apps
from loans.origination import contracts
from loans.policy import PolicyError, format_rate, limits_for
from loans.schemas import ApplicationOut, CoBorrowerOut, ContractOut, PayoutOut
from loans.servicing import ledger
from service.auth import AuthUser
from service.errors import FORBIDDEN, Problem
from service.identity import mask_id_number, mask_phone
from service.money import format_yuan
from service.registry.models import CoBorrower, Student


async def application_out(session: AsyncSession, loan: Loan) -> ApplicationOut:
    co = await session.get(CoBorrower, loan.co_borrower_id)
    student = await session.get(Student, loan.student_id)
    assert co is not None and student is not None
    try:
        limit = format_yuan(limits_for(await apps.policy_rows(session), loan.academic_year, student.level).maximum)
    except PolicyError:
        limit = ""
    return ApplicationOut(
        id=loan.id,
        status=loan.status,
        student_id=loan.student_id,
        academic_year=loan.academic_year,
        amount=format_yuan(loan.amount),
        limit=limit,
        co_borrower=CoBorrowerOut(
            name=co.name,
            id_number=mask_id_number(co.id_number),
            phone=mask_phone(co.phone),
            relationship=loan.co_borrower_relationship,
        ),
        prepared_by=loan.prepared_by,
        decided_by=loan.decided_by,
        reason=loan.reason,
        contract_no=loan.contract_no,
        created_at=loan.created_at,
    )


async def contract_out(session: AsyncSession, loan: Loan) -> ContractOut:
    assert loan.contract_no and loan.signed_on and loan.rate is not None and loan.maturity_date
    paid = await contracts.payouts(session, loan.id)
    outstanding = (await ledger.balances(session, loan.id))["principal"]
    return ContractOut(
        contract_no=loan.contract_no,
        application_id=loan.id,
        student_id=loan.student_id,
        academic_year=loan.academic_year,
        status=loan.status,
        principal=format_yuan(loan.amount),
        outstanding_principal=format_yuan(outstanding),  # summed from the ledger
        rate=format_rate(loan.rate),
        lpr=format_rate(loan.lpr or loan.rate),
        spread_bp=loan.spread_bp or 0,
        term_years=loan.term_years or 0,
        signed_on=loan.signed_on,
        maturity_date=loan.maturity_date,
        grace_years=loan.grace_years or 0,
        subsidy_end=loan.subsidy_end or loan.maturity_date,
        receipt_amount=None if loan.receipt_amount is None else format_yuan(loan.receipt_amount),
        disbursed_on=loan.disbursed_on,
        payouts=[
            PayoutOut(payee=p.payee, payee_ref=p.payee_ref, amount=format_yuan(p.amount), paid_on=p.paid_on)
            for p in paid
        ],
        policy_ids=list(loan.contract_policy_ids or []) + list(loan.limit_policy_ids or []),
        check_code=loan.check_code or "",
    )


async def school_scope(session: AsyncSession, user: AuthUser, loan: Loan) -> None:
    if user.role == "school":
        student = await session.get(Student, loan.student_id)
        if student is None or student.university_code != user.university_code:
            raise Problem(FORBIDDEN, "该合同的学生不在本校。", "This student is not at your university.")
