"""GroupNode series (query/trends_query.py ``_group_node``; engine/predicates/groups.py): one
series over the events of any (OR) or every (AND) of its nodes, each node narrowed by its own
property filters; the group's math, names and properties are the series'."""

from __future__ import annotations

import warnings

import pytest

import trendcalc as tc
from trendcalc.query.model import GroupMember, PropertyFilter, PropertyGroup, SeriesGroup

NOW = "2024-01-05T12:00:00Z"
DATES = {"date_from": "2024-01-01", "date_to": "2024-01-05"}
EVENTS = [
    {"event": "a", "distinct_id": "p1", "timestamp": "2024-01-02T10:00:00Z", "properties": {"s": "x", "n": 1}},
    {"event": "a", "distinct_id": "p2", "timestamp": "2024-01-02T11:00:00Z", "properties": {"s": "y", "n": 2}},
    {"event": "b", "distinct_id": "p3", "timestamp": "2024-01-03T10:00:00Z", "properties": {"s": "x", "n": 3}},
    {"event": "b", "distinct_id": "p1", "timestamp": "2024-01-03T11:00:00Z", "properties": {"n": 4}},
    {"event": "c", "distinct_id": "p2", "timestamp": "2024-01-04T10:00:00Z", "properties": {"s": "x"}},
]
PROJECT = tc.Project.from_dict({"timezone": "UTC", "actions": [
    {"id": 7, "name": "b or c", "steps": [{"event": "b"}, {"event": "c"}]}]})
S_IS_X = [{"key": "s", "value": ["x"], "operator": "exact", "type": "event"}]


def node(event, **kw):
    return {"kind": "EventsNode", "event": event, **kw}


def group(*nodes, **kw):
    return {"kind": "GroupNode", "operator": "OR", "nodes": list(nodes), **kw}


