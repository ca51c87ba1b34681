"""The schedule generator: DOMAIN.md's worked example to the fen, and properties over random contracts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from loans.servicing.schedule import BORROWER, GOVERNMENT, ScheduleTerms, generate, principal_plan, totals


def worked_example(**over) -> ScheduleTerms:
    base = dict(
        principal=2_000_000,
        disbursed_on=date(2024, 12, 1),
        maturity_date=date(2043, 9, 20),
        subsidy_end=date(2028, 8, 31),
        first_principal_year=2033,
        rate_on=lambda d: Decimal("2.80"),
    )
    base.update(over)
    return ScheduleTerms(**base)


def test_worked_example_to_the_fen():
    lines = generate(worked_example())
    by = {(l.due_on, l.payer): l for l in lines}
    gov, own = GOVERNMENT, BORROWER
    assert (by[(date(2024, 12, 20), gov)].days, by[(date(2024, 12, 20), gov)].interest) == (19, 2915)
    assert (date(2024, 12, 20), own) not in by
    for y in (2025, 2026, 2027):
        assert (by[(date(y, 12, 20), gov)].days, by[(date(y, 12, 20), gov)].interest) == (365, 56000)
    l28g, l28b = by[(date(2028, 12, 20), gov)], by[(date(2028, 12, 20), own)]
    assert (l28g.days, l28g.interest, l28b.days, l28b.interest) == (256, 39277, 110, 16877)
    for y in (2029, 2030, 2031):
        assert by[(date(y, 12, 20), own)].interest == 56000 and (date(y, 12, 20), gov) not in by
    assert (by[(date(2032, 12, 20), own)].days, by[(date(2032, 12, 20), own)].interest) == (366, 56153)
    assert (by[(date(2033, 12, 20), own)].interest, by[(date(2033, 12, 20), own)].principal) == (56000, 181818)
    assert (by[(date(2034, 12, 20), own)].interest, by[(date(2034, 12, 20), own)].principal) == (50909, 181818)
    assert (by[(date(2042, 12, 20), own)].interest, by[(date(2042, 12, 20), own)].principal) == (10182, 181818)
    last = by[(date(2043, 9, 20), own)]
    assert (last.days, last.interest, last.principal) == (274, 3822, 181820)
    assert totals(lines) == {"government_interest": 210192, "borrower_interest": 575928, "principal": 2_000_000}


def test_principal_plan_residue_last():
    plan = principal_plan(2_000_000, 2033, date(2043, 9, 20))
    assert list(plan.values()) == [181818] * 10 + [181820]
    assert max(plan) == date(2043, 9, 20)


def test_repricing_changes_the_rate_from_the_repricing_date():
    rates = {date(2025, 1, 1): Decimal("2.50")}
    terms = worked_example(
        rate_on=lambda d: Decimal("2.50") if d >= date(2025, 1, 1) else Decimal("2.80"), repricing_dates=list(rates)
    )
    line = next(l for l in generate(terms) if l.due_on == date(2025, 12, 20))
    # 2024-12-20..2024-12-31 at 2.80 (12 days), 2025-01-01..2025-12-19 at 2.50 (353 days)
    expected = Decimal(2_000_000) * (Decimal("0.028") * 12 + Decimal("0.025") * 353) / 365
    assert line.interest == int(expected.quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def test_prepayment_before_subsidy_end_costs_no_interest():
    terms = worked_example(prepayments=[(date(2026, 3, 20), 2_000_000)])
    lines = generate(terms)
    assert totals(lines)["borrower_interest"] == 0 and totals(lines)["principal"] == 0
    assert all(l.due_on <= date(2026, 12, 20) for l in lines)


def test_partial_prepayment_respreads_remaining_instalments():
    terms = worked_example(prepayments=[(date(2034, 3, 20), 500_000)])
    lines = generate(terms)
    principal = [l.principal for l in lines if l.principal]
    assert principal[0] == 181818 and sum(principal) == 2_000_000 - 500_000
    assert len(set(principal[1:-1])) == 1  # equal again after the prepayment


@st.composite
def contracts(draw):
    disbursed = draw(st.dates(date(2020, 1, 1), date(2030, 12, 31)))
    grad_year = disbursed.year + draw(st.integers(0, 5))
    maturity = date(grad_year + 15, 9, 20)
    rate = Decimal(draw(st.integers(100, 600))) / 100
    principal = draw(st.integers(100_000, 2_500_000))
    return ScheduleTerms(
        principal=principal,
        disbursed_on=disbursed,
        maturity_date=maturity,
        subsidy_end=date(grad_year, 8, 31),
        first_principal_year=grad_year + 5,
        rate_on=lambda d: rate,
    )


@settings(max_examples=60, deadline=None)
@given(contracts())
def test_properties(terms):
    lines = generate(terms)
    # principal lines sum to the principal, and only the borrower pays principal
    assert sum(l.principal for l in lines) == terms.principal
    assert all(l.principal == 0 for l in lines if l.payer == GOVERNMENT)
    # no interest before disbursement; all due dates after it
    assert all(l.due_on > terms.disbursed_on for l in lines)
    # every day from disbursement to maturity is borne by exactly one payer
    assert sum(l.days for l in lines) == (terms.maturity_date - terms.disbursed_on).days
    # government days never go past the subsidy end, borrower days never before it
    gov_days = sum(l.days for l in lines if l.payer == GOVERNMENT)
    assert gov_days == max(
        0,
        min(
            (terms.subsidy_end + timedelta(days=1) - terms.disbursed_on).days,
            (terms.maturity_date - terms.disbursed_on).days,
        ),
    )
    assert all(l.interest >= 0 for l in lines)
