"""Applications, eligibility, maker-checker review, public notice, objections and finalisation."""

from __future__ import annotations

import time_machine

from tests.integration.donation_fixtures import V1, grant_world, on_day


async def test_amount_from_the_rule_and_every_reason_when_not_eligible(client, make_user):
    w = await grant_world(client, make_user)
    county = (
        await w.program(
            levels=["undergraduate", "junior_college"], eligible_categories=["registered_poor", "minimum_allowance"]
        )
    )["id"]
    assert (await w.apply(county, "ug"))["amount"] == "3000.00"
    app = await w.apply(county, "jc")
    assert app["amount"] == "2000.00" and app["status"] == "submitted" and app["rule_note"] == "by_level:junior_college"
    r = await w.apply(county, "pg", expect=422)
    assert {x["code"] for x in r["reasons"]} == {"level", "category", "rule"}
    assert "研究生" in r["detail_zh"]
    r = await w.apply(county, "ug", expect=409)
    assert r["application_id"]
    travel = (
        await w.program(
            name="新生入学资助",
            funding="government",
            rule={"type": "by_province", "in_province": "500.00", "out_of_province": "1000.00"},
        )
    )["id"]
    assert (await w.apply(travel, "ug"))["amount"] == "500.00"  # 内蒙古大学, home province 内蒙古
    assert (await w.apply(travel, "away"))["amount"] == "1000.00"  # 北京师范大学


async def test_quota_budget_and_window(client, make_user):
    w = await grant_world(client, make_user)
    quota = (await w.program(name="名额", quota=1))["id"]
    await w.apply(quota, "ug")
    assert [x["code"] for x in (await w.apply(quota, "ug2", expect=422))["reasons"]] == ["quota"]
    assert (await w.apply(quota, "ug2", year=2026))["amount"] == "3000.00"  # a new academic year
    budget = (await w.program(name="预算", budget="5000.00"))["id"]
    await w.apply(budget, "ug")
    assert [x["code"] for x in (await w.apply(budget, "ug2", expect=422))["reasons"]] == ["budget"]
    assert (await w.apply(budget, "jc"))["amount"] == "2000.00"  # exactly fills it
    window = (await w.program(name="申请期", opens_on="2025-07-01", closes_on="2025-08-31"))["id"]
    with time_machine.travel("2025-09-01 10:00 +0800", tick=False):
        assert [x["code"] for x in (await w.apply(window, "ug", expect=422))["reasons"]] == ["window"]
    with time_machine.travel("2025-08-31 23:00 +0800", tick=False):
        await w.apply(window, "ug")


async def test_once_only_by_id_number_across_the_family_and_years(client, make_user):
    w = await grant_world(client, make_user)
    city = (
        await w.program(
            name="市特困救助2025",
            family="市政府特困大学生救助",
            once_only=True,
            rule={"type": "fixed", "amount": "5000.00"},
        )
    )["id"]
    again = (
        await w.program(
            name="市特困救助2026",
            family="市政府特困大学生救助",
            once_only=True,
            rule={"type": "fixed", "amount": "5000.00"},
        )
    )["id"]
    [award] = await w.award(city, "ug")
    assert award["amount"] == "5000.00"
    r = await w.apply(again, "ug", year=2026, expect=409)
    assert r["type"] == "/problems/grant-once-only" and "150430" in r["detail_zh"] and "********" in r["detail_zh"]
    await w.apply(again, "ug2", year=2026)  # another person is fine
    other_family = (await w.program(name="金秋助学", once_only=True, rule={"type": "fixed", "amount": "1000.00"}))["id"]
    await w.apply(other_family, "ug", year=2026)


async def test_maker_checker_and_rejection_needs_a_reason(client, make_user):
    w = await grant_world(client, make_user)
    admin = await make_user("admin", username="admin-g")
    p = (await w.program())["id"]
    r = await w.post(
        f"/programs/{p}/applications", {"student_id": w.students["ug"], "academic_year": 2025}, admin, expect=201
    )
    app = r.json()["id"]
    r = await w.post(f"/applications/{app}/review", {"approved": True}, admin)
    assert r.status_code == 403 and r.json()["type"] == "/problems/maker-checker"
    assert (await w.post(f"/applications/{app}/review", {"approved": True})).status_code == 403  # an officer
    assert (await w.post(f"/applications/{app}/review", {"approved": False}, w.reviewer)).status_code == 422
    r = await w.post(
        f"/applications/{app}/review", {"approved": False, "reason": "家庭收入超标"}, w.reviewer, expect=200
    )
    assert r.json()["status"] == "rejected"
    assert (await w.apply(p, "ug"))["status"] == "submitted"  # a rejected application may be made again


