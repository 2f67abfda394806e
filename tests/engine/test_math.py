"""Every math type over the spec §12 fixture (hand-computed answers, most from upstream tests)."""

from __future__ import annotations

import pytest

import trendcalc as tc

from .fixture import pageviews, run

TOTAL = [1, 0, 1, 3, 1, 0, 2, 0, 1, 0, 1, 0]


def data(query: dict, **kw) -> list:
    return run(query, **kw)[0]["data"]


def aggregated(query: dict, **kw):
    return run({**query, "display": "ActionsTable"}, **kw)[0]["aggregated_value"]


def test_total_and_dau_per_day():
    assert data(pageviews()) == TOTAL
    assert data(pageviews(math="dau")) == TOTAL


def test_unique_session_sessionless_events_share_one_session():
    # 01-12 has three events of three persons, none with a $session_id: one '' session
    assert data(pageviews(math="unique_session")) == [1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0]


def test_unique_session_counts_distinct_session_ids():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T01:00:00Z", "properties": {"$session_id": "s1"}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T02:00:00Z", "properties": {"$session_id": "s1"}},
        {"event": "e", "distinct_id": "b", "timestamp": "2020-01-10T03:00:00Z", "properties": {"$session_id": "s2"}},
        {"event": "e", "distinct_id": "b", "timestamp": "2020-01-10T04:00:00Z"},
        {"event": "e", "distinct_id": "c", "timestamp": "2020-01-10T05:00:00Z", "properties": {"$session_id": ""}},
    ]
    world = tc.EventStore.from_records(events)
    assert data({"events": [{"id": "e", "math": "unique_session"}]}, world=world)[1] == 3  # s1, s2, ''


def test_weekly_and_monthly_active_daily():
    assert data(pageviews(math="weekly_active")) == [1, 1, 2, 3, 3, 3, 4, 4, 4, 4, 2, 2]
    assert data(pageviews(math="monthly_active")) == [1, 1, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4]


def test_weekly_active_looks_back_before_date_from():
    # From 01-16, p2 and p3 (last seen 01-12) are still in the 7-day windows of 01-16..01-18
    assert data({**pageviews(math="weekly_active"), "date_from": "2020-01-16"}) == [4, 4, 4, 2, 2]


def test_weekly_active_converted_to_dau_at_week_interval():
    out = run({**pageviews(math="weekly_active"), "interval": "week"})[0]
    assert out["data"] == [2, 4, 1]
    assert out["days"] == ["2020-01-05", "2020-01-12", "2020-01-19"]
    assert out["action"]["math"] == "dau"


def test_monthly_active_converted_to_dau_at_month_interval():
    q = {**pageviews(math="monthly_active"), "interval": "month", "date_from": "2019-12-01", "date_to": "2020-02-29"}
    assert data(q) == [0, 4, 0]


def test_weekly_active_hourly_window_includes_bucket_hour():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-03T11:00:00Z"},
        {"event": "e", "distinct_id": "b", "timestamp": "2020-01-09T12:30:00Z"},
    ]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e", "math": "weekly_active"}], "interval": "hour",
         "date_from": "2020-01-10T10:00:00", "date_to": "2020-01-10T12:00:00"}
    # 'a' at 01-03 11:00 is inside (B - 168h, B] for B = 01-10 10:00 only; 'b' stays in
    assert data(q, world=world) == [2, 1, 1]


def test_weekly_active_total_value_is_the_seven_days_to_date_to():
    # Total value: distinct actors of the 7 days ending at date_to (p1, p4 on 01-14..01-20)
    assert aggregated(pageviews(math="weekly_active")) == 2
    assert aggregated(pageviews(math="monthly_active")) == 4


def test_property_maths():
    assert data(pageviews(math="sum", math_property="prop")) == [20, 0, 10, 60, 10, 0, 50, 0, 10, 0, 10, 0]
    assert data(pageviews(math="avg", math_property="prop")) == [20, 0, 10, 20, 10, 0, 25, 0, 10, 0, 10, 0]
    assert data(pageviews(math="min", math_property="prop"))[3] == 10
    assert data(pageviews(math="max", math_property="prop"))[3] == 30
    assert data(pageviews(math="median", math_property="prop"))[6] == 25  # (10 + 40) / 2


def test_quantiles_interpolate_linearly_over_the_whole_range():
    # values 10 x6, 20 x2, 30, 40: sorted; p90 index 0.9*9 = 8.1 → 30*0.9 + 40*0.1
    assert aggregated(pageviews(math="p90", math_property="prop")) == pytest.approx(31.0)
    assert aggregated(pageviews(math="median", math_property="prop")) == 10.0
    assert aggregated(pageviews(math="avg", math_property="prop")) == pytest.approx(170 / 10)


def test_non_numeric_values_are_ignored_and_null_becomes_zero():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T01:00:00Z", "properties": {"v": "garbage"}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T02:00:00Z", "properties": {"v": 1.5}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T03:00:00Z", "properties": {"v": "2.5"}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-11T03:00:00Z", "properties": {"v": True}},
    ]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e", "math": "avg", "math_property": "v"}], "date_from": "2020-01-10", "date_to": "2020-01-11"}
    assert data(q, world=world) == [2.0, 0]


