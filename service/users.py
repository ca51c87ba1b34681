"""User administration, the use cases behind /api/v1/users and `zizhu users add`: create, deactivate, reactivate,
reset a password, unlock a user name. Each writes its audit record (never the password hash).

A donor user names a donor, which lives in the donations domain: the kernel may not import it, so the caller
hands in a DonorExists check (the app's state carries donations' own, set by the composition root).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit, throttle
from service.auth import ActiveUserCache, User, hash_password
from service.errors import CONFLICT, UNPROCESSABLE, Problem
from service.lookups import get_or_404
from service.passwords import password_problem
from service.registry.models import Student, University
from service.signin import USER_FIELDS_HIDDEN, revoke_tokens, set_password

DonorExists = Callable[[AsyncSession, int], Awaitable[bool]]
SCOPE_FIELDS = {"donor": "donor_id", "graduate": "student_id", "school": "university_code"}


async def check_password(session: AsyncSession, user: User, password: str, field: str = "password") -> None:
    """A 422 naming `field` that says why (zh, en), unless the password keeps the rules for this user (whose own
    names are the user name and, for a graduate, the student's name)."""
    names = [user.username]
    if user.student_id is not None:
        names.append(await session.scalar(select(Student.name).where(Student.id == user.student_id)))
    why = password_problem(password, *names)
    if why:
        raise Problem(UNPROCESSABLE, *why, field=field)


async def _check_scope(session: AsyncSession, user: User, donor_exists: DonorExists | None) -> None:
    for role, field in SCOPE_FIELDS.items():
        if (getattr(user, field) is not None) != (user.role == role):
            raise Problem(
                UNPROCESSABLE,
                f"{field} 仅且必须用于 {role} 角色的用户。",
                f"{field} is required for, and only for, a {role} user.",
                field=field,
            )
    if user.donor_id is not None and (donor_exists is None or not await donor_exists(session, user.donor_id)):
        raise Problem(
            UNPROCESSABLE,
            f"捐赠方 {user.donor_id} 不存在。",
            f"Donor {user.donor_id} does not exist.",
            field="donor_id",
        )
    for field, model, zh, en in (
        ("student_id", Student, "学生", "Student"),
        ("university_code", University, "院校", "University"),
    ):
        key = getattr(user, field)
        if key is not None and await session.get(model, key) is None:
            raise Problem(UNPROCESSABLE, f"{zh} {key} 不存在。", f"{en} {key} does not exist.", field=field)


async def create_user(
    session: AsyncSession,
    actor: str,
    *,
    username: str,
    password: str,
    role: str,
    donor_id: int | None = None,
    student_id: int | None = None,
    university_code: str | None = None,
    donor_exists: DonorExists | None,
) -> User:
    """A new user with a role and its scope; 422 for a broken rule, 409 for a name that is taken."""
    user = User(
        username=username,
        password_hash="",
        role=role,
        donor_id=donor_id,
        student_id=student_id,
        university_code=university_code,
        active=True,
        token_version=1,
    )
    await _check_scope(session, user, donor_exists)
    await check_password(session, user, password)
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Problem(CONFLICT, f"用户名 {username} 已被使用。", f"User name {username} is taken.", field="username")
    user.password_hash = hash_password(password)
    session.add(user)
    await session.flush()
    await audit.record(
        session, actor, "create", "user", user.id, None, audit.model_snapshot(user, exclude=USER_FIELDS_HIDDEN)
    )
    return user


def _not_yourself(user: User, acting_user_id: int, zh: str, en: str) -> None:
    if user.id == acting_user_id:
        raise Problem(CONFLICT, zh, en, field="user_id")


async def deactivate(
    session: AsyncSession, cache: ActiveUserCache, user_id: int, acting_user_id: int, actor: str
) -> User:
    """The user can no longer sign in, and its tokens stop working at once."""
    user = await get_or_404(session, User, user_id, "用户", "User")
    # The last admin locking itself out would leave no one to undo it.
    _not_yourself(
        user,
        acting_user_id,
        "不能停用自己的账号，请由另一位管理员操作。",
        "You cannot deactivate your own account; ask another admin.",
    )
    before = audit.model_snapshot(user, exclude=USER_FIELDS_HIDDEN)
    user.active = False
    after = {**audit.model_snapshot(user, exclude=USER_FIELDS_HIDDEN), "token_version": user.token_version + 1}
    await audit.record(session, actor, "deactivate", "user", user.id, before, after)
    await revoke_tokens(session, cache, user)
    return user


async def reactivate(session: AsyncSession, cache: ActiveUserCache, user_id: int, actor: str) -> User:
    """A deactivated user may sign in again. Its old tokens stay refused: deactivating gave it a new token version."""
    user = await get_or_404(session, User, user_id, "用户", "User")
    if user.active:
        raise Problem(CONFLICT, f"用户 {user.id} 未被停用。", f"User {user.id} is not deactivated.", field="user_id")
    before = audit.model_snapshot(user, exclude=USER_FIELDS_HIDDEN)
    user.active = True
    await audit.record(
        session, actor, "reactivate", "user", user.id, before, audit.model_snapshot(user, exclude=USER_FIELDS_HIDDEN)
    )
    await session.commit()  # as revoke_tokens: committed before this process's cache forgets "inactive"
    cache.forget(user.id)
    return user


async def reset_password(
    session: AsyncSession, cache: ActiveUserCache, user_id: int, password: str, acting_user_id: int, actor: str
) -> User:
    """An admin sets another user's password (its tokens are revoked). One's own needs the current password
    (POST /api/v1/auth/password): a stolen admin token must not be enough to take the account over."""
    user = await get_or_404(session, User, user_id, "用户", "User")
    _not_yourself(
        user,
        acting_user_id,
        "请用“修改密码”（需要当前密码）修改自己的密码。",
        "Change your own password with POST /api/v1/auth/password (it needs the current one).",
    )
    await check_password(session, user, password)
    await set_password(session, cache, user, password, actor, "reset-password")
    return user


async def unlock(session: AsyncSession, user_id: int, actor: str, secret: str) -> User:
    """Forget the failed sign-ins on the user's name, from every address."""
    user = await get_or_404(session, User, user_id, "用户", "User")
    forgotten = await throttle.unlock(session, user.username, secret)
    await audit.record(session, actor, "unlock", "user", user.id, None, {"throttle_rows": forgotten})
    return user
