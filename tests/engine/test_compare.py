"""Compare (engine/compare.py): the previous period for every date_from form, compare_to, and the
shape of compared results. Worked dates use now = 2024-03-15 10:37:12 UTC like spec §1.10."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

import trendcalc as tc
from tests.spec_world import run
from trendcalc.engine.compare import compare_to_dates, previous_period_dates
from trendcalc.engine.timeaxis import resolve_range

NOW = "2024-03-15T10:37:12Z"
UTC = zoneinfo.ZoneInfo("UTC")


def _store():
    """Event "e" at 06:30Z every day from 2023-09-01 to 2024-03-20, plus "h" every hour of
    2024-03-13 .. 2024-03-15."""
    events = []
    d = dt.datetime(2023, 9, 1, 6, 30, tzinfo=UTC)
    while d < dt.datetime(2024, 3, 21, tzinfo=UTC):
        events.append({"event": "e", "distinct_id": "u", "timestamp": d.isoformat()})
        d += dt.timedelta(days=1)
    h = dt.datetime(2024, 3, 13, 0, 20, tzinfo=UTC)
    while h < dt.datetime(2024, 3, 16, tzinfo=UTC):
        events.append({"event": "h", "distinct_id": "u", "timestamp": h.isoformat()})
        h += dt.timedelta(hours=1)
    return tc.EventStore.from_records(events)


STORE = _store()


def compare(date_from, date_to=None, interval="day", event="e", **kw):
    q = {"events": [{"id": event}], "date_from": date_from, "interval": interval, "compare": True, **kw}
    if date_to is not None:
        q["date_to"] = date_to
    current, previous = tc.trends(STORE, q, now=NOW).to_dicts()
    assert (current["compare_label"], previous["compare_label"]) == ("current", "previous")
    return current, previous


def span(r):
    return r["days"][0], r["days"][-1], len(r["days"])


@pytest.mark.parametrize(
    "date_from, date_to, interval, current, previous",
    [
        # -7d by day: PostHog shifts the previous period a day later, so both overlap on 03-08
        ("-7d", None, "day", ("2024-03-08", "2024-03-15", 8), ("2024-03-01", "2024-03-08", 8)),
        ("-14d", None, "day", ("2024-03-01", "2024-03-15", 15), ("2024-02-16", "2024-03-01", 15)),
        # -1w has a `weeks` mapping: no shift, contiguous
        ("-1w", None, "day", ("2024-03-08", "2024-03-15", 8), ("2024-02-29", "2024-03-07", 8)),
        # 30 is not a multiple of 7: the 31 days ending the day before
        ("-30d", None, "day", ("2024-02-14", "2024-03-15", 31), ("2024-01-14", "2024-02-13", 31)),
        # a relative date_to cancels the shift; an absolute one does not
        ("-7d", "-1d", "day", ("2024-03-08", "2024-03-14", 7), ("2024-03-01", "2024-03-07", 7)),
        ("-7d", "2024-03-15", "day", ("2024-03-08", "2024-03-15", 8), ("2024-03-01", "2024-03-08", 8)),
        # mStart: the same length ending the day before the 1st (baseline, not the calendar month)
        ("mStart", None, "day", ("2024-03-01", "2024-03-15", 15), ("2024-02-15", "2024-02-29", 15)),
        ("2024-03-05", "2024-03-09", "day", ("2024-03-05", "2024-03-09", 5), ("2024-02-29", "2024-03-04", 5)),
        ("-30d", None, "week", ("2024-02-11", "2024-03-10", 5), ("2024-01-14", "2024-02-11", 5)),
        ("-90d", None, "month", ("2023-12-01", "2024-03-01", 4), ("2023-09-01", "2023-12-01", 4)),
        # hours: the previous range keeps the current time of day
        ("-24h", None, "hour", ("2024-03-14 10:00:00", "2024-03-15 10:00:00", 25),
         ("2024-03-13 10:00:00", "2024-03-14 10:00:00", 25)),
        ("dStart", None, "hour", ("2024-03-15 00:00:00", "2024-03-15 10:00:00", 11),
         ("2024-03-14 00:00:00", "2024-03-14 10:00:00", 11)),
    ],
)
def test_previous_period_per_date_from_form(date_from, date_to, interval, current, previous):
    cur, prev = compare(date_from, date_to, interval)
    assert span(cur) == current
    assert span(prev) == previous


def test_previous_period_values_are_counted_over_the_previous_range():
    cur, prev = compare("-7d")
    assert prev["data"] == [1] * 8 and cur["data"] == [1] * 8
    cur, prev = compare("-90d", interval="month")
    # month interval counts from the 1st of the first month, in both periods
    assert prev["data"] == [30, 31, 30, 15] and cur["data"] == [31, 31, 29, 15]
    cur, prev = compare("-24h", interval="hour", event="h")
    assert prev["data"] == [1] * 25 and prev["count"] == 25.0


def test_minute_interval_via_trends_query():
    q = {"kind": "TrendsQuery", "series": [{"event": "h"}], "interval": "minute",
         "dateRange": {"date_from": "-30M"}, "compareFilter": {"compare": True}}
    cur, prev = tc.trends(STORE, q, now=NOW).to_dicts()
    assert span(cur) == ("2024-03-15 10:07:00", "2024-03-15 10:37:00", 31)
    # F′ = F − D exactly, T′ = F: 09:36:24.000001 .. 10:07:12
    assert span(prev) == ("2024-03-15 09:36:00", "2024-03-15 10:07:00", 32)
    assert sum(cur["data"]) == 1 and sum(prev["data"]) == 0  # 09:20 and 10:20 are outside 09:36:24..10:07:12


def test_previous_period_dates_rules():
    f = dt.datetime(2024, 3, 8, tzinfo=UTC)
    t = dt.datetime(2024, 3, 15, 23, 59, 59, 999999, tzinfo=UTC)
    assert previous_period_dates(f, t, {"days": 7}, None, "day") == (
        dt.datetime(2024, 3, 1, tzinfo=UTC), dt.datetime(2024, 3, 8, 23, 59, 59, 999999, tzinfo=UTC))
    # week and month intervals never get the -7d shift
    assert previous_period_dates(f, t, {"days": 7}, None, "week")[0] == dt.datetime(2024, 2, 29, tzinfo=UTC)
    # exact (BoldNumber-like) bounds keep their times of day
    f2 = dt.datetime(2024, 3, 8, 10, 37, 12, tzinfo=UTC)
    t2 = dt.datetime(2024, 3, 15, 10, 37, 12, tzinfo=UTC)
    assert previous_period_dates(f2, t2, {"days": 7}, None, "day") == (
        dt.datetime(2024, 3, 2, 10, 37, 12, tzinfo=UTC), dt.datetime(2024, 3, 9, 10, 37, 12, tzinfo=UTC))
    # minute: F − D .. F
    f3 = dt.datetime(2024, 3, 15, 10, 7, 12, tzinfo=UTC)
    t3 = dt.datetime(2024, 3, 15, 10, 37, 59, 999999, tzinfo=UTC)
    assert previous_period_dates(f3, t3, {"minutes": 30}, None, "minute") == (
        dt.datetime(2024, 3, 15, 9, 36, 24, 1, tzinfo=UTC), f3)


def test_previous_period_is_wall_clock_across_dst():
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    r = resolve_range("-7d", None, interval="day", now=dt.datetime(2024, 4, 2, 8, tzinfo=UTC), tz=berlin)
    start, end = previous_period_dates(r.date_from, r.date_to, r.from_mapping, r.to_mapping, "day")
    assert (start.replace(tzinfo=None), end.replace(tzinfo=None)) == (
        dt.datetime(2024, 3, 19), dt.datetime(2024, 3, 26, 23, 59, 59, 999999))
    assert start.tzinfo is berlin


@pytest.mark.parametrize(
    "compare_to, human, start, end",
    [
        ("-2d", False, "2020-01-13", "2020-01-17"),
        ("-1w", False, "2020-01-08", "2020-01-12"),
        ("-1m", False, "2019-12-15", "2019-12-19"),
        ("-1m", True, "2019-12-18", "2019-12-22"),  # human-friendly periods: a month is 4 weeks
        ("-1y", False, "2019-01-15", "2019-01-19"),
        ("-1y", True, "2019-01-16", "2019-01-20"),  # 52 weeks
        ("2019-06-01", False, "2019-06-01", "2019-06-05"),  # an absolute date is used as is
    ],
)
def test_compare_to(compare_to, human, start, end):
    r = resolve_range("2020-01-15", "2020-01-19", interval="day", now=dt.datetime(2020, 2, 1, tzinfo=UTC), tz=UTC)
    s, e = compare_to_dates(r, compare_to, human_friendly=human)
    assert (s.date().isoformat(), e.date().isoformat()) == (start, end)
    assert e - s == r.date_to - r.date_from


def test_compare_to_end_to_end_and_with_breakdown():
    q = {"events": [{"id": "$pageview"}], "date_from": "2020-01-15", "date_to": "2020-01-19",
         "compare": True, "compare_to": "-3d", "breakdown": "$browser"}
    res = run(q)
    previous = [r for r in res if r["compare_label"] == "previous"]
    assert previous[0]["days"] == ["2020-01-12", "2020-01-13", "2020-01-14", "2020-01-15", "2020-01-16"]
    assert [(r["breakdown_value"], r["data"]) for r in previous] == [
        ("Chrome", [1, 1, 0, 1, 0]), ("Edge", [1, 0, 0, 0, 0]), ("Firefox", [1, 0, 0, 0, 0]),
        ("Safari", [0, 0, 0, 1, 0])]
    # compare_to without compare changes nothing
    assert len(run({**q, "compare": False})) == 2


def test_breakdown_is_ranked_per_period():
    q = {"events": [{"id": "$pageview"}], "date_from": "2020-01-15", "date_to": "2020-01-19",
         "compare": True, "breakdown": "$browser", "breakdown_limit": 2}
    res = run(q)
    assert [(r["compare_label"], r["breakdown_value"], r["count"]) for r in res] == [
        ("current", "Chrome", 3.0), ("current", "Safari", 1.0),
        ("previous", "Chrome", 3.0), ("previous", "Edge", 1.0),
        ("previous", "$$_posthog_breakdown_other_$$", 1.0),
    ]


def test_order_labels_action_days_and_filter_of_compared_series():
    q = {"events": [{"id": "$pageview"}, {"id": "$pageleave"}], "date_from": "2020-01-15",
         "date_to": "2020-01-19", "compare": True}
    res = run(q)
    assert [(r["label"], r["compare_label"], r["order"]) for r in res] == [
        ("$pageview", "current", 0), ("$pageleave", "current", 1),
        ("$pageview", "previous", 0), ("$pageleave", "previous", 1)]
    prev = res[2]
    assert prev["labels"][0] == "10-Jan-2020" and prev["compare"] is True
    # action.days and the filter dates are always the current period's
    assert prev["action"]["days"][0].startswith("2020-01-15") and len(prev["action"]["days"]) == 5
    assert prev["filter"]["date_from"].startswith("2020-01-15")


def test_week_labels_of_the_previous_period_clamp_to_the_current_range():
    cur, prev = compare("-30d", interval="week")
    assert cur["labels"] == ["14–17 Feb", "18–24 Feb", "25-Feb – 2-Mar", "3–9 Mar", "10–15 Mar"]
    # PostHog formats previous buckets with the *current* range: weeks before it collapse
    assert prev["labels"] == ["14-Feb-2024"] * 4 + ["14–17 Feb"]


def test_total_value_display_compare():
    q = {"events": [{"id": "e"}], "date_from": "-7d", "compare": True, "display": "ActionsTable"}
    cur, prev = tc.trends(STORE, q, now=NOW).to_dicts()
    assert (cur["aggregated_value"], prev["aggregated_value"]) == (8, 8)
    assert prev["compare_label"] == "previous" and prev["data"] == [] and "labels" not in prev


def test_bold_number_previous_period_is_exact():
    q = {"events": [{"id": "h"}], "date_from": "-1d", "compare": True, "display": "BoldNumber"}
    cur, prev = tc.trends(STORE, q, now=NOW).to_dicts()
    # current: 03-14 10:37:12 .. now; previous: 03-13 10:37:12 .. 03-14 10:37:12 (no -7d shift)
    assert cur["aggregated_value"] == 24 and prev["aggregated_value"] == 24


def test_all_time_compare_uses_the_earliest_event():
    cur, prev = compare("all", interval="month")
    assert cur["days"][0] == "2023-09-01"
    # F = 2023-09-01 06:30 (the first event, not truncated), T = 2024-03-15 23:59:59.999999:
    # F′ = 2023-02-16 06:30, T′ = F′ + (T − F) = 2023-08-31 23:59:59.999999 (no "-7d" shift)
    assert prev["days"][0] == "2023-02-01" and prev["days"][-1] == "2023-08-01"
    assert prev["data"] == [0] * 7


def test_year_range_is_validated():
    with pytest.raises(tc.ValidationError) as exc:
        tc.trends(STORE, {"events": [{"id": "e"}], "date_from": "1901-01-01", "interval": "month",
                          "compare": True, "compare_to": "-5y"}, now=NOW)
    assert exc.value.path == ("compare_to",) and "1896" in exc.value.message


def test_previous_period_length_uses_the_wall_clock_date_to_across_a_dst_gap():
    # found by tests/property: at 03:00 CEST on the spring-forward day, "-1h" by hour ends at the
    # skipped wall time 02:59:59.999999; PostHog subtracts wall clocks, so the previous period is
    # 171 hours like the current one (the engine used to read 03:59:59 and give 172).
    store = tc.EventStore.from_records([])
    q = {"events": [{"id": "a"}], "interval": "hour", "date_from": "-7d", "date_to": "-1h", "compare": True}
    res = tc.trends(store, q, project=tc.Project(timezone="Europe/Berlin"), now="2016-03-27T01:00:00Z").to_dicts()
    assert [len(r["days"]) for r in res] == [171, 171]
    assert res[1]["days"][-1] == "2016-03-19 02:00:00"
