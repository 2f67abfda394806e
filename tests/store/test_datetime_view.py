"""The datetime view of a property dictionary (parseDateTime64BestEffortOrNull, keyed by zone)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from trendcalc.datetimes import NULL_TIME, datetime_text, parse_best_effort
from trendcalc.store.columns import ValueDictionary

UTC = dt.timezone.utc


def us(*args, tz=UTC):
    d = dt.datetime(*args, tzinfo=tz)
    return int((d - dt.datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1_000_000)


def test_formats():
    assert parse_best_effort("2020-01-02", UTC) == us(2020, 1, 2)
    assert parse_best_effort("2020-01-02 03:04:05.5", UTC) == us(2020, 1, 2, 3, 4, 5, 500000)
    assert parse_best_effort("2020-01-02T03:04:05Z", UTC) == us(2020, 1, 2, 3, 4, 5)
    assert parse_best_effort("2020-01-02T03:04:05+02:00", UTC) == us(2020, 1, 2, 1, 4, 5)
    assert parse_best_effort("2020/01/02", UTC) == us(2020, 1, 2)
    assert parse_best_effort("20200102", UTC) == us(2020, 1, 2)
    assert parse_best_effort("1577836800", UTC) == us(2020, 1, 1)
    assert parse_best_effort("1577836800.25", UTC) == us(2020, 1, 1) + 250000
    assert parse_best_effort("Thu, 02 Jan 2020 03:04:05 GMT", UTC) == us(2020, 1, 2, 3, 4, 5)
    for bad in ("", "nope", "2020-13-01", "12", "1850-01-01", "true"):
        assert parse_best_effort(bad, UTC) is None


def test_view_is_keyed_by_timezone():
    d = ValueDictionary(["2020-01-01 10:00:00", "2020-01-01T10:00:00Z", True, 5])
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert d.datetimes(UTC).tolist() == [us(2020, 1, 1, 10), us(2020, 1, 1, 10), NULL_TIME, NULL_TIME, NULL_TIME]
    assert d.datetimes(berlin).tolist()[:2] == [us(2020, 1, 1, 9), us(2020, 1, 1, 10)]
    assert d.datetimes(UTC) is d.datetimes(UTC)


def test_datetime_text_is_clickhouse_datetime64_6():
    assert datetime_text(us(2020, 1, 1, 10), zoneinfo.ZoneInfo("Europe/Berlin")) == "2020-01-01 11:00:00.000000"
