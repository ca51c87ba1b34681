"""Issue #16 findings 4 and 5: the seven-day public notice cannot be skipped, and objections to it are taken only
while it runs, with a contact (phone stored masked), a few per client address and hour (also when 200 arrive at
once), and decided by a reviewer: dismissed (the application stays on its notice) or upheld (back to review)."""

from __future__ import annotations

import asyncio
from typing import Any

import time_machine
from sqlalchemy import func, select

from donations.models import Objection, ObjectionQuota
from service.audit import AuditRecord
from tests.integration.console_fixtures import alert_of, console_as
from tests.integration.donation_fixtures import V1, GrantWorld, grant_world, on_day

PHONE = "13912345678"
CONTACT = {"contact_name": "王某", "contact_phone": PHONE}


async def _noticed(w: GrantWorld, *students: str, starts_on: str = "2025-09-01") -> tuple[int, dict[str, int], int]:
    """A programme whose applications of these students are on a notice from `starts_on` (opened that day)."""
    p = (await w.program())["id"]
    apps = {s: (await w.apply(p, s))["id"] for s in students}
    for app in apps.values():
        await w.post(f"/applications/{app}/review", {"approved": True}, w.reviewer, expect=200)
    with on_day(starts_on):
        notice = (await w.post(f"/programs/{p}/notices", {"starts_on": starts_on}, expect=201)).json()["id"]
    return p, apps, notice


async def _object(client: Any, notice: int, app: int, **body: Any) -> Any:
    return await client.post(
        f"{V1}/notices/{notice}/objections", json={"application_id": app, "reason": "家中新购轿车", **CONTACT, **body}
    )


async def test_the_notice_cannot_start_in_the_past_nor_be_finalised_before_it_ends(client, make_user):
    w = await grant_world(client, make_user)
    p = (await w.program())["id"]
    app = (await w.apply(p, "ug"))["id"]
    await w.post(f"/applications/{app}/review", {"approved": True}, w.reviewer, expect=200)
    with on_day("2025-09-01"):
        r = await w.post(f"/programs/{p}/notices", {"starts_on": "2025-08-25"}, expect=422)
        assert r.json()["field"] == "starts_on" and "过去" in r.json()["detail_zh"]
        await w.post(f"/programs/{p}/notices", {"starts_on": "2026-09-03"}, expect=422)  # over a year ahead
        assert (await w.get(f"/applications/{app}"))["status"] == "approved"  # the refusals changed nothing
        await w.post(f"/programs/{p}/notices", {"starts_on": "2025-09-01"}, expect=201)
        # the skip of finding 4: an as_of a week ahead
        r = await w.post(f"/programs/{p}/awards/finalize", {"as_of": "2025-09-08"}, expect=422)
        assert r.json()["field"] == "as_of" and "2025-09-01" in r.json()["detail_zh"]
        assert (await w.post(f"/programs/{p}/awards/finalize", {}, expect=200)).json() == {"awards": []}
    with on_day("2025-09-07"):  # the seventh day is still a day of the notice
        assert (await w.post(f"/programs/{p}/awards/finalize", {}, expect=200)).json() == {"awards": []}
    with on_day("2025-09-08"):
        made = (await w.post(f"/programs/{p}/awards/finalize", {}, expect=200)).json()["awards"]
        assert [a["application_id"] for a in made] == [app]
        assert (await w.get(f"/awards/{made[0]['id']}"))["award"]["finalized_on"] == "2025-09-08"


async def test_objections_only_while_the_notice_runs_and_with_a_valid_contact(client, make_user, sessions):
    w = await grant_world(client, make_user)
    _, apps, notice = await _noticed(w, "ug", starts_on="2025-09-05")
    app = apps["ug"]
    with on_day("2025-09-04"):
        r = await _object(client, notice, app)
        assert r.status_code == 409 and r.json()["type"] == "/problems/notice-closed"
    with on_day("2025-09-12"):
        r = await _object(client, notice, app)
        assert r.status_code == 409 and r.json()["type"] == "/problems/notice-closed"
        assert "已于 2025-09-11 结束" in r.json()["detail_zh"]
    with on_day("2025-09-05"):
        r = await client.post(f"{V1}/notices/{notice}/objections", json={"application_id": app, "reason": "匿名"})
        assert r.status_code == 400  # no contact: refused at the edge
        r = await _object(client, notice, app, contact_phone="12345")
        assert r.status_code == 422 and r.json()["field"] == "contact_phone" and "12345" not in r.text
        r = await _object(client, notice, app, contact_name="")
        assert r.status_code == 400
        r = await _object(client, notice, app, contact_name="   ")  # trimmed at the edge: empty
        assert r.status_code == 400 and "contact_name" in r.text
    with on_day("2025-09-11"):  # the last day counts
        r = await _object(client, notice, app, reason=f"其父手机 {PHONE}，身份证 150430200705060778")
        assert r.status_code == 201, r.text
    body = r.json()
    assert body["contact_phone"] == "139****5678" and body["contact_name"] == "王某" and PHONE not in r.text
    assert "150430********0778" in body["reason"]
    async with sessions() as s:
        row = await s.get(Objection, body["id"])
        assert row.contact_phone == "139****5678" and PHONE not in row.reason  # never stored in full
        audits = (await s.scalars(select(AuditRecord).where(AuditRecord.entity == "grant_objection"))).all()
        assert [a.action for a in audits] == ["object"] and PHONE not in str(audits[0].after)
        assert await s.scalar(select(func.count()).select_from(Objection)) == 1  # the refusals wrote nothing


