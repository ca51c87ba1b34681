"""The audit log's sequencer and its verifier, as a transparency log keeps them.

Writers append unsealed records (service.audit.record). `seal` is the one sequencer: one at a time (a PostgreSQL
advisory lock; on SQLite the write lock), it numbers the committed records in the order it finds them committed,
chains them with the keyed HMAC and signs a checkpoint (count and head) kept three ways: a row in
audit_checkpoints, the file audit-checkpoint.json in the data folder (0600) and a log line. Before it extends the
chain it checks the tail against the last checkpoints: a cut or rewritten tail stops the sealer instead of being
papered over. `verify_chain` walks every sealed record and every checkpoint; records not sealed yet are counted
and reported, never taken as verified.

Who this stops: anyone who can change the database (a DBA, a stolen backup restored, a SQL injection) but does not
hold the audit key, which stays outside the database (ZIZHU_AUDIT_KEY, or the data folder's audit.key).
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.audit import GENESIS, AuditCheckpoint, AuditRecord, checkpoint_signature, record_hash
from service.datadir import write_private
from service.db import utcnow, write_session
from service.settings import Settings

log = logging.getLogger("zizhu.audit")

SEAL_LOCK_KEY = 0x5A495A48  # "ZIZH": one sealer at a time (a transaction-scoped advisory lock)
CHECKPOINT_FILE = "audit-checkpoint.json"
SEAL_BATCH = 5000


@dataclass(frozen=True)
class Checkpoint:
    count: int
    head: str
    at: datetime
    signature: str

    def signed_by(self, key: str) -> bool:
        return hmac.compare_digest(self.signature, checkpoint_signature(key, self.count, self.head, self.at))

    def to_json(self) -> bytes:
        body = {"count": self.count, "head": self.head, "at": self.at.isoformat(), "signature": self.signature}
        return json.dumps(body, indent=1).encode()


def checkpoint_path(settings: Settings) -> Path:
    return settings.data_dir / CHECKPOINT_FILE


def read_checkpoint_file(path: Path) -> Checkpoint | None:
    """The checkpoint kept outside the database; a file that does not parse is returned unsigned (so it fails)."""
    if not path.exists():
        return None
    try:
        body = json.loads(path.read_text())
        return Checkpoint(int(body["count"]), str(body["head"]), datetime.fromisoformat(body["at"]), body["signature"])
    except (ValueError, KeyError, TypeError):
        return Checkpoint(-1, "", utcnow(), "")


def _write_checkpoint_file(path: Path, cp: Checkpoint) -> None:
    # Only forward: two sealers finishing out of order must not leave the older checkpoint behind.
    current = read_checkpoint_file(path)
    if current is None or current.count < cp.count:
        write_private(path, cp.to_json())


def _log_checkpoint(cp: Checkpoint) -> None:
    # The head in groups of eight: the log's masking takes any run of 11+ digits for a card number.
    grouped = ":".join(cp.head[i : i + 8] for i in range(0, 64, 8))
    log.info("audit checkpoint: %s records, head %s, signed %s", cp.count, grouped, cp.signature[:16])


def _row_checkpoint(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(row.count, row.head, row.at, row.signature)


async def _hash_at(session: AsyncSession, seq: int) -> str | None:
    return await session.scalar(select(AuditRecord.hash).where(AuditRecord.seq == seq))


async def _file_problem(session: AsyncSession, key: str, count: int, file_cp: Checkpoint) -> str | None:
    if not file_cp.signed_by(key):
        return f"the checkpoint file {CHECKPOINT_FILE} is not signed by the audit key"
    if file_cp.count > count:
        return (
            f"the checkpoint file says {file_cp.count} records were sealed, the database holds {count}: "
            "records were cut from the end"
        )
    if file_cp.count and await _hash_at(session, file_cp.count) != file_cp.head:
        return f"record {file_cp.count} is not the one the checkpoint file signed: the chain was rewritten"
    return None


async def _tail_problem(
    session: AsyncSession, key: str, count: int, head: str, file_cp: Checkpoint | None
) -> str | None:
    """Does the chain's tail still agree with the last checkpoint (table and file)? Cheap: a few indexed reads."""
    last = await session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.count.desc()).limit(1))
    if last is not None:
        if not _row_checkpoint(last).signed_by(key):
            return f"checkpoint {last.count} is not signed by the audit key"
        if last.count > count:
            return f"checkpoint {last.count} says {last.count} records were sealed, the database holds {count}: records were cut from the end"
        if last.count < count:
            return f"{count} records are sealed but the last checkpoint covers {last.count}: checkpoints were removed"
        if last.head != head:
            return f"record {count} is not the one checkpoint {count} signed: the chain was rewritten"
    elif count:
        return f"{count} records are sealed but no checkpoint is left: checkpoints were removed"
    return await _file_problem(session, key, count, file_cp) if file_cp is not None else None


@dataclass(frozen=True)
class SealResult:
    sealed: int
    count: int
    problem: str | None = None

    def __bool__(self) -> bool:  # a routine turn with nothing sealed logs nothing (service.scheduler)
        return bool(self.sealed or self.problem)


