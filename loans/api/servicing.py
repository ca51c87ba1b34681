"""HTTP for servicing a contract: prepayment requests and repayment reversals."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.models import PrepaymentRequest
from loans.origination import contracts
from loans.origination.applications import BAD_AMOUNT, parse_amount
from loans.schemas import Money, Reason
from loans.servicing import prepayment_requests, reversal
from service.auth import STAFF_READERS, allow
from service.errors import Problem
from service.money import format_yuan


class PrepaymentIn(msgspec.Struct, forbid_unknown_fields=True):
    requested_on: date
    amount: Money | None = None
    full: bool = False


class PrepaymentOut(msgspec.Struct):
    id: int
    contract_no: str
    full: bool
    amount: str | None  # principal to repay early; for a full settlement, known once executed
    requested_on: date
    execute_on: date
    status: str
    paid: str | None
    note: str | None


class ReverseIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason
    reversed_on: date | None = None  # the business date of the reversal (default: today)


def _out(contract_no: str, r: PrepaymentRequest) -> PrepaymentOut:
    return PrepaymentOut(
        id=r.id,
        contract_no=contract_no,
        full=r.full,
        amount=None if r.amount is None else format_yuan(r.amount),
        requested_on=r.requested_on,
        execute_on=r.execute_on,
        status=r.status,
        paid=None if r.paid is None else format_yuan(r.paid),
        note=r.note,
    )


class ServicingController(Controller):
    path = "/api/v1/loan-contracts/{contract_no:str}"
    tags = ["loans"]

    @post(
        "/prepayment-requests",
        guards=[allow("officer")],
        summary="Request a prepayment (部分或全部提前还款)",
        description="`amount` (at least the minimum in force, 500 yuan by default) or `full: true`. The batch "
        "executes it on the 20th given by the 15th/20th/October/November rule (`execute_on`); the "
        "schedule's future is then computed again.",
    )
    async def request(
        self,
        contract_no: FromPath[str],
        data: JSONBody[PrepaymentIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> PrepaymentOut:
        loan = await contracts.get_contract(db_session, contract_no)
        amount = None if data.amount is None else parse_amount(data.amount)
        if amount is not None and amount <= 0:
            raise Problem(BAD_AMOUNT, "提前还款金额须大于零。", "The amount must be positive.", field="amount")
        item = await prepayment_requests.request(
            db_session,
            loan,
            data.full,
            amount,
            data.requested_on,
            request.user.actor,
            today=request.app.state.settings.today(),
        )
        return _out(contract_no, item)

    @get("/prepayment-requests", guards=[allow(*STAFF_READERS)], summary="Prepayment requests of a contract")
    async def requests(
        self, contract_no: FromPath[str], db_session: NamedDependency[AsyncSession]
    ) -> list[PrepaymentOut]:
        loan = await contracts.get_contract(db_session, contract_no)
        rows = (
            await db_session.scalars(
                select(PrepaymentRequest).where(PrepaymentRequest.loan_id == loan.id).order_by(PrepaymentRequest.id)
            )
        ).all()
        return [_out(contract_no, r) for r in rows]

    @post(
        "/repayments/{entry_id:int}/reverse",
        guards=[allow("officer")],
        status_code=201,
        summary="Reverse a repayment: a mirror entry, the schedule lines it paid restored",
    )
    async def reverse(
        self,
        contract_no: FromPath[str],
        entry_id: FromPath[int],
        data: JSONBody[ReverseIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> dict[str, Any]:
        loan = await contracts.get_contract(db_session, contract_no)
        await db_session.refresh(loan, with_for_update=True)
        today = request.app.state.settings.today()
        entry = await reversal.reverse_repayment(
            db_session, loan, entry_id, data.reason, data.reversed_on or today, request.user.actor, today=today
        )
        return {
            "id": entry.id,
            "contract_no": contract_no,
            "kind": entry.kind,
            "reverses": entry_id,
            "posted_on": entry.posted_on.isoformat(),
        }


ROUTES: list[Any] = [ServicingController]
