"""The loans' console pages (a second door beside loans.api: both call the same service functions) and what the
loans add to the console's frame: navigation, dashboard and report panels, the student page's loans, words."""

from __future__ import annotations

from pathlib import Path

from loans.lifecycle import LABELS_ZH
from loans.web import applications, contracts, import_batches, imports, people, reports
from service.web.console import STAFF
from service.web.sections import ConsoleSection, NavItem, Panel

SECTION = ConsoleSection(
    routes=[
        *applications.ROUTES,
        *contracts.ROUTES,
        *people.ROUTES,
        *imports.ROUTES,
        *import_batches.ROUTES,
        *reports.ROUTES,
    ],
    nav=[
        NavItem("/console/applications?status=submitted", "queue", ("reviewer",), 30),
        NavItem("/console/applications", "applications", STAFF, 40),
        NavItem("/console/contracts", "contracts", STAFF, 50),
        NavItem("/console/import", "import", ("officer",), 110),
        NavItem("/console/import/batches", "import_batches", ("reviewer", "officer"), 115),
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
    messages={
        "import_batches": ("导入复核", "Import review"),
        "batch": ("批次", "Batch"),
        "imported_by": ("导入人", "Imported by"),
        "imported_at": ("导入时间", "Imported at"),
        "decided_by": ("复核人", "Decided by"),
        "batch_principal": ("合同金额", "Principal"),
        "batch_disbursed": ("其中已放款", "Of which disbursed"),
        "accept_batch": ("接受（生效）", "Accept (counts from now on)"),
        "reject_batch": ("退回（删除本批合同）", "Reject (removes its contracts)"),
        "batch_pending_note": (
            "导入的合同须由导入人以外的复核人接受后才计入台账和报表；退回则删除本批合同。",
            "Imported contracts count in the books and reports only once a reviewer other than the importer "
            "accepts their batch; rejecting removes them.",
        ),
        "no_batches": ("没有导入批次。", "No import batches."),
        "batch_pending": ("待复核", "Pending"),
        "batch_accepted": ("已接受", "Accepted"),
        "batch_rejected": ("已退回", "Rejected"),
    },
    templates=Path(__file__).parent / "templates",
)
