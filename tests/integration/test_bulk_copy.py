"""PostgreSQL: a large import's rows go in by COPY (service.bulk), and land exactly as INSERT puts them."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from service import bulk

from .test_loan_import import row, workbook
from .test_loan_import_write import prepare, run


@pytest.fixture(autouse=True)
def _postgresql_only(db: AsyncEngine) -> None:
    if db.dialect.driver != "asyncpg":
        pytest.skip("COPY is PostgreSQL's (asyncpg)")


def contracts(count: int) -> list[dict[str, object]]:
    """Contracts of every kind of value: receipts or none, disbursed or not, categories or none, two years."""
    rows = []
    for n in range(1, count + 1):
        year = 2023 + n % 2
        over: dict[str, object] = {
            "academic_year": year,
            "contract_no": f"150430-{year}-{n:06d}",
            "enrolled_on": date(2023, 9, 1),
            "signed_on": date(year, 9, 1 + n % 28),
            "principal": 8000 + 1000 * (n % 8),
        }
        if n % 3 == 0:
            over.update(disbursed_on=None, receipt_amount=None)
        if n % 4 == 0:
            over["categories"] = None
        rows.append(row(n, **over))
    return rows


async def test_copy_writes_what_insert_writes(db: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = await prepare(db)
    content = workbook(contracts(150))
    copied: list[str] = []
    real = asyncpg.Connection.copy_records_to_table

    async def watched(self: asyncpg.Connection, table: str, **kwargs: Any) -> str:
        copied.append(table)
        return await real(self, table, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "copy_records_to_table", watched)
    by_copy_result, by_copy = await run(db, user_id, content)
    assert by_copy_result.imported == 150 and {"loans", "loan_payouts", "students"} <= set(copied)
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", 10**9)
    by_insert_result, by_insert = await run(db, user_id, content)
    # (the batch's id aside: a PostgreSQL sequence does not go back on rollback)
    same = {**by_insert_result.summary(), "batch_id": None} == {**by_copy_result.summary(), "batch_id": None}
    assert same and by_insert == by_copy
