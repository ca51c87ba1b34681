"""The loans domain's JSON API controllers (doors): thin, calling the services. ROUTES: every one of them."""

from typing import Any

from loans.api import graduates, origination, policy, relief, reports, servicing

ROUTES: list[Any] = [
    *origination.ROUTES,
    *policy.ROUTES,
    *reports.ROUTES,
    *servicing.ROUTES,
    *relief.ROUTES,
    *graduates.ROUTES,
]
