"""Demo grants for the demo county, through the real workflow: donors (donor 1 is the demo donor user's),
programmes, donations with receipts, an appropriation, applications reviewed, noticed, finalised and paid.

Everything is dated in the last academic year whose payments are done by `today`, so nothing is in the
future and the donor's allocation report has money traced to students and some still unallocated.
"""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum.cn import uscc

from donations import awards, funding, selection
from donations.models import Award
from donations.schemas import ApplicationIn, AppropriationIn, DonationIn, DonorIn, ProgramIn
from service.auth import AuthUser, User
from service.identity import make_id_number
from service.registry.models import Student
from service.settings import Settings

LUHN_CARD_BODY = "622202100000"


def _credit_code(body: str) -> str:
    return body + uscc.calc_check_digit(body)


def _card(n: int) -> str:
    body = f"{LUHN_CARD_BODY}{n:06d}"
    digits = [int(c) for c in body][::-1]
    total = sum(d if i % 2 else sum(divmod(d * 2, 10)) for i, d in enumerate(digits))
    return body + str((10 - total % 10) % 10)


async def _actor(session: AsyncSession, username: str) -> AuthUser:
    user = await session.scalar(select(User).where(User.username == username))
    assert user is not None, f"demo user {username} missing"
    return AuthUser(id=user.id, username=user.username, role=user.role)


async def load_donation_demo(session: AsyncSession, settings: Settings, today: date, seed: int = 2026) -> int:
    """Returns the number of awards paid."""
    year = today.year if today >= date(today.year, 11, 30) else today.year - 1
    rng = random.Random(seed)
    officer, reviewer = await _actor(session, "officer"), await _actor(session, "reviewer")
    bank = await funding.add_donor(
        session,
        DonorIn(
            name="示范县农村商业银行",
            kind="organization",
            credit_code=_credit_code("91150430MA0N12340"),
            contact="办公室 0476-5201234",
        ),
        officer.actor,
    )
    person = await funding.add_donor(
        session,
        DonorIn(name="刘振华", kind="individual", id_number=make_id_number("150430", date(1968, 4, 2), 51)),
        officer.actor,
    )
    golden = await funding.add_program(
        session,
        ProgramIn(
            name=f"农商行金秋助学金（{year}）",
            family="农商行金秋助学",
            funding="social",
            rule={"type": "by_level", "amounts": {"undergraduate": "3000.00", "junior_college": "2000.00"}},
            eligible_categories=["registered_poor", "minimum_allowance", "destitute", "orphan"],  # type: ignore[list-item]
            levels=["undergraduate", "junior_college"],
            quota=30,
        ),
        officer.actor,
    )  # type: ignore[list-item]
    travel = await funding.add_program(
        session,
        ProgramIn(
            name=f"新生入学资助（{year}）",
            family="新生入学资助",
            funding="government",
            once_only=True,
            first_year_only=True,
            rule={"type": "by_province", "in_province": "500.00", "out_of_province": "1000.00"},
            eligible_categories=["registered_poor", "minimum_allowance"],
        ),
        officer.actor,
    )  # type: ignore[list-item]
    students = list((await session.scalars(select(Student).order_by(Student.id))).all())
    poor = [
        s
        for s in students
        if set(s.categories or ()) & {"registered_poor", "minimum_allowance", "destitute", "orphan"}
        and s.level != "graduate"
    ]
    chosen = poor[:12]
    paired = chosen[0]
    refs = iter(range(1, 1000))
    for amount, received in (("20000.00", date(year, 7, 10)), ("15000.00", date(year, 8, 20))):
        await funding.add_donation(
            session,
            DonationIn(
                donor_id=bank.id,
                program_id=golden.id,
                amount=amount,
                received_on=received,
                method="bank_transfer",
                reference=f"NSH{year}{next(refs):04d}",
            ),
            officer,
            settings,
            today=today,
        )
    await funding.add_donation(
        session,
        DonationIn(
            donor_id=person.id,
            program_id=golden.id,
            amount="3000.00",
            received_on=date(year, 8, 1),
            method="cash",
            reference=f"XJ{year}{next(refs):04d}",
            directed_student_ids=[paired.id],
        ),
        officer,
        settings,
        today=today,
    )
    await funding.add_appropriation(
        session,
        AppropriationIn(
            program_id=travel.id, amount="30000.00", document_no=f"示教秘[{year}]82号", received_on=date(year, 7, 1)
        ),
        officer.actor,
        today=today,
    )
    for program, group in ((golden, chosen), (travel, [s for s in poor if s.enrolled_on.year == year][:15])):
        for s in group:
            app = await selection.submit(
                session,
                program.id,
                ApplicationIn(student_id=s.id, academic_year=year, bank_card=_card(s.id)),
                officer,
                date(year, 8, 25),
            )
            await selection.review(session, app, reviewer, True, None)
        if group:
            # the demo's past years, each day as it was then (the business date is an argument)
            await selection.open_notice(session, program.id, date(year, 9, 1), officer.actor, date(year, 9, 1))
            await selection.finalize(session, program.id, officer.actor, date(year, 9, 8))
    paid = 0
    for award in (await session.scalars(select(Award).order_by(Award.id))).all():
        if rng.random() < 0.15 and award.student_id != paired.id:
            continue  # some awards still waiting for payment
        await awards.pay(
            session,
            award.id,
            date(year, 10, rng.randint(10, 25)),
            f"FF{year}{award.id:05d}",
            None,
            officer.actor,
            today=today,
        )
        paid += 1
    return paid
