"""The audit trail records every change; the sealer chains it under a key, and verify catches every way of
tampering with it behind the service's back: an edit (even with the hashes recomputed), a deletion in the middle,
a cut tail, an emptied table. Records not sealed yet are reported as such."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import pytest
from sqlalchemy import delete, func, select, update

from service import audit
from service.audit import AuditCheckpoint, AuditRecord, record_hash
from service.audit_chain import checkpoint_path, read_checkpoint_file, seal, verify_chain
from service.db import write_session
from tests.integration.test_registry_api import ID_1, student_body


async def _make_changes(client, make_user) -> None:
    officer = await make_user("officer", username="clerk")
    await client.post(
        "/api/v1/universities", json={"code": "10126", "name": "内蒙古大学", "province": "内蒙古"}, headers=officer
    )
    s = (await client.post("/api/v1/students", json=student_body(), headers=officer)).json()
    await client.patch(
        f"/api/v1/students/{s['id']}", json={"version": s["version"], "address": "新地址 1 号"}, headers=officer
    )


async def _more(client, make_user, *codes: str) -> None:
    officer = await make_user("officer")
    for code in codes:
        r = await client.post(
            "/api/v1/universities", json={"code": code, "name": code, "province": "内蒙古"}, headers=officer
        )
        assert r.status_code == 201, r.text


async def _verify(sessions, settings):
    async with sessions() as s:
        return await verify_chain(s, settings)


async def _sealed_world(client, make_user, db, settings, sessions) -> list[AuditRecord]:
    """Two seals (two checkpoints): 3 records, then 2 more."""
    await _make_changes(client, make_user)
    assert (await seal(db, settings)).sealed == 3
    await _more(client, make_user, "10130", "10131")
    assert (await seal(db, settings)).sealed == 2
    async with sessions() as s:
        return list(await s.scalars(select(AuditRecord).order_by(AuditRecord.seq)))


async def test_every_write_is_audited_with_before_and_after(client, make_user, sessions):
    await _make_changes(client, make_user)
    async with sessions() as s:
        rows = (await s.scalars(select(AuditRecord).order_by(AuditRecord.id))).all()
    assert [(r.action, r.entity) for r in rows] == [
        ("create", "university"),
        ("create", "student"),
        ("update", "student"),
    ]
    assert all(r.actor.startswith("clerk#") for r in rows)
    change = rows[-1]
    assert change.before["address"] is None and change.after["address"] == "新地址 1 号"
    # personal data is masked in the trail: the registry holds it once
    assert ID_1 not in str(change.after) and "13812341234" not in str(change.after)
    assert all(r.seq is None and r.hash is None for r in rows)  # appended unchained: the sealer chains them


async def test_rejected_request_leaves_no_audit_record(client, make_user, sessions):
    officer = await make_user("officer")
    r = await client.post("/api/v1/students", json=student_body(), headers=officer)  # no university yet
    assert r.status_code == 422
    async with sessions() as s:
        assert (await s.scalar(select(AuditRecord.id))) is None


async def test_unsealed_records_are_reported_then_sealed_with_checkpoints(client, make_user, db, sessions, settings):
    await _make_changes(client, make_user)
    report = await _verify(sessions, settings)
    assert report.ok and report.records == 0 and report.unsealed == 3  # reported, not vouched for
    sealed = await seal(db, settings)
    assert sealed.sealed == 3 and sealed.count == 3
    assert not await seal(db, settings)  # nothing waiting: a quiet turn
    report = await _verify(sessions, settings)
    assert report.ok and (report.records, report.unsealed, report.checkpoints, report.file_checkpoint) == (3, 0, 1, 3)
    async with sessions() as s:
        rows = (await s.scalars(select(AuditRecord).order_by(AuditRecord.seq))).all()
        cp = await s.scalar(select(AuditCheckpoint))
    assert [r.seq for r in rows] == [1, 2, 3] and cp.count == 3 and cp.head == rows[-1].hash
    on_disk = read_checkpoint_file(checkpoint_path(settings))
    assert on_disk.head == cp.head and on_disk.signed_by(settings.audit_key)
    assert checkpoint_path(settings).stat().st_mode & 0o777 == 0o600


async def test_sealers_at_once_make_one_chain(client, make_user, db, sessions, settings):
    await _make_changes(client, make_user)
    await _more(client, make_user, *(f"1014{i}" for i in range(6)))
    results = await asyncio.gather(*(seal(db, settings) for _ in range(4)))
    assert sum(r.sealed for r in results) == 9 and not any(r.problem for r in results)
    report = await _verify(sessions, settings)
    assert report.ok and report.records == 9 and report.unsealed == 0


async def test_an_edit_is_caught_even_with_the_hashes_recomputed(client, make_user, db, sessions, settings):
    rows = await _sealed_world(client, make_user, db, settings, sessions)
    second = rows[1]
    async with write_session(db) as s:  # edit, then rebuild the chain from there on without the key
        prev = rows[0].hash
        for r in rows[1:]:
            actor = "someone-else" if r.id == second.id else r.actor
            r.actor = actor
            digest = hmac.new(b"a-guessed-key", f"{prev}{r.seq}{actor}".encode(), hashlib.sha256).hexdigest()
            await s.execute(update(AuditRecord).where(AuditRecord.id == r.id).values(actor=actor, hash=digest))
            prev = digest
    report = await _verify(sessions, settings)
    assert not report.ok and report.first_broken_id == second.id and "edited" in report.reason
    # and the sealer refuses to build on a rewritten tail
    await _more(client, make_user, "10132")
    refused = await seal(db, settings)
    assert refused.sealed == 0 and "rewritten" in refused.problem


async def test_an_edit_with_the_right_key_verifies(client, make_user, db, sessions, settings):
    """The control: recomputing with the key is what the sealer does, so the key is all that stands guard."""
    rows = await _sealed_world(client, make_user, db, settings, sessions)
    assert record_hash(settings.audit_key, rows[0].hash, 2, rows[1]) == rows[1].hash
    assert (await _verify(sessions, settings)).ok


async def test_a_deletion_in_the_middle_is_caught(client, make_user, db, sessions, settings):
    rows = await _sealed_world(client, make_user, db, settings, sessions)
    async with write_session(db) as s:
        await s.execute(delete(AuditRecord).where(AuditRecord.id == rows[2].id))
    report = await _verify(sessions, settings)
    assert not report.ok and report.first_broken_id == rows[3].id and "deleted from the middle" in report.reason


async def test_a_cut_tail_is_caught_by_the_checkpoint(client, make_user, db, sessions, settings):
    await _sealed_world(client, make_user, db, settings, sessions)
    async with write_session(db) as s:
        await s.execute(delete(AuditRecord).where(AuditRecord.seq >= 4))
    report = await _verify(sessions, settings)
    assert not report.ok and "cut from the end" in report.reason and report.records == 3
    await _more(client, make_user, "10134")
    assert "cut from the end" in (await seal(db, settings)).problem  # nothing is sealed over it


async def test_a_cut_tail_with_its_checkpoints_removed_is_caught_by_the_file(client, make_user, db, sessions, settings):
    await _sealed_world(client, make_user, db, settings, sessions)
    async with write_session(db) as s:
        await s.execute(delete(AuditRecord).where(AuditRecord.seq >= 4))
        await s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.count >= 4))
    report = await _verify(sessions, settings)
    assert not report.ok and "checkpoint file says 5" in report.reason and report.records == 3


async def test_all_records_deleted_is_caught(client, make_user, db, sessions, settings):
    await _sealed_world(client, make_user, db, settings, sessions)
    async with write_session(db) as s:
        await s.execute(delete(AuditRecord))
    report = await _verify(sessions, settings)
    assert not report.ok and "cut from the end" in report.reason
    async with write_session(db) as s:
        await s.execute(delete(AuditCheckpoint))
    report = await _verify(sessions, settings)
    assert not report.ok and "checkpoint file says 5" in report.reason and report.records == 0
    await _more(client, make_user, "10133")  # new records are not sealed onto an emptied log
    assert "checkpoint file says 5" in (await seal(db, settings)).problem
    async with sessions() as s:
        assert await s.scalar(select(func.count()).where(AuditRecord.seq.is_not(None))) == 0


async def test_a_forged_checkpoint_is_caught(client, make_user, db, sessions, settings):
    rows = await _sealed_world(client, make_user, db, settings, sessions)
    async with write_session(db) as s:  # drop the tail and move the last checkpoint back to match it
        await s.execute(delete(AuditRecord).where(AuditRecord.seq >= 4))
        await s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.count == 3))
        await s.execute(update(AuditCheckpoint).where(AuditCheckpoint.count == 5).values(count=3, head=rows[2].hash))
    report = await _verify(sessions, settings)
    assert not report.ok and "not signed" in report.reason


async def test_records_are_numbered_in_commit_order(db, sessions, settings):
    """A transaction that appended first but commits last is sealed last: the sealer numbers what it finds
    committed, so a record never slips in behind a checkpoint. (Two writers at once: PostgreSQL only.)"""
    if db.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time")
    async with write_session(db) as slow:
        first = await audit.record(slow, "slow", "create", "thing", 1)
        await slow.flush()  # it has its id, not yet committed
        async with write_session(db) as quick:
            second = await audit.record(quick, "quick", "create", "thing", 2)
        assert (await seal(db, settings)).sealed == 1  # only the committed one
    assert (await seal(db, settings)).sealed == 1
    async with sessions() as s:
        seqs = dict((await s.execute(select(AuditRecord.id, AuditRecord.seq))).all())
    assert first.id < second.id and seqs == {second.id: 1, first.id: 2}
    assert (await _verify(sessions, settings)).ok
