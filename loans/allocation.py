"""How a borrower's payment is split, as a pure function (the payment-allocation order of DOMAIN.md).

Order: penalty → overdue interest → overdue principal → current interest → current principal. What
is left is held as credit (suspense) and used at the next due date: only a prepayment request repays
principal that is not yet due.
"""

from __future__ import annotations

from dataclasses import dataclass

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
