"""The annual summary by programme and the donor's trace: each donation → awards → students (masked).

Both are a few set-based queries whatever the size; the donor report reads one row per (donation, award)
with its net amount (lines and their reversals summed), so a revoked award drops out and its money shows
as unallocated again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import anyio.to_thread
from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from donations.lifecycle import AwardStatus
from donations.models import Allocation, Award, Donor, Funding, Program, Receipt
from donations.papers.reports import LoanSummary, ProgramLine, render_annual
from service.identity import mask_name
from service.registry.models import Student, University
from service.registry.vocabulary import level_zh
from service.settings import Settings

# the loans' totals of a year for the annual PDF, handed over by the composition root (donations know no loans)
LoansSummary = Callable[[AsyncSession, int], Awaitable[dict[str, Any]]]
_COUNTED = [AwardStatus.PAID.value, AwardStatus.UNDER_REVIEW.value]  # paid and not taken back


def _registered_poor() -> Any:
    # JSON list membership, portable: the stored list is sorted JSON text (as in the registry's search).
    return cast(Student.categories, String).contains('"registered_poor"')


@dataclass
class Totals:
    persons: int = 0
    person_times: int = 0
    amount: int = 0
    poor_persons: int = 0
    poor_amount: int = 0


async def annual(session: AsyncSession, year: int) -> tuple[list[tuple[int, str, Totals]], Totals]:
    """Payments made in the calendar year: persons = distinct students, person-times = payments."""
    in_year = (Award.paid_on >= date(year, 1, 1), Award.paid_on <= date(year, 12, 31), Award.status.in_(_COUNTED))
    poor = _registered_poor()
    rows = (
        await session.execute(
            select(
                Program.id,
                Program.name,
                func.count(func.distinct(Award.student_id)),
                func.count(Award.id),
                func.coalesce(func.sum(Award.amount), 0),
            )
            .join(Award, Award.program_id == Program.id)
            .where(*in_year)
            .group_by(Program.id, Program.name)
            .order_by(Program.id)
        )
    ).all()
    poor_rows = {
        r[0]: r[1:]
        for r in (
            await session.execute(
                select(
                    Award.program_id,
                    func.count(func.distinct(Award.student_id)),
                    func.coalesce(func.sum(Award.amount), 0),
                )
                .join(Student, Student.id == Award.student_id)
                .where(*in_year, poor)
                .group_by(Award.program_id)
            )
        ).all()
    }
    programs = [
        (pid, name, Totals(int(p), int(t), int(a), *(int(x) for x in poor_rows.get(pid, (0, 0)))))
        for pid, name, p, t, a in rows
    ]
    overall = (
        await session.execute(
            select(
                func.count(func.distinct(Award.student_id)),
                func.count(Award.id),
                func.coalesce(func.sum(Award.amount), 0),
            ).where(*in_year)
        )
    ).one()
    overall_poor = (
        await session.execute(
            select(func.count(func.distinct(Award.student_id)), func.coalesce(func.sum(Award.amount), 0))
            .join(Student, Student.id == Award.student_id)
            .where(*in_year, poor)
        )
    ).one()
    return programs, Totals(
        int(overall[0]), int(overall[1]), int(overall[2]), int(overall_poor[0]), int(overall_poor[1])
    )


@dataclass(frozen=True, slots=True)
class TraceLine:
    award_id: int
    student: str  # masked
    university: str
    level: str
    program: str
    amount: int
    paid_on: date | None


@dataclass
class DonationTrace:
    id: int
    receipt_no: str | None
    program: str
    amount: int
    received_on: date
    allocated: int
    directed: bool
    lines: list[TraceLine] = field(default_factory=list)

    @property
    def unallocated(self) -> int:
        return self.amount - self.allocated


@dataclass
class DonorTrace:
    donor_id: int
    donor: str
    kind: str
    donations: list[DonationTrace]

    @property
    def received(self) -> int:
        return sum(d.amount for d in self.donations)

    @property
    def allocated(self) -> int:
        return sum(d.allocated for d in self.donations)

    @property
    def paid(self) -> int:
        return sum(line.amount for d in self.donations for line in d.lines if line.paid_on is not None)

    @property
    def unallocated(self) -> int:
        return self.received - self.allocated

    @property
    def recipients(self) -> int:
        return len({line.award_id for d in self.donations for line in d.lines})


async def donor_trace(
    session: AsyncSession, donor: Donor, since: date | None = None, until: date | None = None
) -> DonorTrace:
    """Every donation of the donor (received in the period, if given) and where its money went."""
    period = [Funding.donor_id == donor.id]
    if since is not None:
        period.append(Funding.received_on >= since)
    if until is not None:
        period.append(Funding.received_on <= until)
    first_receipt = (
        select(Receipt.funding_id, func.min(Receipt.receipt_no).label("no"))
        .where(Receipt.status == "issued")
        .group_by(Receipt.funding_id)
        .subquery()
    )
    donations = {
        r[0]: DonationTrace(r[0], r[6], r[5], int(r[1]), r[2], int(r[3]), bool(r[4]))
        for r in (
            await session.execute(
                select(
                    Funding.id,
                    Funding.amount,
                    Funding.received_on,
                    Funding.allocated,
                    Funding.directed,
                    Program.name,
                    first_receipt.c.no,
                )
                .join(Program, Program.id == Funding.program_id)
                .outerjoin(first_receipt, first_receipt.c.funding_id == Funding.id)
                .where(*period)
                .order_by(Funding.received_on, Funding.id)
            )
        ).all()
    }
    # Net per (donation, award) first, over the donor's lines only; then the few columns to show. Two steps so
    # the planner never has to guess its way through a five-table join before grouping.
    donor_fundings = select(Funding.id).where(*period)
    net = (
        select(Allocation.funding_id, Allocation.award_id, func.sum(Allocation.amount).label("amount"))
        .where(Allocation.funding_id.in_(donor_fundings))
        .group_by(Allocation.funding_id, Allocation.award_id)
        .having(func.sum(Allocation.amount) != 0)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                net.c.funding_id,
                net.c.award_id,
                net.c.amount,
                Student.name,
                University.name,
                Student.level,
                Program.name,
                Award.paid_on,
            )
            .join(Award, Award.id == net.c.award_id)
            .join(Program, Program.id == Award.program_id)
            .join(Student, Student.id == Award.student_id)
            .join(University, University.code == Student.university_code)
            .order_by(net.c.funding_id, net.c.award_id)
        )
    ).all()
    for funding_id, award_id, amount, name, university, level, program, paid_on in rows:
        donations[funding_id].lines.append(
            TraceLine(award_id, mask_name(name), university, level, program, int(amount), paid_on)
        )
    return DonorTrace(donor.id, donor.name, donor.kind, list(donations.values()))


def by_key(trace: DonorTrace, key: str) -> dict[str, int]:
    """Allocated money of a donor by programme or by level (for the report's chart)."""
    out: dict[str, int] = defaultdict(int)
    for d in trace.donations:
        for line in d.lines:
            out[line.program if key == "program" else level_zh(line.level)] += line.amount
    return dict(out)


async def annual_pdf(
    session: AsyncSession, settings: Settings, loans_summary: LoansSummary | None, year: int, programs: Any, total: Any
) -> bytes:
    """The annual summary on paper; the loans section comes from whatever the composition root hands over
    (app state `loans_summary`: async (session, year) → {"year", "registered_poor", "cumulative"} totals)."""
    loans = None
    if loans_summary is not None:
        r = await loans_summary(session, year)
        y, poor, cum = r["year"], r["registered_poor"], r["cumulative"]
        loans = LoanSummary(
            y.students, y.contracts, y.amount, poor.students, poor.amount, cum.students, cum.contracts, cum.amount
        )
    lines = [
        ProgramLine(name, t.persons, t.person_times, t.amount, t.poor_persons, t.poor_amount) for _, name, t in programs
    ]
    overall = ProgramLine(
        "合计", total.persons, total.person_times, total.amount, total.poor_persons, total.poor_amount
    )
    return await anyio.to_thread.run_sync(
        render_annual, settings.centre_name, year, lines, overall, loans, datetime.now(settings.tz).date()
    )


async def donation_totals(session: AsyncSession) -> tuple[int, int]:
    """Donations received and allocated to awards so far, in fen (appropriations not counted)."""
    received, allocated = (
        await session.execute(
            select(func.coalesce(func.sum(Funding.amount), 0), func.coalesce(func.sum(Funding.allocated), 0)).where(
                Funding.kind == "donation"
            )
        )
    ).one()
    return int(received), int(allocated)
