"""The import's rules against the database: what the database already holds for the file's keys, found with one
query per kind of fact (never one per row), before anything is written.

Each lookup takes every key of the file as one parameter: a JSON array unpacked by json_each on SQLite, an array
compared with `= ANY` on PostgreSQL. One statement, compiled once, whatever the number of keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from loans.imports.rows import Row
from loans.imports.template import RowError, Sheet
from loans.lifecycle import LIVE
from loans.models import Loan
from service.registry.models import CoBorrower, Student, University

_LIVE_VALUES = [s.value for s in LIVE]


def _queries(postgresql: bool) -> dict[str, Any]:
    def keys(column: Any) -> Any:
        if postgresql:
            return column == any_(bindparam("keys", type_=ARRAY(column.type)))
        return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam("keys"))))

    live = Loan.status.in_(_LIVE_VALUES)
    return {
        "taken": select(Loan.contract_no).where(keys(Loan.contract_no)),
        "universities": select(University.code).where(keys(University.code)),
        "students": select(Student.id_number, Student.id, Student.name).where(keys(Student.id_number)),
        "co_borrowers": select(CoBorrower.id_number, CoBorrower.id, CoBorrower.name).where(keys(CoBorrower.id_number)),
        "live_loans": select(Loan.student_id, Loan.academic_year, Loan.contract_no).where(keys(Loan.student_id), live),
        "co_on_live": select(CoBorrower.id_number)
        .join(Loan, Loan.co_borrower_id == CoBorrower.id)
        .where(keys(CoBorrower.id_number), live),
        "borrowing": select(Student.id_number)
        .join(Loan, Loan.student_id == Student.id)
        .where(keys(Student.id_number), live),
    }


_QUERIES = {True: _queries(True), False: _queries(False)}


async def lookup(session: AsyncSession, name: str, keys: Iterable[Any]) -> list[Any]:
    """Rows of the named lookup for all the keys (none: no query)."""
    values = sorted(set(keys) - {None})
    if not values:
        return []
    postgresql = session.bind.dialect.name == "postgresql"  # type: ignore[union-attr]
    return list(
        await session.execute(_QUERIES[postgresql][name], {"keys": values if postgresql else json.dumps(values)})
    )


@dataclass
class Known:
    """What the database already holds for the file's people."""

    students: dict[str, tuple[int, str]] = field(default_factory=dict)  # id number -> (id, name)
    co_borrowers: dict[str, tuple[int, str]] = field(default_factory=dict)


async def database_rules(session: AsyncSession, sheet: Sheet, rows: list[Row], errors: list[RowError]) -> Known:
    """The rules against the database; every row they find wrong gets an error, and the people known are returned
    for the write."""
    student_ids = {r.id_number for r in rows}
    co_ids = {r.co_id_number for r in rows}
    known = Known(
        {n: (i, name) for n, i, name in await lookup(session, "students", student_ids)},
        {n: (i, name) for n, i, name in await lookup(session, "co_borrowers", co_ids)},
    )
    taken = {n for (n,) in await lookup(session, "taken", (r.contract_no for r in rows))}
    registered = {c for (c,) in await lookup(session, "universities", (r.university_code for r in rows))}
    live = {
        (sid, year): number or "未签合同"
        for sid, year, number in await lookup(session, "live_loans", (sid for sid, _ in known.students.values()))
    }
    students_who_co = {n for (n,) in await lookup(session, "co_on_live", student_ids)}
    co_who_borrow = {n for (n,) in await lookup(session, "borrowing", co_ids)}

    def err(r: Row, name: str, zh: str, en: str) -> None:
        errors.append(sheet.error(r.row, name, zh, en))

    for r in rows:
        if r.contract_no in taken:
            err(
                r, "contract_no", f"合同编号 {r.contract_no} 已存在于系统中", f"Contract {r.contract_no} exists already"
            )
        if r.university_code and r.university_code not in registered:
            err(
                r,
                "university_code",
                f"院校代码 {r.university_code} 未登记，请先登记院校",
                f"University {r.university_code} is not registered",
            )
        student = known.students.get(r.id_number) if r.id_number else None
        if student and r.name and student[1] != r.name:
            err(
                r,
                "name",
                f"该身份证号已登记为学生“{student[1]}”，与“{r.name}”不一致",
                "The ID number is registered under another name",
            )
        if student and r.academic_year and (student[0], r.academic_year) in live:
            err(
                r,
                "academic_year",
                f"该生 {r.academic_year} 学年已有贷款（{live[(student[0], r.academic_year)]}）",
                f"The student has a loan for {r.academic_year} already",
            )
        if r.id_number in students_who_co:
            err(
                r,
                "id_number",
                "该学生是系统中他人贷款的共同借款人，不能再作为借款人",
                "The student is a co-borrower of another loan",
            )
        co = known.co_borrowers.get(r.co_id_number) if r.co_id_number else None
        if co and r.co_name and co[1] != r.co_name:
            err(
                r,
                "co_name",
                f"该身份证号已登记为共同借款人“{co[1]}”，与“{r.co_name}”不一致",
                "The co-borrower's ID number is registered under another name",
            )
        if r.co_id_number in co_who_borrow:
            err(
                r,
                "co_id_number",
                "共同借款人本人在系统中有助学贷款，不能担任共同借款人",
                "The co-borrower is a borrower in the system",
            )
    return known
