"""Breakdowns of every kind over hand-built worlds (spec §6)."""

from __future__ import annotations

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.breakdown import RawColumn, histogram_values, rank
from trendcalc.store.columns import BREAKDOWN_NULL, BREAKDOWN_OTHER, ValueDictionary

from .fixture import pageviews, run

NULL, OTHER = BREAKDOWN_NULL, BREAKDOWN_OTHER


def by_value(results: list[dict]) -> dict:
    return {str(r["breakdown_value"]): r for r in results}


def test_event_breakdown_order_labels_and_data():
    out = run({**pageviews(), "breakdown": "$browser"})
    assert [r["breakdown_value"] for r in out] == ["Chrome", "Firefox", "Edge", "Safari"]
    assert [r["label"] for r in out] == ["Chrome", "Firefox", "Edge", "Safari"]
    assert out[0]["data"] == [0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0]
    assert [r["count"] for r in out] == [6.0, 2.0, 1.0, 1.0]


def test_two_series_prefix_labels():
    q = {"events": [{"id": "$pageview"}, {"id": "$pageleave"}], "breakdown": "$browser"}
    labels = [r["label"] for r in run(q)]
    assert labels[:2] == ["$pageview - Chrome", "$pageview - Firefox"]
    assert "$pageleave - Chrome" in labels


def test_boolean_breakdown_values():
    out = run({**pageviews(), "breakdown": "bool_field"})
    assert [(r["breakdown_value"], r["count"]) for r in out] == [("true", 7.0), ("false", 3.0)]


def test_numeric_breakdown_renders_shortest_float_text():
    out = run({**pageviews(), "breakdown": "prop"})
    assert [r["breakdown_value"] for r in out] == ["10", "20", "30", "40"]


def test_histogram_bins_from_min_and_max():
    out = run({**pageviews(), "breakdown": "prop", "breakdown_histogram_bin_count": 4})
    assert [r["breakdown_value"] for r in out] == ["[10,17.5]", "[17.5,25]", "[25,32.5]", "[32.5,40.01]"]
    assert [r["count"] for r in out] == [6.0, 2.0, 1.0, 1.0]


def test_histogram_single_value_lands_in_last_bin_and_nulls_get_the_marker():
    raw = RawColumn(np.array([0, 0, -1], np.int32), ValueDictionary([4]))
    v = histogram_values(raw, 3)
    assert [v.labels[i] for i in v.fine_label[v.fine]] == ["[4,4.01]", "[4,4.01]", NULL]


def test_histogram_sums_per_value_aggregates_into_bins():
    # dau per raw value, then summed into the bin: one person with two values counts twice
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T01:00:00Z", "properties": {"n": 1}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T02:00:00Z", "properties": {"n": 2}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T03:00:00Z", "properties": {"n": 9}},
    ]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e", "math": "dau"}], "breakdown": "n", "breakdown_histogram_bin_count": 2,
         "date_from": "2020-01-10", "date_to": "2020-01-10"}
    assert [(r["breakdown_value"], r["data"]) for r in run(q, world=world)] == [("[1,5]", [2]), ("[5,9.01]", [1])]


def test_limit_other_and_null_rules_time_series():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": f"2020-01-10T0{i}:00:00Z", "properties": props}
        for i, props in enumerate([{"k": "x"}, {"k": "x"}, {"k": "y"}, {}, {}, {}, {"k": "z"}])
    ]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e"}], "breakdown": "k", "breakdown_limit": 2, "date_from": "2020-01-10", "date_to": "2020-01-10"}
    out = run(q, world=world)
    # the null bucket (3 events) ranks after every normal value, so it falls into Other
    assert [(r["breakdown_value"], r["data"]) for r in out] == [("x", [2]), ("y", [1]), (OTHER, [4])]
    assert run({**q, "breakdown_limit": 3}, world=world)[-1]["breakdown_value"] == OTHER
    all_values = run({**q, "breakdown_limit": 10}, world=world)
    assert [r["breakdown_value"] for r in all_values] == ["x", "y", "z", NULL]


