"""HTTP controllers of the loans domain: applications, contracts, policy."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import LoanStatus
from loans.models import Loan
from loans.origination import applications as apps
from loans.origination import contracts
from loans.origination.certificate import render_certificate
from loans.schemas import (
    ApplicationIn,
    ApplicationOut,
    ContractOut,
    DisburseIn,
    LedgerEntryOut,
    LedgerLineOut,
    LedgerOut,
    ReasonIn,
    ReceiptIn,
    RepaymentIn,
    ScheduleLineOut,
    ScheduleOut,
    SignIn,
    VerifiedContract,
)
from loans.servicing import booking as servicing
from loans.servicing import ledger, repayments
from loans.servicing.prepayment import execution_date
from loans.servicing.repayments import record_repayment
from loans.views import application_out, contract_out, school_scope
from service import idempotency
from service.auth import STAFF_READERS, allow
from service.errors import NOT_FOUND, UNPROCESSABLE, Problem
from service.identity import mask_name
from service.money import format_yuan
from service.pagination import Limit, Offset, Page, fetch_page
from service.registry.models import Student


class LoanApplicationController(Controller):
    path = "/api/v1/loan-applications"
    tags = ["loans"]

    @post(
        "/",
        guards=[allow("officer")],
        summary="Take a loan application with its co-borrower",
        description="422 when the amount is over the limit in force for the academic year and level "
        "(the problem names the limit and the rule), 409 for a second application that year.",
    )
    async def submit(
        self, data: JSONBody[ApplicationIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> ApplicationOut:
        loan = await apps.submit(db_session, data, request.user)
        return await application_out(db_session, loan)

    @get("/", guards=[allow(*STAFF_READERS)], summary="List applications")
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[LoanStatus | None] = None,
        student_id: FromQuery[int | None] = None,
        academic_year: FromQuery[int | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ApplicationOut]:
        query = select(Loan).order_by(Loan.id)
        if status:
            query = query.where(Loan.status == status.value)
        if student_id is not None:
            query = query.where(Loan.student_id == student_id)
        if academic_year is not None:
            query = query.where(Loan.academic_year == academic_year)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(items=[await application_out(db_session, r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/{loan_id:int}", guards=[allow(*STAFF_READERS)], summary="One application")
    async def detail(self, loan_id: FromPath[int], db_session: NamedDependency[AsyncSession]) -> ApplicationOut:
        return await application_out(db_session, await apps.get_loan(db_session, loan_id))

    @post(
        "/{loan_id:int}/approve",
        guards=[allow("reviewer")],
        status_code=200,
        summary="Approve (a reviewer who did not prepare it)",
    )
    async def approve(
        self, loan_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> ApplicationOut:
        loan = await apps.decide(db_session, await apps.get_loan(db_session, loan_id), request.user, True, None)
        return await application_out(db_session, loan)

    @post("/{loan_id:int}/reject", guards=[allow("reviewer")], status_code=200, summary="Reject with a reason")
    async def reject(
        self,
        loan_id: FromPath[int],
        data: JSONBody[ReasonIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ApplicationOut:
        loan = await apps.get_loan(db_session, loan_id)
        loan = await apps.decide(db_session, loan, request.user, False, data.reason)
        return await application_out(db_session, loan)

    @post(
        "/{loan_id:int}/withdraw",
        guards=[allow("officer")],
        status_code=200,
        summary="Withdraw, or cancel before disbursement",
    )
    async def withdraw(
        self,
        loan_id: FromPath[int],
        data: JSONBody[ReasonIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ApplicationOut:
        loan = await apps.withdraw(db_session, await apps.get_loan(db_session, loan_id), request.user, data.reason)
        return await application_out(db_session, loan)

    @post("/{loan_id:int}/contract", guards=[allow("officer")], summary="Sign the contract for this year")
    async def sign(
        self,
        loan_id: FromPath[int],
        data: JSONBody[SignIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ContractOut:
        settings = request.app.state.settings
        loan = await contracts.sign(
            db_session,
            loan_id,
            data.signed_on,
            request.user,
            settings.county_code,
            settings.secret_key,
            today=settings.today(),
        )
        return await contract_out(db_session, loan)


class LoanContractController(Controller):
    path = "/api/v1/loan-contracts"
    tags = ["loans"]

    @get("/", guards=[allow(*STAFF_READERS, "school")], summary="List contracts")
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        request: Request,
        student_id: FromQuery[int | None] = None,
        status: FromQuery[LoanStatus | None] = None,
        overdue: FromQuery[bool | None] = None,
        academic_year: FromQuery[int | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[ContractOut]:
        query = select(Loan).where(Loan.contract_no.is_not(None)).order_by(Loan.contract_no)
        if request.user.role == "school":
            query = query.join(Student, Student.id == Loan.student_id).where(
                Student.university_code == request.user.university_code
            )
        if student_id is not None:
            query = query.where(Loan.student_id == student_id)
        if status:
            query = query.where(Loan.status == status.value)
        if overdue is not None:
            query = query.where((Loan.status == "overdue") if overdue else (Loan.status != "overdue"))
        if academic_year is not None:
            query = query.where(Loan.academic_year == academic_year)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(items=[await contract_out(db_session, r) for r in rows], total=total, limit=limit, offset=offset)

    @get("/{contract_no:str}", guards=[allow(*STAFF_READERS, "school")], summary="One contract")
    async def detail(
        self, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession], request: Request
    ) -> ContractOut:
        loan = await contracts.get_contract(db_session, contract_no)
        await school_scope(db_session, request.user, loan)
        return await contract_out(db_session, loan)

    @post(
        "/{contract_no:str}/receipt",
        guards=[allow("school", "officer")],
        status_code=200,
        summary="The university's receipt (回执): tuition and accommodation it charges",
    )
    async def receipt(
        self,
        contract_no: FromPath[str],
        data: JSONBody[ReceiptIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ContractOut:
        loan = await contracts.confirm_receipt(db_session, contract_no, data.amount, request.user)
        return await contract_out(db_session, loan)

    @post(
        "/{contract_no:str}/disburse",
        guards=[allow("officer")],
        status_code=200,
        summary="Disburse: tuition and accommodation to the university, the balance to the student",
    )
    async def disburse(
        self,
        contract_no: FromPath[str],
        data: JSONBody[DisburseIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ContractOut:
        today = request.app.state.settings.today()
        loan = await contracts.disburse(db_session, contract_no, data.disbursed_on, request.user, today=today)
        return await contract_out(db_session, loan)

    @get(
        "/{contract_no:str}/certificate",
        guards=[allow(*STAFF_READERS, "school")],
        summary="The 受理证明 (acceptance certificate) as PDF",
        media_type="application/pdf",
    )
    async def certificate(
        self, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession], request: Request
    ) -> Response[bytes]:
        loan = await contracts.get_contract(db_session, contract_no)
        await school_scope(db_session, request.user, loan)
        data = await contracts.certificate_data(db_session, loan, request.app.state.settings)
        return Response(
            content=render_certificate(data),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{contract_no}.pdf"'},
        )

    @get("/{contract_no:str}/schedule", guards=[allow(*STAFF_READERS, "school")], summary="Repayment schedule")
    async def schedule(
        self, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession], request: Request
    ) -> ScheduleOut:
        loan = await contracts.get_contract(db_session, contract_no)
        await school_scope(db_session, request.user, loan)
        rows = await servicing.stored_schedule(db_session, loan.id)
        lines = [
            ScheduleLineOut(
                due_on=r.due_on,
                payer=r.payer,
                principal=format_yuan(r.principal),
                interest=format_yuan(r.interest),
                paid=format_yuan(r.paid_principal + r.paid_interest),
                status=r.status,
                days=r.days,
            )
            for r in rows
        ]
        sums = {
            "principal": sum(r.principal for r in rows),
            "government_interest": sum(r.interest for r in rows if r.payer == "government"),
            "borrower_interest": sum(r.interest for r in rows if r.payer == "borrower"),
        }
        return ScheduleOut(contract_no=contract_no, lines=lines, totals={k: format_yuan(v) for k, v in sums.items()})

    @get("/{contract_no:str}/ledger", guards=[allow(*STAFF_READERS)], summary="Double-entry ledger of a contract")
    async def ledger(self, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession]) -> LedgerOut:
        loan = await contracts.get_contract(db_session, contract_no)
        out = [
            LedgerEntryOut(
                id=e.id,
                kind=e.kind,
                posted_on=e.posted_on,
                reference=e.reference,
                reverses=e.reverses_id,
                lines=[
                    LedgerLineOut(account=l.account, debit=format_yuan(l.debit), credit=format_yuan(l.credit))
                    for l in lines
                ],
            )
            for e, lines in await ledger.entries(db_session, loan.id)
        ]
        balances = await ledger.balances(db_session, loan.id)
        return LedgerOut(
            contract_no=contract_no, entries=out, balances={k: format_yuan(v) for k, v in balances.items() if v}
        )

    @post(
        "/{contract_no:str}/repayments",
        guards=[allow("officer")],
        summary="Record a repayment",
        description="Send an `Idempotency-Key` header: the same key again returns the first answer and posts "
        "nothing; the same key with another body, or a bank `reference` already posted, is a 409.",
    )
    async def repay(
        self,
        contract_no: FromPath[str],
        data: JSONBody[RepaymentIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> Response[dict[str, Any]]:
        key = idempotency.check_key(request.headers.get("idempotency-key"))
        settings = request.app.state.settings
        status, body = await record_repayment(
            db_session,
            contract_no,
            data,
            key,
            request.user.actor,
            today=settings.today(),
            max_credit=settings.repayment_max_credit,
        )
        return Response(content=body, status_code=status)

    @get(
        "/{contract_no:str}/settlement-quote",
        guards=[allow(*STAFF_READERS)],
        summary="What settles the contract on a date (full prepayment quote)",
    )
    async def settlement_quote(
        self,
        contract_no: FromPath[str],
        as_of: FromQuery[date],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> dict[str, Any]:
        loan = await contracts.get_contract(db_session, contract_no)
        if loan.disbursed_on is None:
            raise Problem(UNPROCESSABLE, "该合同尚未放款。", "The contract is not disbursed yet.")
        q = await repayments.settlement_quote(db_session, loan, as_of, today=request.app.state.settings.today())
        return {
            "contract_no": contract_no,
            "as_of": as_of.isoformat(),
            "execution_date": execution_date(as_of).isoformat(),
            **{
                k: format_yuan(getattr(q, k))
                for k in ("principal", "due_unpaid", "penalty", "accrued_interest", "credit", "total")
            },
        }

    @get("/verify/{code:str}", opt={"public": True}, summary="Check a 受理证明's check code (public)")
    async def verify(self, code: FromPath[str], db_session: NamedDependency[AsyncSession]) -> VerifiedContract:
        loan = await db_session.scalar(select(Loan).where(Loan.check_code == code.strip().upper()))
        if loan is None or loan.contract_no is None or loan.signed_on is None:
            raise Problem(
                NOT_FOUND,
                "没有与该校验码对应的合同，证明可能是伪造的。",
                "No contract has this check code; the certificate may be forged.",
            )
        student = await db_session.get(Student, loan.student_id)
        assert student is not None
        return VerifiedContract(
            contract_no=loan.contract_no,
            borrower=mask_name(student.name),
            principal=format_yuan(loan.amount),
            signed_on=loan.signed_on,
            status=loan.status,
        )


ROUTES: list[Any] = [LoanApplicationController, LoanContractController]
