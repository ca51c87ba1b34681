"""service.lifecycle against a database: a forbidden step is a 409 and writes nothing; an allowed one writes
the status and its audit record; the bulk form moves only the rows in allowed from-states."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, func, select

from loans.lifecycle import RELIEF
from loans.models import Relief
from service import lifecycle
from service.audit import AuditRecord
from service.db import write_session
from service.lifecycle import Lifecycle
from service.problems import Problem


async def _reliefs(db, *statuses: str) -> list[int]:
    async with write_session(db) as s:
        rows = [
            Relief(year=2024, graduated_by=2024, source=f"notice {n}", status=st, created_by="officer")
            for n, st in enumerate(statuses)
        ]
        s.add_all(rows)
        await s.flush()
        return [r.id for r in rows]


async def _state(db) -> tuple[dict[int, str], int]:
    async with write_session(db) as s:
        statuses = dict((await s.execute(select(Relief.id, Relief.status))).all())
        return statuses, await s.scalar(select(func.count()).select_from(AuditRecord))


async def test_a_forbidden_step_is_a_409_and_writes_nothing(db) -> None:
    [rid] = await _reliefs(db, "rejected")
    before = await _state(db)
    with pytest.raises(Problem) as err:
        async with write_session(db) as s:
            r = await s.get(Relief, rid)
            await lifecycle.move(s, RELIEF, r, "applied", actor="reviewer", action="apply", applied_on=None)
    assert err.value.kind.status == 409 and err.value.kind.slug == "invalid-transition"
    assert "未通过" in err.value.detail_zh and "已执行" in err.value.detail_zh
    assert "rejected" in err.value.detail_en and "applied" in err.value.detail_en
    assert await _state(db) == before


async def test_an_allowed_step_writes_the_status_and_an_audit_record(db) -> None:
    [rid] = await _reliefs(db, "proposed")
    async with write_session(db) as s:
        r = await s.get(Relief, rid)
        await lifecycle.move(s, RELIEF, r, "rejected", actor="reviewer", action="reject", reason="not this year")
    statuses, _ = await _state(db)
    assert statuses[rid] == "rejected"
    async with write_session(db) as s:
        rec = (await s.scalars(select(AuditRecord).where(AuditRecord.entity == "loan_relief"))).one()
    assert (rec.actor, rec.action, rec.entity_id) == ("reviewer", "reject", str(rid))
    assert rec.before["status"] == "proposed" and rec.after["status"] == "rejected"
    assert rec.after["reason"] == "not this year"


async def test_the_bulk_form_moves_only_rows_in_allowed_states(db) -> None:
    ids = await _reliefs(db, "proposed", "applied", "rejected", "applied", "reversed")
    async with write_session(db) as s:
        moved = await lifecycle.move_all(
            s,
            RELIEF,
            Relief,
            "reversed",
            actor="batch",
            action="reverse-all",
            ref="2026-12-04",
            values={"reason": "bulk"},
        )
    assert moved.count == 2 and moved.ids == (ids[1], ids[3])
    statuses, _ = await _state(db)
    assert [statuses[i] for i in ids] == ["proposed", "reversed", "rejected", "reversed", "reversed"]
    async with write_session(db) as s:
        rec = (await s.scalars(select(AuditRecord).where(AuditRecord.action == "reverse-all"))).one()
    assert rec.entity_id == "2026-12-04" and rec.before == {"status": ["applied"]}
    assert rec.after == {"status": "reversed", "count": 2, "ids": [ids[1], ids[3]]}


async def test_the_bulk_form_refuses_a_forbidden_from_state(db) -> None:
    ids = await _reliefs(db, "proposed")
    before = await _state(db)
    with pytest.raises(Problem) as err:
        async with write_session(db) as s:
            await lifecycle.move_all(
                s, RELIEF, Relief, "reversed", from_states=("proposed",), where=[Relief.id == ids[0]]
            )
    assert err.value.kind.status == 409
    assert await _state(db) == before


async def test_the_bulk_form_as_an_executemany(db) -> None:
    ids = await _reliefs(db, "proposed", "applied", "proposed")
    unaudited = Lifecycle("loan_relief", "减免措施", "A relief", RELIEF.edges, RELIEF.labels, audited=False)
    _, audit_records = await _state(db)
    async with write_session(db) as s:
        await lifecycle.move_all(
            s, unaudited, Relief, "rejected", where=[Relief.id == bindparam("rid")], params=[{"rid": i} for i in ids]
        )
        with pytest.raises(TypeError):  # an audited step names its rows: set-based only
            await lifecycle.move_all(s, RELIEF, Relief, "rejected", params=[{"rid": ids[0]}])
    statuses, after = await _state(db)
    assert [statuses[i] for i in ids] == ["rejected", "applied", "rejected"] and after == audit_records
