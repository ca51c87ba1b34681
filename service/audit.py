"""The audit trail: who did what, when, before and after; appended unchained, then sealed into a keyed chain.

A transaction appends its records as plain rows (no lock, no read of anyone else's row), so writers never queue on
the trail. One sealer at a time (service.audit_chain) later gives the committed records a sequence number in the
order it sees them committed and chains them with a keyed HMAC: each record's `hash` covers its content, its number
and the hash before it. Without the key, nobody can edit a sealed record and make the chain check out again. Signed
checkpoints (count and head) are kept in a table, a file in the data folder and the log, so that a cut tail or an
emptied table shows too. Snapshots keep personal identifiers masked: the registry holds them once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, IdType, UtcDateTime, utcnow
from service.identity import mask_bank_card, mask_id_number, mask_phone

GENESIS = "0" * 64  # the "hash before" the first record
_MASKERS = {"id_number": mask_id_number, "phone": mask_phone, "bank_card": mask_bank_card}
_UNSEALED = text("seq IS NULL")


class AuditRecord(Base):
    __tablename__ = "audit_log"
    # What the sealer looks for: a small partial index that holds only the records still waiting.
    __table_args__ = (Index("ix_audit_log_unsealed", "id", postgresql_where=_UNSEALED, sqlite_where=_UNSEALED),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64), index=True)
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True, default=None)  # set by the sealer
    hash: Mapped[str | None] = mapped_column(String(64), default=None)  # set by the sealer


class AuditCheckpoint(Base):
    """A signed statement by the sealer: the chain held `count` records and ended in `head`."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    count: Mapped[int] = mapped_column(BigInteger, unique=True)
    head: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(64))


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


def _mac(key: str, payload: list[Any]) -> str:
    message = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def record_hash(key: str, prev_hash: str, seq: int, rec: Any) -> str:
    """The chain link of one record (its content, its number, the link before it), keyed. `rec` is an AuditRecord
    or a row with the same fields, as read back from the database (what verify will read too)."""
    return _mac(
        key,
        [
            "zizhu-audit-record-1",
            prev_hash,
            seq,
            rec.at.isoformat(),
            rec.actor,
            rec.action,
            rec.entity,
            rec.entity_id,
            rec.before,
            rec.after,
            rec.note,
        ],
    )


def checkpoint_signature(key: str, count: int, head: str, at: datetime) -> str:
    return _mac(key, ["zizhu-audit-checkpoint-1", count, head, at.isoformat()])


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
    """Append one record in the caller's transaction (so it commits or rolls back with the change). Nothing is read
    and nothing locked: the sealer chains it once it is committed."""
    entry = AuditRecord(
        at=utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=snapshot(before),
        after=snapshot(after),
        note=note,
    )
    session.add(entry)  # flushed with the change it records
    return entry
