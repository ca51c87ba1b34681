"""Concurrent writers: every request succeeds or fails cleanly, and the sealed audit chain never forks."""

from __future__ import annotations

import asyncio
from datetime import date

from service.audit_chain import seal, verify_chain
from service.identity import make_id_number
from tests.integration.test_registry_api import student_body


async def test_parallel_registrations_keep_one_unbroken_chain(client, make_user, sessions, db, settings):
    officer = await make_user("officer")
    await client.post(
        "/api/v1/universities", json={"code": "10126", "name": "内蒙古大学", "province": "内蒙古"}, headers=officer
    )
    bodies = [
        student_body(
            name=f"学生{i}", id_number=make_id_number("150430", date(2005, 1, 1 + i), 100 + i), phone=f"139{i:08d}"
        )
        for i in range(20)
    ]
    # the same ID number twice more: exactly one of the three may win
    bodies += [bodies[0], bodies[0]]
    results = await asyncio.gather(*(client.post("/api/v1/students", json=b, headers=officer) for b in bodies))
    codes = sorted(r.status_code for r in results)
    assert codes.count(201) == 20 and codes.count(409) == 2, codes
    assert (await seal(db, settings)).sealed == 21
    async with sessions() as s:
        report = await verify_chain(s, settings)
    assert report.ok and report.records == 21  # the university and 20 students
