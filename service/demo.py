"""`zizhu demo`: a realistic, made-up county to try the service with.

Deterministic (a fixed seed), so the documented demo users and their data are the same on every
machine. Names come from Faker's zh_CN locale; ID numbers are valid (check digit, birth date, sex).
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass
from datetime import date

from faker import Faker
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.auth import User, hash_password
from service.identity import IdentityError, make_id_number, normalize_phone
from service.meta import get_meta, set_meta
from service.registry.models import Student, University

HOME_PROVINCE = "内蒙古"
HOME_COUNTY = "示范县"
HOME_REGION = "150430"  # the county's administrative code: first six digits of its residents' ID numbers

# (code, name, province): national institution codes; the vocational colleges' are made up.
UNIVERSITIES = [
    ("10126", "内蒙古大学", "内蒙古"),
    ("10128", "内蒙古工业大学", "内蒙古"),
    ("10129", "内蒙古农业大学", "内蒙古"),
    ("10132", "内蒙古医科大学", "内蒙古"),
    ("10135", "内蒙古师范大学", "内蒙古"),
    ("10138", "赤峰学院", "内蒙古"),
    ("90001", "赤峰职业技术学院", "内蒙古"),
    ("90002", "内蒙古机电职业技术学院", "内蒙古"),
    ("10027", "北京师范大学", "北京"),
    ("10183", "吉林大学", "吉林"),
    ("10200", "东北师范大学", "吉林"),
    ("10140", "辽宁大学", "辽宁"),
    ("10157", "沈阳农业大学", "辽宁"),
    ("10080", "河北工业大学", "天津"),
    ("90003", "辽宁农业职业技术学院", "辽宁"),
]
_VOCATIONAL = {"90001", "90002", "90003"}


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    note: str


DEMO_PASSWORD = "zizhu-demo"  # one for every demo user: it keeps the password rules (service.passwords)
DEMO_USERS = [
    DemoUser("admin", DEMO_PASSWORD, "admin", "系统管理员 / administrator"),
    DemoUser("officer", DEMO_PASSWORD, "officer", "经办人 / county officer"),
    DemoUser("reviewer", DEMO_PASSWORD, "reviewer", "复核人 / reviewer"),
    DemoUser("school", DEMO_PASSWORD, "school", "内蒙古大学资助中心 / university aid office (10126)"),
    DemoUser("graduate", DEMO_PASSWORD, "graduate", "借款学生 / student (the first demo student)"),
    DemoUser("donor", DEMO_PASSWORD, "donor", "捐赠方 / donor no. 1"),
    DemoUser("auditor", DEMO_PASSWORD, "auditor", "审计 / auditor (read only)"),
]


def is_loopback(host: str) -> bool:
    """Is HOST an address only this machine can reach (127.0.0.0/8, ::1, localhost)?"""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a name other than localhost may resolve to anything
        return False


def demo_wanted(asked: bool | None, *, sqlite: bool, host: str) -> bool:
    """Load the demo (published passwords) into an empty database? As asked (--demo / --no-demo); unasked, only
    on the embedded database served to this machine alone: a newcomer's first start. PostgreSQL or a bind that
    other machines reach is a real installation and gets demo users only when someone asks for them by name."""
    if asked is not None:
        return asked
    return sqlite and is_loopback(host)


async def demo_accounts(session: AsyncSession, admin_password_set: bool) -> list[DemoUser]:
    """The demo accounts that exist in this database (active, with their role), with their published passwords.
    Only on a database the demo was loaded into (a real installation may name its own users `officer`), and only
    those still there; the demo admin's password is ZIZHU_ADMIN_PASSWORD when that is set: it is not shown then."""
    if await get_meta(session, "demo") is None:
        return []
    found = set(
        (
            await session.execute(
                select(User.username, User.role).where(
                    User.username.in_([u.username for u in DEMO_USERS]), User.active.is_(True)
                )
            )
        ).all()
    )
    return [u for u in DEMO_USERS if (u.username, u.role) in found and not (u.role == "admin" and admin_password_set)]


async def database_is_empty(session: AsyncSession) -> bool:
    users = await session.scalar(select(func.count()).select_from(User))
    students = await session.scalar(select(func.count()).select_from(Student))
    return not users and not students


def _phone(fake: Faker, rng: random.Random) -> str:
    for _ in range(5):
        try:
            return normalize_phone(fake.phone_number())
        except IdentityError:
            continue
    return f"13{rng.randrange(10**9):09d}"


def _student(fake: Faker, rng: random.Random, serial: int, unis: list[tuple[str, str, str]]) -> Student:
    roll = rng.random()
    level = "graduate" if roll < 0.1 else ("junior_college" if roll < 0.45 else "undergraduate")
    pool = [u for u in unis if (u[0] in _VOCATIONAL) == (level == "junior_college")]
    code = rng.choice(pool)[0]
    years = {"junior_college": 3, "undergraduate": rng.choice([4, 4, 4, 5]), "graduate": 3}[level]
    enrol_year = rng.randint(2022, 2026)
    age = 22 if level == "graduate" else 18
    male = rng.random() < 0.5
    birth = date(enrol_year - age - rng.randint(0, 1), rng.randint(1, 12), rng.randint(1, 28))
    sequence = rng.randrange(0, 998, 2) + (1 if male else 0)
    categories = sorted(
        {
            c
            for c, p in (
                ("registered_poor", 0.3),
                ("minimum_allowance", 0.15),
                ("orphan", 0.03),
                ("disabled", 0.05),
                ("destitute", 0.02),
                ("other", 0.2),
            )
            if rng.random() < p
        }
    )
    return Student(
        name=fake.name_male() if male else fake.name_female(),
        id_number=make_id_number(HOME_REGION, birth, sequence),
        phone=_phone(fake, rng),
        address=f"{HOME_PROVINCE}{HOME_COUNTY}{fake.street_address()}",
        household_province=HOME_PROVINCE,
        household_county=HOME_COUNTY,
        categories=categories,
        university_code=code,
        level=level,
        study_years=years,
        enrolled_on=date(enrol_year, 9, 1),
        expected_graduation=date(enrol_year + years, 6, 30),
    )


async def load_demo(
    session: AsyncSession, *, students: int = 300, seed: int = 2026, admin_password: str | None = None
) -> list[DemoUser]:
    """Fill an empty database; returns the users it made (with their passwords, for the banner)."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    session.add_all(University(code=c, name=n, province=p) for c, n, p in UNIVERSITIES)
    await session.flush()
    made = [_student(fake, rng, i, UNIVERSITIES) for i in range(students)]
    seen: set[str] = set()
    unique = [s for s in made if not (s.id_number in seen or seen.add(s.id_number))]
    session.add_all(unique)
    await session.flush()
    users = [
        u if u.username != "admin" or not admin_password else DemoUser("admin", admin_password, "admin", u.note)
        for u in DEMO_USERS
    ]
    first = unique[0]
    for u in users:
        session.add(
            User(
                username=u.username,
                password_hash=hash_password(u.password),
                role=u.role,
                donor_id=1 if u.role == "donor" else None,
                student_id=first.id if u.role == "graduate" else None,
                university_code="10126" if u.role == "school" else None,
            )
        )
    await set_meta(session, "demo", f"seed={seed}; students={len(unique)}")
    await audit.record(
        session,
        "system",
        "load-demo",
        "installation",
        "demo",
        None,
        {"universities": len(UNIVERSITIES), "students": len(unique), "users": len(users)},
    )
    return [u for u in users if u.username != "admin" or not admin_password]
