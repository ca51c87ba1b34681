"""The audit trail records every change and catches an edit made behind the service's back."""

from __future__ import annotations

from sqlalchemy import select, text, update

from service.audit import AuditRecord, verify_chain
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
    assert rows[0].prev_hash == "0" * 64 and rows[1].prev_hash == rows[0].hash


async def test_rejected_request_leaves_no_audit_record(client, make_user, sessions):
    officer = await make_user("officer")
    r = await client.post("/api/v1/students", json=student_body(), headers=officer)  # no university yet
    assert r.status_code == 422
    async with sessions() as s:
        assert (await s.scalar(select(AuditRecord.id))) is None


async def test_chain_verifies_and_catches_tampering(client, make_user, db, sessions):
    await _make_changes(client, make_user)
    async with sessions() as s:
        report = await verify_chain(s)
    assert report.ok and report.records == 3
    async with write_session(db) as s:
        second = (await s.scalars(select(AuditRecord).order_by(AuditRecord.id))).all()[1]
        await s.execute(update(AuditRecord).where(AuditRecord.id == second.id).values(actor="someone-else"))
    async with sessions() as s:
        report = await verify_chain(s)
    assert not report.ok and report.first_broken_id == second.id and "edited" in report.reason


async def test_chain_catches_a_deleted_record(client, make_user, db, sessions):
    await _make_changes(client, make_user)
    async with write_session(db) as s:
        first = await s.scalar(select(AuditRecord.id).order_by(AuditRecord.id))
        await s.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": first})
    async with sessions() as s:
        report = await verify_chain(s)
    assert not report.ok and "removed" in report.reason