def trends(*series, **kw):
    q = {"kind": "TrendsQuery", "series": list(series), "dateRange": DATES, **kw}
    store = tc.EventStore.from_records(EVENTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tc.trends(store, q, project=PROJECT, now=NOW).to_dicts()


def test_parse_keeps_each_nodes_own_filters():
    f = tc.parse_filter({"kind": "TrendsQuery", "series": [group(node("a", properties=S_IS_X), {"id": 7}, math="dau",
                                                                 custom_name="Any")]})
    s = f.series[0]
    assert s.kind == "group" and s.math == "dau" and s.custom_name == "Any" and s.label == "a, 7"
    leaf = PropertyFilter("s", "exact", ("x",), "event")
    assert s.id == SeriesGroup("OR", (GroupMember("events", "a", PropertyGroup("AND", (leaf,))),
                                      GroupMember("actions", 7)))


def test_or_counts_each_nodes_events_once():
    d = trends(group(node("a", properties=S_IS_X), node("b")))[0]
    assert d["data"] == [0, 1, 2, 0, 0] and d["count"] == 3
    assert d["label"] == "a, b" and d["action"]["id"] is None and d["action"]["name"] == "a, b"


def test_overlapping_nodes_count_an_event_once():
    # "a" and "all events with s = x" share the first event
    d = trends(group(node("a"), node(None, properties=S_IS_X)))[0]
    assert d["data"] == [0, 2, 1, 1, 0]


def test_and_keeps_the_events_every_node_selects():
    assert trends(group(node("a"), node("b"), operator="AND"))[0]["data"] == [0, 0, 0, 0, 0]
    assert trends(group(node("a"), node(None, properties=S_IS_X), operator="AND"))[0]["data"] == [0, 1, 0, 0, 0]


def test_group_math_and_filters_apply_to_the_union():
    d = trends(group(node("a"), node("b"), math="dau"))[0]
    assert d["data"] == [0, 2, 2, 0, 0]
    d = trends(group(node("a"), node("b"), properties=[{"key": "n", "value": 2, "operator": "gt", "type": "event"}]))[0]
    assert d["data"] == [0, 0, 2, 0, 0]
    d = trends(group(node("a"), node("b"), math="sum", math_property="n"))[0]
    assert d["data"] == [0, 3, 7, 0, 0]


def test_action_nodes_and_a_missing_one():
    assert trends(group(node("a", properties=S_IS_X), {"kind": "ActionsNode", "id": 7}))[0]["data"] == [0, 1, 2, 1, 0]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        store = tc.EventStore.from_records(EVENTS)
        q = {"kind": "TrendsQuery", "series": [group(node("a"), {"kind": "ActionsNode", "id": 99})], "dateRange": DATES}
        d = tc.trends(store, q, project=PROJECT, now=NOW).to_dicts()[0]
    assert d["data"] == [0, 2, 0, 0, 0]
    assert any("no action 99" in str(w.message) and "nodes[1].id" in str(w.message) for w in seen)


def test_breakdown_formula_and_compare_over_a_group():
    rows = trends(group(node("a"), node("b")), breakdownFilter={"breakdown": "s"})
    assert {r["breakdown_value"]: r["count"] for r in rows} == {"x": 2, "y": 1, "$$_posthog_breakdown_null_$$": 1}
    f = trends(group(node("a"), node("b")), node("c"), trendsFilter={"formula": "A + B"})
    assert f[0]["data"] == [0, 2, 2, 1, 0]


def test_actors_of_a_group_point():
    store = tc.EventStore.from_records(EVENTS)
    q = {"kind": "TrendsQuery", "series": [group(node("a", properties=S_IS_X), node("b"))], "dateRange": DATES}
    actors = tc.actors(store, {"kind": "InsightActorsQuery", "source": q, "day": "2024-01-03"}, project=PROJECT, now=NOW)
    assert sorted(a["person"]["distinct_ids"][0] for a in actors.to_dicts()) == ["p1", "p3"]


def test_same_answer_on_a_partitioned_store(tmp_path):
    store = tc.EventStore.from_records(EVENTS)
    parts = tc.partition(store, tmp_path / "parts", partitions=2)
    q = {"kind": "TrendsQuery", "series": [group(node("a", properties=S_IS_X), {"id": 7}, math="dau")], "dateRange": DATES,
         "breakdownFilter": {"breakdown": "s"}}
    assert tc.trends(parts, q, project=PROJECT, now=NOW).to_dicts() == tc.trends(store, q, project=PROJECT, now=NOW).to_dicts()


@pytest.mark.parametrize("bad, path, words", [
    (group(node("a"), operator="or"), ("series", 0, "operator"), "did you mean 'OR'"),
    (group(operator="OR"), ("series", 0, "nodes"), "non-empty list"),
    ({"kind": "GroupNode", "operator": "OR", "nodes": "a"}, ("series", 0, "nodes"), "non-empty list"),
    (group(node("a", evnt="x")), ("series", 0, "nodes", 0, "evnt"), "unknown field"),
    (group(node("a"), nodez=[]), ("series", 0, "nodez"), "did you mean 'nodes'"),
    (group(node(5)), ("series", 0, "nodes", 0, "event"), "expected an event name"),
])
def test_invalid_groups_name_the_path(bad, path, words):
    with pytest.raises(tc.ValidationError) as exc:
        tc.parse_filter({"kind": "TrendsQuery", "series": [bad]})
    assert exc.value.path == path and words in str(exc.value)


@pytest.mark.parametrize("bad, path", [
    (group(group(node("a"))), ("series", 0, "nodes", 0, "kind")),
    (group(node("a", fixedProperties=S_IS_X)), ("series", 0, "nodes", 0, "fixedProperties")),
    (group(node("a"), math_multiplier=3), ("series", 0, "math_multiplier")),
])
def test_unsupported_group_parts(bad, path):
    with pytest.raises(tc.UnsupportedError) as exc:
        tc.parse_filter({"kind": "TrendsQuery", "series": [bad]})
    assert exc.value.path == path


@pytest.mark.parametrize("kind", ["StickinessQuery", "LifecycleQuery"])
def test_other_insights_refuse_groups(kind):
    store = tc.EventStore.from_records(EVENTS)
    q = {"kind": kind, "series": [node("b"), group(node("a"))], "dateRange": DATES}
    run = tc.stickiness if kind == "StickinessQuery" else tc.lifecycle
    with pytest.raises(tc.UnsupportedError) as exc:
        run(store, q, project=PROJECT, now=NOW)
    assert exc.value.path[-2:] == (1, "kind") or exc.value.path[-2:] == (0, "kind")


def test_date_from_all_starts_at_the_first_event_of_any_node():
    d = trends(group(node("b"), node("c")), dateRange={"date_from": "all", "date_to": "2024-01-05"})[0]
    assert d["days"][0] == "2024-01-03" and d["data"] == [2, 1, 0]
