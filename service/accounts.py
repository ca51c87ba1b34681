"""HTTP controllers for signing in and managing users: /api/v1/auth/login and /api/v1/users."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.auth import User, allow, hash_password, issue_token, password_problem, verify_password
from service.db import utcnow
from service.errors import CONFLICT, TOO_MANY, UNAUTHORIZED, UNPROCESSABLE, Problem
from service.lookups import get_or_404
from service.pagination import Page, fetch_page
from service.registry.models import Student, University
from service.settings import Settings

Role = Literal["admin", "officer", "reviewer", "school", "donor", "graduate", "auditor"]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class LoginOut(msgspec.Struct):
    access_token: str
    token_type: str
    role: str
    expires_in: int


class UserIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.@-]{3,64}$")]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    role: Role
    donor_id: int | None = None
    student_id: int | None = None
    university_code: str | None = None


class UserOut(msgspec.Struct):
    id: int
    username: str
    role: str
    active: bool
    donor_id: int | None
    student_id: int | None
    university_code: str | None
    created_at: datetime


def user_out(u: User, tz: tzinfo) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        role=u.role,
        active=u.active,
        donor_id=u.donor_id,
        student_id=u.student_id,
        university_code=u.university_code,
        created_at=u.created_at.astimezone(tz),
    )


_BAD_LOGIN = ("用户名或密码错误。", "Wrong user name or password.")


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        opt={"public": True},
        status_code=200,
        summary="Sign in",
        description="401 for a wrong user name or password; 429 after repeated failures.",
    )
    async def login(
        self, data: JSONBody[LoginIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> LoginOut:
        settings = request.app.state.settings
        user = await authenticate(db_session, settings, data.username, data.password)
        token = issue_token(request.app.state.jwt_auth, user, settings.token_ttl_minutes)
        return LoginOut(
            access_token=token, token_type="bearer", role=user.role, expires_in=settings.token_ttl_minutes * 60
        )


async def authenticate(session: AsyncSession, settings: Settings, username: str, password: str) -> User:
    """The active user with this name and password, or a 401/429 Problem (the API's login and the console's)."""
    user = await session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is not None and user.locked_until is not None and user.locked_until > now:
        wait = int((user.locked_until - now).total_seconds()) + 1
        raise Problem(
            TOO_MANY,
            f"登录失败次数过多，请 {wait // 60 + 1} 分钟后再试。",
            f"Too many failed logins; try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        if user is not None and not ok:
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
                user.failed_logins = 0
            # The failure count must survive the 401 (which rolls the request back).
            await session.commit()
        raise Problem(UNAUTHORIZED, *_BAD_LOGIN, headers={"WWW-Authenticate": "Bearer"})
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
    return user


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["auth"]
    guards = [allow()]  # admin only

    @post(
        "/",
        summary="Create a user",
        description="A donor user needs donor_id, a graduate user student_id, a school user university_code.",
    )
    async def create(
        self, data: JSONBody[UserIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> UserOut:
        why = password_problem(data.password)
        if why:
            raise Problem(UNPROCESSABLE, *why, field="password")
        needs = {"donor": "donor_id", "graduate": "student_id", "school": "university_code"}
        for role, field in needs.items():
            given = getattr(data, field) is not None
            if given != (data.role == role):
                raise Problem(
                    UNPROCESSABLE,
                    f"{field} 仅且必须用于 {role} 角色的用户。",
                    f"{field} is required for, and only for, a {role} user.",
                    field=field,
                )
        if data.student_id is not None and await db_session.get(Student, data.student_id) is None:
            raise Problem(
                UNPROCESSABLE,
                f"学生 {data.student_id} 不存在。",
                f"Student {data.student_id} does not exist.",
                field="student_id",
            )
        if data.university_code is not None and await db_session.get(University, data.university_code) is None:
            raise Problem(
                UNPROCESSABLE,
                f"院校 {data.university_code} 不存在。",
                f"University {data.university_code} does not exist.",
                field="university_code",
            )
        if await db_session.scalar(select(User.id).where(User.username == data.username)) is not None:
            raise Problem(
                CONFLICT, f"用户名 {data.username} 已被使用。", f"User name {data.username} is taken.", field="username"
            )
        user = User(
            username=data.username,
            password_hash=hash_password(data.password),
            role=data.role,
            donor_id=data.donor_id,
            student_id=data.student_id,
            university_code=data.university_code,
        )
        db_session.add(user)
        await db_session.flush()
        await audit.record(
            db_session,
            request.user.actor,
            "create",
            "user",
            user.id,
            None,
            audit.model_snapshot(user, exclude=("password_hash",)),
        )
        return user_out(user, request.app.state.settings.tz)

    @get("/", summary="List users")
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        request: Request,
        role: FromQuery[Role | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> Page[UserOut]:
        query = select(User).order_by(User.id)
        if role:
            query = query.where(User.role == role)
        rows, total = await fetch_page(db_session, query, limit, offset)
        return Page(
            items=[user_out(u, request.app.state.settings.tz) for u in rows], total=total, limit=limit, offset=offset
        )

    @post("/{user_id:int}/deactivate", status_code=200, summary="Deactivate a user (its tokens stop working)")
    async def deactivate(
        self, user_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> UserOut:
        user = await get_or_404(db_session, User, user_id, "用户", "User")
        if user.id == request.user.id:  # the last admin locking itself out would leave no one to undo it
            raise Problem(
                CONFLICT,
                "不能停用自己的账号，请由另一位管理员操作。",
                "You cannot deactivate your own account; ask another admin.",
                field="user_id",
            )
        before = audit.model_snapshot(user, exclude=("password_hash",))
        user.active = False
        user.token_version += 1
        await audit.record(
            db_session,
            request.user.actor,
            "deactivate",
            "user",
            user.id,
            before,
            audit.model_snapshot(user, exclude=("password_hash",)),
        )
        # Commit before forgetting the cached state: a request in between would otherwise cache
        # "still active" again for the cache's lifetime.
        await db_session.commit()
        request.app.state.user_cache.forget(user.id)
        return user_out(user, request.app.state.settings.tz)
