"""Signing in and out: the use cases behind the API's /auth doors and the console's sign-in form.

authenticate() counts the attempt (service.throttle) in a short transaction of its own, committed before the
password hash is checked, so parallel attempts see each other's counts and a failed sign-in keeps its count
whatever happens to the request. revoke_tokens() is how a sign-out, a password change, a reset or a deactivation
makes every token of the user stop working at once (a new token version, committed, then forgotten by this
process's cache; other processes within USER_CACHE_SECONDS, see service.auth).
"""

from __future__ import annotations

from datetime import timedelta

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service import audit, throttle
from service.auth import ActiveUserCache, User, hash_password, verify_password
from service.db import utcnow, write_session
from service.errors import TOO_MANY, UNAUTHORIZED, Problem
from service.settings import Settings

BAD_LOGIN = ("用户名或密码错误。", "Wrong user name or password.")
USER_FIELDS_HIDDEN = ("password_hash",)


def too_many(retry_after: int) -> Problem:
    # The same words whichever counter refused and whether or not the name exists: nothing to enumerate.
    return Problem(
        TOO_MANY,
        f"登录尝试过于频繁，请 {retry_after // 60 + 1} 分钟后再试。",
        f"Too many sign-in attempts; try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


async def authenticate(engine: AsyncEngine, settings: Settings, username: str, password: str, address: str) -> User:
    """The active user with this name and password, or a 401 (wrong name or password) or 429 (too many attempts)
    Problem. At most ZIZHU_LOGIN_MAX_FAILURES attempts on one name from one address per window reach the hash."""
    keys = throttle.Keys.of(username, address, settings.secret_key)
    window = timedelta(minutes=settings.login_lock_minutes)
    async with write_session(engine) as session:
        refused = await throttle.reserve(
            session,
            keys,
            name_limit=settings.login_max_failures,
            address_limit=settings.login_address_max_failures,
            window=window,
            now=utcnow(),
        )
        user = None if refused else await session.scalar(select(User).where(User.username == username))
    if refused:
        raise too_many(refused.retry_after)
    # Argon2 takes tens of milliseconds of CPU on purpose: off the event loop, so other requests go on meanwhile.
    ok = await anyio.to_thread.run_sync(verify_password, user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        raise Problem(UNAUTHORIZED, *BAD_LOGIN, headers={"WWW-Authenticate": "Bearer"})
    async with write_session(engine) as session:
        await throttle.give_back(session, keys, window=window, now=utcnow())
    return user


async def revoke_tokens(session: AsyncSession, cache: ActiveUserCache, user: User) -> None:
    """Every token issued to the user so far stops working: a new token version, committed (with whatever else the
    session holds, its audit record included) before the cache forgets the user, since a request in between would
    otherwise cache the old version again for the cache's lifetime."""
    user.token_version += 1
    await session.commit()
    cache.forget(user.id)


async def sign_out(session: AsyncSession, cache: ActiveUserCache, user_id: int, actor: str) -> None:
    """The user's tokens (this one and any other: bearer and console cookie alike) are refused from now on."""
    user = await session.get(User, user_id)
    if user is None:
        return
    await audit.record(session, actor, "logout", "user", user.id, None, {"token_version": user.token_version + 1})
    await revoke_tokens(session, cache, user)


async def set_password(
    session: AsyncSession, cache: ActiveUserCache, user: User, password: str, actor: str, action: str
) -> None:
    """A new password (already checked against the rules); every token issued before is revoked. Audited without
    the hash."""
    before = audit.model_snapshot(user, exclude=USER_FIELDS_HIDDEN)
    user.password_hash = await anyio.to_thread.run_sync(hash_password, password)
    after = {**audit.model_snapshot(user, exclude=USER_FIELDS_HIDDEN), "token_version": user.token_version + 1}
    await audit.record(session, actor, action, "user", user.id, before, after)
    await revoke_tokens(session, cache, user)
