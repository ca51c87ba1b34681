"""Shared set-up for loan tests: a county with two universities, students, and the people who act."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from service.identity import make_id_number


def person_id(n: int, born: date = date(1975, 5, 5)) -> str:
    return make_id_number("150430", born, n)


@dataclass
class LoanWorld:
    client: Any
    officer: dict[str, str]
    reviewer: dict[str, str]
    students: dict[str, int]

    async def apply(
        self,
        student: str = "ug",
        year: int = 2024,
        amount: str = "20000.00",
        co_id: str | None = None,
        co_name: str = "王父",
        expect: int = 201,
    ) -> dict[str, Any]:
        # an odd order code (a father) below 1000, whatever the id: on PostgreSQL ids keep growing across a run
        order = 501 + self.students[student] * 2 % 498
        body = {
            "student_id": self.students[student],
            "academic_year": year,
            "amount": amount,
            "co_borrower": {
                "name": co_name,
                "id_number": co_id or person_id(order),
                "phone": "13900001111",
                "relationship": "father",
            },
        }
        r = await self.client.post("/api/v1/loan-applications", json=body, headers=self.officer)
        assert r.status_code == expect, r.text
        return r.json()

    async def contract(self, student: str = "ug", year: int = 2024, signed_on: str = "2024-09-10") -> dict[str, Any]:
        app = await self.apply(student, year)
        r = await self.client.post(f"/api/v1/loan-applications/{app['id']}/approve", headers=self.reviewer)
        assert r.status_code == 200, r.text
        r = await self.client.post(
            f"/api/v1/loan-applications/{app['id']}/contract", json={"signed_on": signed_on}, headers=self.officer
        )
        assert r.status_code == 201, r.text
        return r.json()


async def loan_world(client: Any, make_user: Any) -> LoanWorld:
    officer = await make_user("officer", username="officer-1")
    reviewer = await make_user("reviewer", username="reviewer-1")
    for code, name, prov in (("10126", "内蒙古大学", "内蒙古"), ("10027", "北京师范大学", "北京")):
        await client.post("/api/v1/universities", json={"code": code, "name": name, "province": prov}, headers=officer)
    students = {}
    for key, level, uni, years, born, seq in (
        ("ug", "undergraduate", "10126", 4, date(2006, 1, 9), 11),
        ("pg", "graduate", "10027", 3, date(2001, 2, 3), 13),
        ("jc", "junior_college", "10126", 3, date(2006, 4, 4), 15),
    ):
        body = {
            "name": f"学生{key}",
            "id_number": make_id_number("150430", born, seq),
            "phone": f"1381234{seq:04d}",
            "household_county": "示范县",
            "household_province": "内蒙古",
            "categories": ["registered_poor"],
            "university_code": uni,
            "level": level,
            "study_years": years,
            "enrolled_on": "2024-09-01",
            "expected_graduation": f"{2024 + years}-06-30",
        }
        r = await client.post("/api/v1/students", json=body, headers=officer)
        assert r.status_code == 201, r.text
        students[key] = r.json()["id"]
    return LoanWorld(client, officer, reviewer, students)
