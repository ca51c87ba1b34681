"""The donations' console pages (a second door beside the JSON API: both call the same service functions) and what
they add to the console's frame: navigation, dashboard and report panels, words."""

from __future__ import annotations

from pathlib import Path

from donations.web import awards, cards, donations, donor, notices, programs, reports
from donations.web.words import GRANT_LABELS_ZH, GRANT_MESSAGES
from service.web.console import STAFF
from service.web.sections import ConsoleSection, NavItem, Panel

SECTION = ConsoleSection(
    routes=[
        *programs.ROUTES,
        *notices.ROUTES,
        *donations.ROUTES,
        *awards.ROUTES,
        *cards.ROUTES,
        *donor.ROUTES,
        *reports.ROUTES,
    ],
    nav=[
        NavItem("/console/programs", "programs", STAFF, 60),
        NavItem("/console/grants/applications?status=submitted", "grant_queue", ("reviewer",), 70),
        NavItem("/console/grants/objections", "objections", ("reviewer",), 75),
        NavItem("/console/donations", "donations", STAFF, 80),
        NavItem("/console/awards", "grant_awards", STAFF, 90),
        NavItem("/console/receipts", "receipts", STAFF, 100),
        NavItem("/console/donor", "my_donations", ("donor",), 170),
    ],
    dashboard=[Panel(30, "console/_dashboard_donations.html", reports.dashboard_figures)],
    reports=[Panel(20, "console/_reports_grants.html", reports.report_figures)],
    downloads=[Panel(10, "console/_downloads_grants.html")],
    messages=GRANT_MESSAGES,
    labels_zh=GRANT_LABELS_ZH,
    templates=Path(__file__).parent / "templates",
)
