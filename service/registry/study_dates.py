"""Is a student's course plausible? Enrolment, graduation, study years, level and age, as one rule.

The registry (a clerk's form, the API) and the contract import (loans.imports.rows) both ask
`study_date_faults`; a contract's signing asks `signed_after_graduation`. Pure functions: the business
date is an argument. Every fault is (field, message zh, message en): the registry refuses the first, the
import lists them all.

Why these bounds: a contract term is computed from the graduation year, so an enrolment in 0001 or a
graduation in 9999 gives a term of -2006 years and a schedule no one can pay. The book begins in 2007
(service.dates.BOOK_START) and the longest course (8 years) puts the earliest enrolment it can hold in 1999;
a student is registered at most a year before enrolment (applications are taken in July and August).
Full-time students at these levels are of an age within the ranges of LEVEL_RULES. A study extension
(就学信息变更) moves the graduation later without changing the study years: up to EXTRA_YEARS more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from service.dates import BOOK_START
from service.identity import IdentityError, id_birth_date
from service.registry.vocabulary import LEVEL_LABELS

Fault = tuple[str, str, str]  # field, message zh, message en


@dataclass(frozen=True)
class LevelRule:
    years: tuple[int, int]  # study years, both ends included
    age: tuple[int, int]  # age at enrolment, both ends included


# 专科: 2-3 years, 5 for 五年制高职 from age 14 or 15; 本科: 4-5 (medicine), 2 for 第二学士, +1 for 预科;
# 研究生: 2-3 for a master's, up to 8 for a doctorate after 直博 and extensions.
LEVEL_RULES: dict[str, LevelRule] = {
    "junior_college": LevelRule(years=(2, 5), age=(14, 45)),
    "undergraduate": LevelRule(years=(2, 6), age=(15, 45)),
    "graduate": LevelRule(years=(2, 8), age=(19, 60)),
}
EARLIEST_ENROLMENT = date(BOOK_START.year - 8, 1, 1)
REGISTER_AHEAD = timedelta(days=366)
EXTRA_YEARS = 3  # a course may end this many years after its study years say (repeats, extensions)
SHORT_MONTHS = 6  # and end this many months before (autumn enrolment, summer graduation: 3 months short)


def _age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def study_date_faults(
    *,
    id_number: str | None,
    level: str | None,
    study_years: int | None,
    enrolled_on: date | None,
    expected_graduation: date | None,
    today: date,
) -> list[Fault]:
    """What is implausible about a course; [] when nothing is. A None value (a cell already found bad) is
    skipped, and so is every rule that needs it."""
    faults: list[Fault] = []
    rule = LEVEL_RULES.get(level) if level else None
    level_zh = LEVEL_LABELS[level][0] if level in LEVEL_LABELS else ""
    if enrolled_on is not None:
        latest = today + REGISTER_AHEAD
        if not EARLIEST_ENROLMENT <= enrolled_on <= latest:
            faults.append(
                (
                    "enrolled_on",
                    f"入学日期 {enrolled_on} 不合理（应在 {EARLIEST_ENROLMENT} 至 {latest} 之间）",
                    f"Enrolment {enrolled_on} is implausible (between {EARLIEST_ENROLMENT} and {latest})",
                )
            )
            enrolled_on = None
    if rule is not None and study_years is not None and not rule.years[0] <= study_years <= rule.years[1]:
        low, high = rule.years
        faults.append(
            (
                "study_years",
                f"{level_zh}学制应为 {low} 至 {high} 年，不是 {study_years} 年",
                f"A course at level {level} lasts {low} to {high} years, not {study_years}",
            )
        )
        study_years = None
    if enrolled_on is not None and expected_graduation is not None:
        months = (expected_graduation.year - enrolled_on.year) * 12 + expected_graduation.month - enrolled_on.month
        if expected_graduation <= enrolled_on:
            faults.append(
                (
                    "expected_graduation",
                    "预计毕业日期须晚于入学日期",
                    "Expected graduation must be after enrolment",
                )
            )
        elif study_years is not None and not 12 * study_years - SHORT_MONTHS <= months <= 12 * (
            study_years + EXTRA_YEARS
        ):
            faults.append(
                (
                    "expected_graduation",
                    f"入学 {enrolled_on} 至预计毕业 {expected_graduation} 与学制 {study_years} 年不符",
                    f"Enrolment {enrolled_on} to graduation {expected_graduation} does not fit {study_years} "
                    "study years",
                )
            )
    if rule is not None and enrolled_on is not None and id_number:
        try:
            age = _age_on(id_birth_date(id_number), enrolled_on)
        except (IdentityError, ValueError):
            age = None  # the ID number's own check reports it
        if age is not None and not rule.age[0] <= age <= rule.age[1]:
            low, high = rule.age
            faults.append(
                (
                    "enrolled_on",
                    f"按身份证号的出生日期，入学时 {age} 岁，{level_zh}学生应在 {low} 至 {high} 岁之间",
                    f"By the ID number's birth date the student was {age} at enrolment; {low} to {high} at "
                    f"level {level}",
                )
            )
    return faults


def extension_fault(enrolled_on: date, new_graduation: date) -> tuple[str, str] | None:
    """A study extension (further study: 本科 then 研究生 then a doctorate) may go past the study years, not past
    the longest course of all levels plus the extra years (an extension to 9999 would be a contract for ever)."""
    years = max(r.years[1] for r in LEVEL_RULES.values()) + EXTRA_YEARS
    latest = date(enrolled_on.year + years, 12, 31)
    if new_graduation > latest:
        return (
            f"新的毕业日期 {new_graduation} 不合理：入学 {enrolled_on} 后 {years} 年内（至 {latest}）",
            f"The new graduation {new_graduation} is implausible: at most {years} years after enrolment ({latest})",
        )
    return None


def academic_year_of(on: date) -> int:
    """The academic year a day belongs to, as a course counts it: one enrolled from July on starts that autumn's
    year (registration runs in late August); one enrolled in spring joined the year begun the autumn before."""
    return on.year if on.month >= 7 else on.year - 1


def year_outside_studies(academic_year: int, enrolled_on: date, expected_graduation: date) -> tuple[str, str] | None:
    """A loan is for an academic year (1 September to 31 August) in which the student studies."""
    if enrolled_on <= date(academic_year + 1, 8, 31) and expected_graduation >= date(academic_year, 9, 1):
        return None
    return (
        f"贷款学年 {academic_year} 不在该生在读期间（{enrolled_on} 至 {expected_graduation}）",
        f"Academic year {academic_year} is outside the student's studies",
    )


def signed_after_graduation(signed_on: date, expected_graduation: date) -> tuple[str, str] | None:
    """A loan pays for study: no contract is signed for a student who has already graduated."""
    if signed_on > expected_graduation:
        return (
            f"签约日期 {signed_on} 晚于该生的毕业日期 {expected_graduation}，已毕业的学生不能签订贷款合同",
            f"Signing date {signed_on} is after the student's graduation ({expected_graduation})",
        )
    return None


__all__ = [
    "LEVEL_RULES",
    "Fault",
    "extension_fault",
    "signed_after_graduation",
    "study_date_faults",
    "year_outside_studies",
]
