"""Shared set-up for donation tests: two universities, students, the people who act, and shortcuts that walk
an application through review, notice and finalisation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import time_machine
from stdnum import luhn
from stdnum.cn import uscc

from service.identity import make_id_number

V1 = "/api/v1"


def on_day(day: str) -> Any:
    """The centre's today is `day` (10:00 in Asia/Shanghai) while the block runs."""
    return time_machine.travel(f"{day} 10:00 +0800", tick=False)


def credit_code(serial: int) -> str:
    body = f"911504307{serial:08d}"
    return body + uscc.calc_check_digit(body)


# key → (level, university, categories, household province)
STUDENTS = {
    "ug": ("undergraduate", "10126", ["registered_poor"], "内蒙古"),
    "jc": ("junior_college", "90001", ["minimum_allowance"], "内蒙古"),
    "away": ("undergraduate", "10027", ["registered_poor", "orphan"], "内蒙古"),
    "pg": ("graduate", "10027", [], "内蒙古"),
    "ug2": ("undergraduate", "10126", ["other"], "内蒙古"),
}


def card_of(student: str) -> str:
    """The student's own bank card: 19 digits, Luhn-valid, one per fixture student (ug's is the tests' CARD)."""
    if student == "ug":
        return "6222021234567890128"
    body = f"622202{list(STUDENTS).index(student) + 1:012d}"
    return body + luhn.calc_check_digit(body)


NAMES = {"ug": "张三丰", "jc": "李四", "away": "欧阳娜娜", "pg": "王五", "ug2": "赵六"}


@dataclass
class GrantWorld:
    client: Any
    officer: dict[str, str]
    reviewer: dict[str, str]
    auditor: dict[str, str]
    students: dict[str, int]
    donors: dict[str, int] = field(default_factory=dict)
    refs: int = 0

    async def post(
        self, path: str, body: Any, who: dict[str, str] | None = None, expect: int | None = None, **kw: Any
    ) -> Any:
        r = await self.client.post(V1 + path, json=body, headers={**(who or self.officer), **kw.pop("headers", {})})
        if expect is not None:
            assert r.status_code == expect, r.text
        return r

    async def get(self, path: str, who: dict[str, str] | None = None, expect: int = 200, **params: Any) -> Any:
        r = await self.client.get(V1 + path, params=params, headers=who if who is not None else self.officer)
        assert r.status_code == expect, r.text
        return r.json()

    async def donor(self, name: str = "示范县农村商业银行", serial: int = 1) -> int:
        r = await self.post(
            "/donors",
            {"name": name, "kind": "organization", "credit_code": credit_code(serial), "contact": "0476-1234567"},
            expect=201,
        )
        return r.json()["id"]

    async def program(self, **body: Any) -> dict[str, Any]:
        body = {
            "name": "县政府资助",
            "funding": "government",
            "rule": {"type": "by_level", "amounts": {"undergraduate": "3000.00", "junior_college": "2000.00"}},
            **body,
        }
        return (await self.post("/programs", body, expect=201)).json()

    async def donate(
        self,
        donor_id: int,
        program_id: int,
        amount: str,
        received_on: str = "2025-08-01",
        directed: list[int] | None = None,
        expect: int = 201,
    ) -> dict[str, Any]:
        self.refs += 1
        body: dict[str, Any] = {
            "donor_id": donor_id,
            "program_id": program_id,
            "amount": amount,
            "received_on": received_on,
            "method": "bank_transfer",
            "reference": f"BANK{self.refs:06d}",
        }
        if directed is not None:
            body["directed_student_ids"] = directed
        return (await self.post("/donations", body, expect=expect)).json()

    async def apply(
        self, program_id: int, student: str, year: int = 2025, expect: int = 201, card: str | None = ""
    ) -> dict[str, Any]:
        """An application with the student's bank card (verified when a reviewer reviews it: a grant is paid only
        to a verified card); `card=None` applies without one."""
        body: dict[str, Any] = {"student_id": self.students[student], "academic_year": year}
        if card is not None:
            body["bank_card"] = card or card_of(student)
        return (await self.post(f"/programs/{program_id}/applications", body, expect=expect)).json()

    async def award(
        self, program_id: int, *students: str, starts_on: str = "2025-09-01", as_of: str = "2025-09-08"
    ) -> list[dict[str, Any]]:
        """Apply, review, notice and finalise: the awards of these students. The notice is opened on its first
        day and finalised on `as_of`, each on the centre's calendar (the service refuses a notice that starts in
        the past and an `as_of` after today)."""
        for s in students:
            app = await self.apply(program_id, s)
            await self.post(f"/applications/{app['id']}/review", {"approved": True}, self.reviewer, expect=200)
        with on_day(starts_on):
            await self.post(f"/programs/{program_id}/notices", {"starts_on": starts_on}, expect=201)
        with on_day(as_of):
            r = await self.post(f"/programs/{program_id}/awards/finalize", {"as_of": as_of}, expect=200)
        return r.json()["awards"]

    async def pay(self, award_id: int, paid_on: str = "2025-10-10", expect: int = 201, **extra: Any) -> Any:
        self.refs += 1
        r = await self.post(
            f"/awards/{award_id}/pay", {"paid_on": paid_on, "reference": f"PAY{self.refs:06d}", **extra}, expect=expect
        )
        return r.json()


async def grant_world(client: Any, make_user: Any) -> GrantWorld:
    officer = await make_user("officer", username="officer-g")
    reviewer = await make_user("reviewer", username="reviewer-g")
    auditor = await make_user("auditor", username="auditor-g")
    for code, name, prov in (
        ("10126", "内蒙古大学", "内蒙古"),
        ("10027", "北京师范大学", "北京"),
        ("90001", "赤峰职业技术学院", "内蒙古"),
    ):
        r = await client.post(
            f"{V1}/universities", json={"code": code, "name": name, "province": prov}, headers=officer
        )
        assert r.status_code == 201, r.text
    students = {}
    for seq, (key, (level, uni, cats, prov)) in enumerate(STUDENTS.items(), start=21):
        years = 3 if level != "undergraduate" else 4
        body = {
            "name": NAMES[key],
            "id_number": make_id_number("150430", date(2006, 3, seq - 20), seq),
            "phone": f"1391234{seq:04d}",
            "household_county": "示范县",
            "household_province": prov,
            "categories": cats,
            "university_code": uni,
            "level": level,
            "study_years": years,
            "enrolled_on": "2025-09-01",
            "expected_graduation": f"{2025 + years}-06-30",
        }
        r = await client.post(f"{V1}/students", json=body, headers=officer)
        assert r.status_code == 201, r.text
        students[key] = r.json()["id"]
    return GrantWorld(client, officer, reviewer, auditor, students)
