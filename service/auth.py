"""Users, roles, passwords and bearer tokens.

Passwords are argon2 hashes. A login returns a signed JWT that carries the user's role and scope
(donor, student or university), so most requests need no user lookup; a short in-process cache still
checks that the user is active and that the token was not issued before a password change or a
deactivation (`token_version`). Repeated failed logins lock the user name for a while.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token
from sqlalchemy import Boolean, ForeignKey, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UtcDateTime, session_factory, utcnow
from service.settings import Settings

ROLES = ("admin", "officer", "reviewer", "school", "donor", "graduate", "auditor")
STAFF_READERS = ("officer", "reviewer", "auditor")  # admin is allowed everywhere
_hasher = PasswordHasher()
# Verified against on unknown user names so that a miss takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("zizhu-timing-equaliser")
USER_CACHE_SECONDS = 30.0


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # Scope: a donor user sees one donor, a graduate one student, a school user one university.
    # donor_id has no foreign key here because donors live in the donations domain (arrows point down).
    donor_id: Mapped[int | None] = mapped_column(IdType, default=None)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), default=None)
    university_code: Mapped[str | None] = mapped_column(ForeignKey("universities.code"), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


@dataclass(frozen=True)
class AuthUser:
    """The signed-in user as the request sees it."""

    id: int
    username: str
    role: str
    donor_id: int | None = None
    student_id: int | None = None
    university_code: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.username}#{self.id}"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> tuple[str, str] | None:
    """Why a password is unacceptable (zh, en), or None."""
    if len(password) < 8:
        return "密码至少需要 8 个字符。", "The password needs at least 8 characters."
    if len(password) > 128:
        return "密码不能超过 128 个字符。", "The password may have at most 128 characters."
    return None


class ActiveUserCache:
    """user id → (checked at, active, token_version); saves a query per request."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[float, bool, int]] = {}

    def forget(self, user_id: int) -> None:
        self._entries.pop(user_id, None)

    async def state(self, engine: AsyncEngine, user_id: int) -> tuple[bool, int]:
        now = time.monotonic()
        hit = self._entries.get(user_id)
        if hit and now - hit[0] < USER_CACHE_SECONDS:
            return hit[1], hit[2]
        async with session_factory(engine)() as session:
            row = (await session.execute(
                select(User.active, User.token_version).where(User.id == user_id)
            )).first()
        active, version = (bool(row[0]), int(row[1])) if row else (False, -1)
        self._entries[user_id] = (now, active, version)
        return active, version



async def _retrieve_user(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthUser | None:
    extras = token.extras or {}
    try:
        user_id = int(token.sub)
    except ValueError:
        return None
    state = connection.app.state
    active, version = await state.user_cache.state(state.engine, user_id)
    if not active or extras.get("tv") != version:
        return None
    return AuthUser(
        id=user_id, username=str(extras.get("username", "")), role=str(extras.get("role", "")),
        donor_id=extras.get("donor_id"), student_id=extras.get("student_id"),
        university_code=extras.get("university_code"),
    )


def make_jwt_auth(settings: Settings) -> JWTAuth[AuthUser, Token]:
    return JWTAuth[AuthUser, Token](
        token_secret=settings.secret_key,
        retrieve_user_handler=_retrieve_user,
        default_token_expiration=timedelta(minutes=settings.token_ttl_minutes),
        exclude_opt_key="public",
        exclude=["/schema", "/health", "/problems", "/static", "^/$", "/favicon.ico"],
        description="Bearer token from POST /api/v1/auth/login",
    )


def issue_token(auth: JWTAuth[AuthUser, Token], user: User, ttl_minutes: int) -> str:
    return auth.create_token(
        identifier=str(user.id),
        token_expiration=timedelta(minutes=ttl_minutes),
        token_extras={
            "username": user.username, "role": user.role, "tv": user.token_version,
            "donor_id": user.donor_id, "student_id": user.student_id,
            "university_code": user.university_code,
        },
    )


def allow(*roles: str) -> Any:
    """A guard: the route is open to these roles (and always to admin)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.user
        if not isinstance(user, AuthUser):
            raise NotAuthorizedException("Authentication required")
        if user.role != "admin" and user.role not in roles:
            raise PermissionDeniedException(f"The role {user.role!r} may not do this")

    return guard


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> AuthUser:
    user = connection.user
    if not isinstance(user, AuthUser):
        raise NotAuthorizedException("Authentication required")
    return user


async def ensure_admin(session: AsyncSession, password: str | None) -> bool:
    """First start: with no users at all and ZIZHU_ADMIN_PASSWORD set, create user `admin`."""
    if not password or await session.scalar(select(User.id).limit(1)) is not None:
        return False
    session.add(User(username="admin", password_hash=hash_password(password), role="admin"))
    await session.flush()
    return True