async def test_objections_are_limited_per_client_address_notice_and_hour(client, make_user, settings):
    w = await grant_world(client, make_user)
    _, apps, notice = await _noticed(w, "ug", "away")
    _, others, other_notice = await _noticed(w, "jc")
    limit = settings.objections_per_hour
    with time_machine.travel("2025-09-02 10:05 +0800", tick=False):
        for _ in range(limit):
            assert (await _object(client, notice, apps["ug"])).status_code == 201
        r = await _object(client, notice, apps["away"])
        assert r.status_code == 429 and r.json()["type"] == "/problems/too-many-requests"
        assert r.headers["retry-after"] == str(55 * 60 + 1) and r.json()["limit"] == limit
        assert (await _object(client, other_notice, others["jc"])).status_code == 201  # another notice
    with time_machine.travel("2025-09-02 11:00 +0800", tick=False):
        assert (await _object(client, notice, apps["away"])).status_code == 201  # the next hour


async def test_two_hundred_parallel_objections_from_one_address_make_at_most_the_limit(
    client, make_user, sessions, settings
):
    w = await grant_world(client, make_user)
    _, apps, notice = await _noticed(w, "ug")
    with time_machine.travel("2025-09-02 10:05 +0800", tick=False):
        answers = await asyncio.gather(*(_object(client, notice, apps["ug"]) for _ in range(200)))
    codes = sorted(a.status_code for a in answers)
    limit = settings.objections_per_hour
    assert codes == [201] * limit + [429] * (200 - limit), {a.status_code: a.text for a in answers}
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Objection)) == limit
        objected = select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "object")
        assert await s.scalar(objected) == limit
        assert await s.scalar(select(ObjectionQuota.taken)) == limit  # the refused ones gave their count back
        client_key = await s.scalar(select(ObjectionQuota.client))
        assert "127.0.0.1" not in client_key and "testclient" not in client_key  # a keyed hash, no address


async def test_a_reviewer_dismisses_or_upholds_and_lists_the_objections(client, make_user, sessions):
    w = await grant_world(client, make_user)
    p, apps, notice = await _noticed(w, "ug", "away")
    with on_day("2025-09-03"):
        kept = (await _object(client, notice, apps["ug"], reason="收入不实")).json()["id"]
        sent_back = (await _object(client, notice, apps["away"])).json()["id"]
        # an objection no longer sends the application back by itself
        assert (await w.get(f"/applications/{apps['away']}"))["status"] == "noticed"
        listed = await w.get(f"/notices/{notice}/objections", w.reviewer)
        assert listed["total"] == 2 and {o["contact_phone"] for o in listed["items"]} == {"139****5678"}
        assert (await client.get(f"{V1}/notices/{notice}/objections")).status_code == 401  # not public
        decide = f"/objections/{kept}/decide"
        r = await w.post(decide, {"decision": "dismiss", "reason": "经核实收入属实"}, w.officer)
        assert r.status_code == 403  # a reviewer decides
        r = await w.post(decide, {"decision": "ignore", "reason": "x"}, w.reviewer)
        assert r.status_code == 400
        r = await w.post(decide, {"decision": "dismiss", "reason": "  "}, w.reviewer)
        assert r.status_code == 400 and "reason" in r.text  # trimmed at the edge: empty
        r = await w.post(decide, {"decision": "dismiss", "reason": "经核实收入属实"}, w.reviewer, expect=200)
        assert r.json()["objection"]["status"] == "dismissed" and r.json()["application_status"] == "noticed"
        assert r.json()["objection"]["decided_by"] and r.json()["objection"]["resolution"] == "经核实收入属实"
        r = await w.post(decide, {"decision": "uphold", "reason": "再议"}, w.reviewer)
        assert r.status_code == 409  # decided already
        r = await w.post(f"/objections/{sent_back}/decide", {"decision": "uphold", "reason": "属实"}, w.reviewer)
        assert r.status_code == 200 and r.json()["application_status"] == "submitted"
        assert (await w.get(f"/notices/{notice}/objections", w.reviewer, status="open"))["total"] == 0
        assert (
            await w.post("/objections/999999/decide", {"decision": "dismiss", "reason": "x"}, w.reviewer)
        ).status_code == 404
    with on_day("2025-09-08"):  # the dismissed objection holds nothing back; the upheld one's application is out
        made = (await w.post(f"/programs/{p}/awards/finalize", {}, expect=200)).json()["awards"]
    assert [a["application_id"] for a in made] == [apps["ug"]]
    async with sessions() as s:
        trail = (
            await s.execute(
                select(AuditRecord.entity, AuditRecord.action)
                .where(AuditRecord.entity.in_(["grant_objection", "grant_application"]))
                .where(AuditRecord.action.in_(["object", "dismiss", "uphold", "objection-upheld"]))
                .order_by(AuditRecord.id)
            )
        ).all()
    assert [tuple(t) for t in trail] == [
        ("grant_objection", "object"),
        ("grant_objection", "object"),
        ("grant_objection", "dismiss"),
        ("grant_objection", "uphold"),
        ("grant_application", "objection-upheld"),
    ]


