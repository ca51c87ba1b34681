"""Random donations, awards, payments and revocations through the service layer on the real database; after
every step the invariants hold in the stored rows, not only in the pure model: no donation over-allocated,
every paid award exactly funded (and nothing else funded), money in = allocated + unallocated, and the
cached sums equal the allocation lines."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from donations import awards
from donations.models import Allocation, Application, Award, DirectedStudent, Donor, Funding, Program
from service.db import write_session
from service.errors import Problem
from service.identity import make_id_number
from service.registry.models import Student, University

START = date(2025, 8, 1)

VERIFIED_CARD = "6222021234567890128"  # a reviewed card on file (Luhn-valid)


async def _setup(engine, pooling: str) -> tuple[int, list[int]]:
    async with write_session(engine) as s:
        s.add(University(code="10126", name="内蒙古大学", province="内蒙古"))
        await s.flush()  # no ORM relationships here to order the inserts
        students = [
            Student(
                name=f"学生{i}",
                id_number=make_id_number("150430", date(2006, 1, 1 + i), 31 + i),
                phone="13900000000",
                household_province="内蒙古",
                household_county="示范县",
                categories=[],
                university_code="10126",
                level="undergraduate",
                study_years=4,
                enrolled_on=date(2025, 9, 1),
                expected_graduation=date(2029, 6, 30),
            )
            for i in range(4)
        ]
        program = Program(
            name="随机",
            family="随机",
            funding="social",
            rule={"type": "fixed", "amount": 100},
            pooling=pooling,
            created_by="test",
        )
        s.add_all([*students, program, Donor(name="捐赠方", kind="organization", credit_code="X" * 18, created_by="t")])
        await s.flush()
        return program.id, [st.id for st in students]


async def _check(engine) -> None:
    async with write_session(engine) as s:
        fundings = (await s.execute(select(Funding.id, Funding.amount, Funding.allocated))).all()
        lines = dict(
            (
                await s.execute(
                    select(Allocation.funding_id, func.sum(Allocation.amount)).group_by(Allocation.funding_id)
                )
            ).all()
        )
        for fid, amount, allocated in fundings:
            assert 0 <= allocated <= amount
            assert allocated == (lines.get(fid) or 0)  # the cache is the lines
        by_award = dict(
            (
                await s.execute(select(Allocation.award_id, func.sum(Allocation.amount)).group_by(Allocation.award_id))
            ).all()
        )
        paid_total = 0
        for aid, amount, funded, status in await s.execute(select(Award.id, Award.amount, Award.funded, Award.status)):
            assert funded == (by_award.get(aid) or 0)
            assert funded == (amount if status == "paid" else 0)
            paid_total += amount if status == "paid" else 0
        received = sum(f[1] for f in fundings)
        allocated = sum(f[2] for f in fundings)
        assert received == allocated + sum(f[1] - f[2] for f in fundings)
        assert allocated == paid_total


@pytest.mark.parametrize("seed,pooling", [(1, "fifo"), (2, "pro_rata"), (3, "fifo"), (4, "pro_rata")])
async def test_random_walk_keeps_the_invariants(db, seed, pooling):
    rng = random.Random(seed)
    program_id, students = await _setup(db, pooling)
    refs = 0
    done = {"paid": 0, "short": 0, "revoked": 0}
    for step in range(30):
        action = rng.choice(["donate", "donate", "award", "award", "pay", "pay", "pay", "revoke"])
        on = START + timedelta(days=step)
        async with write_session(db) as s:
            if action == "donate":
                refs += 1
                donor = await s.scalar(select(Donor.id))
                f = Funding(
                    kind="donation",
                    program_id=program_id,
                    donor_id=donor,
                    amount=rng.randint(1, 8) * 5000,
                    received_on=on,
                    reference=f"R{seed}-{refs}",
                    directed=rng.random() < 0.3,
                    created_by="t",
                )
                s.add(f)
                await s.flush()
                if f.directed:
                    s.add(DirectedStudent(funding_id=f.id, student_id=rng.choice(students)))
            elif action == "award":
                student = rng.choice(students)
                app = Application(
                    program_id=program_id,
                    student_id=student,
                    academic_year=2000 + step,
                    status="awarded",
                    amount=rng.randint(1, 6) * 3000,
                    rule_note="fixed",
                    prepared_by=1,
                )
                s.add(app)
                await s.flush()
                s.add(
                    Award(
                        application_id=app.id,
                        program_id=program_id,
                        student_id=student,
                        academic_year=2000 + step,
                        amount=app.amount,
                        status="awarded",
                        finalized_on=START,
                        bank_card=VERIFIED_CARD,  # as a reviewed application leaves it: paid only to such a card
                    )
                )
        if action == "pay":
            candidates = await _ids(db, "awarded")
            if candidates:
                try:
                    async with write_session(db) as s:
                        await awards.pay(s, rng.choice(candidates), on, f"P{seed}-{step}", None, "t", today=on)
                    done["paid"] += 1
                except Problem as exc:
                    assert exc.kind.slug == "award-not-fully-funded"
                    done["short"] += 1
        elif action == "revoke":
            candidates = await _ids(db, "paid")
            if candidates:
                async with write_session(db) as s:
                    await awards.revoke(
                        s, await awards.get_award(s, rng.choice(candidates)), on, "随机撤销", "t", today=on
                    )
                done["revoked"] += 1
        await _check(db)
    assert done["paid"] >= 2 and done["short"] + done["revoked"] >= 1, done  # the walk did reach every path


async def _ids(engine, status: str) -> list[int]:
    async with write_session(engine) as s:
        return list((await s.scalars(select(Award.id).where(Award.status == status).order_by(Award.id))).all())


async def test_batch_allocation_and_a_line_reversed_only_once(db):
    """The batch path (past COPY_FROM lines: COPY on PostgreSQL) keeps the sums; the database refuses a second
    reversal of a line (the partial unique index on reverses_id) and an over-allocated donation."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError

    program_id, students = await _setup(db, "fifo")
    n = awards.COPY_FROM + 200
    async with write_session(db) as s:
        donor = await s.scalar(select(Donor.id))
        s.add_all(
            [
                Funding(
                    kind="donation",
                    program_id=program_id,
                    donor_id=donor,
                    amount=100 * n // 4 + 50,
                    received_on=START,
                    reference=f"B{i}",
                    created_by="t",
                )
                for i in range(4)
            ]
        )
        apps = [
            Application(
                program_id=program_id,
                student_id=students[i % 4],
                academic_year=1000 + i,
                status="awarded",
                amount=100,
                rule_note="fixed",
                prepared_by=1,
            )
            for i in range(n)
        ]
        s.add_all(apps)
        await s.flush()
        s.add_all(
            [
                Award(
                    application_id=a.id,
                    program_id=program_id,
                    student_id=a.student_id,
                    academic_year=a.academic_year,
                    amount=100,
                    status="awarded",
                    finalized_on=START,
                    bank_card=VERIFIED_CARD,
                )
                for a in apps
            ]
        )
    async with write_session(db) as s:
        program = await s.get(Program, program_id)
        rows = (
            await s.execute(select(Award.id, Award.student_id, Award.amount, Award.funded).order_by(Award.id))
        ).all()
        result = await awards.allocate_awards(s, program, rows, START, "t")  # type: ignore[arg-type]
    assert not result.shortfalls and len(result.lines) >= n
    async with write_session(db) as s:
        funded = await s.scalar(select(func.count()).select_from(Award).where(Award.funded == Award.amount))
        allocated = await s.scalar(select(func.sum(Funding.allocated)))
        assert funded == n and allocated == 100 * n == await s.scalar(select(func.sum(Allocation.amount)))
    award = await _ids(db, "awarded")
    async with write_session(db) as s:
        await s.execute(update(Award).where(Award.id == award[0]).values(status="paid"))
        await awards.revoke(s, await awards.get_award(s, award[0]), START, "撤销", "t", today=START)
    async with write_session(db) as s:
        reversal = await s.scalar(select(Allocation).where(Allocation.reverses_id.is_not(None)))
        assert reversal is not None
    with pytest.raises(IntegrityError):
        async with write_session(db) as s:
            s.add(
                Allocation(
                    funding_id=reversal.funding_id,
                    award_id=reversal.award_id,
                    amount=-1,
                    rule="reversal",
                    reverses_id=reversal.reverses_id,
                    posted_on=START,
                    actor="t",
                )
            )
    with pytest.raises(IntegrityError):
        async with write_session(db) as s:
            await s.execute(update(Funding).values(allocated=Funding.amount + 1))