CONTACT = {"contact_name": "王某", "contact_phone": "13912345678"}


async def test_public_notice_masks_and_an_upheld_objection_sends_back_to_review(client, make_user):
    w = await grant_world(client, make_user)
    p = (await w.program())["id"]
    apps = {s: (await w.apply(p, s))["id"] for s in ("ug", "away", "jc")}
    for s in ("ug", "away"):
        await w.post(f"/applications/{apps[s]}/review", {"approved": True}, w.reviewer, expect=200)
    with on_day("2025-09-01"):
        notice = (await w.post(f"/programs/{p}/notices", {"starts_on": "2025-09-01"}, expect=201)).json()
        assert (notice["starts_on"], notice["ends_on"]) == ("2025-09-01", "2025-09-07")
        r = await client.get(f"{V1}/notices/{notice['id']}")  # public: no sign-in
        assert r.status_code == 200
        entries = r.json()["entries"]
        assert [(e["student"], e["university"], e["level"], e["amount"]) for e in entries] == [
            ("张*丰", "内蒙古大学", "本科", "3000.00"),
            ("欧**娜", "北京师范大学", "本科", "3000.00"),
        ]
        assert set(entries[0]) == {"application_id", "student", "university", "level", "amount"}
        assert "1504" not in r.text and "139" not in r.text
        # nothing else waits for a notice
        assert (await w.post(f"/programs/{p}/notices", {"starts_on": "2025-09-02"})).status_code == 422
    with on_day("2025-09-03"):
        # anyone may object, with a contact; the application stays on the notice until a reviewer decides
        r = await client.post(
            f"{V1}/notices/{notice['id']}/objections",
            json={"application_id": apps["away"], "reason": "家中新购轿车", **CONTACT},
        )
        assert r.status_code == 201 and r.json()["status"] == "open", r.text
        objection = r.json()["id"]
        app = await w.get(f"/applications/{apps['away']}")
        assert app["status"] == "noticed" and app["open_objections"] == 1
        r = await client.post(
            f"{V1}/notices/{notice['id']}/objections", json={"application_id": apps["jc"], "reason": "x", **CONTACT}
        )
        assert r.status_code == 422  # not on this notice
        r = await w.post(f"/objections/{objection}/decide", {"decision": "uphold", "reason": "经核实属实"}, w.reviewer)
        assert r.status_code == 200 and r.json()["application_status"] == "submitted", r.text
    # on the last day of the notice nothing is final; the day after, only the unobjected one
    with on_day("2025-09-07"):
        assert (await w.post(f"/programs/{p}/awards/finalize", {}, expect=200)).json() == {"awards": []}
    with on_day("2025-09-08"):
        made = (await w.post(f"/programs/{p}/awards/finalize", {"as_of": "2025-09-08"}, expect=200)).json()["awards"]
        assert [(a["student_id"], a["amount"], a["status"]) for a in made] == [(w.students["ug"], "3000.00", "awarded")]
        # the second review; a new notice, then the award
        r = await w.post(
            f"/applications/{apps['away']}/review",
            {"approved": True, "reason": "经核实为亲戚车辆"},
            w.reviewer,
            expect=200,
        )
        assert r.json()["status"] == "approved" and r.json()["open_objections"] == 0
    with on_day("2025-09-10"):
        second = (await w.post(f"/programs/{p}/notices", {"starts_on": "2025-09-10"}, expect=201)).json()
        assert second["ends_on"] == "2025-09-16" and len(second["entries"]) == 1
    with on_day("2025-09-17"):
        made = (await w.post(f"/programs/{p}/awards/finalize", {"as_of": "2025-09-17"}, expect=200)).json()["awards"]
    assert [a["student_id"] for a in made] == [w.students["away"]]
    listed = await w.get(f"/programs/{p}/awards")
    assert listed["total"] == 2


async def test_a_freshmen_programme_refuses_a_later_year_of_study(client, make_user):
    """新生入学资助 is for first-year students (the fixtures' students enrolled in September 2025)."""
    w = await grant_world(client, make_user)
    travel = await w.program(
        name="新生入学资助2027",
        family="新生入学资助",
        first_year_only=True,
        rule={"type": "by_province", "in_province": "500.00", "out_of_province": "1000.00"},
    )
    assert travel["first_year_only"] is True
    r = await w.apply(travel["id"], "ug", year=2027, expect=422)
    assert "新生" in r["detail_zh"] and "第 3 学年" in r["detail_zh"], r
    assert (await w.apply(travel["id"], "jc", year=2025))["amount"] == "500.00"
