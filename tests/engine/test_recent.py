"""The memo of recent per-query work (trendcalc.recent): parsed filters, resolved date ranges,
time axes and frozen clocks are reused only when that cannot change an answer."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import OrderedDict

import pytest

import trendcalc as tc
from trendcalc.engine import timeaxis, trends
from trendcalc.engine.timeaxis import resolve_range
from trendcalc.query import parse
from trendcalc.recent import Recent

UTC = dt.timezone.utc
Q = {"events": [{"id": "$pageview", "type": "events"}], "date_from": "-7d", "interval": "day"}


def _store() -> tc.EventStore:
    base = dt.datetime(2024, 1, 1, tzinfo=UTC)
    return tc.EventStore.from_records(
        [{"event": "$pageview", "distinct_id": f"u{i % 5}", "timestamp": base + dt.timedelta(hours=7 * i),
          "properties": {"$browser": "Chrome" if i % 3 else "Safari"}} for i in range(200)])


def _clear() -> None:
    for memo in (parse._PARSED, timeaxis._RANGES, timeaxis._AXES, trends._CLOCKS):
        memo.clear()


def test_recent_is_bounded_and_keeps_no_failed_build() -> None:
    memo: Recent[int] = Recent(3)
    for k in range(5):
        assert memo.get(k, lambda k=k: k * 10) == k * 10
    assert len(memo) == 3
    assert memo.find(0) is None and memo.find(1) is None  # the oldest went first
    assert memo.find(4) == 40
    with pytest.raises(ZeroDivisionError):
        memo.get("bad", lambda: 1 // 0)
    assert memo.find("bad") is None
    assert memo.get(4, lambda: -1) == 40  # a stored value is not rebuilt


def test_the_same_plain_filter_parses_once() -> None:
    _clear()
    first = tc.parse_filter(dict(Q))
    again = tc.parse_filter({"events": [{"id": "$pageview", "type": "events"}], "date_from": "-7d", "interval": "day"})
    assert again is first
    other = tc.parse_filter({**Q, "date_from": "-14d"})
    assert other is not first and other.date_from == "-14d"


@pytest.mark.parametrize("variant", [
    {**Q, "interval": "week"},
    {**Q, "filter_test_accounts": True},
    {**Q, "events": [{"id": "$pageview", "type": "events", "math": "dau"}]},
])
def test_a_changed_value_is_a_different_key(variant: dict) -> None:
    _clear()
    base = tc.parse_filter(Q)
    assert tc.parse_filter(variant) != base
    assert tc.parse_filter(variant) == parse._parse(variant, tc.Limits())


def test_a_mutated_dict_is_parsed_again() -> None:
    _clear()
    q = {**Q, "events": [{"id": "$pageview", "type": "events"}]}
    first = tc.parse_filter(q)
    q["events"][0]["id"] = "$pageleave"  # the same dict object, now another query
    assert tc.parse_filter(q).series[0].id == "$pageleave"
    assert first.series[0].id == "$pageview"


def test_non_plain_json_is_keyed_by_its_checked_copy() -> None:
    _clear()
    ordered = OrderedDict(Q)  # a dict subclass: not marshal-able; its checked copy (plain JSON) is the key
    a, b = tc.parse_filter(ordered), tc.parse_filter(ordered)
    assert a is b and a == tc.parse_filter(dict(Q))
    dated = {**Q, "date_from": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}  # a datetime: no key at all
    assert tc.parse_filter(dated) is not tc.parse_filter(dated)


def test_equal_filters_built_apart_share_one_parse() -> None:
    """The fast key (marshal version 4) depends on how the dict was built; the checked copy's
    version 2 bytes do not, so an equal filter is parsed once however it was made."""
    _clear()
    shared_leaf = {"key": "$browser", "value": "Chrome"}
    built = {**Q, "properties": [shared_leaf, shared_leaf]}
    literal = {**Q, "properties": [{"key": "$browser", "value": "Chrome"}, {"key": "$browser", "value": "Chrome"}]}
    assert tc.parse_filter(built) is tc.parse_filter(literal)


def test_an_invalid_filter_fails_every_time() -> None:
    _clear()
    bad = {**Q, "interval": "fortnight"}
    for _ in range(2):
        with pytest.raises(tc.ValidationError) as info:
            tc.parse_filter(bad)
        assert info.value.path == ("interval",)


def test_mutable_echoed_fields_are_not_shared_between_results() -> None:
    _clear()
    store = _store()
    q = {**Q, "hidden_legend_keys": {"0": True}}
    first = tc.trends(store, q, now="2024-01-20")
    first.series[0].filter["hidden_legend_keys"]["1"] = True  # a caller editing its result
    second = tc.trends(store, q, now="2024-01-20")
    assert second.series[0].filter["hidden_legend_keys"] == {"0": True}


def test_resolved_ranges_are_keyed_by_every_input() -> None:
    _clear()
    now = dt.datetime(2024, 3, 10, 12, tzinfo=UTC)
    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    r = resolve_range("-7d", None, interval="day", now=now, tz=UTC)
    assert resolve_range("-7d", None, interval="day", now=now, tz=UTC) is r
    assert r.date_from == dt.datetime(2024, 3, 3, tzinfo=UTC)
    later = resolve_range("-7d", None, interval="day", now=now + dt.timedelta(days=1), tz=UTC)
    assert later.date_from == dt.datetime(2024, 3, 4, tzinfo=UTC)
    local = resolve_range("-7d", None, interval="day", now=now, tz=la)
    assert local.date_from == dt.datetime(2024, 3, 3, tzinfo=la) and local.tz is la
    hourly = resolve_range("-7d", None, interval="hour", now=now, tz=UTC)
    assert hourly.date_to == dt.datetime(2024, 3, 10, 12, 59, 59, 999999, tzinfo=UTC)
    assert r.date_to == dt.datetime(2024, 3, 10, 23, 59, 59, 999999, tzinfo=UTC)
    # the same instant written in another zone resolves the same (only the instant matters)
    same_instant = resolve_range("-7d", None, interval="day", now=now.astimezone(la), tz=UTC)
    assert (same_instant.date_from, same_instant.date_to) == (r.date_from, r.date_to)


def test_warm_answers_equal_cold_answers() -> None:
    store = _store()
    queries = [
        Q,
        {**Q, "breakdown": "$browser", "breakdown_type": "event"},
        {**Q, "interval": "hour", "date_from": "-2d"},
        {**Q, "compare": True},
        {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview", "math": "dau"}],
         "dateRange": {"date_from": "-14d"}, "interval": "week"},
    ]
    for now in ("2024-01-20", "2024-01-21T05:00:00Z"):
        for project in (tc.Project(), tc.Project(timezone="Asia/Kolkata")):
            for q in queries:
                warm = tc.trends(store, q, project=project, now=now).to_dicts()
                assert tc.trends(store, q, project=project, now=now).to_dicts() == warm
                _clear()
                assert tc.trends(store, q, project=project, now=now).to_dicts() == warm


def test_recent_keeps_at_most_max_weight() -> None:
    memo: Recent[list[int]] = Recent(10, max_weight=100, weight=len)
    for i in range(10):
        memo.get(i, lambda i=i: [i] * 30)
    assert sorted(k for k in range(10) if memo.find(k) is not None) == [7, 8, 9]  # 3 × 30 <= 100
    assert memo.get("big", lambda: [0] * 101) == [0] * 101 and memo.find("big") is None  # returned, not kept
    memo.put(9, [9] * 100)  # a key stored again replaces its weight
    assert [k for k in range(10) if memo.find(k) is not None] == [9]
    with pytest.raises(ValueError):
        Recent(10, max_weight=100)


def test_long_hourly_axes_are_not_all_kept() -> None:
    """256 recent axes of ~49,000 hours each held ~4.6 GB (found by the long fuzz profile, which
    ran out of memory): the axes memo keeps at most 250,000 buckets in all."""
    timeaxis._AXES.clear()
    store = tc.EventStore.from_records([{"event": "a", "distinct_id": "u", "timestamp": "2020-01-01T00:00:00Z"}])
    for i in range(12):
        q = {"events": [{"id": "a"}], "interval": "hour", "date_from": f"-{2000 + i}d", "date_to": "2020-01-01"}
        tc.trends(store, q, now="2020-01-02").to_dicts()
    assert 0 < timeaxis._AXES._total <= 250_000 and len(timeaxis._AXES) < 12
