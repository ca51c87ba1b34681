"""Users, roles, passwords and bearer tokens.

Passwords are argon2 hashes. A login returns a signed JWT that carries the user's role and scope
(donor, student or university), so most requests need no user lookup; a short in-process cache still
checks that the user is active and that the token was not issued before a password change or a
deactivation (`token_version`). A token that passed verification is remembered (VerifiedTokenCache) so that
the next request with it skips the signature check, but never the expiry or the user check. Failed sign-ins are
counted in service.throttle, the password rules are service.passwords, signing in and out is service.signin.

Invalidation: the role and scope ride in the token, so whatever changes them or ends a session (deactivation, sign-out,
a password change or reset; a role change must do the same) bumps `token_version`, commits, and then forgets the user
in this process's ActiveUserCache (service.signin.revoke_tokens): the next request in this process is refused at once. Other processes (several API workers, `zizhu users` on the command
line) keep their cached state for at most USER_CACHE_SECONDS, the bound a multi-process deployment accepts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token
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
TOKEN_CACHE_ENTRIES = 10_000


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
            row = (await session.execute(select(User.active, User.token_version).where(User.id == user_id))).first()
        active, version = (bool(row[0]), int(row[1])) if row else (False, -1)
        self._entries[user_id] = (now, active, version)
        return active, version


def _claimed_user(token: Token) -> AuthUser | None:
    """The user a verified token speaks for, from its claims alone (no lookup)."""
    extras = token.extras or {}
    try:
        user_id = int(token.sub)
    except ValueError:
        return None
    return AuthUser(
        id=user_id,
        username=str(extras.get("username", "")),
        role=str(extras.get("role", "")),
        donor_id=extras.get("donor_id"),
        student_id=extras.get("student_id"),
        university_code=extras.get("university_code"),
    )


async def _still_valid(connection: ASGIConnection[Any, Any, Any, Any], user_id: int, token_version: Any) -> bool:
    """The user is active and the token was issued at the user's current token version."""
    state = connection.app.state
    active, version = await state.user_cache.state(state.engine, user_id)
    return active and token_version == version


