"""One mechanism for every status write: check the edge, write the status, write the audit record.

Each domain declares its lifecycles (loans/lifecycle.py, donations/lifecycle.py, notifications/lifecycle.py) as
a `Lifecycle`: a table of allowed transitions with the statuses' labels. Every status write in the service
goes through `move` (one row, an ORM object) or `move_all` (many rows, one UPDATE … WHERE status IN (the
allowed from-states)), so no code path writes a literal status past the table. A forbidden step is a 409
problem+json of type `invalid-transition` naming both statuses in Chinese and English, and writes nothing.

A lifecycle whose rows are their own record says so (`audited=False`: schedule lines, whose changes are the
ledger's entries; outbox messages, which carry their attempts, times and errors): its edges are still
checked, but no audit record is written for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.problems import Problem, problem_type

BAD_TRANSITION = problem_type("invalid-transition", 409, "当前状态不允许此操作", "Not allowed in the current status")


@dataclass(frozen=True)
class Lifecycle:
    """A state machine: `edges[s]` are the statuses a row in status `s` may move to.

    `entity` names the rows in the audit trail (each by its `key` column); `name_zh`/`name_en` in the refusal
    ("贷款", "A loan");
    `labels` gives each status its words (zh, en). `idempotent`: writing the status a row already has is
    no step at all (statuses derived from figures, such as a schedule line's), rather than a refusal.
    """

    entity: str
    name_zh: str
    name_en: str
    edges: Mapping[str, frozenset[str]]
    labels: Mapping[str, tuple[str, str]]
    audited: bool = True
    idempotent: bool = False
    key: str = "id"
    _sources: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        edges = {str(s): frozenset(str(t) for t in ts) for s, ts in self.edges.items()}
        unknown = {t for ts in edges.values() for t in ts} - set(edges)
        if unknown or set(edges) != {str(s) for s in self.labels}:
            raise ValueError(f"lifecycle {self.entity}: statuses without a row or a label: {unknown or 'labels'}")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "labels", {str(s): words for s, words in self.labels.items()})
        object.__setattr__(self, "_sources", {t: frozenset(s for s, ts in edges.items() if t in ts) for t in edges})

    @property
    def statuses(self) -> frozenset[str]:
        return frozenset(self.edges)

    def allows(self, current: str, wanted: str) -> bool:
        current, wanted = str(current), str(wanted)
        return wanted in self.edges.get(current, ()) or (self.idempotent and current == wanted in self.edges)

    def sources(self, wanted: str) -> frozenset[str]:
        """Every status from which `wanted` may be reached."""
        return self._sources[str(wanted)]

    def label(self, status: str, lang: str = "zh") -> str:
        words = self.labels.get(str(status))
        return str(status) if words is None else words[0 if lang == "zh" else 1]

    def refusal(self, current: str, wanted: str) -> Problem:
        current, wanted = str(current), str(wanted)
        allowed = sorted(self.edges.get(current, ()))
        return Problem(
            BAD_TRANSITION,
            f"{self.name_zh}当前状态为“{self.label(current)}”，不能变为“{self.label(wanted)}”。",
            f"{self.name_en} that is {self.label(current, 'en')} ({current}) cannot become "
            f"{self.label(wanted, 'en')} ({wanted}); allowed: {', '.join(allowed) or 'none'}.",
            extra={"current_status": current, "wanted_status": wanted, "allowed": allowed},
        )

    def check(self, current: str, wanted: str) -> str:
        """`wanted`, or the 409 problem when the table does not allow the step."""
        if not self.allows(current, wanted):
            raise self.refusal(current, wanted)
        return str(wanted)


async def move(
    session: AsyncSession,
    lifecycle: Lifecycle,
    row: Any,
    wanted: str,
    *,
    actor: str,
    action: str,
    audit_note: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    also: Mapping[str, Any] | None = None,
    **changes: Any,
) -> Any:
    """One row (an ORM object with `status` and `id`) one step on: its other field changes with it, then
    the audit record (by default the row's snapshot before and after, `also` added to the after).
    Nothing is written on a refusal."""
    lifecycle.check(row.status, wanted)
    if not lifecycle.audited:
        return step(lifecycle, row, wanted, **changes)
    if before is None:
        before = audit.model_snapshot(row)
    row.status = str(wanted)
    for name, value in changes.items():
        setattr(row, name, value)
    await session.flush()
    after = audit.model_snapshot(row) if after is None else after
    await audit.record(
        session,
        actor,
        action,
        lifecycle.entity,
        getattr(row, lifecycle.key),
        before,
        {**after, **(also or {})},
        audit_note,
    )
    return row


def step(lifecycle: Lifecycle, row: Any, wanted: str, **changes: Any) -> Any:
    """`move` for a lifecycle that is not audited, where no session is at hand (a pure helper over rows)."""
    if lifecycle.audited:
        raise TypeError(f"{lifecycle.entity} is audited: use move()")
    lifecycle.check(row.status, wanted)
    row.status = str(wanted)
    for name, value in changes.items():
        setattr(row, name, value)
    return row


@dataclass(frozen=True)
class Moved:
    """What a bulk step did: how many rows moved, which (for an audited lifecycle), and the `returning` rows."""

    count: int
    ids: tuple[int, ...] = ()
    rows: tuple[Any, ...] = ()


async def move_all(
    session: AsyncSession,
    lifecycle: Lifecycle,
    table: Any,
    wanted: str,
    *,
    where: Iterable[Any] = (),
    from_states: Iterable[str] | None = None,
    values: Mapping[str, Any] | None = None,
    params: Sequence[Mapping[str, Any]] | None = None,
    returning: Sequence[Any] = (),
    actor: str = "system",
    action: str = "",
    ref: str = "bulk",
    audit_note: str | None = None,
) -> Moved:
    """Every row matching `where` that is in an allowed from-state (of `from_states`, default all the table
    allows) moves to `wanted` in one UPDATE; rows in other statuses stay as they are. `table` is a mapped
    class or a Table; `params` runs the statement once per parameter set (executemany, for a lifecycle that is not audited); `returning` names
    columns to give back for each row moved (rows by name). An audited lifecycle gets one audit record for the step: the
    from-states, the count and the ids moved."""
    allowed = lifecycle.sources(wanted)
    if from_states is not None:
        wanted_from = {str(s) for s in from_states}
        for bad in sorted(wanted_from - allowed):
            raise lifecycle.refusal(bad, wanted)
        allowed = frozenset(wanted_from)
    if not allowed:
        return Moved(0)
    t = table if isinstance(table, Table) else table.__table__
    # (one bound value per from-state: an expanding IN cannot run as an executemany)
    in_allowed = or_(*(t.c.status == status for status in sorted(allowed)))
    stmt = update(t).where(in_allowed, *where).values(status=str(wanted), **(values or {}))
    moved = Moved(0)
    if params is not None:
        if lifecycle.audited:  # its audit record names the rows moved: a set-based `where` can return them
            raise TypeError(f"{lifecycle.entity} is audited: move its rows with `where`, not `params`")
        if params:  # (asyncpg counts no executemany: its count is then -1)
            result = await session.execute(stmt.execution_options(synchronize_session=False), list(params))
            moved = Moved(result.rowcount if result.rowcount is not None else -1)
    elif lifecycle.audited or returning:
        rows = (await session.execute(stmt.returning(t.c.id.label("_moved_id"), *returning))).all()
        moved = Moved(len(rows), tuple(sorted(r[0] for r in rows)), tuple(rows))
    else:
        moved = Moved((await session.execute(stmt)).rowcount or 0)
    if lifecycle.audited and moved.count:
        await audit.record(
            session,
            actor,
            action or f"{lifecycle.entity}-{wanted}",
            lifecycle.entity,
            ref,
            {"status": sorted(allowed)},
            {"status": str(wanted), "count": moved.count, "ids": list(moved.ids)},
            audit_note,
        )
    return moved