async def _tail(session: AsyncSession) -> tuple[int, str]:
    row = (
        await session.execute(
            select(AuditRecord.seq, AuditRecord.hash)
            .where(AuditRecord.seq.is_not(None))
            .order_by(AuditRecord.seq.desc())
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row is not None else (0, GENESIS)


_SET_SEAL = (
    update(AuditRecord.__table__)
    .where(AuditRecord.__table__.c.id == bindparam("rid"))
    .values(seq=bindparam("rseq"), hash=bindparam("rhash"))
)


async def _seal_batch(engine: AsyncEngine, settings: Settings, file_cp: Checkpoint | None) -> SealResult:
    key = settings.audit_key
    async with write_session(engine) as session:
        if engine.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEAL_LOCK_KEY})
        count, head = await _tail(session)
        problem = await _tail_problem(session, key, count, head, file_cp)
        if problem is not None:
            return SealResult(0, count, problem)
        waiting = (
            await session.execute(
                select(
                    AuditRecord.id,
                    AuditRecord.at,
                    AuditRecord.actor,
                    AuditRecord.action,
                    AuditRecord.entity,
                    AuditRecord.entity_id,
                    AuditRecord.before,
                    AuditRecord.after,
                    AuditRecord.note,
                )
                .where(AuditRecord.seq.is_(None))
                .order_by(AuditRecord.id)
                .limit(SEAL_BATCH)
            )
        ).all()
        if not waiting:
            return SealResult(0, count)
        links = []
        for rec in waiting:
            count += 1
            head = record_hash(key, head, count, rec)
            links.append({"rid": rec.id, "rseq": count, "rhash": head})
        await session.execute(_SET_SEAL, links)
        at = utcnow()
        cp = Checkpoint(count, head, at, checkpoint_signature(key, count, head, at))
        session.add(AuditCheckpoint(at=at, count=count, head=head, signature=cp.signature))
    # After the commit: the file and the log never claim more than the database holds.
    _write_checkpoint_file(checkpoint_path(settings), cp)
    _log_checkpoint(cp)
    return SealResult(len(waiting), count)


async def seal(engine: AsyncEngine, settings: Settings) -> SealResult:
    """Seal every committed record still waiting, a batch per transaction; stop (and say why) on a broken tail."""
    async with engine.connect() as conn:  # a cheap look first: most turns find nothing and take no write lock
        if await conn.scalar(select(AuditRecord.id).where(AuditRecord.seq.is_(None)).limit(1)) is None:
            return SealResult(0, 0)
    sealed, count = 0, 0
    while True:
        result = await _seal_batch(engine, settings, read_checkpoint_file(checkpoint_path(settings)))
        sealed, count = sealed + result.sealed, result.count
        if result.problem is not None:
            log.error("audit sealing stopped: %s", result.problem)
            return SealResult(sealed, count, result.problem)
        if result.sealed < SEAL_BATCH:
            return SealResult(sealed, count)


async def reset_checkpoint_file(engine: AsyncEngine, settings: Settings) -> int:
    """After a restore (a deliberate rewind): the file says what the restored database's last checkpoint says."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.count.desc()).limit(1))).first()
    path = checkpoint_path(settings)
    if row is None:
        path.unlink(missing_ok=True)
        count = 0
    else:
        write_private(path, Checkpoint(row.count, row.head, row.at, row.signature).to_json())
        count = row.count
    log.warning("audit checkpoint file reset to %s records by a restore", count)
    return count


@dataclass(frozen=True)
class ChainReport:
    records: int  # sealed records that check out
    unsealed: int  # appended, not yet chained: reported, not vouched for
    checkpoints: int
    file_checkpoint: int | None  # the count the data folder's file vouches for (None: no file)
    first_broken_id: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


async def verify_chain(session: AsyncSession, settings: Settings, batch: int = 5000) -> ChainReport:
    """Walk the sealed records in order and every checkpoint; the first thing that does not check out is named."""
    key = settings.audit_key
    # The file first: it never runs ahead of the database, so read before the snapshot it cannot be ahead of it.
    file_cp = read_checkpoint_file(checkpoint_path(settings))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # One snapshot for every query below: a sealer committing meanwhile must not look like a gap.
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    unsealed = await session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.seq.is_(None)))
    checkpoints = list(await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.count)))
    pending = iter(checkpoints)
    due = next(pending, None)

    def report(count: int, broken: int | None = None, reason: str | None = None) -> ChainReport:
        return ChainReport(count, unsealed or 0, len(checkpoints), file_cp and file_cp.count, broken, reason)

    head, count = GENESIS, 0
    stream = await session.stream(
        select(AuditRecord)
        .where(AuditRecord.seq.is_not(None))
        .order_by(AuditRecord.seq)
        .execution_options(yield_per=batch)
    )
    async for rec in stream.scalars():
        count += 1
        if rec.seq != count:
            missing = f"record {count}" if rec.seq == count + 1 else f"records {count} to {rec.seq - 1}"
            return report(count - 1, rec.id, f"{missing} of the chain are missing: deleted from the middle")
        if not hmac.compare_digest(rec.hash or "", record_hash(key, head, count, rec)):
            return report(count - 1, rec.id, "content does not match its keyed hash (the record was edited)")
        head = rec.hash or ""
        while due is not None and due.count <= count:
            if not _row_checkpoint(due).signed_by(key):
                return report(count, None, f"checkpoint {due.count} is not signed by the audit key")
            if due.count == count and due.head != head:
                return report(count, rec.id, f"record {count} is not the one checkpoint {count} signed")
            due = next(pending, None)
    await stream.close()
    # Every checkpoint within the chain checked out; the rest is the sealer's own test: the last checkpoint (one
    # beyond the chain's end is a cut tail) and the file.
    return report(count, None, await _tail_problem(session, key, count, head, file_cp))
