"""The audit trail: who did what, when, before and after, in an append-only hash chain.

Each record carries the hash of the record before it, so an edit or deletion made behind the service's
back breaks the chain at that point and `zizhu audit verify` names the first broken link. Appends are
serialized (PostgreSQL: a transaction-scoped advisory lock; SQLite: the write transaction's lock), so
the chain never forks. Snapshots keep personal identifiers masked: the registry holds them once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, String, Text, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UtcDateTime, utcnow
from service.identity import mask_bank_card, mask_id_number, mask_phone

GENESIS = "0" * 64
_AUDIT_LOCK_KEY = 0x5A495A48  # "ZIZH": one advisory lock for the whole chain
_MASKERS = {"id_number": mask_id_number, "phone": mask_phone, "bank_card": mask_bank_card}


class AuditRecord(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64), index=True)
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(Text, default=None)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def snapshot(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """JSON-ready copy of a record's fields with personal identifiers masked."""
    if values is None:
        return None
    masked = {k: (_MASKERS[k](v) if k in _MASKERS and isinstance(v, str) else v) for k, v in values.items()}
    return json.loads(json.dumps(masked, default=_plain, ensure_ascii=False))


def model_snapshot(obj: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    cols = obj.__table__.columns.keys()
    return snapshot({c: getattr(obj, c) for c in cols if c not in exclude}) or {}


def chain_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Any,
    after: Any,
    note: str | None,
) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(), actor, action, entity, entity_id, before, after, note],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


async def record(
    session: AsyncSession,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> AuditRecord:
    """Append one record in the caller's transaction (so it commits or rolls back with the change)."""
    # The tail of the chain is read once per transaction: after the first append this transaction
    # holds the lock (PostgreSQL: the advisory lock; SQLite: the write lock), so no one else can
    # append behind our back and the tail we wrote last is still the tail.
    # (Not inside a savepoint, whose rollback could take the cached tail away with it.)
    transaction = session.get_transaction()
    tail = session.info.get("audit_tail")
    nested = session.get_nested_transaction() is not None
    prev_hash = tail[1] if tail is not None and tail[0] is transaction and not nested else None
    if prev_hash is None:
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK_KEY})
        prev = await session.scalar(select(AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1))
        prev_hash = prev or GENESIS
    at = utcnow()
    b, a = snapshot(before), snapshot(after)
    entry = AuditRecord(
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=b,
        after=a,
        note=note,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, at, actor, action, entity, str(entity_id), b, a, note),
    )
    session.add(entry)  # flushed with the change it records; inserts keep their order
    # Holding the transaction object keeps its identity unique while the cache entry lives.
    session.info["audit_tail"] = (transaction, entry.hash)
    return entry


@dataclass(frozen=True)
class ChainReport:
    records: int
    first_broken_id: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None


async def verify_chain(session: AsyncSession, batch: int = 5000) -> ChainReport:
    """Walk the chain in order; report the first record whose link or content does not check out."""
    expected_prev = GENESIS
    count = 0
    result = await session.stream(select(AuditRecord).order_by(AuditRecord.id).execution_options(yield_per=batch))
    async for rec in result.scalars():
        count += 1
        if rec.prev_hash != expected_prev:
            return ChainReport(
                count, rec.id, "link to the previous record is broken (a record was removed or reordered)"
            )
        actual = chain_hash(
            rec.prev_hash, rec.at, rec.actor, rec.action, rec.entity, rec.entity_id, rec.before, rec.after, rec.note
        )
        if actual != rec.hash:
            return ChainReport(count, rec.id, "content does not match its hash (the record was edited)")
        expected_prev = rec.hash
    return ChainReport(count, None, None)
