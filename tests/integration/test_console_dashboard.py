"""The dashboard's figures are the reports' figures: its overdue rate is the default-rate report's, not a second
computation of its own."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import time_machine
from sqlalchemy import select, update

from loans.models import ScheduleLineRow
from tests.integration.console_fixtures import console_as
from tests.integration.test_loan_books import _disbursed

TODAY = date(2029, 6, 1)


@time_machine.travel("2029-06-01 09:00 +08:00")
async def test_the_dashboards_overdue_rate_is_the_default_rate_reports(client, make_user, sessions):
    w, _ = await _disbursed(client, make_user)
    await make_user("auditor", username="auditor-d")
    async with sessions() as s:  # two principal lines: one fell due in May (unpaid), one falls due today
        lines = (
            await s.scalars(
                select(ScheduleLineRow)
                .where(ScheduleLineRow.payer == "borrower", ScheduleLineRow.principal > 0)
                .order_by(ScheduleLineRow.due_on)
                .limit(2)
            )
        ).all()
        for line, due_on in zip(lines, (date(2029, 5, 20), TODAY), strict=True):
            # the batch has not run: no line is marked overdue, yet the May line is overdue as of today
            await s.execute(
                update(ScheduleLineRow).where(ScheduleLineRow.id == line.id).values(due_on=due_on, status="pending")
            )
        await s.commit()
        may, today = lines[0].principal, lines[1].principal
    r = await client.get("/api/v1/reports/default-rate?by=county", headers=w.officer)
    rate = r.json()["total"]["amount_rate"]
    # the report: overdue principal / principal due to date, half up to two decimals
    assert rate == str((Decimal(100 * may) / (may + today)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    async with console_as(client, "auditor-d") as auditor:
        page = (await auditor.client.get("/console")).text
    assert f"<b>{rate}%</b>" in page
