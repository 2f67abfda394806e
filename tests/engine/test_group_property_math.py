"""Property math with ``math_property_type: "group_properties"``.

PostHog's Trends query runner (AggregationOperations._get_math_chain) reads
``person.properties.<p>`` for ``person_properties`` and falls through to the event's own
``properties.<p>`` for every other type, ``group_properties`` included; no group type is read
(``math_group_type_index`` does not take part) and none is required. The legacy engine reads the
event property whatever the type. So a group-properties math answers what the event-properties
math answers, whatever the groups hold — and warns that the group's value is not read.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

import trendcalc as tc
from trendcalc.testing.reference import comparable, reference_trends

# Group 0 "acme" holds seats=100, "beta" seats=200; the events carry their own (different) seats,
# one event has no group at all, one has a non-numeric seats and one has none.
EVENTS = [
    {"event": "buy", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z", "properties": {"$group_0": "acme", "seats": 3}},
    {"event": "buy", "distinct_id": "u2", "timestamp": "2024-03-01T11:00:00Z", "properties": {"$group_0": "beta", "seats": "5"}},
    {"event": "buy", "distinct_id": "u3", "timestamp": "2024-03-01T12:00:00Z", "properties": {"seats": 10}},
    {"event": "buy", "distinct_id": "u1", "timestamp": "2024-03-02T10:00:00Z", "properties": {"$group_0": "acme", "seats": "many"}},
    {"event": "buy", "distinct_id": "u2", "timestamp": "2024-03-02T11:00:00Z", "properties": {"$group_0": "beta"}},
    {"event": "buy", "distinct_id": "u3", "timestamp": "2024-03-03T09:00:00Z", "properties": {"$group_0": "acme", "seats": 7.5}},
]
GROUPS = [
    {"group_type_index": 0, "group_key": "acme", "properties": {"seats": 100, "industry": "tech"}},
    {"group_type_index": 0, "group_key": "beta", "properties": {"seats": 200, "industry": "retail"}},
]
PERSONS = [{"distinct_ids": [d], "properties": {"age": 20}} for d in ("u1", "u2", "u3")]
NOW = "2024-03-04T00:00:00Z"
RANGE = {"date_from": "2024-03-01", "date_to": "2024-03-03"}


def store() -> tc.EventStore:
    return tc.EventStore.from_records(EVENTS, persons=PERSONS, groups=GROUPS)


def entity(math: str, prop: str = "seats", **extra: object) -> dict[str, object]:
    return {"id": "buy", "math": math, "math_property": prop, "math_property_type": "group_properties", **extra}


def data(query: dict, s: tc.EventStore | None = None) -> list[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        return tc.trends(s or store(), {**RANGE, **query}, now=NOW).to_dicts()[0]["data"]


@pytest.mark.parametrize(("math", "expected"), [
    # day 1: 3, "5" → 5, 10 (the group-less event counts too); day 2: "many" and a missing value
    # are NULL, so nothing to aggregate → 0; day 3: 7.5. The groups' 100/200 are never read.
    ("sum", [18, 0, 7.5]),
    ("avg", [6, 0, 7.5]),
    ("min", [3, 0, 7.5]),
    ("max", [10, 0, 7.5]),
    ("median", [5, 0, 7.5]),
    ("p90", [9, 0, 7.5]),  # ClickHouse's interpolated quantile of 3, 5, 10 at 0.9·2 = 1.8
])
def test_group_properties_reads_the_event_property_like_posthog(math, expected):
    assert data({"events": [entity(math)]}) == expected


def test_equals_the_event_properties_answer_in_both_query_forms_with_or_without_a_group_type():
    s = store()
    for math in ("sum", "avg", "p95"):
        as_event = data({"events": [{**entity(math), "math_property_type": "event_properties"}]}, s)
        for extra in ({}, {"math_group_type_index": 0}, {"math_group_type_index": 1}):
            assert data({"events": [entity(math, **extra)]}, s) == as_event
        node = {"kind": "EventsNode", "event": "buy", "math": math, "math_property": "seats",
                "math_property_type": "group_properties", "math_group_type_index": 0}
        q = {"kind": "TrendsQuery", "series": [node], "dateRange": RANGE}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tc.TrendcalcWarning)
            assert tc.trends(s, q, now=NOW).to_dicts()[0]["data"] == as_event


def test_a_key_only_groups_have_answers_zero():
    """``industry`` exists on the groups, on no event: PostHog's math reads nothing (0)."""
    assert data({"events": [entity("max", "industry")]}) == [0, 0, 0]


def test_breakdown_and_total_value_display():
    rows = tc.trends(store(), {**RANGE, "events": [entity("sum")], "breakdown": "industry", "breakdown_type": "group",
                               "breakdown_group_type_index": 0, "display": "ActionsTable"}, now=NOW).to_dicts()
    got = {r["breakdown_value"]: r["aggregated_value"] for r in rows}
    # acme: 3 + "many"(NULL) + 7.5; beta: "5" + missing; the group-less event: the null value
    assert got == {"tech": 10.5, "retail": 5, "$$_posthog_breakdown_null_$$": 10}