def test_count_per_actor():
    assert data(pageviews(math="max_count_per_actor")) == [1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0]
    # whole range: p1 6, p2 2, p3 1, p4 1
    assert aggregated(pageviews(math="avg_count_per_actor")) == 2.5
    assert aggregated(pageviews(math="median_count_per_actor")) == 1.5
    assert aggregated(pageviews(math="max_count_per_actor")) == 6


def test_count_per_actor_starts_at_raw_date_from():
    # month interval: `total` counts from 01-01, per-actor maths from date_from 01-12 itself
    q = {"interval": "month", "date_from": "2020-01-12", "date_to": "2020-01-20"}
    assert data({**q, **pageviews()}) == [10]
    assert data({**q, **pageviews(math="max_count_per_actor")}) == [5]


def test_first_time_for_user():
    out = run(pageviews(math="first_time_for_user"))[0]
    assert out["data"] == [1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    assert out["count"] == 4
    # p2's first event (01-09) is before date_from: not counted
    assert data({**pageviews(math="first_time_for_user"), "date_from": "2020-01-10"}) == [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    assert aggregated(pageviews(math="first_time_for_user")) == 4


def test_first_time_excludes_persons_whose_first_event_fails_the_filters():
    q = pageviews(math="first_time_for_user", properties=[{"key": "prop", "value": 25, "operator": "gt", "type": "event"}])
    assert data(q) == [0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0]


def test_first_matching_event_counts_the_first_event_passing_filters():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-09T01:00:00Z", "properties": {"ok": 0}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T01:00:00Z", "properties": {"ok": 1}},
    ]
    world = tc.EventStore.from_records(events)
    # an untyped property compares as text: "1" matches the stored number 1
    props = [{"key": "ok", "value": "1", "operator": "exact", "type": "event"}]
    base = {"date_from": "2020-01-09", "date_to": "2020-01-11"}
    first = {"events": [{"id": "e", "math": "first_time_for_user", "properties": props}], **base}
    matching = {"events": [{"id": "e", "math": "first_matching_event_for_user", "properties": props}], **base}
    assert data(first, world=world) == [0, 0, 0]
    assert data(matching, world=world) == [0, 1, 0]


def test_unique_group_counts_group_keys_and_skips_empty_ones():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T01:00:00Z", "properties": {"$group_0": "org1"}},
        {"event": "e", "distinct_id": "b", "timestamp": "2020-01-10T02:00:00Z", "properties": {"$group_0": "org1"}},
        {"event": "e", "distinct_id": "c", "timestamp": "2020-01-10T03:00:00Z", "properties": {"$group_0": "org2"}},
        {"event": "e", "distinct_id": "d", "timestamp": "2020-01-10T04:00:00Z", "properties": {"$group_0": ""}},
        {"event": "e", "distinct_id": "d", "timestamp": "2020-01-11T04:00:00Z"},
    ]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e", "math": "unique_group", "math_group_type_index": 0}], "date_from": "2020-01-10", "date_to": "2020-01-11"}
    assert data(q, world=world) == [2, 0]


def test_session_duration_collapses_to_one_value_per_session():
    s1, s2 = "016f5e66-e800-7001-8000-000000000000", "016f5e66-e800-7002-8000-000000000000"
    events = [
        {"event": "before", "distinct_id": "a", "timestamp": "2020-01-10T00:00:00Z", "properties": {"$session_id": s1}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T00:00:04Z", "properties": {"$session_id": s1}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T00:00:05Z", "properties": {"$session_id": s1}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T00:00:06Z", "properties": {"$session_id": s2}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T00:00:36Z", "properties": {"$session_id": s2}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T00:01:00Z"},
    ]
    world = tc.EventStore.from_records(events)
    base = {"date_from": "2020-01-10", "date_to": "2020-01-10"}
    # sessions: s1 5 s (from the 'before' event), s2 30 s, the session-less '' session 0 s
    assert data({"events": [{"id": "e", "math": "sum", "math_property": "$session_duration"}], **base}, world=world) == [35]
    assert data({"events": [{"id": "e", "math": "median", "math_property": "$session_duration"}], **base}, world=world) == [5]


@pytest.mark.parametrize("math", ["total", "dau", "sum", "avg", "max_count_per_actor", "first_time_for_user"])
def test_every_math_gives_zeros_without_events(math):
    q = {"events": [{"id": "nothing", "math": math, "math_property": "prop"}]}
    assert data(q) == [0] * 12


def test_all_known_maths_are_registered():
    from trendcalc.engine.math import EXPRESSION_MATHS, MATHS
    from trendcalc.query.maths import KNOWN_MATHS

    assert set(KNOWN_MATHS) == set(MATHS) | set(EXPRESSION_MATHS)
    assert set(EXPRESSION_MATHS) == {"hogql"}
    s = tc.parse_filter({"events": [{"id": "e", "math": "hogql", "math_hogql": "count()"}]}).series[0]
    assert s.math_hogql == "count()" and s.math_expr is not None


def test_time_math_property_reads_unix_seconds():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T01:00:00Z", "properties": {"$time": 1578618000.7}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T02:00:00Z", "properties": {"$time": "2020-01-10T02:00:00Z"}},
    ]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e", "math": "max", "math_property": "$time"}], "date_from": "2020-01-10", "date_to": "2020-01-10"}
    assert data(q, world=world) == [1578621600]