async def test_the_officer_who_took_the_application_cannot_decide_its_objections(client, make_user):
    w = await grant_world(client, make_user)
    admin = await make_user("admin", username="admin-g")
    p = (await w.program())["id"]
    app = (
        await w.post(
            f"/programs/{p}/applications", {"student_id": w.students["ug"], "academic_year": 2025}, admin, expect=201
        )
    ).json()["id"]
    await w.post(f"/applications/{app}/review", {"approved": True}, w.reviewer, expect=200)
    with on_day("2025-09-01"):
        notice = (await w.post(f"/programs/{p}/notices", {"starts_on": "2025-09-01"}, expect=201)).json()["id"]
        objection = (await _object(client, notice, app)).json()["id"]
        r = await w.post(f"/objections/{objection}/decide", {"decision": "dismiss", "reason": "x"}, admin)
        assert r.status_code == 403 and r.json()["type"] == "/problems/maker-checker"


async def test_the_console_page_shows_and_decides_objections(client, make_user):
    w = await grant_world(client, make_user)
    _, apps, notice = await _noticed(w, "ug", "away")
    with on_day("2025-09-03"):
        first = (await _object(client, notice, apps["ug"])).json()["id"]
        second = (await _object(client, notice, apps["away"])).json()["id"]
        async with console_as(client, "officer-g") as officer:
            page = await officer.client.get(f"/console/notices/{notice}/objections")
            assert page.status_code == 200 and "139****5678" in page.text and PHONE not in page.text
            assert "张*丰" in page.text and "/decide" not in page.text  # an officer reads, a reviewer decides
            assert (
                await officer.post(f"/console/objections/{first}/decide", {"decision": "dismiss"})
            ).status_code == 403
        async with console_as(client, "reviewer-g") as reviewer:
            home = await reviewer.client.get("/console/grants/applications?status=submitted")
            assert 'href="/console/grants/objections"' in home.text  # the reviewer's queue is in the navigation
            queue = await reviewer.client.get("/console/grants/objections")  # every notice's open objections
            assert queue.text.count('action="/console/objections/') == 2 and "张*丰" in queue.text
            page = await reviewer.client.get(f"/console/notices/{notice}/objections")
            assert page.text.count('action="/console/objections/') == 2
            r = await reviewer.post(f"/console/objections/{first}/decide", {"decision": "dismiss"})
            assert r.status_code == 422 and alert_of(r.text)  # a decision gives its reason
            r = await reviewer.post(f"/console/objections/{first}/decide", {"decision": "dismiss", "reason": "不属实"})
            assert r.status_code == 303, r.text
            r = await reviewer.post(f"/console/objections/{second}/decide", {"decision": "uphold", "reason": "属实"})
            assert r.status_code == 303
            page = await reviewer.client.get(r.headers["location"])
            assert "不予采纳" in page.text and "已采纳" in page.text and 'action="/console/objections/' not in page.text
            queue = await reviewer.client.get("/console/grants/objections")
            assert 'action="/console/objections/' not in queue.text and "张*丰" not in queue.text  # none open
    assert (await w.get(f"/applications/{apps['away']}"))["status"] == "submitted"
    assert (await w.get(f"/applications/{apps['ug']}"))["status"] == "noticed"
