"""math "hogql" and breakdown_type "hogql" over the store: upstream's numbers, and agreement with
the fixed maths on the spec world."""

from __future__ import annotations

import pytest

import trendcalc as tc

from .fixture import PROJECT, pageviews, run


def _formula_world() -> tc.EventStore:
    """test_formula.py's setUp: 'session start'/'session end' events of one person."""
    s1 = "016f6658-4ec8-7001-8000-000000000000"
    rows = [("2020-01-02T13:01:01Z", "session start", 200, "Paris"), ("2020-01-02T13:01:01Z", "session start", 300, "Paris"),
            ("2020-01-02T13:01:01Z", "session start", 400, "London"), ("2020-01-03T13:01:01Z", "session start", 400, "London"),
            ("2020-01-03T13:04:01Z", "session start", 500, "London"), ("2020-01-03T13:04:01Z", "session end", 500, "London"),
            ("2020-01-03T13:04:01Z", "session end", 500, "Belo Horizonte"), ("2020-01-03T13:04:01Z", "session end", 400, "")]
    events = [{"event": e, "distinct_id": "blabla", "timestamp": ts,
               "properties": {"xyz": x, "location": loc, "$session_id": s1, "$group_0": "org:5"}} for ts, e, x, loc in rows]
    return tc.EventStore.from_records(events, persons=[{"distinct_ids": ["blabla", "anonymous_id"], "properties": {"$some_prop": "some_val"}}])


def _formula_query(**extra):
    q = {"kind": "TrendsQuery",
         "series": [{"kind": "EventsNode", "event": "session start", "math": "sum", "math_property": "xyz"},
                    {"kind": "EventsNode", "event": "session start", "math": "avg", "math_property": "xyz"}],
         "trendsFilter": {"formula": "A + B"}}
    q.update(extra)
    return q


def formula_run(**extra):
    return tc.trends(_formula_world(), _formula_query(**extra), now="2020-01-04T13:01:01Z").to_dicts()


def test_math_hogql_per_week_upstream_test_trends_with_hogql_math():
    events = [{"event": "sign up", "distinct_id": "blabla", "timestamp": "2020-01-01T00:06:30Z", "properties": {"x": 1}},
              {"event": "sign up", "distinct_id": "blabla", "timestamp": "2020-01-02T00:06:45Z", "properties": {"x": 5}}]
    store = tc.EventStore.from_records(events, persons=[{"distinct_ids": ["blabla", "anonymous_id"]}])
    project = {"property_definitions": [{"name": "x", "type": "Numeric", "kind": "event"}]}
    out = tc.trends(store, {"interval": "week", "events": [{"id": "sign up", "math": "hogql", "math_hogql": "avg(properties.x) + 1000"}]},
                    project=project, now="2020-01-04T12:01:01Z").to_dicts()
    assert out[0]["labels"] == ["28-Dec-2019", "29-Dec-2019 – 4-Jan-2020"]
    assert out[0]["data"] == [0, 1003]
    assert out[0]["action"]["math_hogql"] == "avg(properties.x) + 1000"


def test_hogql_math_without_events_is_zero_in_a_formula():
    """Upstream test_formula_with_hogql_math_no_matching_events: 0 + 1800."""
    out = formula_run(trendsFilter={"display": "BoldNumber", "formula": "A + B"}, series=[
        {"kind": "EventsNode", "event": "nothing", "math": "hogql", "math_hogql": "sum(toFloat(properties.xyz))"},
        {"kind": "EventsNode", "event": "session start", "math": "sum", "math_property": "xyz"}])
    assert out[0]["aggregated_value"] == 1800
    assert out[0]["label"] == "Formula (A + B)"


def test_hogql_breakdown_upstream_test_formula_breakdown_hogql():
    out = formula_run(breakdownFilter={"breakdown": "concat(person.properties.$some_prop, ' : ', properties.location)",
                                       "breakdown_type": "hogql"})
    assert [r["breakdown_value"] for r in out] == ["some_val : London", "some_val : Paris"]
    assert [r["data"] for r in out] == [[0, 0, 0, 0, 0, 800, 1350, 0], [0, 0, 0, 0, 0, 750, 0, 0]]


@pytest.mark.parametrize("expr", ["properties.location", 'properties.location AS "Location"',
                                  "concat(properties.location AS Inner, '') AS \"Outer\"",
                                  "properties.location AS breakdown_value"])
def test_hogql_breakdown_alias_forms_equal_the_plain_expression(expr):
    out = formula_run(breakdownFilter={"breakdown": expr, "breakdown_type": "hogql"})
    assert [(r["breakdown_value"], r["data"]) for r in out] == [
        ("London", [0, 0, 0, 0, 0, 800, 1350, 0]), ("Paris", [0, 0, 0, 0, 0, 750, 0, 0])]