async def _retrieve_user(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthUser | None:
    user = _claimed_user(token)
    if user is None or not await _still_valid(connection, user.id, (token.extras or {}).get("tv")):
        return None
    return user


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """What checking a token's signature and claims gave, kept so the next request need not do it again."""

    user: AuthUser
    token: Token
    expires_at: float  # the `exp` claim, POSIX seconds
    token_version: Any  # the `tv` claim, compared with the user's current version on every use


class VerifiedTokenCache:
    """Encoded token → VerifiedToken: only tokens that passed verification, at most `max_entries` of them.

    Decoding a token (HMAC check, base64, JSON, msgspec conversion) costs ~100 µs, more than the rest of a small
    authenticated read. The key is the whole encoded token, signature included, so a tampered token can never hit;
    each app has its own cache (it belongs to the app's JWTAuth), so a token signed with another key never meets it.
    When full, the oldest entry goes first (insertion order; a dict keeps it).
    """

    def __init__(self, max_entries: int = TOKEN_CACHE_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: dict[str, VerifiedToken] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, encoded_token: str, now: float) -> VerifiedToken | None:
        hit = self._entries.get(encoded_token)
        if hit is not None and now >= hit.expires_at:  # expired: same rule as PyJWT (valid while now < exp)
            del self._entries[encoded_token]
            return None
        return hit

    def put(self, encoded_token: str, verified: VerifiedToken) -> None:
        if encoded_token not in self._entries and len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[encoded_token] = verified

    def discard(self, encoded_token: str) -> None:
        self._entries.pop(encoded_token, None)


class CachingJWTAuthenticationMiddleware(JWTAuthenticationMiddleware):
    """Litestar's JWT middleware with a cache of verified tokens in front of the signature check.

    A cached token is still refused once its `exp` has passed, and on every request the user must still be active
    with the token's `tv` as current token version (the per-app ActiveUserCache: a deactivation in this process takes
    effect at once, one in another process within USER_CACHE_SECONDS, exactly as without the token cache).
    Failures are never cached: a token that fails is dropped and verified afresh the next time.
    """

    __slots__ = ("_header_name", "token_cache")

    def __init__(self, *args: Any, token_cache: VerifiedTokenCache, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token_cache = token_cache
        self._header_name = self.auth_header.lower().encode("latin-1")

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        # As Litestar's, but the header is looked up in the raw ASGI list: building the Headers mapping for it
        # costs more than the rest of a cached token's check.
        header = b""
        for name, value in connection.scope["headers"]:
            if name == self._header_name:
                header = value
                break
        if not header:
            raise NotAuthorizedException("No JWT token found in request header")
        return await self.authenticate_token(header.decode("latin-1").partition(" ")[-1], connection)

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        hit = self.token_cache.get(encoded_token, time.time())
        if hit is None:
            result = await super().authenticate_token(encoded_token, connection)  # raises if anything is wrong
            token: Token = result.auth
            self.token_cache.put(
                encoded_token,
                VerifiedToken(
                    user=result.user,
                    token=token,
                    expires_at=token.exp.timestamp(),
                    token_version=(token.extras or {}).get("tv"),
                ),
            )
            return result
        revoked = self.revoked_token_handler is not None and await self.revoked_token_handler(hit.token, connection)
        if revoked or not await _still_valid(connection, hit.user.id, hit.token_version):
            self.token_cache.discard(encoded_token)
            raise NotAuthorizedException()
        return AuthenticationResult(user=hit.user, auth=hit.token)


@dataclass
class CachingJWTAuth(JWTAuth[AuthUser, Token]):
    """JWTAuth whose middleware shares one VerifiedTokenCache per app.

    Litestar builds a middleware instance per route, so the cache lives here, on the app's one JWTAuth, and is handed
    to every instance.
    """

    token_cache: VerifiedTokenCache = field(default_factory=VerifiedTokenCache)
    authentication_middleware_class: type[JWTAuthenticationMiddleware] = CachingJWTAuthenticationMiddleware

    @property
    def middleware(self) -> DefineMiddleware:
        define = super().middleware
        define.kwargs["token_cache"] = self.token_cache
        return define


async def user_from_token(
    auth: CachingJWTAuth, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
) -> AuthUser | None:
    """The user a token speaks for, or None: the console's session cookie carries the API's token, checked the same
    way (signature and expiry, active user at the token's version) and remembered in the same cache."""
    hit = auth.token_cache.get(encoded_token, time.time())
    if hit is None:
        try:
            token = Token.decode(encoded_token, secret=auth.token_secret, algorithm=auth.algorithm)
        except NotAuthorizedException:
            return None
        user = _claimed_user(token)
        if user is None:
            return None
        hit = VerifiedToken(
            user=user, token=token, expires_at=token.exp.timestamp(), token_version=(token.extras or {}).get("tv")
        )
        auth.token_cache.put(encoded_token, hit)
    if not await _still_valid(connection, hit.user.id, hit.token_version):
        auth.token_cache.discard(encoded_token)
        return None
    return hit.user


def make_jwt_auth(settings: Settings) -> CachingJWTAuth:
    return CachingJWTAuth(
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
            "username": user.username,
            "role": user.role,
            "tv": user.token_version,
            "donor_id": user.donor_id,
            "student_id": user.student_id,
            "university_code": user.university_code,
        },
    )


def allow(*roles: str) -> Any:
    """A guard: the route is open to these roles (and always to admin)."""
    check = role_check(*roles)

    # A coroutine on purpose: Litestar runs a plain-function guard in a worker thread (one thread hop
    # per request); this check is a few attribute reads and needs no thread.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        check(connection.user)

    return guard


def role_check(*roles: str) -> Callable[[Any], AuthUser]:
    """allow()'s check as a plain function of the request's user, for a hot route to call in its body.

    Litestar copies the whole route handler object for every guard it calls (~10 µs here): on a route that is
    otherwise a single indexed read that is a tenth of the request.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def check(user: Any) -> AuthUser:
        if not isinstance(user, AuthUser):
            raise NotAuthorizedException("Authentication required")
        if user.role != "admin" and user.role not in roles:
            raise PermissionDeniedException(f"The role {user.role!r} may not do this")
        return user

    return check


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
