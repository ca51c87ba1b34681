"""Idempotency keys: a retried money-moving request returns the first answer and posts nothing.

The key is claimed at the start of the request's transaction with an insert that does nothing on a
conflict. On PostgreSQL a second request with the same key waits at that insert until the first one
commits (or rolls back, and then takes the key over); on SQLite write transactions are serial anyway.
The same key with a different body is a 409: the client is reusing a key by mistake.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response
from sqlalchemy import JSON, Integer, String, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UtcDateTime, utcnow
from service.errors import Problem, problem_type

KEY_REUSED = problem_type(
    "idempotency-key-reused", 409, "幂等键已用于另一笔请求", "Idempotency-Key reused with another request"
)
KEY_INVALID = problem_type("idempotency-key-invalid", 400, "幂等键格式有误", "Invalid Idempotency-Key")


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_records_scope_key"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(64))  # e.g. "repayment"
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer, default=0)  # 0 while the first request runs
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def request_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not 1 <= len(key) <= 128 or not key.isprintable():
        raise Problem(
            KEY_INVALID,
            "Idempotency-Key 须为 1 到 128 个可见字符。",
            "Idempotency-Key must be 1 to 128 printable characters.",
            field="Idempotency-Key",
        )
    return key


async def claim(session: AsyncSession, scope: str, key: str, body_hash: str) -> tuple[int, dict[str, Any]] | None:
    """Claim the key for this request, or return the stored (status, response) of the first one."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(IdempotencyRecord)
        .values(scope=scope, key=key, request_hash=body_hash, status_code=0, created_at=utcnow())
        .on_conflict_do_nothing()
    )
    inserted = (await session.execute(stmt.returning(IdempotencyRecord.id))).scalar_one_or_none()
    if inserted is not None:
        return None
    first = await session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    )
    assert first is not None
    if first.request_hash != body_hash:
        raise Problem(
            KEY_REUSED,
            "该 Idempotency-Key 已用于内容不同的另一笔请求。",
            "This Idempotency-Key was used for a different request.",
            field="Idempotency-Key",
        )
    return first.status_code, dict(first.response or {})


async def remember(session: AsyncSession, scope: str, key: str, status_code: int, response: dict[str, Any]) -> None:
    record = await session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
    )
    assert record is not None
    record.status_code, record.response = status_code, response
    await session.flush()


async def once(
    session: AsyncSession,
    scope: str,
    key: str | None,
    data: msgspec.Struct,
    run: Callable[[], Awaitable[dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    """Run a money-moving request once per key (already checked with check_key; None runs it every time): the same
    key again gets the first answer, (status, body), and posts nothing."""
    if key is not None:
        first = await claim(session, scope, key, request_hash(msgspec.json.encode(data)))
        if first is not None:
            return first
    body = await run()
    if key is not None:
        await remember(session, scope, key, 201, body)
    return 201, body


async def respond_once(
    request: Request,
    session: AsyncSession,
    scope: str,
    data: msgspec.Struct,
    run: Callable[[], Awaitable[dict[str, Any]]],
) -> Response[dict[str, Any]]:
    """`once` for an API door: the key from the request's Idempotency-Key header, the answer a Response (201)."""
    status, body = await once(session, scope, check_key(request.headers.get("idempotency-key")), data, run)
    return Response(content=body, status_code=status)
