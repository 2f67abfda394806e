import datetime as dt
import zoneinfo

import pytest

import trendcalc as tc
from trendcalc.engine.timeaxis import build_axis, resolve_range

UTC = zoneinfo.ZoneInfo("UTC")
NOW = dt.datetime(2024, 3, 15, 10, 37, 12, tzinfo=dt.timezone.utc)


def axis(date_from, date_to=None, interval="day", tz="UTC", now=NOW, week_start_day=0, **kw):
    r = resolve_range(date_from, date_to, interval=interval, now=now, tz=zoneinfo.ZoneInfo(tz), **kw)
    return build_axis(r, week_start_day, max_buckets=100_000)


# spec §1.10 worked examples (now = 2024-03-15 10:37:12 UTC)
@pytest.mark.parametrize(
    "date_from, date_to, interval, first_day, last_day, n",
    [
        ("-7d", None, "day", "2024-03-08", "2024-03-15", 8),
        ("-24h", None, "hour", "2024-03-14 10:00:00", "2024-03-15 10:00:00", 25),
        ("-24h", None, "day", "2024-03-14", "2024-03-15", 2),
        ("-30d", None, "week", "2024-02-11", "2024-03-10", 5),
        ("-90d", None, "month", "2023-12-01", "2024-03-01", 4),
        ("mStart", None, "day", "2024-03-01", "2024-03-15", 15),
        ("-1mStart", "-1mEnd", "day", "2024-02-01", "2024-02-29", 29),
        ("2024-03-01", "2024-03-10", "hour", "2024-03-01 00:00:00", "2024-03-10 00:00:00", 217),
        ("dStart", None, "hour", "2024-03-15 00:00:00", "2024-03-15 10:00:00", 11),
        ("-30M", None, "hour", "2024-03-15 00:00:00", "2024-03-15 10:00:00", 11),
        ("-30M", None, "minute", "2024-03-15 10:07:00", "2024-03-15 10:37:00", 31),
    ],
)
def test_worked_examples(date_from, date_to, interval, first_day, last_day, n):
    a = axis(date_from, date_to, interval)
    days = a.days()
    assert (days[0], days[-1], len(days)) == (first_day, last_day, n)


def test_lower_bounds():
    us = 1_000_000
    # -90d by month counts from the first of the month
    assert axis("-90d", interval="month").lo_us == int(dt.datetime(2023, 12, 1, tzinfo=UTC).timestamp()) * us
    # -24h by day counts from the exact hour
    assert axis("-24h").lo_us == int(dt.datetime(2024, 3, 14, 10, tzinfo=UTC).timestamp()) * us
    # week interval: start of date_from's day, not of its week
    assert axis("-30d", interval="week").lo_us == int(dt.datetime(2024, 2, 14, tzinfo=UTC).timestamp()) * us
    # upper bound: <= 23:59:59 (the final sub-second is excluded)
    end = int(dt.datetime(2024, 3, 15, 23, 59, 59, tzinfo=UTC).timestamp()) * us
    assert axis("-7d").hi_us == end + 1


def test_absolute_hour_date_to_is_not_extended():
    a = axis("2020-01-09", "2020-01-09", "hour")
    assert a.labels() == ["9-Jan 00:00"]


def test_labels_formats():
    assert axis("2020-01-09", "2020-01-20").labels()[0] == "9-Jan-2020"
    assert axis("2022-11-01", "2022-12-31", "month").labels() == ["Nov 2022", "Dec 2022"]
    week = axis("2020-01-09", "2020-01-20", "week")
    assert week.days() == ["2020-01-05", "2020-01-12", "2020-01-19"]
    assert week.labels() == ["9–11 Jan", "12–18 Jan", "19–20 Jan"]
    assert axis("2024-12-25", "2025-01-10", "week").labels()[1] == "29-Dec-2024 – 4-Jan-2025"
    assert axis("2025-04-28", "2025-05-10", "week", week_start_day=1).labels()[0] == "28-Apr – 4-May"
    assert axis("2025-06-10", "2025-06-12", "week").labels() == ["10–12 Jun"]