def test_limit_total_value_chooses_by_total_and_shows_null_last():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": f"2020-01-10T0{i}:00:00Z", "properties": props}
        for i, props in enumerate([{"k": "x"}, {"k": "x"}, {"k": "y"}, {}, {}, {}, {"k": "z"}])
    ]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e"}], "breakdown": "k", "breakdown_limit": 2, "display": "ActionsTable",
         "date_from": "2020-01-10", "date_to": "2020-01-10"}
    out = run(q, world=world)
    assert [(r["breakdown_value"], r["aggregated_value"]) for r in out] == [("x", 2), (NULL, 3), (OTHER, 2)]


def test_rank_orders_by_class_total_then_value_as_strings():
    values = ("b", NULL, "a", "c")
    kinds = np.array([0, 1, 0, 0])
    keep, other = rank(values, kinds, np.array([1.0, 9.0, 1.0, 5.0]), 25)
    assert [values[g] for g in keep] == ["c", "a", "b", NULL] and list(other) == []
    keep, other = rank(values, kinds, np.array([1.0, 9.0, 1.0, 5.0]), -1)
    assert keep == [] and len(other) == 4


def test_multiple_breakdowns_values_are_lists_and_labels_join():
    q = {**pageviews(), "breakdowns": [{"property": "$browser"}, {"property": "bool_field"}]}
    out = run(q)
    assert out[0]["breakdown_value"] == ["Chrome", "true"]
    assert out[0]["label"] == "Chrome::true"


def test_normalize_url():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T01:00:00Z", "properties": {"u": "https://x.com/?"}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T02:00:00Z", "properties": {"u": "https://x.com"}},
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T03:00:00Z", "properties": {"u": ""}},
    ]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e"}], "breakdown": "u", "breakdown_normalize_url": True, "date_from": "2020-01-10", "date_to": "2020-01-10"}
    assert [(r["breakdown_value"], r["count"]) for r in run(q, world=world)] == [("https://x.com", 2.0), ("/", 1.0)]


def test_person_and_group_breakdowns():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T01:00:00Z", "properties": {"$group_0": "org1"}},
        {"event": "e", "distinct_id": "b", "timestamp": "2020-01-10T02:00:00Z", "properties": {"$group_0": "org2"}},
        {"event": "e", "distinct_id": "b", "timestamp": "2020-01-10T03:00:00Z"},
    ]
    world = tc.EventStore.from_records(
        events,
        persons=[{"distinct_ids": ["a"], "properties": {"plan": "pro"}}, {"distinct_ids": ["b"], "properties": {"plan": "free"}}],
        groups=[{"group_type_index": 0, "group_key": "org1", "properties": {"industry": "tech"}}],
    )
    base = {"events": [{"id": "e"}], "date_from": "2020-01-10", "date_to": "2020-01-10"}
    person = run({**base, "breakdown": "plan", "breakdown_type": "person"}, world=world)
    assert [(r["breakdown_value"], r["count"]) for r in person] == [("free", 2.0), ("pro", 1.0)]
    group = run({**base, "breakdown": "industry", "breakdown_type": "group", "breakdown_group_type_index": 0}, world=world)
    assert [(r["breakdown_value"], r["count"]) for r in group] == [(NULL, 2.0), ("tech", 1.0)][::-1]


def test_event_metadata_breakdown():
    events = [
        {"event": "e", "distinct_id": "a", "timestamp": "2020-01-10T01:00:00Z", "properties": {"$group_0": "org1"}},
        {"event": "e", "distinct_id": "b", "timestamp": "2020-01-10T02:00:00Z"},
    ]
    world = tc.EventStore.from_records(events)
    base = {"events": [{"id": "e"}], "date_from": "2020-01-10", "date_to": "2020-01-10"}
    out = run({**base, "breakdowns": [{"property": "$group_0", "type": "event_metadata"}]}, world=world)
    assert [r["breakdown_value"] for r in out] == [["org1"], [NULL]]
    out = run({**base, "breakdowns": [{"property": "distinct_id", "type": "event_metadata"}]}, world=world)
    assert [r["breakdown_value"] for r in out] == [["a"], ["b"]]


