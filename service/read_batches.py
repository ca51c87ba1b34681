"""Coalescing concurrent DirectRead reads by one key on PostgreSQL into one query (the DataLoader pattern).

Why: on PostgreSQL each read is a round trip through asyncpg (a future, a send, an epoll wake-up, a receive and a
decode in this process, and the backend's own per-query work on the same few cores): about 60 µs more CPU per
request than SQLite's on-loop read. Under load many requests ask for a row by key at the same moment; reading
their keys with one `WHERE key = ANY($1::bigint[])` pays that cost once per batch instead of once per request.

Used by DirectRead(statement, batch_by=column) (service.direct_read); SQLite keeps its own path (an on-loop read
of ~15 µs has nothing to win here).
"""

from __future__ import annotations

import asyncio
import operator
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Integer, Select, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnElement

if TYPE_CHECKING:
    from service.direct_read import _PgReadConnections, _ReadPlan

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class KeyBatching:
    """The batched form of a one-key statement: `key = :param` turned into `key = ANY(:param)` over a bigint array.

    The statement must compare the key column to a bind parameter (`column == bindparam("name")`) and select the
    key column itself (so that each row can be handed to the reader that asked for its key). Statements whose rows
    for one key depend on the other keys (LIMIT, OFFSET, GROUP BY, DISTINCT) cannot be batched and are refused.
    """

    def __init__(self, statement: Select[Any], key_column: ColumnElement[Any]) -> None:
        if not isinstance(key_column.type, Integer):
            raise TypeError(f"batch_by needs an integer key column, not {key_column.type!r}")
        if (statement._limit_clause is not None or statement._offset_clause is not None
                or statement._group_by_clauses or statement._distinct):
            raise ValueError("a batched read cannot have LIMIT, OFFSET, GROUP BY or DISTINCT: "
                             "one key's rows would depend on the other keys in the batch")
        selected = list(statement.selected_columns)
        try:
            self.key_index = next(i for i, c in enumerate(selected) if c.compare(key_column))
        except StopIteration:
            raise ValueError(f"a batched read must select its key column {key_column}") from None
        found: list[str] = []

        def to_any(element: Any) -> Any:
            if isinstance(element, BinaryExpression) and element.operator is operator.eq:
                for column, bind in ((element.left, element.right), (element.right, element.left)):
                    # a named parameter (bindparam("name")), not a literal value (`column == 5`, anonymous)
                    if isinstance(bind, BindParameter) and not bind.unique and column.compare(key_column):
                        found.append(bind.key)
                        return column == any_(bindparam(bind.key, type_=ARRAY(BigInteger)))
            return None

        self.statement: Select[Any] = visitors.replacement_traverse(statement, {}, to_any)
        if len(found) != 1:
            raise ValueError(f"a batched read needs exactly one `{key_column} == bindparam(...)`, found {len(found)}")
        self.param = found[0]


def checked_key(value: Any) -> int:
    """The key as an int, refused before it is queued if PostgreSQL's bigint cannot hold it (→ a 400, as before)."""
    key = operator.index(value)
    if not INT64_MIN <= key <= INT64_MAX:
        raise OverflowError(f"value out of int64 range: {key}")
    return key


class _LoopState:
    """One event loop's queue: a new loop (a new asyncio.run) starts afresh, as _PgReadConnections does."""

    __slots__ = ("loop", "pending", "in_flight")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: dict[int, list[asyncio.Future[list[Any]]]] = {}
        self.in_flight = 0


