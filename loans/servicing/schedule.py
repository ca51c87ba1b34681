"""The repayment schedule of one contract, as pure functions ("The schedule, precisely" in DOMAIN.md).

- Interest accrues daily on the outstanding principal from disbursement (counted) to each settlement
  date (not counted): principal × rate × days / day-count basis, kept exact (Fraction) until the end.
- A day belongs to the government up to and including the subsidy end date, to the borrower after it.
- Interest is settled every 20 December and at maturity; each payer's share of each settlement is
  rounded half up to the fen, once.
- Principal: equal yearly instalments due 20 December from (graduation year + grace years) to the year
  before maturity, the last at maturity; each rounded half up, the residue in the last.
- The rate floats: from each repricing date on, it is the rate the caller's `rate_on` gives.

Nothing here reads a database or a clock: the contract's facts come in, the lines go out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from service.money import round_half_up, split_residue_last

SETTLEMENT_MONTH, SETTLEMENT_DAY = 12, 20
GOVERNMENT, BORROWER = "government", "borrower"


@dataclass(frozen=True)
class ScheduleTerms:
    principal: int  # fen disbursed
    disbursed_on: date
    maturity_date: date
    subsidy_end: date  # last day the state pays (inclusive)
    first_principal_year: int  # graduation year + grace years
    rate_on: Callable[[date], Decimal]  # annual rate in percent in force on a day
    repricing_dates: Sequence[date] = ()  # days on which the rate may change (from that day on)
    basis: int = 365  # day-count denominator (ACT/365)
    prepayments: Sequence[tuple[date, int]] = ()  # principal repaid early: (value date, fen)


class ScheduleLine(NamedTuple):
    """One line (a named tuple: the generator makes millions of them in the batch benchmark)."""

    due_on: date
    payer: str  # "government" | "borrower"
    principal: int  # fen; only ever on the borrower's line
    interest: int  # fen
    days: int  # days of interest this payer bears in the period


def settlement_dates(disbursed_on: date, maturity: date) -> list[date]:
    """Every 20 December after disbursement and before maturity, then maturity itself."""
    if maturity <= disbursed_on:
        raise ValueError("maturity must be after disbursement")
    dates = []
    year = disbursed_on.year
    while True:
        d = date(year, SETTLEMENT_MONTH, SETTLEMENT_DAY)
        if d >= maturity:
            break
        if d > disbursed_on:
            dates.append(d)
        year += 1
    dates.append(maturity)
    return dates


def principal_plan(principal: int, first_year: int, maturity: date) -> dict[date, int]:
    """Equal yearly instalments on 20 December from first_year to the year before maturity, the last
    at maturity; the residue of rounding goes into the last one."""
    dues = [
        date(y, SETTLEMENT_MONTH, SETTLEMENT_DAY)
        for y in range(first_year, maturity.year)
        if date(y, SETTLEMENT_MONTH, SETTLEMENT_DAY) < maturity
    ]
    dues.append(maturity)
    return dict(zip(dues, split_residue_last(principal, len(dues)), strict=True))


_RATE_SCALE = 10**6  # a rate in percent with 4 decimals is a whole number of millionths of one


def _rate_units(rate: Decimal) -> int:
    units = rate * 10**4
    if units != units.to_integral_value():
        raise ValueError(f"rate {rate} has more than 4 decimals")
    return int(units)


def generate(terms: ScheduleTerms) -> list[ScheduleLine]:
    """All lines of the schedule: per due date, a government line (when it bears interest days) and a
    borrower line (interest and principal). A prepayment reduces outstanding principal from its value
    date, and the instalments still to come are spread again, equally, residue last.

    Integer arithmetic throughout: interest is accumulated as principal × rate-millionths × days and
    divided by the basis once per payer and settlement, then rounded by the one rounding function.
    """
    if terms.principal <= 0:
        raise ValueError("principal must be positive")
    prepaid = sorted(terms.prepayments)
    if sum(a for _, a in prepaid) > terms.principal:
        raise ValueError("prepayments exceed the principal")
    dues = settlement_dates(terms.disbursed_on, terms.maturity_date)
    plan = principal_plan(terms.principal, terms.first_principal_year, terms.maturity_date)
    split = terms.subsidy_end + timedelta(days=1)  # the first day the borrower pays
    reprices = sorted(terms.repricing_dates)
    rates: dict[date, int] = {}

    def rate_at(day: date) -> int:
        # the rate in force on `day`: the one set on the latest repricing date on or before it
        i = bisect_right(reprices, day)
        key = reprices[i - 1] if i and reprices[i - 1] > terms.disbursed_on else terms.disbursed_on
        rate = rates.get(key)
        if rate is None:
            rate = rates[key] = _rate_units(terms.rate_on(key))
        return rate

    denominator = _RATE_SCALE * terms.basis
    outstanding, lines, start, p = terms.principal, [], terms.disbursed_on, 0
    pending_reprices = [d for d in reprices if d > start]
    for due in dues:
        cuts = [d for d in pending_reprices if d < due]
        if cuts:
            pending_reprices = pending_reprices[len(cuts) :]
        if prepaid:
            cuts += [d for d, _ in prepaid if start < d < due]
        if start < split < due:
            cuts.append(split)
        if len(cuts) > 1:
            cuts = sorted(set(cuts))
        gov_acc = own_acc = gov_days = own_days = 0
        a = start
        for b in (*cuts, due):
            while p < len(prepaid) and prepaid[p][0] <= a:
                outstanding -= prepaid[p][1]
                plan = _respread(plan, outstanding, due)
                p += 1
            n = (b - a).days
            if a < split:
                gov_acc += outstanding * rate_at(a) * n
                gov_days += n
            else:
                own_acc += outstanding * rate_at(a) * n
                own_days += n
            a = b
        principal_due = outstanding if due == terms.maturity_date else min(plan.get(due, 0), outstanding)
        if gov_days:
            lines.append(ScheduleLine(due, GOVERNMENT, 0, round_half_up(gov_acc, denominator), gov_days))
        if own_days or principal_due:
            lines.append(ScheduleLine(due, BORROWER, principal_due, round_half_up(own_acc, denominator), own_days))
        outstanding -= principal_due
        start = due
        if outstanding == 0:
            break
    return lines


def _respread(plan: dict[date, int], outstanding: int, next_due: date) -> dict[date, int]:
    """After a prepayment, spread what is outstanding equally over the instalments still to come."""
    remaining = [d for d in sorted(plan) if d >= next_due]
    if not remaining or outstanding <= 0:
        return {**plan, **{d: 0 for d in remaining}}
    kept = {d: a for d, a in plan.items() if d < next_due}
    kept.update(zip(remaining, split_residue_last(outstanding, len(remaining)), strict=True))
    return kept


def totals(lines: Sequence[ScheduleLine]) -> dict[str, int]:
    return {
        "government_interest": sum(l.interest for l in lines if l.payer == GOVERNMENT),
        "borrower_interest": sum(l.interest for l in lines if l.payer == BORROWER),
        "principal": sum(l.principal for l in lines),
    }
