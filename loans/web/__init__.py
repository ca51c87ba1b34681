"""The loans' console pages (a second door beside loans.api: both call the same service functions) and what the
loans add to the console's frame: navigation, dashboard and report panels, the student page's loans, words."""

from __future__ import annotations

from pathlib import Path

from loans.lifecycle import LABELS_ZH
from loans.web import applications, contracts, imports, people, reports
from service.web.console import STAFF
from service.web.sections import ConsoleSection, NavItem, Panel

SECTION = ConsoleSection(
    routes=[*applications.ROUTES, *contracts.ROUTES, *people.ROUTES, *imports.ROUTES, *reports.ROUTES],
    nav=[
        NavItem("/console/applications?status=submitted", "queue", ("reviewer",), 30),
        NavItem("/console/applications", "applications", STAFF, 40),
        NavItem("/console/contracts", "contracts", STAFF, 50),
        NavItem("/console/import", "import", ("officer",), 110),
        NavItem("/console/school/receipts", "receipts_queue", ("school",), 140),
        NavItem("/console/graduations", "graduations", ("school", "reviewer"), 150),
        NavItem("/console/me", "my_loans", ("graduate",), 160),
    ],
    dashboard=[
        Panel(10, "console/_dashboard_loans.html", reports.dashboard_figures),
        Panel(40, "console/_dashboard_loans_charts.html"),
    ],
    reports=[
        Panel(10, "console/_reports_loans.html", reports.report_figures),
        Panel(30, "console/_reports_aging.html"),
    ],
    downloads=[Panel(20, "console/_downloads_loans.html")],
    student=[Panel(10, "console/_student_loans.html", applications.student_loans)],
    labels_zh={status.value: label for status, label in LABELS_ZH.items()},
    templates=Path(__file__).parent / "templates",
)