class KeyCoalescer:
    """Reads by key of one batched statement on one engine's reader connections, concurrent keys in one query.

    A read starts at once while fewer than `limit` batches are in flight, so an idle server adds no latency and no
    task to a read; only while the batches in flight are busy do keys queue, and the next batch, started the moment
    one ends, takes them all. Why this shape and not "gather the keys of one event-loop iteration": under load the
    batches grow by themselves with the round-trip time, exactly when they pay, and when idle nothing waits for a
    tick. Measured on the 2-core bench (bench/api.py --db postgres, 32 connections, students rps; before: 2186
    and 2366): per-iteration batches 3010 (17 keys a query), this with limit 1: 3277 and 3967 (13 keys), limit 2:
    2865 (8 keys), limit 8, i.e. start whenever a reader connection is free: 2926 (2.5 keys). More batches in
    flight means smaller ones, more round trips and more backend work on the same cores; so `limit` is 1.
    """

    def __init__(self, readers: _PgReadConnections, plan: _ReadPlan, param: str, key_index: int,
                 limit: int) -> None:
        self.readers = readers
        self.plan = plan
        self.param = param
        self.key_index = key_index
        self.limit = limit
        self.batches = 0  # queries sent, for the tests (coalescing is observable) and curious operators
        self._state: _LoopState | None = None

    async def read(self, key: int) -> list[Any]:
        """The records of one key (raw, unconverted). `key` must have passed checked_key."""
        loop = asyncio.get_running_loop()
        state = self._state
        if state is None or state.loop is not loop:
            state = self._state = _LoopState(loop)
        if state.in_flight < self.limit and not state.pending:
            # Nothing queued and room to start: read at once in the caller's own task (no task or future of ours). A
            # cancelled caller interrupts only its own read (the connection is then terminated, as for any read).
            state.in_flight += 1
            try:
                return await self._fetch([key])
            finally:
                state.in_flight -= 1
                self._start_next(state)
        waiter: asyncio.Future[list[Any]] = loop.create_future()
        waiters = state.pending.get(key)
        if waiters is None:
            state.pending[key] = [waiter]
        else:
            waiters.append(waiter)  # the same key twice in a batch: one array element, every waiter answered
        return await waiter

    def _fetch(self, keys: list[int]) -> Any:
        self.batches += 1
        return self.readers.fetch(self.plan.sql, self.plan.arguments({self.param: keys}))

    def _start_next(self, state: _LoopState) -> None:
        if state is not self._state or state.in_flight >= self.limit or not state.pending:
            return
        batch, state.pending = state.pending, {}
        # keys whose every waiter is gone (cancelled) are not read
        batch = {key: waiters for key, waiters in batch.items() if not all(w.done() for w in waiters)}
        if batch:
            state.in_flight += 1
            state.loop.create_task(self._run(state, batch))

    async def _run(self, state: _LoopState, batch: dict[int, list[asyncio.Future[list[Any]]]]) -> None:
        # Its own task: a waiter that is cancelled cancels only its future, never the query the others wait on.
        try:
            records = await self._fetch(list(batch))
        except BaseException as exc:
            # Every waiter gets the same failure (the connection was dealt with by readers.fetch).
            cancelled = isinstance(exc, asyncio.CancelledError)
            for waiters in batch.values():
                for waiter in waiters:
                    if not waiter.done():
                        waiter.cancel() if cancelled else waiter.set_exception(exc)
            if not isinstance(exc, Exception):
                raise  # cancelled (the loop is ending) or an interpreter exit: not ours to swallow
            return
        finally:
            state.in_flight -= 1
            self._start_next(state)
        by_key: dict[Any, list[Any]] = {}
        index = self.key_index
        for record in records:
            key = record[index]
            rows = by_key.get(key)
            if rows is None:
                by_key[key] = [record]
            else:
                rows.append(record)
        empty: list[Any] = []
        for key, waiters in batch.items():
            rows = by_key.get(key, empty)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(rows)


# One batch in flight per statement and engine: see KeyCoalescer for the measurements behind it.
BATCHES_IN_FLIGHT = 1


def coalescer(readers: _PgReadConnections, plan: _ReadPlan, batching: KeyBatching) -> KeyCoalescer:
    # Kept by the readers themselves (not in a module-level map): they live and go with their engine.
    found = readers.coalescers.get(plan)
    if found is None:
        found = readers.coalescers[plan] = KeyCoalescer(readers, plan, batching.param, batching.key_index,
                                                        limit=BATCHES_IN_FLIGHT)
    return found
