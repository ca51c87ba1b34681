"""HTTP for graduates (`/api/v1/me/…`), graduation confirmation reviews and study extensions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.borrowers import graduates
from loans.models import GraduationConfirmation, Loan, ScheduleLineRow
from loans.schemas import ContactIn, ContractOut, GraduationIn, Text
from loans.views import contract_out
from service.auth import STAFF_READERS, allow
from service.identity import mask_phone
from service.money import format_yuan
from service.registry.models import Student
from service.registry.students import get_student


class ReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    approved: bool
    note: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class ExtensionIn(msgspec.Struct, forbid_unknown_fields=True):
    new_graduation: date
    reason: Text
    on: date | None = None  # the day the change takes effect (default: today)


class ConfirmationOut(msgspec.Struct):
    id: int
    student_id: int
    employer: str
    phone: str  # masked
    address: str
    status: str
    submitted_at: datetime


class MyContract(msgspec.Struct):
    contract: ContractOut
    next_due_on: date | None
    next_due_amount: str
    how_to_pay: str


HOW_TO_PAY = (
    "还款前将应还金额存入您在国家开发银行助学贷款系统登记的支付宝账户，到期日自动扣款；"
    "也可在县学生资助管理中心柜台办理。 / Before a due date, put the amount due in the Alipay account "
    "registered with the CDB student-loan system (it is debited on the due date), or pay at the centre."
)


def _confirmation_out(c: GraduationConfirmation, tz: Any) -> ConfirmationOut:
    return ConfirmationOut(
        id=c.id,
        student_id=c.student_id,
        employer=c.employer,
        phone=mask_phone(c.phone),
        address=c.address,
        status=c.status,
        submitted_at=c.submitted_at.astimezone(tz),
    )


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["graduates"]
    guards = [allow("graduate")]

    @get("/contracts", summary="My contracts and what is due next")
    async def contracts(self, db_session: NamedDependency[AsyncSession], request: Request) -> list[MyContract]:
        student = await graduates.my_student(db_session, request.user)
        loans = (
            await db_session.scalars(
                select(Loan)
                .where(Loan.student_id == student.id, Loan.contract_no.is_not(None))
                .order_by(Loan.academic_year)
            )
        ).all()
        out = []
        for loan in loans:
            nxt = (
                await db_session.execute(
                    select(ScheduleLineRow)
                    .where(
                        ScheduleLineRow.loan_id == loan.id,
                        ScheduleLineRow.payer == "borrower",
                        ScheduleLineRow.status != "paid",
                    )
                    .order_by(ScheduleLineRow.due_on)
                    .limit(1)
                )
            ).scalar_one_or_none()
            owed = 0 if nxt is None else nxt.principal + nxt.interest - nxt.paid_principal - nxt.paid_interest
            out.append(
                MyContract(
                    contract=await contract_out(db_session, loan),
                    next_due_on=None if nxt is None else nxt.due_on,
                    next_due_amount=format_yuan(owed),
                    how_to_pay=HOW_TO_PAY,
                )
            )
        return out

    @put("/contact", summary="Update my phone and address")
    async def contact(
        self, data: JSONBody[ContactIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> dict[str, Any]:
        student = await graduates.my_student(db_session, request.user)
        student = await graduates.update_contact(db_session, student, data.phone, data.address, request.user.actor)
        return {"phone": mask_phone(student.phone), "address": student.address}

    @post("/graduation-confirmation", summary="Submit my graduation confirmation (毕业确认)")
    async def graduation(
        self, data: JSONBody[GraduationIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> ConfirmationOut:
        student = await graduates.my_student(db_session, request.user)
        item = await graduates.confirm_graduation(
            db_session, student, data.employer, data.phone, data.address, request.user.actor
        )
        return _confirmation_out(item, request.app.state.settings.tz)


class GraduationReviewController(Controller):
    path = "/api/v1/graduation-confirmations"
    tags = ["graduates"]

    @get("/", guards=[allow(*STAFF_READERS, "school")], summary="Graduation confirmations (a school sees its own)")
    async def list(
        self, db_session: NamedDependency[AsyncSession], request: Request, status: FromQuery[str | None] = None
    ) -> list[ConfirmationOut]:
        query = select(GraduationConfirmation).order_by(GraduationConfirmation.id)
        if request.user.role == "school":
            query = query.join(Student, Student.id == GraduationConfirmation.student_id).where(
                Student.university_code == request.user.university_code
            )
        if status:
            query = query.where(GraduationConfirmation.status == status)
        tz = request.app.state.settings.tz
        return [_confirmation_out(c, tz) for c in (await db_session.scalars(query.limit(500))).all()]

    @post(
        "/{item_id:int}/review",
        guards=[allow("school", "reviewer")],
        status_code=200,
        summary="Approve or reject a graduation confirmation",
    )
    async def review(
        self,
        item_id: FromPath[int],
        data: JSONBody[ReviewIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> ConfirmationOut:
        item = await graduates.review_graduation(db_session, item_id, data.approved, data.note, request.user)
        return _confirmation_out(item, request.app.state.settings.tz)


class StudyExtensionController(Controller):
    path = "/api/v1/students/{student_id:int}/study-extension"
    tags = ["graduates"]

    @post(
        "/",
        guards=[allow("officer")],
        status_code=200,
        summary="Study extension (就学信息变更): the subsidy continues, schedules are recomputed",
    )
    async def extend(
        self,
        student_id: FromPath[int],
        data: JSONBody[ExtensionIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> dict[str, Any]:
        student = await get_student(db_session, student_id)
        today = request.app.state.settings.today()
        changed = await graduates.extend_study(
            db_session, student, data.new_graduation, data.on or today, data.reason, request.user, today=today
        )
        return {
            "student_id": student.id,
            "expected_graduation": student.expected_graduation.isoformat(),
            "contracts": changed,
        }


ROUTES = [MeController, GraduationReviewController, StudyExtensionController]