def test_monday_weeks():
    assert axis("2025-06-11", "2025-06-11", "week", week_start_day=1).days() == ["2025-06-09"]


def test_dst_day_buckets_are_local_midnights():
    a = axis("2024-03-30", "2024-04-01", tz="Europe/Berlin")
    hours = [(int(a.edges_us[i + 1]) - int(a.edges_us[i])) // 3_600_000_000 for i in range(3)]
    assert hours == [24, 23, 24]


def test_dst_fall_back_hour_buckets_repeat_local_hour():
    a = axis("2024-10-27T00:00", "2024-10-27T04:00", "hour", tz="Europe/Berlin", explicit=True)
    assert a.labels() == ["27-Oct 00:00", "27-Oct 01:00", "27-Oct 02:00", "27-Oct 02:00", "27-Oct 03:00", "27-Oct 04:00"]


def test_relative_grammar_quirks():
    # sign is ignored and uppercase kinds mean "now"
    assert axis("7d").days()[0] == "2024-03-08"
    assert axis("-7D").days() == ["2024-03-15"]
    assert axis("yStart", interval="month").days()[0] == "2024-01-01"
    # date_from > date_to gives no buckets
    assert axis("2024-03-10", "2024-03-01").n_buckets == 0


def test_bucket_cap_raises():
    r = resolve_range("-365d", None, interval="hour", now=NOW, tz=UTC)
    with pytest.raises(tc.ValidationError) as exc:
        build_axis(r, 0, max_buckets=1000)
    assert "max_buckets" in exc.value.message


def test_bold_number_exact_range():
    r = resolve_range("-7d", None, interval="day", now=NOW, tz=UTC, exact=True)
    assert r.date_from == NOW - dt.timedelta(days=7)
    assert r.date_to == NOW


def test_relative_token_kinds_are_posthogs_only():
    # found by tests/property: a letter that is not a PostHog kind ("x") is skipped, so
    # "x-3d" means 3 days ago (PostHog's pattern is [hdwmqysHDWMQY]); it used to mean now.
    assert axis("x-3d").days()[0] == "2024-03-12"
    assert axis("abc").days() == ["2024-03-15"]  # no token at all: now


ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu"]


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("text", ["-30d", "-24h", "-1w", "-90M", "-3600s", "-7d", "-2w", "-0d", "-1h"])
def test_plain_deltas_step_as_relativedelta_does(tz: str, text: str) -> None:
    """A relative date of weeks, days, hours, minutes or seconds steps back on the wall clock by
    a ``timedelta`` (remembered per text) exactly as ``relativedelta`` does, across DST changes;
    and the mapping handed back is the caller's own copy."""
    from dateutil.relativedelta import relativedelta

    from trendcalc.engine.timeaxis import parse_relative

    zone = zoneinfo.ZoneInfo(tz)
    start = dt.datetime(2024, 1, 1, 0, 30, tzinfo=dt.timezone.utc)
    for hours in range(0, 24 * 366, 37):  # through both of each zone's DST changes in 2024
        now = (start + dt.timedelta(hours=hours)).astimezone(zone)
        value, mapping = parse_relative(text, now)
        want = now - relativedelta(**mapping)
        assert (value, value.tzinfo, value.utcoffset()) == (want, want.tzinfo, want.utcoffset())
        mapping["days"] = 999  # the caller's copy
    assert parse_relative(text, start)[1].get("days") != 999


def test_absolute_dates_are_remembered_per_zone() -> None:
    from trendcalc.engine.timeaxis import parse_absolute

    a = parse_absolute("2024-03-10T02:30:00", zoneinfo.ZoneInfo("America/New_York"))
    b = parse_absolute("2024-03-10T02:30:00", zoneinfo.ZoneInfo("Europe/London"))
    assert a is not None and b is not None and a.tzinfo != b.tzinfo and a != b
    assert parse_absolute("-30d", UTC) is None and parse_absolute("-30d", UTC) is None
