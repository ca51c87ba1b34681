"""Which money pays which award: the donor allocation as a pure function.

Rules, in order, for each award (awards in the order given, which the caller makes oldest first):
1. **Directed** money (一对一结对) pays only the students its donor named: an award takes first from the
   directed sources that name its student, oldest received first.
2. **Pooled** money pays the rest, either
   - `fifo`: first in, first out by date received (then by id), or
   - `pro_rata`: every pooled source gives the same share of what it still holds; the shares are split
     with the largest-remainder method (integer fen, exact total, a source never gives more than it holds;
     ties go to the older source), then laid end to end across the awards.
3. All or nothing: an award that cannot be funded in full takes nothing and is reported with its shortfall;
   the next award is still tried.

Nothing here reads a database or a clock; `Source.available` is what a source still holds now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Method = Literal["fifo", "pro_rata"]
METHODS: tuple[Method, ...] = ("fifo", "pro_rata")


@dataclass(frozen=True, slots=True)
class Source:
    id: int
    received_on: date
    available: int  # fen not yet allocated
    students: frozenset[int] | None = None  # None: pooled; otherwise directed to these students


@dataclass(frozen=True, slots=True)
class Need:
    award_id: int
    student_id: int
    amount: int  # fen still to fund


@dataclass(frozen=True, slots=True)
class Line:
    source_id: int
    award_id: int
    amount: int
    rule: str  # directed | fifo | pro_rata


@dataclass(frozen=True, slots=True)
class Shortfall:
    award_id: int
    needed: int
    found: int  # what the sources could have given

    @property
    def missing(self) -> int:
        return self.needed - self.found


@dataclass
class Result:
    lines: list[Line] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)


def largest_remainder(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` in proportion to `weights` (all ≥ 0, total ≤ sum), exactly, no part above its weight.

    Each part is the floor of its exact share; the fen left over go one each to the largest fractional
    remainders, the earlier weight first on a tie. Not a rounding of single amounts (service.money has the
    one rounding function) but an apportionment: the parts must add up to the total exactly.
    """
    whole = sum(weights)
    if total < 0 or total > whole:
        raise ValueError(f"cannot split {total} over weights summing to {whole}")
    if total == 0:
        return [0] * len(weights)
    parts, remainders = [], []
    for i, w in enumerate(weights):
        q, r = divmod(total * w, whole)
        parts.append(q)
        remainders.append((-r, i))
    for _, i in sorted(remainders)[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _sorted(sources: Sequence[Source]) -> list[Source]:
    return sorted((s for s in sources if s.available > 0), key=lambda s: (s.received_on, s.id))


def allocate(needs: Sequence[Need], sources: Sequence[Source], method: Method = "fifo") -> Result:
    """Fund `needs` from `sources` (see the module's rules); returns the lines and the shortfalls."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    ordered = _sorted(sources)
    left = {s.id: s.available for s in ordered}
    directed: dict[int, list[int]] = defaultdict(list)  # student → directed source ids, oldest first
    pooled = [s.id for s in ordered if s.students is None]
    for s in ordered:
        for student in s.students or ():
            directed[student].append(s.id)
    pooled_left = sum(left[i] for i in pooled)
    result = Result()
    funded: list[tuple[int, int]] = []  # (award, pooled amount it still needs)

    for need in needs:
        if need.amount <= 0:
            continue
        takes, rest = [], need.amount
        for source_id in directed.get(need.student_id, ()):
            take = min(rest, left[source_id])
            if take:
                takes.append((source_id, take))
                rest -= take
            if not rest:
                break
        if rest > pooled_left:
            result.shortfalls.append(Shortfall(need.award_id, need.amount, need.amount - rest + pooled_left))
            continue
        for source_id, take in takes:
            left[source_id] -= take
            result.lines.append(Line(source_id, need.award_id, take, "directed"))
        pooled_left -= rest
        if rest:
            funded.append((need.award_id, rest))

    if method == "fifo":
        contributions = [(i, left[i]) for i in pooled]
    else:
        shares = largest_remainder(sum(a for _, a in funded), [left[i] for i in pooled])
        contributions = list(zip(pooled, shares, strict=False))
    _lay_end_to_end(funded, contributions, method, result.lines)
    return result


def _lay_end_to_end(
    funded: list[tuple[int, int]], contributions: list[tuple[int, int]], rule: str, out: list[Line]
) -> None:
    """Pour the sources' contributions, in order, into the awards' needs, in order (two pointers)."""
    j, have = 0, contributions[0][1] if contributions else 0
    for award_id, need in funded:
        while need:
            while not have:
                j += 1
                have = contributions[j][1]
            take = min(need, have)
            out.append(Line(contributions[j][0], award_id, take, rule))
            need -= take
            have -= take
