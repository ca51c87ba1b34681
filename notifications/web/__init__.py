"""What the notifications add to the console's frame: the reminders' delivery on the dashboard (no pages of their
own: a contract's page lists its reminders)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.outbox import status_counts
from service.web.sections import ConsoleSection, Panel


async def dashboard_figures(request: Request[Any, Any, Any], session: AsyncSession) -> dict[str, Any]:
    """Reminders by delivery status."""
    reminders = await status_counts(session)
    return {"reminders": reminders, "reminders_sent": reminders.get("sent", 0) + reminders.get("delivered", 0)}


SECTION = ConsoleSection(
    dashboard=[Panel(20, "console/_dashboard_reminders.html", dashboard_figures)],
    templates=Path(__file__).parent / "templates",
)
