"""The date rules as plain functions: money dates (service.dates), a course's plausibility
(service.registry.study_dates), the repayment ceiling and its setting. No clock: today is an argument."""

from __future__ import annotations

from datetime import date

import pytest

from loans.servicing.prepayment import Quote
from loans.servicing.repayments import require_within_owed
from service.dates import BOOK_START, check_date, date_fault
from service.identity import make_id_number
from service.problems import Problem
from service.registry.study_dates import signed_after_graduation, study_date_faults
from service.settings import Settings, SettingsError

TODAY = date(2026, 3, 1)


def test_money_date_bounds() -> None:
    assert check_date(TODAY, "paid_on", today=TODAY) == TODAY
    assert check_date(BOOK_START, "paid_on", today=TODAY) == BOOK_START
    for bad, key in ((date(2026, 3, 2), "latest"), (date(9999, 12, 31), "latest"), (date(1, 1, 1), "earliest")):
        with pytest.raises(Problem) as caught:
            check_date(bad, "paid_on", today=TODAY)
        assert caught.value.field == "paid_on" and caught.value.kind.status == 422 and key in caught.value.extra
    after = date(2024, 12, 1)
    assert date_fault(after, "x", today=TODAY, after=after) is None
    zh, en, extra = date_fault(
        date(2024, 11, 30), "x", today=TODAY, after=after, after_zh="放款日期", after_en="disbursement"
    )
    assert "放款日期" in zh and "disbursement" in en and extra == {"earliest": "2024-12-01"}
    # a look-ahead bound (a quote): the future up to `latest` is fine
    assert date_fault(date(2040, 1, 1), "as_of", today=TODAY, latest=date(2043, 9, 20)) is None
    assert date_fault(date(2043, 9, 21), "as_of", today=TODAY, latest=date(2043, 9, 20)) is not None


def _faults(**over: object) -> list[str]:
    course: dict = {
        "id_number": make_id_number("150430", date(2006, 1, 9), 11),
        "level": "undergraduate",
        "study_years": 4,
        "enrolled_on": date(2024, 9, 1),
        "expected_graduation": date(2028, 6, 30),
        "today": TODAY,
        **over,
    }
    return [field for field, _zh, _en in study_date_faults(**course)]


def test_course_plausibility() -> None:
    assert _faults() == []
    assert _faults(expected_graduation=date(2031, 6, 30)) == []  # up to three more years (extensions)
    assert _faults(expected_graduation=date(2032, 6, 30)) == ["expected_graduation"]
    assert _faults(expected_graduation=date(2027, 6, 30)) == ["expected_graduation"]
    assert _faults(expected_graduation=date(2024, 6, 30)) == ["expected_graduation"]
    assert _faults(enrolled_on=date(1, 9, 1), expected_graduation=date(5, 6, 30)) == ["enrolled_on"]
    assert _faults(enrolled_on=date(2027, 3, 3), expected_graduation=date(2031, 1, 1)) == ["enrolled_on"]
    assert _faults(enrolled_on=date(2027, 3, 2), expected_graduation=date(2031, 1, 1)) == []
    assert _faults(study_years=7, expected_graduation=date(2031, 6, 30)) == ["study_years"]
    assert _faults(level="junior_college", study_years=3, expected_graduation=date(2027, 6, 30)) == []
    assert _faults(level="graduate", study_years=3, expected_graduation=date(2027, 6, 30)) == ["enrolled_on"]  # 18
    assert _faults(id_number=make_id_number("150430", date(2016, 1, 9), 11)) == ["enrolled_on"]
    # what is missing (a bad cell) is skipped, not guessed
    assert _faults(id_number=None, level=None, study_years=None, expected_graduation=None) == []
    assert signed_after_graduation(date(2028, 7, 1), date(2028, 6, 30)) is not None
    assert signed_after_graduation(date(2028, 6, 30), date(2028, 6, 30)) is None


def test_repayment_ceiling() -> None:
    quote = Quote(TODAY, principal=2_000_000, due_unpaid=0, penalty=0, accrued_interest=0, credit=0)
    require_within_owed(2_100_000, quote, 100_000)
    with pytest.raises(Problem) as caught:
        require_within_owed(2_100_001, quote, 100_000)
    assert caught.value.field == "amount" and caught.value.extra["maximum"] == "21000.00"
    held = Quote(TODAY, principal=2_000_000, due_unpaid=0, penalty=0, accrued_interest=0, credit=2_100_000)
    with pytest.raises(Problem):
        require_within_owed(1, held, 100_000)


def test_repayment_max_credit_setting() -> None:
    env = {"ZIZHU_SECRET_KEY": "k" * 48, "ZIZHU_DATA_DIR": "/tmp/zizhu-unused"}
    assert Settings.from_env(env).repayment_max_credit == 100_000
    assert Settings.from_env({**env, "ZIZHU_REPAYMENT_MAX_CREDIT": "0"}).repayment_max_credit == 0
    assert Settings.from_env({**env, "ZIZHU_REPAYMENT_MAX_CREDIT": "250.50"}).repayment_max_credit == 25_050
    for bad in ("-1", "abc", "1e3"):
        with pytest.raises(SettingsError, match="ZIZHU_REPAYMENT_MAX_CREDIT"):
            Settings.from_env({**env, "ZIZHU_REPAYMENT_MAX_CREDIT": bad})
