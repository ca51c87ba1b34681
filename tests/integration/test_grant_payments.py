"""Payments funded line by line, the invariants the database enforces, revocation, acknowledgement and the
two reports, with figures worked out by hand."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from donations.models import Allocation, Award, Funding
from tests.integration.donation_fixtures import grant_world

CARD = "6222021234567890128"  # passes Luhn


async def _world(client, make_user):
    """Bank donor: A 5000.00 (1 Aug), B 3000.00 (15 Aug) pooled, C 2000.00 (1 Jul) directed to 'away'.
    Awards (county rule): ug 3000, away 3000, jc 2000 = 8000.00 of 10000.00 received."""
    w = await grant_world(client, make_user)
    donor = await w.donor()
    p = (await w.program(funding="social", name="农商行助学"))["id"]
    a = await w.donate(donor, p, "5000.00", "2025-08-01")
    b = await w.donate(donor, p, "3000.00", "2025-08-15")
    c = await w.donate(donor, p, "2000.00", "2025-07-01", directed=[w.students["away"]])
    awards = {x["student_id"]: x for x in await w.award(p, "ug", "away", "jc")}
    by = {k: awards[w.students[k]]["id"] for k in ("ug", "away", "jc")}
    return w, donor, p, {"A": a["id"], "B": b["id"], "C": c["id"]}, by


def _lines(paid):
    return [(x["funding_id"], x["amount"], x["rule"]) for x in paid["allocations"]]


async def test_worked_scenario_fifo_with_a_directed_donation(client, make_user, sessions):
    w, donor, _p, d, by = await _world(client, make_user)
    paid = await w.pay(by["ug"], bank_card=CARD)
    assert paid["award"]["status"] == "paid" and paid["award"]["bank_card"] == "622202*********0128"
    assert _lines(paid) == [(d["A"], "3000.00", "fifo")]
    paid = await w.pay(by["away"])
    assert _lines(paid) == [(d["C"], "2000.00", "directed"), (d["A"], "1000.00", "fifo")]
    paid = await w.pay(by["jc"])
    assert _lines(paid) == [(d["A"], "1000.00", "fifo"), (d["B"], "1000.00", "fifo")]
    report = await w.get(f"/donors/{donor}/allocation-report")
    assert (report["received"], report["allocated"], report["paid"], report["unallocated"]) == (
        "10000.00",
        "8000.00",
        "8000.00",
        "2000.00",
    )
    rows = {x["id"]: x for x in report["donations"]}
    assert (rows[d["A"]]["allocated"], rows[d["B"]]["unallocated"], rows[d["C"]]["unallocated"]) == (
        "5000.00",
        "2000.00",
        "0.00",
    )
    assert [(x["student"], x["university"], x["level"], x["amount"]) for x in rows[d["A"]]["allocations"]] == [
        ("张*丰", "内蒙古大学", "undergraduate", "3000.00"),
        ("欧**娜", "北京师范大学", "undergraduate", "1000.00"),
        ("李*", "赤峰职业技术学院", "junior_college", "1000.00"),
    ]
    assert rows[d["C"]]["receipt_no"] == "JZ-2025-000003"
    async with sessions() as s:  # the cached sums equal the lines
        for f in (await s.scalars(select(Funding))).all():
            assert f.allocated == await s.scalar(
                select(func.coalesce(func.sum(Allocation.amount), 0)).where(Allocation.funding_id == f.id)
            )


async def test_shortfall_is_a_422_that_states_it_and_writes_nothing(client, make_user, sessions):
    w, donor, _p, _d, _by = await _world(client, make_user)
    big = (await w.program(funding="social", name="小额", rule={"type": "fixed", "amount": "2500.00"}))["id"]
    await w.donate(donor, big, "2000.00", "2025-08-01")
    [award] = await w.award(big, "ug")
    r = await w.pay(award["id"], expect=422)
    assert (r["needed"], r["available"], r["shortfall"]) == ("2500.00", "2000.00", "500.00")
    assert "尚缺 500.00 元" in r["detail_zh"]
    # money received after the payment date does not count; received before it does
    await w.donate(donor, big, "500.00", "2025-10-20")
    assert (await w.pay(award["id"], paid_on="2025-10-10", expect=422))["shortfall"] == "500.00"
    paid = await w.pay(award["id"], paid_on="2025-10-20")
    assert paid["award"]["funded"] == "2500.00"
    async with sessions() as s:
        assert (
            await s.scalar(select(func.count()).select_from(Allocation).where(Allocation.award_id == award["id"])) == 2
        )


async def test_pay_is_idempotent_and_references_are_unique(client, make_user):
    w, _donor, _p, _d, by = await _world(client, make_user)
    body = {"paid_on": "2025-10-10", "reference": "PAYOUT-1"}
    first = await w.post(f"/awards/{by['ug']}/pay", body, expect=201, headers={"Idempotency-Key": "pay-ug"})
    again = await w.post(f"/awards/{by['ug']}/pay", body, expect=201, headers={"Idempotency-Key": "pay-ug"})
    assert first.json() == again.json()
    assert (await w.post(f"/awards/{by['jc']}/pay", body)).status_code == 409  # reference used
    assert (await w.post(f"/awards/{by['ug']}/pay", {**body, "reference": "PAYOUT-2"})).status_code == 409  # paid
    r = await w.post(f"/awards/{by['jc']}/pay", {**body, "reference": "PAYOUT-3", "bank_card": "6222021234567890123"})
    assert r.status_code == 422 and r.json()["field"] == "bank_card"


async def test_revocation_reverses_the_lines_and_returns_the_money_to_the_pool(client, make_user):
    w, donor, _p, d, by = await _world(client, make_user)
    await w.pay(by["ug"])
    r = await w.post(
        f"/awards/{by['ug']}/revoke",
        {"reason": "比对发现不符合条件", "revoked_on": "2025-11-01"},
        w.reviewer,
        expect=200,
    )
    assert (r.json()["status"], r.json()["funded"]) == ("revoked", "0.00")
    detail = await w.get(f"/awards/{by['ug']}")
    assert [(x["amount"], x["rule"]) for x in detail["allocations"]] == [("3000.00", "fifo"), ("-3000.00", "reversal")]
    assert detail["allocations"][1]["reverses"] == detail["allocations"][0]["id"]
    report = await w.get(f"/donors/{donor}/allocation-report")
    assert report["allocated"] == "0.00" and report["unallocated"] == "10000.00"
    assert all(not x["allocations"] for x in report["donations"])
    # the money is back: A pays 'jc' from the start again
    assert _lines(await w.pay(by["jc"])) == [(d["A"], "2000.00", "fifo")]
    assert (await w.post(f"/awards/{by['ug']}/revoke", {"reason": "again"}, w.reviewer)).status_code == 409
    assert (await w.pay(by["ug"], expect=409))["current_status"] == "revoked"


async def test_the_database_refuses_an_overallocated_donation_or_an_underfunded_paid_award(client, make_user, sessions):
    w, _donor, _p, d, by = await _world(client, make_user)
    await w.pay(by["ug"])
    async with sessions() as s:
        with pytest.raises(IntegrityError):
            await s.execute(update(Funding).where(Funding.id == d["A"]).values(allocated=Funding.amount + 1))
        await s.rollback()
        with pytest.raises(IntegrityError):
            await s.execute(update(Award).where(Award.id == by["jc"]).values(status="paid"))
        await s.rollback()
        with pytest.raises(IntegrityError):
            await s.execute(text("UPDATE grant_awards SET funded = funded - 1 WHERE id = :i"), {"i": by["ug"]})
        await s.rollback()


async def test_pro_rata_programme(client, make_user):
    w = await grant_world(client, make_user)
    donor = await w.donor()
    p = (
        await w.program(
            funding="social", name="按比例", pooling="pro_rata", rule={"type": "fixed", "amount": "1000.00"}
        )
    )["id"]
    first = await w.donate(donor, p, "6000.00", "2025-08-01")
    second = await w.donate(donor, p, "3000.00", "2025-08-02")
    third = await w.donate(donor, p, "1000.00", "2025-08-03")
    [award] = await w.award(p, "ug")
    paid = await w.pay(award["id"])
    assert _lines(paid) == [
        (first["id"], "600.00", "pro_rata"),
        (second["id"], "300.00", "pro_rata"),
        (third["id"], "100.00", "pro_rata"),
    ]


async def test_acknowledgement_by_the_centre_or_the_student(client, make_user):
    w, _donor, _p, _d, by = await _world(client, make_user)
    assert (await w.post(f"/awards/{by['ug']}/acknowledge", {"acknowledged_on": "2025-10-12"})).status_code == 409
    await w.pay(by["ug"])
    await w.pay(by["jc"])
    student = await make_user("graduate", student_id=w.students["ug"])
    r = await w.post(f"/awards/{by['jc']}/acknowledge", {"acknowledged_on": "2025-10-12"}, student)
    assert r.status_code == 403
    r = await w.post(f"/awards/{by['ug']}/acknowledge", {"acknowledged_on": "2025-10-09"}, student)
    assert r.status_code == 422
    r = await w.post(f"/awards/{by['ug']}/acknowledge", {"acknowledged_on": "2025-10-12"}, student, expect=200)
    assert r.json()["acknowledged_on"] == "2025-10-12"
    r = await w.post(f"/awards/{by['jc']}/acknowledge", {"acknowledged_on": "2025-10-13"}, expect=200)


async def test_annual_report_counts_payments_of_the_calendar_year(client, make_user):
    w, _donor, p, _d, by = await _world(client, make_user)
    await w.pay(by["ug"], paid_on="2025-10-10")
    await w.pay(by["away"], paid_on="2025-12-31")
    await w.pay(by["jc"], paid_on="2026-01-01")
    travel = (
        await w.program(
            name="新生入学资助", rule={"type": "by_province", "in_province": "500.00", "out_of_province": "1000.00"}
        )
    )["id"]
    await w.post(
        "/appropriations",
        {"program_id": travel, "amount": "10000.00", "document_no": "X教秘[2025]82号", "received_on": "2025-07-01"},
        expect=201,
    )
    for award in await w.award(travel, "ug", "jc"):
        await w.pay(award["id"], paid_on="2025-11-11")
    report = await w.get("/reports/annual", year=2025)
    rows = {x["name"]: x for x in report["programs"]}
    assert rows["农商行助学"] == {
        "program_id": p,
        "name": "农商行助学",
        "persons": 2,
        "person_times": 2,
        "amount": "6000.00",
        "registered_poor": {"persons": 2, "amount": "6000.00"},
    }
    assert (rows["新生入学资助"]["persons"], rows["新生入学资助"]["amount"]) == (2, "1000.00")
    assert rows["新生入学资助"]["registered_poor"] == {"persons": 1, "amount": "500.00"}
    # ug was paid twice (two programmes): 3 persons, 4 person-times
    assert report["total"]["persons"] == 3 and report["total"]["person_times"] == 4
    assert report["total"]["amount"] == "7000.00"
    assert (await w.get("/reports/annual", year=2026))["total"]["amount"] == "2000.00"


async def test_bulk_line_writer_reads_back_like_the_orm(client, make_user, monkeypatch):
    """The batch path (COPY / driver executemany) writes lines that read back as the ORM writes them."""
    monkeypatch.setattr("donations.awards.COPY_FROM", 1)
    w, donor, _p, d, by = await _world(client, make_user)
    paid = await w.pay(by["away"])
    assert _lines(paid) == [(d["C"], "2000.00", "directed"), (d["A"], "1000.00", "fifo")]
    detail = await w.get(f"/awards/{by['away']}")
    assert len(detail["allocations"]) == 2
    report = await w.get(f"/donors/{donor}/allocation-report")
    assert report["allocated"] == "3000.00"
