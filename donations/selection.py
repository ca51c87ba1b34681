"""Selection: applications (eligibility, duplicates), maker-checker review, public notice and finalisation
into awards (objections to a notice: donations.objections)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from donations.funding import get_program
from donations.lifecycle import APPLICATION, LIVE_APPS, OBJECTION, AppStatus, AwardStatus
from donations.models import Application, Award, Notice, Objection, Program
from donations.rules import Candidate, ProgramRules, decide, notice_ends_on, notice_has_ended
from donations.schemas import ApplicationIn
from service import audit, lifecycle
from service.auth import AuthUser
from service.db import utcnow
from service.errors import NOT_FOUND, UNPROCESSABLE, Problem, problem_type
from service.identity import IdentityError, mask_id_number, normalize_bank_card
from service.registry.models import Student, University
from service.registry.study_dates import academic_year_of

NOT_ELIGIBLE = problem_type("grant-not-eligible", 422, "不符合资助条件", "Not eligible")
DUPLICATE = problem_type("grant-application-exists", 409, "重复申请", "The application exists already")
ONCE_ONLY = problem_type("grant-once-only", 409, "该资助只能享受一次", "This grant is once in a lifetime")
MAKER_CHECKER = problem_type("maker-checker", 403, "不能审批自己经办的业务", "You may not approve your own work")
INVALID_CARD = problem_type("invalid-bank-card", 422, "银行卡号无效", "Invalid bank card number")
_LIVE = [s.value for s in LIVE_APPS]
NOTICE_LEAD = timedelta(days=366)  # how far ahead a notice may be announced


def checked_card(card: str | None, field: str = "bank_card") -> str | None:
    if card is None:
        return None
    try:
        return normalize_bank_card(card)
    except IdentityError as exc:
        raise Problem(INVALID_CARD, exc.message_zh, exc.message_en, field=field) from None


def program_rules(p: Program) -> ProgramRules:
    return ProgramRules(
        rule=p.rule,
        eligible_categories=tuple(p.eligible_categories),
        levels=tuple(p.levels),
        quota=p.quota,
        budget=p.budget,
        opens_on=p.opens_on,
        closes_on=p.closes_on,
        first_year_only=p.first_year_only,
    )


async def move(
    session: AsyncSession, app: Application, wanted: AppStatus, actor: str, action: str, **changes: Any
) -> Application:
    return await lifecycle.move(session, APPLICATION, app, wanted, actor=actor, action=action, **changes)


async def _once_only_clash(session: AsyncSession, program: Program, student: Student) -> int | None:
    """An award (not revoked) or a live application in the programme's family for this ID number."""
    family = select(Program.id).where(Program.family == program.family, Program.once_only.is_(True))
    person = select(Student.id).where(Student.id_number == student.id_number)
    awarded = await session.scalar(
        select(Award.id).where(
            Award.program_id.in_(family), Award.student_id.in_(person), Award.status != AwardStatus.REVOKED.value
        )
    )
    if awarded is not None:
        return awarded
    return await session.scalar(
        select(Application.id).where(
            Application.program_id.in_(family),
            Application.student_id.in_(person),
            Application.status.in_([AppStatus.SUBMITTED.value, AppStatus.APPROVED.value, AppStatus.NOTICED.value]),
        )
    )


