"""Console pages of contracts: the list, one contract (schedule, ledger, repayments), its 受理证明, and the
officer's steps on it: the 回执 on a university's behalf, disbursement and recording a repayment."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import ACTIVE, LoanStatus
from loans.models import LedgerLine, Loan
from loans.origination import contracts
from loans.origination.certificate import render_certificate
from loans.schemas import DisburseIn, ReceiptIn, RepaymentIn
from loans.servicing import booking as servicing
from loans.servicing import ledger
from loans.servicing.repayments import record_repayment
from loans.views import contract_out, school_scope
from notifications.models import OutboxMessage
from notifications.outbox import mask_recipient
from service import idempotency
from service.auth import STAFF_READERS, allow
from service.errors import Problem
from service.money import format_yuan
from service.registry.models import Student, University
from service.web.console import (
    STAFF,
    back_to,
    fetch_rows,
    form_struct,
    form_values,
    page_window,
    pager,
    render,
    texts,
    today,
)

_ACTIVE = {s.value for s in ACTIVE}


@get("/console/contracts", guards=[allow(*STAFF)])
async def contract_list(request: Request, db_session: NamedDependency[AsyncSession]) -> Template:
    q = request.query_params.get("q", "").strip()[:50]
    status = request.query_params.get("status") or ""
    offset = page_window(request)
    query = (
        select(Loan, Student.name)
        .join(Student, Student.id == Loan.student_id)
        .where(Loan.contract_no.is_not(None))
        .order_by(Loan.contract_no.desc())
    )
    if q:
        query = query.where(or_(Loan.contract_no.contains(q), Student.name.contains(q)))
    if status in {s.value for s in LoanStatus}:
        query = query.where(Loan.status == status)
    rows, total = await fetch_rows(db_session, query, offset)
    ids = [loan.id for loan, _ in rows]
    outstanding = (
        {
            loan_id: total
            for loan_id, total in await db_session.execute(
                select(LedgerLine.loan_id, func.sum(LedgerLine.debit - LedgerLine.credit))
                .where(LedgerLine.loan_id.in_(ids), LedgerLine.account == "principal")
                .group_by(LedgerLine.loan_id)
            )
        }
        if ids
        else {}
    )
    return render(
        request,
        "contracts.html",
        q=q,
        status=status,
        statuses=[s.value for s in LoanStatus],
        pager=pager(request, total, offset),
        items=[
            {
                "no": loan.contract_no,
                "student_id": loan.student_id,
                "student": name,
                "year": loan.academic_year,
                "principal": format_yuan(loan.amount),
                "status": loan.status,
                "outstanding": format_yuan(int(outstanding.get(loan.id, 0) or 0)),
                "signed_on": loan.signed_on,
            }
            for loan, name in rows
        ],
    )


async def contract_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    contract_no: str,
    status: int = 200,
    error: str | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    loan = await contracts.get_contract(session, contract_no)
    student = await session.get(Student, loan.student_id)
    assert student is not None
    university = await session.get(University, student.university_code)
    entries = await ledger.entries(session, loan.id)
    reminders = (
        await session.scalars(
            select(OutboxMessage)
            .where(  # student_id is indexed; a student has few
                OutboxMessage.student_id == loan.student_id, OutboxMessage.contract_no == contract_no
            )
            .order_by(OutboxMessage.id.desc())
            .limit(100)
        )
    ).all()
    return render(
        request,
        "contract.html",
        status,
        error=error,
        values=values or {},
        c=await contract_out(session, loan),
        student=student,
        university=university.name if university else student.university_code,
        schedule=await servicing.stored_schedule(session, loan.id),
        entries=entries,
        repayments=[(e, lines) for e, lines in entries if e.kind == "repayment"],
        fmt=format_yuan,
        active=loan.status in _ACTIVE,
        today=today(request),
        idem=uuid.uuid4().hex,
        reminders=[(m, mask_recipient(m.channel, m.recipient)) for m in reminders],
    )


@get("/console/contracts/{contract_no:str}", guards=[allow(*STAFF)])
async def contract_detail(
    request: Request, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Template:
    return await contract_page(request, db_session, contract_no)


@get("/console/contracts/{contract_no:str}/certificate.pdf", guards=[allow(*STAFF_READERS, "school")])
async def contract_certificate(
    request: Request, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Response[bytes]:
    loan = await contracts.get_contract(db_session, contract_no)
    await school_scope(db_session, request.user, loan)
    data = await contracts.certificate_data(db_session, loan, request.app.state.settings)
    return Response(
        content=render_certificate(data),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{contract_no}.pdf"'},
    )


async def _refused(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    contract_no: str,
    exc: Problem,
    values: dict[str, Any] | None = None,
) -> Template:
    await session.rollback()  # show the contract as it was; the 4xx status keeps it that way
    return await contract_page(request, session, contract_no, exc.kind.status, texts(request).problem(exc), values)


async def _contract_step(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    contract_no: str,
    schema: type[Any],
    act: Callable[[Any], Awaitable[Any]],
) -> Response[Any]:
    """One officer's step on a contract from its form: done and back to the contract, or refused on its page."""
    values = await form_values(request)
    try:
        await act(form_struct(schema, {k: v for k, v in values.items() if k != "idem"}))
    except Problem as exc:
        return await _refused(request, session, contract_no, exc, values)
    return back_to(f"/console/contracts/{contract_no}", "done")


@post("/console/contracts/{contract_no:str}/receipt", guards=[allow("officer")])
async def contract_receipt(
    request: Request, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    return await _contract_step(
        request,
        db_session,
        contract_no,
        ReceiptIn,
        lambda data: contracts.confirm_receipt(db_session, contract_no, data.amount, request.user),
    )


@post("/console/contracts/{contract_no:str}/disburse", guards=[allow("officer")])
async def contract_disburse(
    request: Request, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    return await _contract_step(
        request,
        db_session,
        contract_no,
        DisburseIn,
        lambda data: contracts.disburse(
            db_session, contract_no, data.disbursed_on, request.user, today=request.app.state.settings.today()
        ),
    )


@post("/console/contracts/{contract_no:str}/repayments", guards=[allow("officer")])
async def contract_repay(
    request: Request, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    """As the API's repayment: the form carries a one-time key, so a second click posts nothing twice."""
    key = idempotency.check_key((await form_values(request)).get("idem"))
    return await _contract_step(
        request,
        db_session,
        contract_no,
        RepaymentIn,
        lambda data: record_repayment(
            db_session,
            contract_no,
            data,
            key,
            request.user.actor,
            today=request.app.state.settings.today(),
            max_credit=request.app.state.settings.repayment_max_credit,
        ),
    )


ROUTES: list[Any] = [
    contract_list,
    contract_detail,
    contract_certificate,
    contract_receipt,
    contract_disburse,
    contract_repay,
]
