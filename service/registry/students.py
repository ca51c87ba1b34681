"""Registering and changing students and universities: the checks a clerk would make, then the write."""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.errors import CONFLICT, NOT_FOUND, UNPROCESSABLE, VERSION_CONFLICT, Problem, problem_type
from service.identity import IdentityError, mask_id_number, mask_phone, normalize_id_number, normalize_phone
from service.registry.models import Student, University
from service.registry.provinces import normalize_province
from service.registry.schemas import StudentIn, StudentOut, StudentPatch, UniversityIn, UniversityOut
from service.registry.study_dates import study_date_faults

INVALID_ID = problem_type("invalid-id-number", 422, "身份证号无效", "Invalid ID number")
INVALID_PHONE = problem_type("invalid-phone", 422, "手机号无效", "Invalid phone number")
DUPLICATE_ID = problem_type("duplicate-id-number", 409, "身份证号已登记", "ID number already registered")


def _province(value: str, field: str) -> str:
    short = normalize_province(value)
    if short is None:
        raise Problem(
            UNPROCESSABLE, f"“{value}”不是省级行政区名称。", f"{value!r} is not a province of China.", field=field
        )
    return short


def checked_id_number(value: str, field: str = "id_number") -> str:
    try:
        return normalize_id_number(value)
    except IdentityError as exc:
        raise Problem(INVALID_ID, exc.message_zh, exc.message_en, field=field) from None


def checked_phone(value: str, field: str = "phone") -> str:
    try:
        return normalize_phone(value)
    except IdentityError as exc:
        raise Problem(INVALID_PHONE, exc.message_zh, exc.message_en, field=field) from None


def university_out(u: University) -> UniversityOut:
    return UniversityOut(code=u.code, name=u.name, province=u.province)


def student_out(s: Any, tz: tzinfo) -> StudentOut:
    """The API's view of a student: identifiers masked, times in the centre's zone."""
    return StudentOut(
        id=s.id,
        name=s.name,
        id_number=mask_id_number(s.id_number),
        phone=mask_phone(s.phone),
        household_county=s.household_county,
        household_province=s.household_province,
        categories=list(s.categories or []),
        university_code=s.university_code,
        level=s.level,
        study_years=s.study_years,
        enrolled_on=s.enrolled_on,
        expected_graduation=s.expected_graduation,
        address=s.address,
        version=s.version,
        created_at=s.created_at.astimezone(tz),
    )


async def add_university(session: AsyncSession, data: UniversityIn, actor: str) -> University:
    if await session.get(University, data.code) is not None:
        raise Problem(
            CONFLICT, f"院校代码 {data.code} 已存在。", f"University code {data.code} exists already.", field="code"
        )
    uni = University(code=data.code, name=data.name.strip(), province=_province(data.province, "province"))
    session.add(uni)
    await session.flush()
    await audit.record(session, actor, "create", "university", uni.code, None, audit.model_snapshot(uni))
    return uni


async def _university(session: AsyncSession, code: str, field: str = "university_code") -> University:
    uni = await session.get(University, code)
    if uni is None:
        raise Problem(
            UNPROCESSABLE,
            f"院校代码 {code} 未登记，请先登记院校。",
            f"University {code} is not registered; register it first.",
            field=field,
        )
    return uni


def _check_course(
    id_number: str, level: str, study_years: int, enrolled_on: date, expected_graduation: date, today: date
) -> None:
    """The course's dates, years, level and the age at enrolment (service.registry.study_dates): the first fault."""
    faults = study_date_faults(
        id_number=id_number,
        level=level,
        study_years=study_years,
        enrolled_on=enrolled_on,
        expected_graduation=expected_graduation,
        today=today,
    )
    if faults:
        field, zh, en = faults[0]
        raise Problem(UNPROCESSABLE, zh + "。", en + ".", field=field)


async def add_student(session: AsyncSession, data: StudentIn, actor: str, *, today: date) -> Student:
    id_number = checked_id_number(data.id_number)
    phone = checked_phone(data.phone)
    province = _province(data.household_province, "household_province")
    await _university(session, data.university_code)
    _check_course(id_number, data.level, data.study_years, data.enrolled_on, data.expected_graduation, today)
    if await session.scalar(select(Student.id).where(Student.id_number == id_number)) is not None:
        raise Problem(
            DUPLICATE_ID,
            f"身份证号 {mask_id_number(id_number)} 已登记为学生。",
            f"ID number {mask_id_number(id_number)} is registered already.",
            field="id_number",
        )
    student = Student(
        name=data.name.strip(),
        id_number=id_number,
        phone=phone,
        address=data.address,
        household_county=data.household_county.strip(),
        household_province=province,
        categories=sorted(set(data.categories)),
        university_code=data.university_code,
        level=data.level,
        study_years=data.study_years,
        enrolled_on=data.enrolled_on,
        expected_graduation=data.expected_graduation,
    )
    session.add(student)
    await session.flush()
    await audit.record(session, actor, "create", "student", student.id, None, audit.model_snapshot(student))
    return student


def _no_such_student(student_id: int) -> Problem:
    return Problem(NOT_FOUND, f"学生 {student_id} 不存在。", f"Student {student_id} does not exist.")


async def get_student(session: AsyncSession, student_id: int) -> Student:
    student = await session.get(Student, student_id)
    if student is None:
        raise _no_such_student(student_id)
    return student


async def update_student(
    session: AsyncSession, student: Student, patch: StudentPatch, actor: str, *, today: date
) -> Student:
    if patch.version != student.version:
        raise Problem(
            VERSION_CONFLICT,
            "该学生信息已被他人修改，请刷新后重试。",
            f"Student {student.id} is at version {student.version}, not {patch.version}; reload and retry.",
            field="version",
            extra={"current_version": student.version},
        )
    before = audit.model_snapshot(student)
    changes: dict[str, Any] = {}
    if patch.phone is not None:
        changes["phone"] = checked_phone(patch.phone)
    if patch.university_code is not None:
        changes["university_code"] = (await _university(session, patch.university_code)).code
    for name in ("address", "level", "study_years", "expected_graduation"):
        if getattr(patch, name) is not None:
            changes[name] = getattr(patch, name)
    if patch.categories is not None:
        changes["categories"] = sorted(set(patch.categories))
    if changes.keys() & {"level", "study_years", "expected_graduation"}:
        # only a change to the course is checked: a study extension may have moved graduation past the rule
        merged = {n: changes.get(n, getattr(student, n)) for n in ("level", "study_years", "expected_graduation")}
        _check_course(student.id_number, enrolled_on=student.enrolled_on, today=today, **merged)
    for name, value in changes.items():
        setattr(student, name, value)
    await session.flush()
    await audit.record(session, actor, "update", "student", student.id, before, audit.model_snapshot(student))
    return student


def student_search(q: str | None, university_code: str | None, level: str | None, category: str | None) -> Any:
    query = select(Student)
    if q:
        q = q.strip()
        try:
            query = query.where(Student.id_number == normalize_id_number(q))
        except IdentityError:
            query = query.where(or_(Student.name.contains(q), Student.household_county.contains(q)))
    if university_code:
        query = query.where(Student.university_code == university_code)
    if level:
        query = query.where(Student.level == level)
    if category:
        # JSON list membership, portable across SQLite and PostgreSQL: the stored list is sorted JSON text.
        query = query.where(cast(Student.categories, String).contains(f'"{category}"'))
    return query