S1, S2, S3 = ("016f5e66-e800-7001-8000-000000000000", "016f5e66-e800-7002-8000-000000000000",
              "016f5e66-e800-7003-8000-000000000000")  # fmt: skip


def session_world() -> tc.EventStore:
    events = [
        {"event": "$pageview", "distinct_id": "a", "timestamp": "2020-01-10T00:00:00Z",
         "properties": {"$session_id": S1, "$current_url": "https://a.com/x", "$referring_domain": "$direct"}},
        {"event": "$pageview", "distinct_id": "a", "timestamp": "2020-01-10T00:00:20Z",
         "properties": {"$session_id": S1, "$current_url": "https://a.com/y"}},
        {"event": "$pageview", "distinct_id": "b", "timestamp": "2020-01-10T01:00:00Z",
         "properties": {"$session_id": S2, "$current_url": "https://a.com/y", "$referring_domain": "www.google.com"}},
        {"event": "$pageview", "distinct_id": "c", "timestamp": "2020-01-10T02:00:00Z",
         "properties": {"$session_id": S3, "utm_medium": "cpc", "utm_source": "google"}},
        {"event": "$pageview", "distinct_id": "d", "timestamp": "2020-01-10T03:00:00Z"},
    ]
    return tc.EventStore.from_records(events)


def test_session_breakdowns():
    world = session_world()
    base = {"events": [{"id": "$pageview", "math": "unique_session"}], "date_from": "2020-01-10", "date_to": "2020-01-10"}
    channel = by_value(run({**base, "breakdown": "$channel_type", "breakdown_type": "session"}, world=world))
    assert {k: v["data"] for k, v in channel.items()} == {
        "Direct": [1], "Organic Search": [1], "Paid Search": [1], NULL: [1],
    }
    entry = by_value(run({**base, "breakdown": "$entry_pathname", "breakdown_type": "session"}, world=world))
    assert {k: v["data"] for k, v in entry.items()} == {"/x": [1], "/y": [1], NULL: [2]}
    duration = by_value(run({**base, "events": [{"id": "$pageview"}], "breakdown": "$session_duration",
                             "breakdown_type": "session"}, world=world))
    # session-less events read a duration of 0 (the join default), not NULL
    assert {k: v["count"] for k, v in duration.items()} == {"20": 2.0, "0": 3.0}


def test_virtual_initial_channel_type():
    world = tc.EventStore.from_records(
        [{"event": "e", "distinct_id": d, "timestamp": "2020-01-10T01:00:00Z"} for d in "abc"],
        persons=[
            {"distinct_ids": ["a"], "properties": {"$initial_referring_domain": "https://www.google.com"}},
            {"distinct_ids": ["b"], "properties": {"$initial_referring_domain": "$direct"}},
            {"distinct_ids": ["c"], "properties": {"$initial_referring_domain": "https://blog.example.org"}},
        ],
    )
    q = {"events": [{"id": "e"}], "breakdown": "$virt_initial_channel_type", "breakdown_type": "person",
         "date_from": "2020-01-10", "date_to": "2020-01-10"}
    assert [r["label"] for r in run(q, world=world)] == ["Direct", "Organic Search", "Referral"]


def test_unknown_session_field_is_unsupported():
    with pytest.raises(tc.UnsupportedError):
        run({**pageviews(), "breakdown": "$nope", "breakdown_type": "session"}, world=session_world())


