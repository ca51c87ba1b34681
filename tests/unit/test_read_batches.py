"""The key coalescer of service.read_batches on its own: a fake driver whose round trips the test holds and releases.

No database: these run the same on every test run (tests/integration/test_read_batches.py reads real rows).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import String, bindparam, select
from sqlalchemy.dialects import postgresql

from service.direct_read import DirectRead
from service.read_batches import KeyBatching, KeyCoalescer, checked_key
from service.registry.models import Student

STUDENTS = Student.__table__


class FakeReaders:
    """Stands for _PgReadConnections: records each query's keys and answers once the test opens the gate."""

    def __init__(self, rows: dict[int, list[tuple[Any, ...]]]) -> None:
        self.rows = rows
        self.queries: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_with: BaseException | None = None

    async def fetch(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        (keys,) = args
        assert len(keys) == len(set(keys)), "a key is sent once per query"
        self.queries.append(list(keys))
        await asyncio.sleep(0)  # a round trip always lets the loop run other tasks meanwhile
        await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [row for key in keys for row in self.rows.get(key, [])]


class FakePlan:
    sql = "SELECT … WHERE id = ANY($1)"

    def arguments(self, params: dict[str, Any]) -> tuple[Any, ...]:
        return (params["id"],)


def _coalescer(rows: dict[int, list[tuple[Any, ...]]]) -> tuple[KeyCoalescer, FakeReaders]:
    readers = FakeReaders(rows)
    return KeyCoalescer(readers, FakePlan(), "id", key_index=0, limit=1), readers  # type: ignore[arg-type]


ROWS = {k: [(k, f"student {k}")] for k in range(1, 21)} | {7: [(7, "a"), (7, "b")]}  # key 7 has two rows


async def test_a_lone_read_goes_at_once_in_its_own_query():
    c, readers = _coalescer(ROWS)
    assert await c.read(3) == [(3, "student 3")]
    assert readers.queries == [[3]] and c.batches == 1


async def test_concurrent_reads_share_one_query_and_each_gets_its_own_rows():
    c, readers = _coalescer(ROWS)
    keys = [*range(1, 21), 5, 5, 404]  # duplicates and a key with no row
    got = await asyncio.gather(*(c.read(k) for k in keys))
    # the first read went at once; the 22 that came while it was out share the next query, each key once
    assert readers.queries == [[1], [*range(2, 21), 404]]
    for key, rows in zip(keys, got):
        assert rows == ROWS.get(key, []), key
    assert got[6] == [(7, "a"), (7, "b")]  # several rows of one key all go to its reader


async def test_keys_queue_only_while_a_batch_is_out():
    c, readers = _coalescer(ROWS)
    readers.gate.clear()
    first = asyncio.ensure_future(c.read(1))
    await asyncio.sleep(0)
    queued = [asyncio.ensure_future(c.read(k)) for k in (2, 3)]
    await asyncio.sleep(0)
    assert readers.queries == [[1]]  # 2 and 3 wait for the batch in flight to end
    readers.gate.set()
    assert [await first, *[await q for q in queued]] == [ROWS[1], ROWS[2], ROWS[3]]
    assert readers.queries == [[1], [2, 3]]
    assert await c.read(4) == ROWS[4] and readers.queries[-1] == [4]  # idle again: at once


async def test_a_cancelled_waiter_does_not_disturb_the_others():
    c, readers = _coalescer(ROWS)
    readers.gate.clear()
    first = asyncio.ensure_future(c.read(1))
    await asyncio.sleep(0)
    a, b, b_too, gone = (asyncio.ensure_future(c.read(k)) for k in (2, 3, 3, 9))
    await asyncio.sleep(0)
    for task in (b, gone):
        task.cancel()
    readers.gate.set()
    assert await first == ROWS[1] and await a == ROWS[2] and await b_too == ROWS[3]
    for task in (b, gone):
        with pytest.raises(asyncio.CancelledError):
            await task
    assert readers.queries == [[1], [2, 3]]  # 9 had no reader left: not asked for; 3 still had one


async def test_a_cancelled_lone_read_lets_the_queue_go_on():
    c, readers = _coalescer(ROWS)
    readers.gate.clear()
    first = asyncio.ensure_future(c.read(1))
    await asyncio.sleep(0)
    queued = asyncio.ensure_future(c.read(2))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    readers.gate.set()
    assert await queued == ROWS[2]
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failing_query_fails_every_waiter_of_its_batch_with_the_same_exception():
    c, readers = _coalescer(ROWS)
    readers.gate.clear()
    first = asyncio.ensure_future(c.read(1))
    await asyncio.sleep(0)
    queued = [asyncio.ensure_future(c.read(k)) for k in (2, 3, 3)]
    await asyncio.sleep(0)
    readers.fail_with = RuntimeError("connection lost")
    readers.gate.set()
    results = await asyncio.gather(first, *queued, return_exceptions=True)
    assert all(r is readers.fail_with for r in results)
    readers.fail_with = None
    assert await c.read(4) == ROWS[4]  # the next read is not held up by the failed one


def test_a_new_event_loop_starts_with_an_empty_queue():
    c, readers = _coalescer(ROWS)
    readers.gate = None  # type: ignore[assignment]

    async def stuck() -> None:
        readers.gate = asyncio.Event()  # never set: a batch left in flight by a loop that is dropped
        asyncio.ensure_future(c.read(1))
        await asyncio.sleep(0)

    old = asyncio.new_event_loop()
    old.run_until_complete(stuck())
    old.close()  # the read never ends; its loop is gone

    async def fresh() -> list[Any]:
        readers.gate = asyncio.Event()
        readers.gate.set()
        return await c.read(2)

    assert asyncio.run(fresh()) == ROWS[2]  # not queued behind the dead loop's batch
    assert readers.queries == [[1], [2]]


def test_keys_are_checked_before_they_are_queued():
    assert checked_key(2**63 - 1) == 2**63 - 1 and checked_key(-(2**63)) == -(2**63) and checked_key(True) == 1
    for huge in (2**63, -(2**63) - 1, 10**30):
        with pytest.raises(OverflowError):
            checked_key(huge)
    with pytest.raises(TypeError):
        checked_key("12")


def test_the_batched_statement_on_postgresql():
    batching = KeyBatching(select(STUDENTS).where(STUDENTS.c.id == bindparam("student_id")), STUDENTS.c.id)
    assert batching.param == "student_id" and batching.key_index == 0
    sql = str(batching.statement.compile(dialect=postgresql.asyncpg.dialect()))
    assert sql.endswith("WHERE students.id = ANY ($1::BIGINT[])")
    # the key on either side of the comparison, with other conditions beside it, the key column selected anywhere
    other = KeyBatching(select(STUDENTS.c.name, STUDENTS.c.id).where(bindparam("k") == STUDENTS.c.id,
                                                                    STUDENTS.c.level == "undergraduate"),
                        STUDENTS.c.id)
    assert other.param == "k" and other.key_index == 1
    assert "students.id = ANY ($1::BIGINT[]) AND students.level = $2" in str(
        other.statement.compile(dialect=postgresql.asyncpg.dialect()))


def test_statements_that_cannot_be_batched_are_refused():
    by_id = select(STUDENTS).where(STUDENTS.c.id == bindparam("k"))
    for statement in (by_id.limit(1), by_id.offset(1), by_id.distinct(), by_id.group_by(STUDENTS.c.id)):
        with pytest.raises(ValueError, match="LIMIT"):
            KeyBatching(statement, STUDENTS.c.id)
    with pytest.raises(ValueError, match="select its key"):
        KeyBatching(select(STUDENTS.c.name).where(STUDENTS.c.id == bindparam("k")), STUDENTS.c.id)
    with pytest.raises(ValueError, match="exactly one"):
        KeyBatching(select(STUDENTS).where(STUDENTS.c.id == 5), STUDENTS.c.id)
    with pytest.raises(TypeError, match="integer"):
        KeyBatching(select(STUDENTS).where(STUDENTS.c.name == bindparam("k", type_=String())), STUDENTS.c.name)
    # the plain form stays as it was
    assert DirectRead(by_id.limit(1)).batching is None