@pytest.mark.parametrize("seed", range(3))
def test_weekly_active_matches_a_row_at_a_time_reference_across_dst(seed):
    import datetime as dt
    import random
    import zoneinfo

    rng = random.Random(seed)
    tz = zoneinfo.ZoneInfo("Europe/Berlin")
    start = dt.datetime(2024, 3, 20, tzinfo=dt.timezone.utc)
    events = [
        {"event": "e", "distinct_id": f"u{rng.randrange(8)}",
         "timestamp": (start + dt.timedelta(minutes=rng.randrange(20 * 24 * 60))).isoformat()}
        for _ in range(150)
    ]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e", "math": "weekly_active"}], "date_from": "2024-03-28", "date_to": "2024-04-06"}
    got = run(q, world=world, project={"timezone": "Europe/Berlin"})[0]["data"]
    days = [dt.date(2024, 3, 28) + dt.timedelta(days=i) for i in range(10)]
    local = [(e["distinct_id"], dt.datetime.fromisoformat(e["timestamp"]).astimezone(tz).date()) for e in events]
    expected = [len({d for d, day in local if b - dt.timedelta(days=6) <= day <= b}) for b in days]
    assert got == expected


def test_property_math_over_a_person_property():
    """math_property_type person_properties: each event reads its person's property (a
    distinct_id without a person row reads NULL, which the aggregate skips)."""
    events = [{"event": "buy", "distinct_id": f"u{i % 4}", "timestamp": f"2024-03-0{1 + i % 3}T10:00:00Z"} for i in range(12)]
    persons = [{"distinct_ids": [f"u{k}"], "properties": {"age": 10 * (k + 1)}} for k in range(3)]
    store = tc.EventStore.from_records(events, persons=persons)

    def data(math):
        q = {"events": [{"id": "buy", "math": math, "math_property": "age", "math_property_type": "person_properties"}],
             "date_from": "2024-03-01", "date_to": "2024-03-03"}
        return tc.trends(store, q, now="2024-03-04").to_dicts()[0]["data"]

    # day 1: events of u0, u3, u2, u1 → ages 10, NULL, 30, 20 (every day holds one event of each)
    assert data("sum") == [60, 60, 60]
    assert data("avg") == [20, 20, 20]
    assert data("max") == [30, 30, 30]
    assert data("median") == [20, 20, 20]
    assert data("p90") == [28, 28, 28]  # ClickHouse's interpolated quantile of 10, 20, 30
    # the same name as an event property reads nothing: no event carries "age"
    q = {"events": [{"id": "buy", "math": "sum", "math_property": "age"}], "date_from": "2024-03-01", "date_to": "2024-03-03"}
    assert tc.trends(store, q, now="2024-03-04").to_dicts()[0]["data"] == [0, 0, 0]


def test_a_math_property_type_not_computed_is_unsupported_with_its_path():
    """group_properties is computed (tests/engine/test_group_property_math.py); session and data
    warehouse properties are not yet."""
    for mpt in ("session_properties", "data_warehouse_properties", "data_warehouse_person_properties"):
        q = {"events": [{"id": "buy", "math": "sum", "math_property": "seats", "math_property_type": mpt}]}
        with pytest.raises(tc.UnsupportedError) as e:
            tc.parse_filter(q)
        assert e.value.path == ("events", 0, "math_property_type")


def test_first_matching_event_breaks_down_by_the_first_matching_event():
    """The breakdown value of first_matching_event_for_user comes from the counted (first
    matching) event, not from the person's first event overall (which first_time_for_user uses)."""
    events = [
        {"event": "pay", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z", "properties": {"plan": "free"}},
        {"event": "pay", "distinct_id": "u1", "timestamp": "2024-03-02T10:00:00Z", "properties": {"plan": "pro"}},
        {"event": "pay", "distinct_id": "u2", "timestamp": "2024-03-02T11:00:00Z", "properties": {"plan": "pro"}},
    ]
    store = tc.EventStore.from_records(events)

    def rows(math):
        q = {"events": [{"id": "pay", "math": math, "properties": [{"key": "plan", "value": "pro"}]}],
             "breakdown": "plan", "date_from": "2024-03-01", "date_to": "2024-03-03"}
        return {r["breakdown_value"]: r["data"] for r in tc.trends(store, q, now="2024-03-04").to_dicts()}

    assert rows("first_matching_event_for_user") == {"pro": [0, 2, 0]}
    # first_time_for_user: u1's first event (a "free" one) is outside the filter, so only u2 counts
    assert rows("first_time_for_user") == {"pro": [0, 1, 0]}