@pytest.mark.parametrize("math", ["total", "dau", "avg", "p75", "max_count_per_actor", "unique_session"])
def test_breakdown_cells_match_a_row_at_a_time_reference(math):
    import random

    rng = random.Random(7)
    events = []
    for _ in range(200):
        props = {"k": rng.choice(["a", "b", "c", None]), "v": rng.choice([1, 2.5, "x", None, 7]),
                 "$session_id": rng.choice(["s1", "s2", None])}
        events.append({"event": "e", "distinct_id": rng.choice("pqrst"), "timestamp": f"2020-01-{rng.randrange(10, 14)}T0{rng.randrange(10)}:00:00Z",
                       "properties": {k: v for k, v in props.items() if v is not None}})
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e", "math": math, "math_property": "v" if math in ("avg", "p75") else None}],
         "breakdown": "k", "date_from": "2020-01-10", "date_to": "2020-01-13"}
    if q["events"][0]["math_property"] is None:
        del q["events"][0]["math_property"]
    got = {r["breakdown_value"]: r["data"] for r in run(q, world=world)}
    for value, series in got.items():
        for i, day in enumerate(range(10, 14)):
            rows = [e for e in events if e["timestamp"].startswith(f"2020-01-{day}")
                    and e["properties"].get("k", NULL) == value]
            nums = sorted(float(e["properties"]["v"]) for e in rows if isinstance(e["properties"].get("v"), (int, float)))
            if math == "total":
                expected = len(rows)
            elif math == "dau":
                expected = len({e["distinct_id"] for e in rows})
            elif math == "unique_session":
                expected = len({e["properties"].get("$session_id", "") for e in rows})
            elif math == "max_count_per_actor":
                counts = {}
                for e in rows:
                    counts[e["distinct_id"]] = counts.get(e["distinct_id"], 0) + 1
                expected = max(counts.values(), default=0)
            elif math == "avg":
                expected = sum(nums) / len(nums) if nums else 0
            else:
                expected = float(np.quantile(nums, 0.75)) if nums else 0
            assert series[i] == pytest.approx(expected), (value, day)


def test_cumulative_breakdown_rows_are_ordered_by_their_running_totals():
    """Upstream test_trends_breakdown_cumulative: each value has one user, so the raw totals tie;
    the cumulated rows are ordered by the sum of their running totals (value, other_value), and
    the null marker stays last."""
    def ev(did, ts, **props):
        return {"event": "sign up", "distinct_id": did, "timestamp": ts, "properties": props}

    world = tc.EventStore.from_records(
        [ev("blabla", "2019-12-24T00:00:00Z", **{"$some_property": "value"}),
         ev("blabla", "2020-01-01T00:00:00Z", **{"$some_property": "value"}),
         ev("anonymous_id", "2020-01-01T00:00:00Z"),
         ev("blabla", "2020-01-01T00:00:00Z"),
         ev("blabla", "2020-01-02T00:00:00Z", **{"$some_property": "other_value"})],
        persons=[{"distinct_ids": ["blabla", "anonymous_id"]}])
    out = tc.trends(world, {"date_from": "-7d", "display": "ActionsLineGraphCumulative",
                            "events": [{"id": "sign up", "math": "dau"}], "breakdown": "$some_property"},
                    now="2020-01-04T13:00:01Z").to_dicts()
    assert [(r["label"], r["data"]) for r in out] == [
        ("value", [0, 0, 0, 0, 1, 1, 1, 1]),
        ("other_value", [0, 0, 0, 0, 0, 1, 1, 1]),
        (NULL, [0, 0, 0, 0, 1, 1, 1, 1]),
    ]


def test_breakdown_values_are_cut_to_400_bytes():
    """PostHog's ifNull(nullIf(left(toString(v), 400), ''), null marker) (PR #48274,
    test_breakdown_limits.py): long values sharing their first 400 bytes are one breakdown value,
    in the series and in the actors' breakdown filter; a character split by the cut is dropped."""
    values = ["a" * 450, "a" * 400 + "b", "é" * 250, "short", ""]
    events = [{"event": "$pageview", "distinct_id": f"p{i}", "timestamp": "2023-01-05T12:00:00Z",
               "properties": {"$browser": v}} for i, v in enumerate(values)]
    world = tc.EventStore.from_records(events)
    q = {"events": [{"id": "$pageview"}], "date_from": "2023-01-01", "date_to": "2023-01-07", "breakdown": "$browser"}
    out = by_value(tc.trends(world, q, now="2023-01-10T00:00:00Z").to_dicts())
    assert set(out) == {"a" * 400, "é" * 200, "short", NULL}
    assert out["a" * 400]["count"] == 2.0
    rows = tc.actors(world, q, now="2023-01-10T00:00:00Z", day="2023-01-05", breakdown="a" * 400, select=["actor"]).to_rows()
    assert sorted(r[0]["distinct_ids"][0] for r in rows) == ["p0", "p1"]