def test_the_reference_agrees():
    project = tc.Project(infer_property_types=False)
    now = dt.datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    for math in ("sum", "avg", "min", "max", "median", "p75", "p99"):
        for prop in ("seats", "industry", "$time"):
            q = {**RANGE, "events": [entity(math, prop, math_group_type_index=0)], "breakdown": "$group_0",
                 "breakdown_type": "event_metadata"} if prop == "seats" else {**RANGE, "events": [entity(math, prop)]}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", tc.TrendcalcWarning)
                got = tc.trends(store(), q, project=project, now=now).to_dicts()
            want = reference_trends(EVENTS, PERSONS, GROUPS, query=q, project=project, now=now)
            assert comparable(got) == comparable(want), (math, prop)


def test_warns_that_the_group_property_is_not_read():
    r = tc.trends(store(), {**RANGE, "events": [entity("sum")]}, now=NOW)
    codes = {w.code: w for w in r.warnings}
    assert set(codes) == {"group_property_math"}
    w = codes["group_property_math"]
    assert w.path == ("events", 0, "math_property_type")
    assert "event property 'seats'" in w.message and "group type 0" in w.message


def test_an_unknown_key_warns_unknown_property_where_the_math_reads_it():
    r = tc.trends(store(), {**RANGE, "events": [entity("sum", "seets")]}, now=NOW)
    unknown = [w for w in r.warnings if w.code == "unknown_property"]
    assert [(w.path, "'seats'" in w.message) for w in unknown] == [(("events", 0, "math_property"), True)]
    # a person-properties math checks the person's keys: 'age' exists there, 'agee' does not
    for prop, warned in (("age", False), ("agee", True)):
        q = {**RANGE, "events": [{"id": "buy", "math": "sum", "math_property": prop, "math_property_type": "person_properties"}]}
        codes = [w.code for w in tc.trends(store(), q, now=NOW).warnings]
        assert ("unknown_property" in codes) is warned


def test_event_properties_math_does_not_warn_about_groups():
    q = {**RANGE, "events": [{**entity("sum"), "math_property_type": "event_properties"}]}
    assert tc.trends(store(), q, now=NOW).warnings == ()


def test_partitioned_store_answers_the_same_or_refuses_as_for_an_event_property(tmp_path):
    """The math reads each event's own property, so a person-split store merges its sum exactly
    when the event values are integers, and refuses (as for event_properties) when one is not."""
    q = {**RANGE, "events": [entity("sum")], "breakdown": "industry", "breakdown_type": "group",
         "breakdown_group_type_index": 0}
    integral = tc.EventStore.from_records(EVENTS[:-1], persons=PERSONS, groups=GROUPS)  # without the 7.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        parts = tc.partition(integral, tmp_path / "integral", partitions=3)
        assert tc.trends(parts, q, now=NOW).to_dicts() == tc.trends(integral, q, now=NOW).to_dicts()
        fractional = tc.partition(store(), tmp_path / "fractional", partitions=3)
        for mpt in ("group_properties", "event_properties"):
            with pytest.raises(tc.UnsupportedError) as e:
                tc.trends(fractional, {**q, "events": [{**entity("sum"), "math_property_type": mpt}]}, now=NOW)
            assert e.value.path == ("math_property",)


def test_stickiness_and_lifecycle_ignore_property_math_as_posthog_does():
    """PostHog's stickiness and lifecycle runners count actors and never read math_property, so
    the answer is the plain one and no warning speaks of the math property."""
    s = store()

    def run(fn, kind: str, node: dict) -> tuple[list, tuple]:
        q = {"kind": kind, "series": [{"kind": "EventsNode", "event": "buy", **node}], "dateRange": RANGE}
        r = fn(s, q, now=NOW)
        return [row["data"] for row in r.to_dicts()], r.warnings

    for fn, kind in ((tc.stickiness, "StickinessQuery"), (tc.lifecycle, "LifecycleQuery")):
        plain = run(fn, kind, {})
        assert run(fn, kind, {"math": "sum", "math_property": "seets", "math_property_type": "group_properties"}) == plain
        assert plain[1] == ()


def test_numerical_event_properties_as_posthogs_ui_sends_it_is_an_event_property():
    """PostHog's series editor sets math_property_type to the taxonomic group the property was
    picked from: ``numerical_event_properties`` for an event property."""
    as_event = data({"events": [{**entity("avg"), "math_property_type": "event_properties"}]})
    node = {"kind": "EventsNode", "event": "buy", "math": "avg", "math_property": "seats",
            "math_property_type": "numerical_event_properties"}
    got = tc.trends(store(), {"kind": "TrendsQuery", "series": [node], "dateRange": RANGE}, now=NOW)
    assert got.to_dicts()[0]["data"] == as_event
    assert got.warnings == ()