def test_hogql_breakdown_null_and_empty_are_the_null_marker_and_event_breakdown_agrees():
    q = {"series": [{"kind": "EventsNode", "event": "session end"}], "trendsFilter": {}}
    hogql = formula_run(**q, breakdownFilter={"breakdowns": [{"type": "hogql", "property": "properties.location"}]})
    event = formula_run(**q, breakdownFilter={"breakdowns": [{"type": "event", "property": "location"}]})
    assert [(r["breakdown_value"], r["count"]) for r in hogql] == [(r["breakdown_value"], r["count"]) for r in event]
    assert ["$$_posthog_breakdown_null_$$"] in [r["breakdown_value"] for r in hogql]


@pytest.mark.parametrize(("math", "hogql"), [
    ({"math": "total"}, "count()"),
    ({"math": "dau"}, "count(DISTINCT person_id)"),
    ({"math": "sum", "math_property": "prop"}, "sum(properties.prop)"),
    ({"math": "avg", "math_property": "prop"}, "avg(properties.prop)"),
    ({"math": "max", "math_property": "prop"}, "max(properties.prop)"),
    ({"math": "p90", "math_property": "prop"}, "quantile(0.9)(properties.prop)"),
    ({"math": "median", "math_property": "prop"}, "median(properties.prop)"),
])
@pytest.mark.parametrize("extra", [{}, {"breakdown": "$browser"}, {"display": "ActionsTable"}])
def test_hogql_aggregates_agree_with_the_fixed_maths(math, hogql, extra):
    want = run({**pageviews(**math), **extra})
    got = run({**pageviews(math="hogql", math_hogql=hogql), **extra})
    key = "aggregated_value" if extra.get("display") else "data"
    assert [(r.get("breakdown_value"), r[key]) for r in got] == [(r.get("breakdown_value"), r[key]) for r in want]


def test_conditional_aggregates_and_expressions_around_them():
    out = run(pageviews(math="hogql", math_hogql="countIf(properties.$browser = 'Chrome') * 100 / count()"),
              project=PROJECT)
    chrome = run(pageviews(math="total", properties=[{"key": "$browser", "value": "Chrome"}]))[0]["data"]
    total = run(pageviews())[0]["data"]
    assert out[0]["data"] == [c * 100 / t if t else 0 for c, t in zip(chrome, total)]


def test_hogql_breakdown_actors():
    events = [{"event": "e", "distinct_id": d, "timestamp": "2020-01-02T12:00:00Z", "properties": {"n": n}}
              for d, n in [("a", 1), ("b", 2), ("c", 2)]]
    store = tc.EventStore.from_records(events)
    q = {"date_from": "2020-01-01", "date_to": "2020-01-03", "events": [{"id": "e"}],
         "breakdown": "if(properties.n > 1, 'many', 'one')", "breakdown_type": "hogql"}
    assert [(r["breakdown_value"], r["count"]) for r in tc.trends(store, q, now="2020-01-04").to_dicts()] == [("many", 2.0), ("one", 1.0)]
    rows = tc.actors(store, {"kind": "InsightActorsQuery", "source": q, "breakdown": "many", "day": "2020-01-02"}, now="2020-01-04").to_rows()
    assert sorted(r[0]["distinct_ids"][0] for r in rows) == ["b", "c"]


def test_hogql_virtual_person_field_and_like_filter_on_lifecycle():
    """Upstream test_lifecycle_virtual_person_property_hogql_filter (person.$virt_initial_channel_type
    in a HogQL filter) and ee test_lifecycle_hogql_person_properties (like() on a person property):
    both used to be UnsupportedError."""
    persons = [{"distinct_ids": ["g"], "properties": {"$initial_referring_domain": "https://www.google.com",
                                                      "email": "g@test.com"}, "created_at": "2020-01-12T12:00:00Z"},
               {"distinct_ids": ["d"], "properties": {"$initial_referring_domain": "$direct", "email": "d@x.com"},
                "created_at": "2020-01-12T12:00:00Z"}]
    events = [{"event": "$pageview", "distinct_id": d, "timestamp": "2020-01-12T12:00:00Z"} for d in ("g", "d")]
    store = tc.EventStore.from_records(events, persons=persons)

    def new(condition: str) -> list[float]:
        q = {"kind": "LifecycleQuery", "dateRange": {"date_from": "2020-01-12", "date_to": "2020-01-14"},
             "series": [{"kind": "EventsNode", "event": "$pageview", "properties": [{"type": "hogql", "key": condition}]}]}
        out = tc.lifecycle(store, q, now="2020-02-01").to_dicts()
        return next(r["data"] for r in out if r["status"] == "new")

    assert new("person.$virt_initial_channel_type = 'Organic Search'") == [1, 0, 0]
    assert new("person.$virt_initial_channel_type IN ('Organic Search', 'Direct')") == [2, 0, 0]
    assert new("like(person.properties.email, '%test.com')") == [1, 0, 0]
    assert new("person.properties.email NOT ILIKE '%TEST.COM'") == [1, 0, 0]
