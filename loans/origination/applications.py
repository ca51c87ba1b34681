"""Taking, deciding and withdrawing loan applications: limits, co-borrower rules, maker-checker."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from loans.lifecycle import LIVE, LOAN, LoanStatus
from loans.models import Loan, PolicyRule
from loans.policy import PolicyError, PolicyRow, limits_for
from loans.schemas import ApplicationIn
from service import audit, lifecycle
from service.auth import AuthUser
from service.db import utcnow
from service.errors import NOT_FOUND, Problem, problem_type
from service.identity import mask_id_number
from service.lookups import get_or_404
from service.money import MoneyFormatError, format_yuan, parse_yuan
from service.registry.models import CoBorrower, Student
from service.registry.students import checked_id_number, checked_phone
from service.registry.vocabulary import level_zh

OVER_LIMIT = problem_type("loan-over-limit", 422, "超过贷款额度", "Over the loan limit")
BELOW_MINIMUM = problem_type("loan-below-minimum", 422, "低于最低贷款金额", "Below the minimum loan")
NOT_WHOLE_YUAN = problem_type("loan-not-whole-yuan", 422, "贷款金额须为整元", "Loans are in whole yuan")
NO_POLICY = problem_type("no-policy-in-force", 422, "没有生效的政策", "No policy in force")
CO_BORROWER = problem_type("co-borrower-not-allowed", 422, "共同借款人不符合规定", "Co-borrower not allowed")
DUPLICATE = problem_type("loan-application-exists", 409, "该学年已有贷款申请", "An application exists for that year")
MAKER_CHECKER = problem_type("maker-checker", 403, "不能审批自己经办的业务", "You may not approve your own work")
BAD_AMOUNT = problem_type("invalid-amount", 422, "金额格式有误", "Invalid amount")

_LIVE_VALUES = [s.value for s in LIVE]


async def policy_rows(session: AsyncSession) -> list[PolicyRow]:
    """All policy rows (a few dozen), read once per session: a batch of work sees one policy."""
    cached = session.info.get("loan_policy_rows")
    if cached is None:
        rows = (await session.scalars(select(PolicyRule))).all()
        cached = [PolicyRow(r.id, r.kind, r.key, r.effective_from, r.value, r.source) for r in rows]
        session.info["loan_policy_rows"] = cached
    return cached


def policy_problem(exc: PolicyError, field: str | None = None) -> Problem:
    return Problem(NO_POLICY, exc.message_zh, exc.message_en, field=field)


def parse_amount(text: str, field: str = "amount") -> int:
    try:
        return parse_yuan(text)
    except MoneyFormatError as exc:
        raise Problem(BAD_AMOUNT, exc.message_zh, exc.message_en, field=field) from None


def check_amount(rows: list[PolicyRow], amount: int, academic_year: int, level: str) -> list[int]:
    """The limit rule for one application; returns the ids of the policy rows it used."""
    try:
        limits = limits_for(rows, academic_year, level)
    except PolicyError as exc:
        raise policy_problem(exc, "academic_year") from None
    lo, hi = limits.rows
    if amount % 100:
        raise Problem(
            NOT_WHOLE_YUAN,
            f"贷款金额 {format_yuan(amount)} 元须为整元。",
            f"The amount {format_yuan(amount)} must be whole yuan.",
            field="amount",
        )
    if amount > limits.maximum:
        raise Problem(
            OVER_LIMIT,
            f"{academic_year} 学年{level_zh(level)}学生每年贷款上限为 {format_yuan(limits.maximum)} 元"
            f"（依据：{hi.source}），申请金额 {format_yuan(amount)} 元超出。",
            f"The limit for a {level.replace('_', ' ')} student in academic year {academic_year} is "
            f"{format_yuan(limits.maximum)} yuan (policy row {hi.id}); {format_yuan(amount)} is over it.",
            field="amount",
            extra={"limit": format_yuan(limits.maximum), "policy_id": hi.id},
        )
    if amount < limits.minimum:
        raise Problem(
            BELOW_MINIMUM,
            f"每学年贷款金额不低于 {format_yuan(limits.minimum)} 元。",
            f"The minimum is {format_yuan(limits.minimum)} yuan a year.",
            field="amount",
            extra={"minimum": format_yuan(limits.minimum), "policy_id": lo.id},
        )
    return [lo.id, hi.id]


async def _co_borrower(session: AsyncSession, student: Student, data: ApplicationIn) -> CoBorrower:
    cb_in = data.co_borrower
    id_number = checked_id_number(cb_in.id_number, "co_borrower.id_number")
    phone = checked_phone(cb_in.phone, "co_borrower.phone")
    if id_number == student.id_number:
        raise Problem(
            CO_BORROWER,
            "共同借款人不能是学生本人。",
            "The co-borrower cannot be the student.",
            field="co_borrower.id_number",
        )
    # A borrower cannot be someone else's co-borrower, nor a co-borrower a borrower.
    borrower = await session.scalar(
        select(Student.id)
        .join(Loan, Loan.student_id == Student.id)
        .where(Student.id_number == id_number, Loan.status.in_(_LIVE_VALUES))
        .limit(1)
    )
    if borrower is not None:
        raise Problem(
            CO_BORROWER,
            f"{mask_id_number(id_number)} 本人有助学贷款，不能担任共同借款人。",
            "That person is a borrower and cannot be a co-borrower.",
            field="co_borrower.id_number",
        )
    is_co = await session.scalar(
        select(Loan.id)
        .join(CoBorrower, Loan.co_borrower_id == CoBorrower.id)
        .where(CoBorrower.id_number == student.id_number, Loan.status.in_(_LIVE_VALUES))
        .limit(1)
    )
    if is_co is not None:
        raise Problem(
            CO_BORROWER,
            "该学生是他人贷款的共同借款人，不能再作为借款人。",
            "The student is a co-borrower of another loan and cannot borrow.",
            field="student_id",
        )
    existing = await session.scalar(select(CoBorrower).where(CoBorrower.id_number == id_number))
    if existing is None:
        existing = CoBorrower(name=cb_in.name.strip(), id_number=id_number, phone=phone)
        session.add(existing)
        await session.flush()
    elif existing.name != cb_in.name.strip():
        raise Problem(
            CO_BORROWER,
            "该身份证号已登记为另一姓名的共同借款人，请核对。",
            "That ID number is registered under another name.",
            field="co_borrower.name",
        )
    else:
        existing.phone = phone
    return existing


async def submit(session: AsyncSession, data: ApplicationIn, user: AuthUser) -> Loan:
    student = await session.get(Student, data.student_id)
    if student is None:
        raise Problem(
            NOT_FOUND,
            f"学生 {data.student_id} 不存在。",
            f"Student {data.student_id} does not exist.",
            field="student_id",
        )
    amount = parse_amount(data.amount)
    rows = await policy_rows(session)
    limit_ids = check_amount(rows, amount, data.academic_year, student.level)
    taken = await session.scalar(
        select(Loan.id).where(
            Loan.student_id == student.id, Loan.academic_year == data.academic_year, Loan.status.in_(_LIVE_VALUES)
        )
    )
    if taken is not None:
        raise Problem(
            DUPLICATE,
            f"该学生 {data.academic_year} 学年已有贷款申请（编号 {taken}）。",
            f"Application {taken} exists for this student and academic year.",
            field="academic_year",
            extra={"application_id": taken},
        )
    co = await _co_borrower(session, student, data)
    loan = Loan(
        student_id=student.id,
        academic_year=data.academic_year,
        amount=amount,
        co_borrower_id=co.id,
        co_borrower_relationship=data.co_borrower.relationship,
        status=LoanStatus.SUBMITTED.value,
        prepared_by=user.id,
        limit_policy_ids=limit_ids,
    )
    session.add(loan)
    await session.flush()
    await audit.record(session, user.actor, "submit", "loan", loan.id, None, audit.model_snapshot(loan))
    return loan


async def get_loan(session: AsyncSession, loan_id: int) -> Loan:
    loan = await get_or_404(session, Loan, loan_id, "贷款申请", "Loan application")
    return loan


async def move(
    session: AsyncSession, loan: Loan, wanted: LoanStatus, user: AuthUser, action: str, **changes: object
) -> Loan:
    """Apply one state-machine step with its field changes, and audit it."""
    return await lifecycle.move(session, LOAN, loan, wanted, actor=user.actor, action=action, **changes)


async def decide(session: AsyncSession, loan: Loan, user: AuthUser, approve: bool, reason: str | None) -> Loan:
    if loan.prepared_by == user.id:
        raise Problem(
            MAKER_CHECKER,
            "经办人不能审批自己受理的申请，请由另一位复核人审批。",
            "The officer who prepared an application cannot approve or reject it.",
        )
    wanted = LoanStatus.APPROVED if approve else LoanStatus.REJECTED
    return await move(
        session,
        loan,
        wanted,
        user,
        "approve" if approve else "reject",
        decided_by=user.id,
        decided_at=utcnow(),
        reason=reason,
    )


async def withdraw(session: AsyncSession, loan: Loan, user: AuthUser, reason: str) -> Loan:
    return await move(session, loan, LoanStatus.WITHDRAWN, user, "withdraw", reason=reason)
