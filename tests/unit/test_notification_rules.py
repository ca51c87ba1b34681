"""The pure rules of sending (verdicts, backoff, quiet hours, the daily cap), the templates and the loans'
reminder calendar (collection days, the contact-update deadline)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans.batch.reminders import collection_days, contact_deadline
from notifications.policy import (
    Verdict,
    after_failure,
    backoff_seconds,
    local_day_start,
    quiet_until,
    split_by_cap,
    verdict_for_status,
)
from notifications.rules import SEED
from notifications.templates import LANGUAGES, TEMPLATES, Fields, render
from service.settings import Settings, SettingsError

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET = (21 * 60, 8 * 60)


@pytest.mark.parametrize(
    "status,verdict",
    [
        (200, Verdict.SENT),
        (202, Verdict.SENT),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (400, Verdict.FAIL),
        (401, Verdict.FAIL),
        (404, Verdict.FAIL),
        (422, Verdict.FAIL),
        (301, Verdict.FAIL),
    ],
)
def test_what_an_answer_means(status, verdict):
    assert verdict_for_status(status) is verdict


@given(
    attempt=st.integers(1, 200),
    base=st.floats(0.1, 600),
    ceiling=st.floats(1, 86400),
    jitter=st.floats(0, 1, exclude_max=True),
)
def test_backoff_stays_within_its_step(attempt, base, ceiling, jitter):
    step = min(ceiling, base * 2.0 ** (attempt - 1))
    wait = backoff_seconds(attempt, base, ceiling, jitter)
    assert step / 2 <= wait <= step and wait <= ceiling


@given(attempt=st.integers(1, 80), jitter=st.floats(0, 1, exclude_max=True))
def test_backoff_steps_never_shrink(attempt, jitter):
    assert backoff_seconds(attempt + 1, 30, 3600, jitter) >= backoff_seconds(attempt, 30, 3600, jitter)


def test_backoff_counts_from_one():
    with pytest.raises(ValueError):
        backoff_seconds(0, 1, 10, 0.5)


@given(attempt=st.integers(1, 20), max_attempts=st.integers(1, 20))
def test_failed_for_good(attempt, max_attempts):
    assert after_failure(attempt, max_attempts, Verdict.FAIL)
    assert after_failure(attempt, max_attempts, Verdict.RETRY) == (attempt >= max_attempts)


@pytest.mark.parametrize(
    "local,until",
    [
        ("2026-12-01 20:59", None),
        ("2026-12-01 21:00", "2026-12-02 08:00"),
        ("2026-12-01 23:30", "2026-12-02 08:00"),
        ("2026-12-02 00:00", "2026-12-02 08:00"),
        ("2026-12-02 07:59", "2026-12-02 08:00"),
        ("2026-12-02 08:00", None),
        ("2026-12-02 12:00", None),
    ],
)
def test_quiet_hours_in_shanghai(local, until):
    now = datetime.fromisoformat(local).replace(tzinfo=SHANGHAI).astimezone(UTC)
    expected = None if until is None else datetime.fromisoformat(until).replace(tzinfo=SHANGHAI)
    assert quiet_until(now, SHANGHAI, QUIET) == expected
    assert quiet_until(now, SHANGHAI, None) is None


@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    start=st.integers(0, 1439),
    end=st.integers(0, 1439),
)
def test_quiet_hours_end_in_the_future_and_outside_them(moment, start, end):
    now = moment.replace(tzinfo=UTC)
    until = quiet_until(now, SHANGHAI, (start, end))
    if until is not None:
        assert now < until <= now + timedelta(days=1)
        assert quiet_until(until, SHANGHAI, (start, end)) is None
        assert until.hour * 60 + until.minute == end


def test_local_day_start():
    now = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # 01:00 on 2 December in Shanghai
    assert local_day_start(now, SHANGHAI) == datetime(2026, 12, 2, tzinfo=SHANGHAI)


@given(
    messages=st.lists(
        st.tuples(st.integers(1, 10_000), st.sampled_from(["a", "b", "c", "d"])), unique_by=lambda m: m[0], max_size=40
    ),
    before=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(0, 5)),
    cap=st.integers(1, 5),
)
def test_the_daily_cap(messages, before, cap):
    send, defer = split_by_cap(messages, before, cap)
    assert sorted(send + defer) == sorted(m for m, _ in messages)
    to = dict(messages)
    for recipient in {r for _, r in messages}:
        sent = [m for m in send if to[m] == recipient]
        held = [m for m in defer if to[m] == recipient]
        assert len(sent) == max(0, min(len(sent) + len(held), cap - before.get(recipient, 0)))
        assert not sent or not held or max(sent) < min(held)  # the earliest go first


def test_collection_days_skip_november():
    assert collection_days(date(2026, 9, 1), date(2027, 1, 31)) == [
        date(2026, 9, 20),
        date(2026, 10, 20),
        date(2026, 12, 20),
        date(2027, 1, 20),
    ]
    assert collection_days(date(2026, 9, 21), date(2026, 10, 19)) == []
    assert collection_days(date(2026, 10, 20), date(2026, 10, 20)) == [date(2026, 10, 20)]


@given(first=st.dates(date(2000, 1, 1), date(2100, 1, 1)), days=st.integers(0, 800))
def test_collection_days_are_the_twentieths_in_range(first, days):
    last = first + timedelta(days=days)
    found = collection_days(first, last)
    assert all(d.day == 20 and d.month != 11 and first <= d <= last for d in found)
    expected = sum(1 for n in range(days + 1) if (d := first + timedelta(days=n)).day == 20 and d.month != 11)
    assert len(found) == expected


def test_contact_deadline():
    assert contact_deadline(date(2028, 11, 1), date(2028, 11, 1), -30) == date(2028, 12, 1)
    assert contact_deadline(date(2028, 10, 31), date(2028, 10, 31), -30) is None
    assert contact_deadline(date(2025, 1, 1), date(2028, 11, 20), -30) == date(2028, 12, 1)  # only the latest
    assert contact_deadline(date(2028, 11, 1), date(2028, 12, 2), -30) is None  # the deadline has passed


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", ["graduate", "co_borrower"])
def test_every_template_renders(template, language, role):
    text = render(
        Fields(template, role, date(2028, 12, 20), "150430-2024-000001", 181818), language, "示范中心", "0476-1234567"
    )
    assert "{" not in text and "0476-1234567" in text and "示范中心" in text
    if template in ("before_due", "overdue", "collection"):
        assert "1818.18" in text and "2028-12-20" in text and "150430-2024-000001" in text


def test_co_borrower_copy_reads_as_a_copy():
    fields = Fields("before_due", "co_borrower", date(2028, 12, 20), "X", 100)
    assert "共同借款人您好：您共同借款的生源地" in render(fields, "zh-CN", "中心", "")
    assert "咨询电话" not in render(fields, "zh-CN", "中心", "")


def test_migration_seeds_the_same_rules():
    from importlib import import_module

    migration = import_module("service.migrations.versions.0007_notification_outbox_and_reminder_rules")
    assert [tuple(r) for r in migration.SEED] == [tuple(r) for r in SEED]


def test_notification_settings(tmp_path):
    base = {"ZIZHU_DATA_DIR": str(tmp_path), "ZIZHU_SECRET_KEY": "k"}
    s = Settings.from_env(base)
    assert s.notify.quiet_hours == QUIET and s.notify.sms_url is None and s.notify.max_attempts == 8
    s = Settings.from_env(
        {
            **base,
            "ZIZHU_SMS_QUIET_HOURS": "off",
            "ZIZHU_SMS_URL": "http://gw/sms",
            "ZIZHU_SMS_TOKEN": "secret-token",
            "ZIZHU_CENTRE_PHONE": "0476-1234567",
        }
    )
    assert s.notify.quiet_hours is None and s.notify.sms_url == "http://gw/sms" and s.centre_phone == "0476-1234567"
    assert "secret-token" not in repr(s)
    for name, value in (
        ("ZIZHU_SMS_QUIET_HOURS", "late"),
        ("ZIZHU_SMS_QUIET_HOURS", "25:00-08:00"),
        ("ZIZHU_NOTIFY_LANGUAGE", "fr"),
        ("ZIZHU_SMS_DAILY_CAP", "0"),
    ):
        with pytest.raises(SettingsError, match=name if name != "ZIZHU_SMS_DAILY_CAP" else "at least"):
            Settings.from_env({**base, name: value})
