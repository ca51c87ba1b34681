"""Programme rules, eligibility, notice dates, receipt numbers and the grants' state machines (pure)."""

from __future__ import annotations

from datetime import date

import pytest

from donations.rules import (
    Candidate,
    ProgramRules,
    RuleError,
    decide,
    missing_serials,
    normalize_rule,
    notice_ends_on,
    notice_has_ended,
    receipt_number,
    rule_amount,
    rule_out,
)

UG_HOME = Candidate("undergraduate", ("registered_poor",), "内蒙古", "内蒙古")
JC_AWAY = Candidate("junior_college", ("minimum_allowance",), "北京", "内蒙古")
PG_AWAY = Candidate("graduate", (), "吉林", "内蒙古")
COUNTY = normalize_rule({"type": "by_level", "amounts": {"undergraduate": "3000.00", "junior_college": "2000.00"}})
TRAVEL = normalize_rule({"type": "by_province", "in_province": "500.00", "out_of_province": "1000.00"})


def test_the_three_rules_of_the_seed_reports():
    assert rule_amount(COUNTY, UG_HOME) == (300_000, "by_level:undergraduate")
    assert rule_amount(COUNTY, JC_AWAY) == (200_000, "by_level:junior_college")
    assert rule_amount(TRAVEL, UG_HOME) == (50_000, "by_province:in_province")
    assert rule_amount(TRAVEL, JC_AWAY) == (100_000, "by_province:out_of_province")
    city = normalize_rule({"type": "fixed", "amount": "5000"})
    assert rule_amount(city, PG_AWAY) == (500_000, "fixed")
    # the report's own sums: 40 × 3000 + 39 × 2000 = 198,000; 101 × 5000 = 505,000 (50.5万元)
    assert 40 * rule_amount(COUNTY, UG_HOME)[0] + 39 * rule_amount(COUNTY, JC_AWAY)[0] == 19_800_000
    assert rule_out(COUNTY) == {
        "type": "by_level",
        "amounts": {"undergraduate": "3000.00", "junior_college": "2000.00"},
    }


@pytest.mark.parametrize(
    "rule",
    [
        {"type": "percent"},
        {"type": "fixed"},
        {"type": "fixed", "amount": 3000},
        {"type": "fixed", "amount": "0"},
        {"type": "fixed", "amount": "1.234"},
        {"type": "by_level", "amounts": {}},
        {"type": "by_level", "amounts": {"phd": "1.00"}},
        {"type": "by_province", "in_province": "500.00"},
    ],
)
def test_bad_rules_are_refused_in_both_languages(rule):
    with pytest.raises(RuleError) as err:
        normalize_rule(rule)
    assert err.value.message_zh and err.value.message_en


def test_eligibility_lists_every_reason():
    rules = ProgramRules(
        rule=COUNTY,
        eligible_categories=("registered_poor",),
        levels=("undergraduate",),
        quota=2,
        budget=500_000,
        opens_on=date(2025, 7, 1),
        closes_on=date(2025, 8, 31),
    )
    ok = decide(rules, UG_HOME, date(2025, 7, 15))
    assert ok.eligible and ok.amount == 300_000
    bad = decide(rules, PG_AWAY, date(2025, 9, 1), taken_persons=2, taken_amount=400_000)
    assert {r.code for r in bad.reasons} == {"window", "level", "category", "rule", "quota"}
    assert "研究生" in " ".join(r.zh for r in bad.reasons)
    over = decide(rules, UG_HOME, date(2025, 7, 15), taken_persons=1, taken_amount=300_000)
    assert [r.code for r in over.reasons] == ["budget"] and "剩余 2000.00 元" in over.reasons[0].zh
    early = decide(rules, UG_HOME, date(2025, 6, 30))
    assert [r.code for r in early.reasons] == ["window"]


def test_a_freshmen_programme_takes_the_first_academic_year_only():
    """新生入学资助: freshmen only (DOMAIN.md); a third-year student used to get 500."""
    from dataclasses import replace

    from service.registry.study_dates import academic_year_of

    travel = ProgramRules(rule=TRAVEL, first_year_only=True)
    assert decide(travel, UG_HOME, date(2025, 9, 10)).eligible  # year_of_study defaults to 1
    third = decide(travel, replace(UG_HOME, year_of_study=3), date(2025, 9, 10))
    assert [r.code for r in third.reasons] == ["first_year"] and "第 3 学年" in third.reasons[0].zh
    assert decide(ProgramRules(rule=TRAVEL), replace(UG_HOME, year_of_study=3), date(2025, 9, 10)).eligible
    assert [academic_year_of(date(2025, d[0], d[1])) for d in ((8, 28), (9, 1), (12, 31))] == [2025] * 3
    assert academic_year_of(date(2026, 3, 1)) == 2025  # a spring enrolment joins the year begun the autumn before


def test_empty_lists_admit_everyone():
    assert decide(ProgramRules(rule=TRAVEL), PG_AWAY, date(2025, 1, 1)).eligible


def test_notice_of_seven_days_counts_the_first_and_includes_the_last():
    ends = notice_ends_on(date(2025, 9, 1), 7)
    assert ends == date(2025, 9, 7)
    assert not notice_has_ended(ends, date(2025, 9, 7))
    assert notice_has_ended(ends, date(2025, 9, 8))
    assert notice_ends_on(date(2025, 2, 25), 7) == date(2025, 3, 3)
    with pytest.raises(ValueError):
        notice_ends_on(date(2025, 9, 1), 0)


def test_receipt_numbers():
    assert receipt_number(2026, 1) == "JZ-2026-000001"
    assert receipt_number(2026, 999_999) == "JZ-2026-999999"
    with pytest.raises(ValueError):
        receipt_number(2026, 0)
    assert missing_serials([1, 2, 4, 6]) == [3, 5]
    assert missing_serials([]) == []
