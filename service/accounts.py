"""HTTP controllers for signing in and out and managing users: /api/v1/auth and /api/v1/users (service.signin and
service.users do the work)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service import users
from service.auth import User, allow, current_user, issue_token
from service.clientaddress import request_address
from service.errors import UNAUTHORIZED, UNPROCESSABLE, Problem
from service.lookups import get_or_404
from service.pagination import Page, fetch_page
from service.signin import authenticate, set_password, sign_out

Role = Literal["admin", "officer", "reviewer", "school", "donor", "graduate", "auditor"]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class LoginOut(msgspec.Struct):
    access_token: str
    token_type: str
    role: str
    expires_in: int


class PasswordChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    new_password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class PasswordIn(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


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


def _login_out(request: Request, user: User) -> LoginOut:
    ttl = request.app.state.settings.token_ttl_minutes
    token = issue_token(request.app.state.jwt_auth, user, ttl)
    return LoginOut(access_token=token, token_type="bearer", role=user.role, expires_in=ttl * 60)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post(
        "/login",
        opt={"public": True},
        status_code=200,
        summary="Sign in",
        description="401 for a wrong user name or password; 429 (with Retry-After) after ZIZHU_LOGIN_MAX_FAILURES "
        "attempts on one name from one address, or ZIZHU_LOGIN_ADDRESS_MAX_FAILURES from one address, within "
        "ZIZHU_LOGIN_LOCK_MINUTES, whether or not the name exists.",
    )
    async def login(self, data: JSONBody[LoginIn], request: Request) -> LoginOut:
        state = request.app.state
        address = request_address(request, state.settings.trusted_proxies)
        user = await authenticate(state.engine, state.settings, data.username, data.password, address)
        return _login_out(request, user)

    @post(
        "/logout",
        status_code=204,
        summary="Sign out",
        description="Every token of the signed-in user (bearer tokens and the console's cookie) is refused from now on.",
    )
    async def logout(self, db_session: NamedDependency[AsyncSession], request: Request) -> None:
        me = current_user(request)
        await sign_out(db_session, request.app.state.user_cache, me.id, me.actor)

    @post(
        "/password",
        status_code=200,
        summary="Change one's own password",
        description="Needs the current password (422 naming current_password when it is wrong; counted like a "
        "sign-in, so 429 after too many). Every earlier token is revoked; the answer carries a new one.",
    )
    async def change_password(
        self, data: JSONBody[PasswordChangeIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> LoginOut:
        state = request.app.state
        me = current_user(request)
        try:
            await authenticate(
                state.engine,
                state.settings,
                me.username,
                data.current_password,
                request_address(request, state.settings.trusted_proxies),
            )
        except Problem as exc:
            if exc.kind is not UNAUTHORIZED:
                raise
            raise Problem(
                UNPROCESSABLE, "当前密码不正确。", "The current password is wrong.", field="current_password"
            ) from None
        user = await get_or_404(db_session, User, me.id, "用户", "User")
        await users.check_password(db_session, user, data.new_password, "new_password")
        await set_password(db_session, state.user_cache, user, data.new_password, me.actor, "change-password")
        return _login_out(request, user)


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["auth"]
    guards = [allow()]  # admin only

    @post(
        "/",
        summary="Create a user",
        description="A donor user needs donor_id (an existing donor), a graduate user student_id, a school user "
        "university_code. The password: at least 10 characters, not a common one, not containing the user's names.",
    )
    async def create(
        self, data: JSONBody[UserIn], db_session: NamedDependency[AsyncSession], request: Request
    ) -> UserOut:
        user = await users.create_user(
            db_session,
            current_user(request).actor,
            username=data.username,
            password=data.password,
            role=data.role,
            donor_id=data.donor_id,
            student_id=data.student_id,
            university_code=data.university_code,
            donor_exists=request.app.state.get("donor_exists"),
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
        me = current_user(request)
        user = await users.deactivate(db_session, request.app.state.user_cache, user_id, me.id, me.actor)
        return user_out(user, request.app.state.settings.tz)

    @post("/{user_id:int}/reactivate", status_code=200, summary="Reactivate a deactivated user")
    async def reactivate(
        self, user_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> UserOut:
        me = current_user(request)
        user = await users.reactivate(db_session, request.app.state.user_cache, user_id, me.actor)
        return user_out(user, request.app.state.settings.tz)

    @post(
        "/{user_id:int}/password",
        status_code=200,
        summary="Reset another user's password (its tokens stop working)",
        description="Not one's own (409): that is POST /api/v1/auth/password, which needs the current password.",
    )
    async def reset_password(
        self,
        user_id: FromPath[int],
        data: JSONBody[PasswordIn],
        db_session: NamedDependency[AsyncSession],
        request: Request,
    ) -> UserOut:
        me = current_user(request)
        user = await users.reset_password(
            db_session, request.app.state.user_cache, user_id, data.password, me.id, me.actor
        )
        return user_out(user, request.app.state.settings.tz)

    @post(
        "/{user_id:int}/unlock",
        status_code=200,
        summary="Unlock a user name",
        description="Forgets the failed sign-ins on the user's name from every address (the per-address limit stays).",
    )
    async def unlock(
        self, user_id: FromPath[int], db_session: NamedDependency[AsyncSession], request: Request
    ) -> UserOut:
        secret = request.app.state.settings.secret_key
        user = await users.unlock(db_session, user_id, current_user(request).actor, secret)
        return user_out(user, request.app.state.settings.tz)
