"""Concurrent reads of a student by id (DirectRead with batch_by) against the real database.

On PostgreSQL they are coalesced into few queries (service.read_batches), and each caller must still get exactly
its own row, as the unbatched read gives it; on SQLite they take the on-loop read as before, with the same answers.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from sqlalchemy import bindparam, select

from service import direct_read, read_batches
from service.db import write_session
from service.direct_read import DirectRead
from service.errors import Problem
from service.identity import make_id_number
from service.registry import students as svc
from service.registry.models import Student, University

STUDENTS = Student.__table__
UNBATCHED = DirectRead(svc._STUDENT_ROW.statement)  # the same statement, read one key at a time


async def _students(db: Any, n: int = 20) -> list[int]:
    async with write_session(db) as session:
        session.add(University(code="10126", name="内蒙古大学", province="内蒙古"))
        await session.flush()  # no ORM relationship orders the two inserts
        made = [Student(name=f"学生{i}", id_number=make_id_number("150430", date(2005, 1, 1 + i), 10 + i),
                        phone=f"138{i:08d}", address=None if i % 2 else f"地址{i}", household_province="内蒙古",
                        household_county="示范县", categories=["orphan"] if i % 3 else [], university_code="10126",
                        level="undergraduate", study_years=4, enrolled_on=date(2024, 9, 1),
                        expected_graduation=date(2028, 6, 30)) for i in range(n)]
        session.add_all(made)
        await session.flush()
        return [s.id for s in made]


def _coalescer_of(db: Any, read: DirectRead) -> read_batches.KeyCoalescer | None:
    readers = direct_read._PG_READERS.get(db.sync_engine)
    plan = read._batched_plans.get(db.dialect)
    if readers is None or plan is None:
        return None
    return readers.coalescers.get(plan)


async def test_concurrent_reads_each_get_their_own_row_in_fewer_queries(db):
    ids = await _students(db)
    expected = {i: await UNBATCHED.first(db, student_id=i) for i in ids}
    assert await svc.read_student(db, ids[0]) == expected[ids[0]]  # a lone read, batched statement or not
    coalescer = _coalescer_of(db, svc._STUDENT_ROW)
    before = coalescer.batches if coalescer else 0
    keys = [*ids, ids[3], ids[3], ids[7]]  # duplicates in the same batch
    rows = await asyncio.gather(*(svc.read_student(db, k) for k in keys))
    for key, row in zip(keys, rows):
        assert row == expected[key] and row.id == key
        for name in STUDENTS.columns.keys():
            assert type(getattr(row, name)) is type(getattr(expected[key], name)), name
    if db.dialect.name == "postgresql":
        # 23 reads: the first goes at once, the rest wait for it and share the next query
        assert coalescer is not None and coalescer.batches - before <= 2
    else:
        assert _coalescer_of(db, svc._STUDENT_ROW) is None  # SQLite: read on the loop, one by one


async def test_a_missing_student_is_a_404_for_its_reader_alone(db):
    ids = await _students(db, 5)
    missing = max(ids) + 1000
    results = await asyncio.gather(*(svc.read_student(db, k) for k in (ids[0], missing, ids[1], missing, ids[2])),
                                   return_exceptions=True)
    assert [r.id for r in results[0::2]] == ids[:3]
    for problem in results[1::2]:
        assert isinstance(problem, Problem) and problem.kind.status == 404 and str(missing) in problem.detail_en


async def test_over_http_concurrent_reads_answer_200_404_and_400(client, make_user, db):
    ids = await _students(db, 8)
    headers = await make_user("officer")
    paths = [*(f"/api/v1/students/{i}" for i in ids), f"/api/v1/students/{max(ids) + 99}",
             f"/api/v1/students/{2**63}", f"/api/v1/students/{ids[2]}"]
    answers = await asyncio.gather(*(client.get(p, headers=headers) for p in paths))
    assert [a.status_code for a in answers] == [200] * 8 + [404, 400, 200]
    assert [a.json()["id"] for a in answers[:8]] == ids and answers[10].json()["id"] == ids[2]
    assert answers[9].json()["detail_en"] == "A number in the request is out of range."


async def test_a_key_beyond_64_bits_is_refused_before_it_is_queued(db):
    ids = await _students(db, 2)
    coalescer = _coalescer_of(db, svc._STUDENT_ROW)
    before = coalescer.batches if coalescer else 0
    for huge in (2**63, -(2**63) - 1):
        with pytest.raises(OverflowError):
            await svc.read_student(db, huge)
    if coalescer is not None:
        assert coalescer.batches == before  # never sent
    assert (await svc.read_student(db, ids[1])).id == ids[1]


# PostgreSQL only: cancellation and failure while reads wait on a real round trip.


async def test_a_cancelled_reader_does_not_disturb_its_batch(db):
    if db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (SQLite reads on the loop: nothing to cancel mid-read)")
    ids = await _students(db, 10)
    tasks = [asyncio.ensure_future(svc.read_student(db, k)) for k in ids]
    await asyncio.sleep(0)  # all started: the first out on a connection, the others queued behind it
    for i in (0, 5):  # the read in flight and a queued one
        tasks[i].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for i, (key, result) in enumerate(zip(ids, results)):
        if i in (0, 5):
            assert isinstance(result, asyncio.CancelledError)
        else:
            assert result.id == key
    assert (await svc.read_student(db, ids[0])).id == ids[0]


async def test_a_failing_batch_fails_all_its_readers_and_the_next_read_works(db):
    if db.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (SQLite's 1/0 is NULL, not an error)")
    ids = await _students(db, 6)
    bad = ids[4]
    # a real server-side error for one key's row, which fails the whole query that holds it
    by_id = select(STUDENTS.c.id, (STUDENTS.c.id // (STUDENTS.c.id - bad)).label("x")).where(
        STUDENTS.c.id == bindparam("k"))
    read = DirectRead(by_id, batch_by=STUDENTS.c.id)
    readers = direct_read._PG_READERS[db.sync_engine]
    tasks = [asyncio.ensure_future(read.all(db, k=k)) for k in ids]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [r.id for r in results[0][:1]] == [ids[0]]  # the first went alone, before the bad key came
    failures = results[1:]
    assert all(isinstance(f, Exception) and "division by zero" in str(f) for f in failures)
    assert all(f is failures[0] for f in failures)  # the same exception for every reader of the batch
    assert readers._opened <= readers.size and not readers._waiters
    assert [r.id for r in await read.all(db, k=ids[1])] == [ids[1]]
    assert (await svc.read_student(db, ids[4])).id == ids[4]
