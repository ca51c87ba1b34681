"""The lean read of GET /api/v1/students/{id} (service.direct_read.DirectRead) gives what the ORM gives, on both databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import column, select, table
from sqlalchemy.util.concurrency import await_, greenlet_spawn

from service import db as dbmod
from service import direct_read
from service.direct_read import DirectRead
from service.registry import students as svc
from service.registry.models import Student
from tests.integration.test_registry_api import ID_2, _setup, student_body


async def _two_students(client: Any, make_user: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
    officer = await _setup(client, make_user)
    made = []
    for body in (student_body(), student_body(name="李四", id_number=ID_2, phone="13912345678", address=None,
                                               university_code="10027", categories=["orphan", "disabled"])):
        r = await client.post("/api/v1/students", json=body, headers=officer)
        assert r.status_code == 201, r.text
        made.append(r.json())
    return officer, made


# Reads from the test itself go through the test's own engine (`db`): an asyncpg connection belongs to the event
# loop it was opened in, and the test client serves the app in another.

async def test_the_row_has_the_entitys_values_and_gives_the_same_api_view(client, make_user, db, settings, sessions):
    _, made = await _two_students(client, make_user)
    tz = settings.tz
    for student in made:
        row = await svc.read_student(db, student["id"])
        async with sessions() as s:
            entity = await s.get(Student, student["id"])
        for name in Student.__table__.columns.keys():
            value, expected = getattr(row, name), getattr(entity, name)
            assert value == expected and type(value) is type(expected), name
        assert svc.student_out(row, tz) == svc.student_out(entity, tz)


async def test_detail_over_http(client, make_user):
    officer, made = await _two_students(client, make_user)
    got = await client.get(f"/api/v1/students/{made[1]['id']}", headers=officer)
    assert got.status_code == 200 and got.json() == made[1]
    missing = await client.get("/api/v1/students/987654", headers=officer)
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/not-found"
    assert "987654" in missing.json()["detail"]


async def test_detail_checks_the_roles_as_the_guard_did(client, make_user):
    _, made = await _two_students(client, make_user)
    path = f"/api/v1/students/{made[0]['id']}"
    for role, scope in (("auditor", {}), ("reviewer", {}), ("admin", {}), ("school", {"university_code": "10126"})):
        assert (await client.get(path, headers=await make_user(role, **scope))).status_code == 200, role
    for role, scope in (("donor", {"donor_id": 1}), ("graduate", {"student_id": made[0]["id"]})):
        r = await client.get(path, headers=await make_user(role, **scope))
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json"), role
    assert (await client.get(path)).status_code == 401
    other_school = await make_user("school", university_code="10027")
    assert (await client.get(path, headers=other_school)).status_code == 403


async def test_literal_binds_and_several_rows(client, make_user, db):
    _, made = await _two_students(client, make_user)
    ids = DirectRead(select(Student.__table__.c.id, Student.__table__.c.categories).order_by(Student.id).limit(5))
    rows = await ids.all(db)
    assert [r.id for r in rows] == sorted(s["id"] for s in made)
    assert rows[1].categories == ["disabled", "orphan"]
    assert await DirectRead(select(Student.__table__).where(Student.id == -1)).first(db) is None


async def test_a_failing_read_raises_and_the_next_one_works(client, make_user, db):
    _, made = await _two_students(client, make_user)
    with pytest.raises(Exception):
        await DirectRead(select(column("x")).select_from(table("no_such_table"))).all(db)
    assert (await svc.read_student(db, made[0]["id"])).id == made[0]["id"]


# SQLite: the read runs on the event loop thread and must never wait there.


async def test_sqlite_falls_back_to_the_pool_when_the_loop_reader_cannot(client, make_user, db, monkeypatch):
    if db.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    _, made = await _two_students(client, make_user)
    reader = direct_read._SQLITE_READERS[db.sync_engine]
    direct = await svc.read_student(db, made[0]["id"])
    monkeypatch.setattr(reader, "fetch", lambda sql, args: None)  # e.g. SQLite said busy
    pooled = await svc.read_student(db, made[0]["id"])
    assert pooled == direct


def test_sqlite_reader_never_waits(tmp_path: Path):
    path = str(tmp_path / "x.db")
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    setup.execute("INSERT INTO t VALUES (1)")
    reader = direct_read._SqliteReader(path)
    assert reader.fetch("SELECT id FROM t WHERE id = ?", (1,)) == [(1,)]
    # another thread is using the reader: not waited for
    assert reader._lock.acquire()
    try:
        assert reader.fetch("SELECT id FROM t", ()) is None
    finally:
        reader._lock.release()
    # a writer holds the whole file (rollback journal, exclusive lock): busy at once, not after a timeout
    setup.execute("PRAGMA locking_mode=EXCLUSIVE")
    setup.execute("BEGIN EXCLUSIVE")
    setup.execute("INSERT INTO t VALUES (2)")
    try:
        assert reader.fetch("SELECT id FROM t", ()) is None
    finally:
        setup.execute("ROLLBACK")
        setup.close()
    with pytest.raises(sqlite3.OperationalError):  # other errors are errors
        reader.fetch("SELECT nothing FROM nowhere", ())
    reader.close()


async def test_sqlite_pool_still_rolls_back_a_connection_returned_in_a_transaction(settings):
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    fresh = dbmod.create_engine(settings)  # a pool of its own, so the next checkout is the same connection
    engine = fresh.sync_engine

    def leave_a_transaction_open() -> None:
        raw = engine.raw_connection()
        await_(raw.driver_connection.execute("BEGIN IMMEDIATE"))
        assert raw.driver_connection.in_transaction
        raw.close()  # back to the pool with the write lock held, unless the reset rolls it back

    def next_checkout_is_clean() -> bool:
        raw = engine.raw_connection()
        try:
            return raw.driver_connection.in_transaction
        finally:
            raw.close()

    await greenlet_spawn(leave_a_transaction_open)
    assert await greenlet_spawn(next_checkout_is_clean) is False
    other = sqlite3.connect(fresh.url.database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # would say "database is locked" if the transaction were still open
        other.execute("ROLLBACK")
    finally:
        other.close()
        await fresh.dispose()


# PostgreSQL: reads go through a few plain asyncpg connections of their own.


async def test_postgres_reads_share_a_few_connections_and_survive_a_failure(client, make_user, db):
    if db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    import asyncio

    _, made = await _two_students(client, make_user)
    readers = direct_read._PG_READERS[db.sync_engine]
    expected = await svc.read_student(db, made[0]["id"])
    rows = await asyncio.gather(*(svc.read_student(db, made[0]["id"]) for _ in range(50)))
    assert all(row == expected for row in rows)
    assert readers._opened <= readers.size and not readers._waiters
    with pytest.raises(Exception):  # a failing statement: its connection is dropped, not reused
        await DirectRead(select(column("x")).select_from(table("no_such_table"))).all(db)
    assert (await svc.read_student(db, made[0]["id"])) == expected
    assert readers._opened <= readers.size