async def submit(
    session: AsyncSession, program_id: int, data: ApplicationIn, user: AuthUser, today: date
) -> Application:
    program = await get_program(session, program_id, lock=True)  # quota and budget: one taker at a time
    student = await session.get(Student, data.student_id)
    if student is None:
        raise Problem(
            UNPROCESSABLE,
            f"学生 {data.student_id} 不存在。",
            f"Student {data.student_id} does not exist.",
            field="student_id",
        )
    card = checked_card(data.bank_card)
    taken = await session.scalar(
        select(Application.id).where(
            Application.program_id == program.id,
            Application.student_id == student.id,
            Application.academic_year == data.academic_year,
            Application.status.in_(_LIVE),
        )
    )
    if taken is not None:
        raise Problem(
            DUPLICATE,
            f"该学生 {data.academic_year} 学年已申请本项目（申请编号 {taken}）。",
            f"Application {taken} exists for this student, programme and year.",
            field="student_id",
            extra={"application_id": taken},
        )
    if program.once_only:
        clash = await _once_only_clash(session, program, student)
        if clash is not None:
            raise Problem(
                ONCE_ONLY,
                f"身份证号 {mask_id_number(student.id_number)} 已获得（或正在申请）"
                f"“{program.family}”资助，该资助每人只能享受一次。",
                f"This ID number already has (or is applying for) the once-only grant {program.family!r}.",
                field="student_id",
                extra={"existing_id": clash},
            )
    university = await session.get(University, student.university_code)
    persons, amount = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Application.amount), 0)).where(
                Application.program_id == program.id,
                Application.academic_year == data.academic_year,
                Application.status.in_(_LIVE),
            )
        )
    ).one()
    candidate = Candidate(
        level=student.level,
        categories=tuple(student.categories or ()),
        university_province=university.province if university else "",
        household_province=student.household_province,
        year_of_study=data.academic_year - academic_year_of(student.enrolled_on) + 1,
    )
    decision = decide(program_rules(program), candidate, today, taken_persons=int(persons), taken_amount=int(amount))
    if not decision.eligible:
        raise Problem(
            NOT_ELIGIBLE,
            "不符合资助条件：" + "；".join(r.zh for r in decision.reasons),
            "Not eligible: " + " ".join(r.en for r in decision.reasons),
            field=None,
            extra={"reasons": [{"code": r.code, "zh": r.zh, "en": r.en} for r in decision.reasons]},
        )
    app = Application(
        program_id=program.id,
        student_id=student.id,
        academic_year=data.academic_year,
        amount=decision.amount,
        rule_note=decision.rule_note,
        status=AppStatus.SUBMITTED.value,
        bank_card=card,
        prepared_by=user.id,
    )
    session.add(app)
    await session.flush()
    await audit.record(session, user.actor, "submit", "grant_application", app.id, None, audit.model_snapshot(app))
    return app


async def get_application(session: AsyncSession, app_id: int, *, field: str | None = None) -> Application:
    app = await session.get(Application, app_id)
    if app is None:
        kind = UNPROCESSABLE if field else NOT_FOUND
        raise Problem(kind, f"申请 {app_id} 不存在。", f"Application {app_id} does not exist.", field=field)
    return app


async def review(
    session: AsyncSession, app: Application, user: AuthUser, approved: bool, reason: str | None
) -> Application:
    if app.prepared_by == user.id:
        raise Problem(
            MAKER_CHECKER,
            "经办人不能审核自己受理的申请，请由另一位复核人审核。",
            "The officer who took an application cannot review it.",
        )
    if not approved and not reason:
        raise Problem(UNPROCESSABLE, "不通过须说明理由。", "A rejection needs a reason.", field="reason")
    wanted = AppStatus.APPROVED if approved else AppStatus.REJECTED
    app = await move(
        session, app, wanted, user.actor, "review", reviewed_by=user.id, reviewed_at=utcnow(), reason=reason
    )
    await lifecycle.move_all(
        session,
        OBJECTION,
        Objection,
        "resolved",
        where=[Objection.application_id == app.id],
        values={"resolution": reason or ("复核通过" if approved else "复核不通过")},
        actor=user.actor,
        action="resolve",
        ref=str(app.id),
    )  # the second review answers them
    return app


def _notice_start(starts_on: date, today: date) -> None:
    """A notice runs from today or a later day: one that started in the past could end (and be finalised) at
    once, and nobody would have seen it for its seven days."""
    if starts_on < today:
        raise Problem(
            UNPROCESSABLE,
            f"公示开始日期 {starts_on} 早于今天 {today}：公示不能从过去开始。",
            f"A notice cannot start in the past ({starts_on} is before today, {today}).",
            field="starts_on",
        )
    if starts_on > today + NOTICE_LEAD:
        raise Problem(
            UNPROCESSABLE,
            f"公示开始日期 {starts_on} 距今超过一年。",
            f"A notice starts within a year from today, not on {starts_on}.",
            field="starts_on",
        )


