"""Sign-in throttling that cannot race: attempts are counted in the database, one atomic upsert each.

An attempt is *reserved* before its password is checked (INSERT … ON CONFLICT DO UPDATE … RETURNING, atomic on
SQLite and PostgreSQL alike), so however many requests arrive at once, at most `limit` of them in a window ever
reach the password hash; the one after the limit is refused (429) without a check, the right password included.
A successful sign-in gives its reservation back. Two counters:

- `name`: a user name tried from one client address (ZIZHU_LOGIN_MAX_FAILURES). Keyed by the pair, not the name
  alone, so that someone retrying from their own address never locks the real user out from another one: nobody
  can lock an admin out for good. Unknown names are counted exactly like existing ones (no enumeration).
- `addr`: every attempt from one client address, whatever the name (ZIZHU_LOGIN_ADDRESS_MAX_FAILURES): stops one
  address from guessing across many names.

A window is ZIZHU_LOGIN_LOCK_MINUTES from its first attempt; the next attempt after it starts a new one. Rows hold
keyed digests (HMAC-SHA256 with the signing key), never the name or the address as typed: a password typed into the
name field must not be kept, and an address must not be recoverable by hashing all 2³² of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.clientaddress import keyed_digest
from service.db import Base, UtcDateTime

NAME, ADDRESS = "name", "addr"


class LoginThrottle(Base):
    __tablename__ = "login_throttle"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # digest of the address (and the name)
    subject: Mapped[str | None] = mapped_column(String(64), index=True, default=None)  # digest of the name
    attempts: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(UtcDateTime, index=True)  # the window's first attempt


@dataclass(frozen=True)
class Keys:
    """The two counters one attempt (user name, client address) counts on."""

    name: str
    address: str
    subject: str

    @classmethod
    def of(cls, username: str, address: str, secret: str) -> Keys:
        return cls(
            name=keyed_digest(secret, "name", address, username),
            address=keyed_digest(secret, "addr", address),
            subject=subject_of(username, secret),
        )


def subject_of(username: str, secret: str) -> str:
    """What the `name` rows of a user name carry, so that an admin can unlock it from every address."""
    return keyed_digest(secret, "subject", username)


@dataclass(frozen=True)
class Refused:
    """A reservation past its limit: wait `retry_after` seconds."""

    retry_after: int


def _upsert(dialect: str) -> type[postgresql.Insert] | type[sqlite.Insert]:
    return postgresql.Insert if dialect == "postgresql" else sqlite.Insert


async def _reserve(
    session: AsyncSession, kind: str, key: str, subject: str | None, limit: int, window: timedelta, now: datetime
) -> Refused | None:
    table = LoginThrottle.__table__
    expired = table.c.since <= now - window
    insert = _upsert(session.get_bind().dialect.name)(table).values(
        kind=kind, key=key, subject=subject, attempts=1, since=now
    )
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.key],
        # Both expressions read the row as it was: an expired window starts again at this attempt.
        set_={
            "attempts": case((expired, 1), else_=table.c.attempts + 1),
            "since": case((expired, insert.excluded.since), else_=table.c.since),
        },
    ).returning(table.c.attempts, table.c.since)
    attempts, since = (await session.execute(statement)).one()
    if attempts <= limit:
        return None
    return Refused(retry_after=max(1, int((since + window - now).total_seconds()) + 1))


async def reserve(
    session: AsyncSession, keys: Keys, *, name_limit: int, address_limit: int, window: timedelta, now: datetime
) -> Refused | None:
    """Count one attempt on both counters (the address first: a refused address reserves nothing on the name);
    None if the password may be checked. Commit before checking it, so that parallel requests see the count."""
    refused = await _reserve(session, ADDRESS, keys.address, None, address_limit, window, now)
    return refused or await _reserve(session, NAME, keys.name, keys.subject, name_limit, window, now)


async def give_back(session: AsyncSession, keys: Keys, *, window: timedelta, now: datetime) -> None:
    """A successful sign-in: its name counter starts afresh, its address gets its reservation back; rows of windows
    long over are dropped on the way (so the table holds at most one window's attempts)."""
    table = LoginThrottle.__table__
    await session.execute(delete(table).where(table.c.kind == NAME, table.c.key == keys.name))
    await session.execute(
        update(table)
        .where(table.c.kind == ADDRESS, table.c.key == keys.address, table.c.attempts > 0)
        .values(attempts=table.c.attempts - 1)
    )
    await session.execute(delete(table).where(table.c.since <= now - window))


async def unlock(session: AsyncSession, username: str, secret: str) -> int:
    """Forget every failed attempt on this user name, from every address (an admin's unlock); how many rows went."""
    table = LoginThrottle.__table__
    result = await session.execute(
        delete(table).where(table.c.kind == NAME, table.c.subject == subject_of(username, secret))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
