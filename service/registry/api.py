"""HTTP controllers of the registry: /api/v1/universities and /api/v1/students."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth import STAFF_READERS, AuthUser, allow
from service.errors import FORBIDDEN, NOT_FOUND, Problem
from service.pagination import Page, fetch_page
from service.registry import students as svc
from service.registry.models import Student, University
from service.registry.schemas import StudentIn, StudentOut, StudentPatch, UniversityIn, UniversityOut

StudentSort = Literal["id", "-id", "name", "-name", "created_at", "-created_at"]
_SORTS = {
    "id": Student.id.asc(),
    "-id": Student.id.desc(),
    "name": Student.name.asc(),
    "-name": Student.name.desc(),
    "created_at": Student.created_at.asc(),
    "-created_at": Student.created_at.desc(),
}


def _check_school_scope(user: AuthUser, student: Student) -> None:
    if user.role == "school" and student.university_code != user.university_code:
        raise Problem(FORBIDDEN, "该学生不属于本校，无权查看。", "This student is not at your university.")


class UniversityController(Controller):
    path = "/api/v1/universities"
    tags = ["registry"]

    @post("/", guards=[allow("officer")], summary="Register a university")
    async def create(
        self, data: JSONBody[UniversityIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> UniversityOut:
        uni = await svc.add_university(db_session, data, request.user.actor)
        return svc.university_out(uni)

    @get("/", guards=[allow(*STAFF_READERS, "school")], summary="List universities")
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Page[UniversityOut]:
        rows, total = await fetch_page(db_session, select(University).order_by(University.code), limit, offset)
        return Page(items=[svc.university_out(u) for u in rows], total=total, limit=limit, offset=offset)

    @get("/{code:str}", guards=[allow(*STAFF_READERS, "school")], summary="One university")
    async def detail(self, code: FromPath[str], db_session: NamedDependency[AsyncSession]) -> UniversityOut:
        uni = await db_session.get(University, code)
        if uni is None:
            raise Problem(NOT_FOUND, f"院校 {code} 不存在。", f"University {code} does not exist.")
        return svc.university_out(uni)


class StudentController(Controller):
    path = "/api/v1/students"
    tags = ["registry"]

    @post(
        "/",
        guards=[allow("officer")],
        summary="Register a student",
        description="422 for an invalid ID number or phone, 409 for an ID number already registered.",
    )
    async def create(
        self, data: JSONBody[StudentIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> StudentOut:
        student = await svc.add_student(db_session, data, request.user.actor, today=request.app.state.settings.today())
        return svc.student_out(student, request.app.state.settings.tz)

    @get(
        "/",
        guards=[allow(*STAFF_READERS, "school")],
        summary="Find students",
        description="`q` matches a full ID number exactly, or part of a name or county.",
    )
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        request: Request,
        q: Annotated[str | None, QueryParameter(max_length=50)] = None,
        university_code: FromQuery[str | None] = None,
        level: FromQuery[Literal["junior_college", "undergraduate", "graduate"] | None] = None,
        category: FromQuery[
            Literal["registered_poor", "minimum_allowance", "destitute", "orphan", "disabled", "other"] | None
        ] = None,
        sort: FromQuery[StudentSort] = "id",
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Page[StudentOut]:
        user: AuthUser = request.user
        if user.role == "school":
            university_code = user.university_code
        query = svc.student_search(q, university_code, level, category).order_by(_SORTS[sort], Student.id)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(
            items=[svc.student_out(s, request.app.state.settings.tz) for s in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    @get("/{student_id:int}", guards=[allow(*STAFF_READERS, "school")], summary="One student")
    async def detail(
        self, student_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> StudentOut:
        student = await svc.get_student(db_session, student_id)
        _check_school_scope(request.user, student)
        return svc.student_out(student, request.app.state.settings.tz)

    @patch(
        "/{student_id:int}",
        guards=[allow("officer")],
        summary="Change a student",
        description="Send the `version` you read; 409 if someone changed the record since.",
    )
    async def update(
        self,
        student_id: FromPath[int],
        data: JSONBody[StudentPatch],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> StudentOut:
        student = await svc.get_student(db_session, student_id)
        student = await svc.update_student(
            db_session, student, data, request.user.actor, today=request.app.state.settings.today()
        )
        return svc.student_out(student, request.app.state.settings.tz)