async def open_notice(
    session: AsyncSession, program_id: int, starts_on: date, actor: str, today: date
) -> tuple[Notice, list[Application]]:
    """Every reviewed application of the programme on public notice from `starts_on` (today at the earliest)."""
    _notice_start(starts_on, today)
    program = await get_program(session, program_id, lock=True)
    apps = list(
        (
            await session.scalars(
                select(Application)
                .where(Application.program_id == program.id, Application.status == AppStatus.APPROVED.value)
                .order_by(Application.id)
            )
        ).all()
    )
    if not apps:
        raise Problem(UNPROCESSABLE, "没有审核通过、待公示的申请。", "No reviewed application waits for a notice.")
    notice = Notice(
        program_id=program.id,
        starts_on=starts_on,
        ends_on=notice_ends_on(starts_on, program.notice_days),
        created_by=actor,
    )
    session.add(notice)
    await session.flush()
    for app in apps:
        await move(session, app, AppStatus.NOTICED, actor, "notice", notice_id=notice.id)
    await audit.record(session, actor, "open-notice", "grant_notice", notice.id, None, audit.model_snapshot(notice))
    return notice, apps


async def notice_entries(session: AsyncSession, notice: Notice) -> list[Any]:
    """The applications a notice lists (those still on it or finalised from it), with what may be shown."""
    return list(
        (
            await session.execute(
                select(Application.id, Application.amount, Student.name, Student.level, University.name)
                .join(Student, Student.id == Application.student_id)
                .join(University, University.code == Student.university_code)
                .where(
                    Application.notice_id == notice.id,
                    Application.status.in_([AppStatus.NOTICED.value, AppStatus.AWARDED.value]),
                )
                .order_by(Application.id)
            )
        ).all()
    )


async def finalize(
    session: AsyncSession, program_id: int, actor: str, today: date, as_of: date | None = None
) -> list[Award]:
    """Applications whose notice has ended (as of `as_of`, today by default) with no open objection become
    awards. `as_of` after today is refused: the notice's days are counted on the centre's calendar, and a
    date from the future would end a notice nobody has seen yet."""
    if as_of is None:
        as_of = today
    elif as_of > today:
        raise Problem(
            UNPROCESSABLE,
            f"确定日期 {as_of} 晚于今天 {today}：公示期满须以实际日期为准。",
            f"as_of {as_of} is after today ({today}): a notice ends on the calendar, not on request.",
            field="as_of",
        )
    program = await get_program(session, program_id, lock=True)
    rows = (
        await session.execute(
            select(Application, Notice)
            .join(Notice, Notice.id == Application.notice_id)
            .where(Application.program_id == program.id, Application.status == AppStatus.NOTICED.value)
            .order_by(Application.id)
        )
    ).all()
    open_ids = set(
        (
            await session.scalars(
                select(Objection.application_id).where(
                    Objection.status == "open", Objection.application_id.in_([a.id for a, _ in rows])
                )
            )
        ).all()
    )
    awards = []
    for app, notice in rows:
        if not notice_has_ended(notice.ends_on, as_of) or app.id in open_ids:
            continue
        await move(session, app, AppStatus.AWARDED, actor, "finalize")
        award = Award(
            application_id=app.id,
            program_id=program.id,
            student_id=app.student_id,
            academic_year=app.academic_year,
            amount=app.amount,
            status=AwardStatus.AWARDED.value,
            finalized_on=as_of,
            bank_card=app.bank_card,
        )
        session.add(award)
        awards.append(award)
    await session.flush()
    for award in awards:
        await audit.record(session, actor, "award", "grant_award", award.id, None, audit.model_snapshot(award))
    return awards
