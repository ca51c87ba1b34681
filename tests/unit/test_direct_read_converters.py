"""DirectRead's fast SQLite converters give exactly what SQLAlchemy's own result processors give."""

from __future__ import annotations

from datetime import date, datetime, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import JSON, Date
from sqlalchemy.dialects import sqlite

from service.db import UtcDateTime
from service.direct_read import _fast_sqlite_converter

DIALECT = sqlite.dialect()


def _both(type_):  # (fast, SQLAlchemy's) for one column type on SQLite
    fast = _fast_sqlite_converter(type_)
    slow = type_.dialect_impl(DIALECT).result_processor(DIALECT, None)
    assert fast is not None
    return fast, slow


def _stored(type_, value):  # what SQLAlchemy writes into SQLite for a value
    bind = type_.dialect_impl(DIALECT).bind_processor(DIALECT)
    return bind(value) if bind else value


@given(st.dates(min_value=date(1900, 1, 1)))
def test_dates(value: date) -> None:
    fast, slow = _both(Date())
    stored = _stored(Date(), value)
    assert fast(stored) == slow(stored) == value


@given(st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(timezone.utc)))
def test_utc_datetimes(value: datetime) -> None:
    fast, slow = _both(UtcDateTime())
    stored = _stored(UtcDateTime(), value)
    assert fast(stored) == slow(stored) == value
    assert fast(stored).tzinfo is not None


@given(st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=10))
def test_json(value: object) -> None:
    fast, slow = _both(JSON())
    stored = _stored(JSON(), value)
    assert fast(stored) == slow(stored)


def test_none_stays_none() -> None:
    for type_ in (Date(), UtcDateTime(), JSON()):
        assert _fast_sqlite_converter(type_)(None) is None
