"""Stickiness with ``math: "hogql"``: the runner groups each event by the ``math_hogql``
expression's value (``{aggregation} as aggregation_target``) and counts the values with
count(DISTINCT), so the value is the actor — a row expression, not a Trends aggregate. Found by
test_stickiness_query_runner.py::TestStickinessQueryRunner::test_hogql_aggregations
(``math_hogql: "e.properties.prop"``, every event has prop 10: one actor active on 9 days)."""

from __future__ import annotations

import pytest

import trendcalc as tc

PROJECT = tc.Project.from_dict({"property_definitions": [{"name": "prop", "type": "Numeric", "kind": "event"}]})
NOW = "2020-01-21T00:00:00Z"


def world() -> tc.EventStore:
    """p1 every day 01-11..01-19 (Chrome), p2 on the odd days (Firefox); both prop 10. p3 on
    01-12 with no prop and no browser."""
    ev = [{"event": "$pageview", "distinct_id": "p1", "timestamp": f"2020-01-{d}T12:00:00Z",
           "properties": {"$browser": "Chrome", "prop": 10}} for d in range(11, 20)]
    ev += [{"event": "$pageview", "distinct_id": "p2", "timestamp": f"2020-01-{d}T12:00:00Z",
            "properties": {"$browser": "Firefox", "prop": 10}} for d in range(11, 20, 2)]
    ev += [{"event": "$pageview", "distinct_id": "p3", "timestamp": "2020-01-12T12:00:00Z", "properties": {}}]
    return tc.EventStore.from_records(ev, persons=[{"distinct_ids": [p], "properties": {"name": p}} for p in ("p1", "p2", "p3")])


def query(math_hogql: str, **kw):
    return {"kind": "StickinessQuery", "dateRange": {"date_from": "2020-01-11", "date_to": "2020-01-20"},
            "series": [{"kind": "EventsNode", "event": "$pageview", "math": "hogql", "math_hogql": math_hogql}], **kw}


def data(q) -> list[int]:
    return tc.stickiness(world(), q, project=PROJECT, now=NOW).to_dicts()[0]["data"]


def test_one_value_is_one_actor():
    # prop is 10 on every event of p1 and p2 (p3 has none: NULL, no actor): one actor on 9 days
    assert data(query("e.properties.prop")) == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]


def test_each_value_is_an_actor():
    # Chrome on 9 days, Firefox on 5; p3's events have no browser
    assert data(query("properties.$browser")) == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    # the person's name: as persons would count (p3 on 1 day)
    assert data(query("person.properties.name")) == [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]


def test_a_constant_is_one_actor_over_every_event():
    # one value for every row: active on each of the 9 days with events (01-11..01-19)
    assert data(query("1")) == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]


def test_criteria_and_cumulative_apply_to_the_value():
    # Chrome has 1 event a day, Firefox 1 on its days: gte 1 keeps everything; cumulative sums from the right
    q = query("properties.$browser", stickinessFilter={"computedAs": "cumulative",
                                                       "stickinessCriteria": {"operator": "gte", "value": 1}})
    assert data(q) == [2, 2, 2, 2, 2, 1, 1, 1, 1, 0]


def test_the_legacy_filter_keeps_math_hogql():
    legacy = {"shown_as": "Stickiness", "date_from": "2020-01-11", "date_to": "2020-01-20",
              "events": [{"id": "$pageview", "math": "hogql", "math_hogql": "properties.$browser"}]}
    result = tc.stickiness(world(), legacy, project=PROJECT, now=NOW).to_dicts()
    assert result[0]["data"] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert tc.trends(world(), legacy, project=PROJECT, now=NOW).to_dicts() == result


def test_an_aggregate_is_refused_with_its_path():
    with pytest.raises(tc.ValidationError) as err:
        tc.stickiness(world(), query("count()"), project=PROJECT, now=NOW)
    assert err.value.path == ("series", 0, "math_hogql")
    legacy = {"shown_as": "Stickiness", "events": [{"id": "a"}, {"id": "b", "math": "hogql", "math_hogql": "sum(properties.prop)"}]}
    with pytest.raises(tc.ValidationError) as err:
        tc.stickiness(world(), legacy, project=PROJECT, now=NOW)
    assert err.value.path == ("events", 1, "math_hogql")


def test_the_actors_of_a_hogql_series_are_refused():
    with pytest.raises(tc.UnsupportedError):
        tc.actors(world(), query("properties.$browser"), day=9, project=PROJECT, now=NOW)
