"""How a borrower's payment is split, as a pure function (the payment-allocation order of DOMAIN.md).

Order: penalty → overdue interest → overdue principal → current interest → current principal. What
is left is held as credit (suspense) and used at the next due date: only a prepayment request repays
principal that is not yet due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

ORDER = ("penalty", "overdue_interest", "overdue_principal", "current_interest", "current_principal")


@dataclass(frozen=True)
class Dues:
    """What the borrower owes on the payment date, in fen."""

    penalty: int = 0
    overdue_interest: int = 0
    overdue_principal: int = 0
    current_interest: int = 0
    current_principal: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, k) for k in ORDER)


@dataclass(frozen=True)
class Allocation:
    penalty: int
    overdue_interest: int
    overdue_principal: int
    current_interest: int
    current_principal: int
    credit: int

    @property
    def interest(self) -> int:
        return self.overdue_interest + self.current_interest

    @property
    def principal(self) -> int:
        return self.overdue_principal + self.current_principal


def allocate(amount: int, dues: Dues) -> Allocation:
    """Fill each bucket in order; the rest is credit. Every fen lands somewhere exactly once."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("a payment is a positive integer amount of fen")
    left = amount
    taken: dict[str, int] = {}
    for bucket in ORDER:
        owed = getattr(dues, bucket)
        if owed < 0:
            raise ValueError(f"{bucket} cannot be negative")
        take = min(left, owed)
        taken[bucket] = take
        left -= take
    return Allocation(credit=left, **taken)


class Owed(NamedTuple):
    """What is still unpaid on one borrower line (fen)."""

    line_id: int
    due_on: date
    interest: int
    principal: int


def dues_of(penalty: int, lines: Sequence[Owed], day: date) -> Dues:
    """The buckets of DOMAIN.md on `day`: lines due before it are overdue, lines due on it current."""
    owed = {"overdue_interest": 0, "overdue_principal": 0, "current_interest": 0, "current_principal": 0}
    for line in lines:
        when = "overdue" if line.due_on < day else "current"
        owed[f"{when}_interest"] += line.interest
        owed[f"{when}_principal"] += line.principal
    return Dues(penalty=max(0, penalty), **owed)


def spread(lines: Sequence[Owed], a: Allocation, day: date) -> list[tuple[int, int, int]]:
    """Spread an allocation over the lines (oldest first), interest before principal within a bucket:
    (line id, principal, interest) for each line that gets something."""
    budget = {
        "overdue_interest": a.overdue_interest,
        "overdue_principal": a.overdue_principal,
        "current_interest": a.current_interest,
        "current_principal": a.current_principal,
    }
    paid = []
    for line in sorted(lines, key=lambda l: l.due_on):
        when = "overdue" if line.due_on < day else "current"
        interest = min(budget[f"{when}_interest"], line.interest)
        budget[f"{when}_interest"] -= interest
        principal = min(budget[f"{when}_principal"], line.principal)
        budget[f"{when}_principal"] -= principal
        if principal or interest:
            paid.append((line.line_id, principal, interest))
    return paid
