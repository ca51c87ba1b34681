"""Prepayment rules as pure functions: when a request is executed, and what settles a contract.

DOMAIN.md: a request made by the 15th of a month is executed on the 20th of that month, after the 15th
on the 20th of the next month; 1–15 October → 20 October; 16 October–30 November → 20 December; there
are no deductions in November. Paying everything before the subsidy end date costs no interest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from service.money import round_half_up

EXECUTION_DAY = 20
CUTOFF_DAY = 15


def execution_date(requested_on: date) -> date:
    """The 20th on which a prepayment requested on `requested_on` is deducted."""
    y, m = requested_on.year, requested_on.month
    if requested_on.day > CUTOFF_DAY:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if m == 11:  # no deductions in November: the request waits for the December settlement
        m = 12
    return date(y, m, EXECUTION_DAY)


@dataclass(frozen=True)
class Quote:
    as_of: date
    principal: int
    due_unpaid: int  # interest and principal already due and unpaid
    penalty: int
    accrued_interest: int  # the borrower's interest from the last settlement to `as_of`
    credit: int  # money held for the borrower, deducted

    @property
    def total(self) -> int:
        return max(0, self.principal + self.due_unpaid + self.penalty + self.accrued_interest - self.credit)


def accrued_borrower_interest(
    outstanding: int, rate_units: int, since: date, as_of: date, subsidy_end: date, basis: int = 365
) -> int:
    """Interest the borrower owes on `outstanding` for the days after `since` up to `as_of` (not
    counted) that fall after the subsidy end. `rate_units` is the rate in millionths (2.80% → 28000)."""
    first_own_day = max(since, subsidy_end + timedelta(days=1))
    days = (as_of - first_own_day).days
    if days <= 0 or outstanding <= 0:
        return 0
    return round_half_up(outstanding * rate_units * days, 10**6 * basis)
