"""Warnings where PostHog answers zeros (or compares text) for a likely mistake: the numbers stay
PostHog's, the result says what probably went wrong, with the nearest fix."""

from __future__ import annotations

import json
import warnings

import pytest

import trendcalc as tc
from trendcalc.cli import main

EVENTS = [
    {"event": "product_view", "distinct_id": f"u{i % 5}", "timestamp": f"2024-03-0{1 + i % 7}T10:00:00Z",
     "properties": {"platform": "ios" if i % 2 else "android", "price": str(i)}}
    for i in range(40)
]  # fmt: skip
STORE = tc.EventStore.from_records(EVENTS, persons=[{"distinct_ids": ["u1"], "properties": {"plan": "pro"}}])
NOW = "2024-03-08T00:00:00Z"


def run(query, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = tc.trends(STORE, query, now=kw.pop("now", NOW), **kw)
    assert [str(w.message) for w in caught if w.category is tc.TrendcalcWarning] == [str(w) for w in result.warnings]
    return result


def codes(result):
    return [(w.code, w.path) for w in result.warnings]


def test_a_clean_query_has_no_warnings():
    assert run({"events": [{"id": "product_view", "math": "dau"}], "breakdown": "platform"}).warnings == ()


def test_unknown_event_suggests_the_nearest_and_keeps_the_zeros():
    r = run({"events": [{"id": "prodcut_view"}]})
    assert codes(r) == [("unknown_event", ("events", 0, "id"))]
    assert "did you mean 'product_view'?" in r.warnings[0].message
    assert r.to_dicts()[0]["count"] == 0  # PostHog's number


def test_unknown_keys_of_filters_breakdowns_and_math_properties():
    r = run({"events": [{"id": "product_view", "math": "sum", "math_property": "prcie"}],
             "properties": [{"key": "platfrom", "value": "ios"}, {"key": "plna", "value": "pro", "type": "person"}],
             "breakdown": "plaform"})
    assert codes(r) == [("unknown_property", ("properties", 0, "key")), ("unknown_property", ("properties", 1, "key")),
                        ("unknown_property", ("breakdown",)), ("unknown_property", ("events", 0, "math_property"))]
    messages = [w.message for w in r.warnings]
    assert "did you mean 'platform'?" in messages[0] and "did you mean 'plan'?" in messages[1]
    assert "did you mean 'price'?" in messages[3]


def test_trends_query_paths():
    r = run({"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "prodcut_view"}],
             "breakdownFilter": {"breakdown": "plaform"}, "dateRange": {"date_from": "2024-03-01"}})
    assert codes(r) == [("unknown_event", ("series", 0, "event")), ("unknown_property", ("breakdownFilter", "breakdown"))]


def test_a_key_of_another_kind_is_named_where_it_is_not_suggested_as_itself():
    # found transcribing test_trends_query_runner.py::test_formula_with_breakdown_and_no_data: a person
    # breakdown on an event-only key said "did you mean '$browser'?" about '$browser' itself
    r = run({"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "product_view"}],
             "breakdownFilter": {"breakdown": "platform", "breakdown_type": "person"}, "dateRange": {"date_from": "2024-03-01"}})
    assert codes(r) == [("unknown_property", ("breakdownFilter", "breakdown"))]
    assert "'platform' is an event property" in r.warnings[0].message and "did you mean" not in r.warnings[0].message
    r = run({"events": [{"id": "product_view"}], "properties": [{"key": "plan", "value": "pro"}], "date_from": "2024-03-01"})
    assert "'plan' is a person property" in r.warnings[0].message


def test_a_range_outside_the_data_says_the_data_range():
    r = run({"events": [{"id": "product_view", "math": "dau"}]}, now="2026-12-06T00:00:00Z")
    assert codes(r) == [("range_outside_data", ("date_from",))]
    assert "2024-03-01 – 2024-03-07" in r.warnings[0].message and "now=" in r.warnings[0].message
    assert sum(r.to_dicts()[0]["data"]) == 0


def test_a_range_outside_the_data_says_what_to_change():
    """A relative range: pass now=; both dates absolute: nothing to do with now; an hourly range
    whose date_to is a date (PostHog: that day's first hour, test_trends_query_runner.py's
    test_trends_labels_hour): say so."""
    hints = []
    for query in ({"events": [{"id": "product_view"}], "date_from": "-7d"},
                  {"events": [{"id": "product_view"}], "date_from": "2023-01-01", "date_to": "2023-01-31"},
                  {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "product_view"}],
                   "interval": "hour", "dateRange": {"date_from": "2024-02-29", "date_to": "2024-02-29"}}):
        r = run(query, now="2026-12-06T00:00:00Z")
        assert [c for c, _ in codes(r)] == ["range_outside_data"]
        hints.append(r.warnings[0].message.split("); ", 1)[1])
    assert hints == ["pass now= (e.g. now='2024-03-07') or absolute dates",
                     "both dates are absolute: compare them with the store's",
                     "with interval 'hour', date_to '2024-02-29' means that day's first hour: pass '2024-02-29T23:59:59' "
                     "for the whole day"]


def test_all_running_years_past_the_data_warns():
    r = run({"events": [{"id": "product_view"}], "date_from": "all"}, now="2026-12-06T00:00:00Z")
    assert codes(r) == [("range_past_data", ("date_to",))]
    assert r.to_dicts()[0]["count"] == 40


def test_session_math_without_session_ids():
    r = run({"events": [{"id": "product_view", "math": "unique_session"}], "date_from": "2024-03-01"})
    assert codes(r) == [("no_sessions", ("events", 0, "math"))]
    assert "$session_id" in r.warnings[0].message


def test_a_numeric_comparison_on_a_string_property_warns_and_a_numeric_one_does_not():
    q = {"events": [{"id": "product_view"}], "properties": [{"key": "price", "operator": "gt", "value": "10"}],
         "date_from": "2024-03-01"}
    r = run(q)
    assert codes(r) == [("text_comparison", ("properties", 0, "operator"))]
    assert "Numeric" in r.warnings[0].message
    typed = run(q, project=tc.Project(property_definitions=[{"name": "price", "type": "Numeric"}]))
    assert typed.warnings == ()
    assert typed.to_dicts()[0]["count"] == 29  # prices 11..39


def test_cli_prints_warnings_and_strict_exits_2(tmp_path, capsys):
    events = tmp_path / "e.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in EVENTS))
    q = json.dumps({"events": [{"id": "prodcut_view"}], "date_from": "2024-03-01"})
    assert main(["query", "--events", str(events), "--filter", q, "--now", NOW, "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "trendcalc: warning: $.events[0].id: no event 'prodcut_view'" in err
    assert main(["query", "--events", str(events), "--filter", q, "--now", NOW, "--strict", "--no-progress"]) == 2


@pytest.mark.parametrize("key", ["$elements_chain", "$group_0", "$session_id"])
def test_keys_the_engine_reads_without_a_column_are_not_unknown(key):
    r = run({"events": [{"id": "product_view"}], "properties": [{"key": key, "operator": "is_set"}], "date_from": "2024-03-01"})
    assert r.warnings == ()


TEXT = tc.EventStore.from_records(
    [{"event": "buy", "distinct_id": f"u{i}", "timestamp": f"2024-03-0{1 + i % 5}T10:00:00Z",
      "properties": {"price": f"${i}.00", "amount": str(i), "plan": ["pro", "free", "Team"][i % 3]}} for i in range(12)],
    persons=[{"distinct_ids": ["u1"], "properties": {"tier": "Gold"}}],
)  # fmt: skip
RANGE = {"date_from": "2024-03-01", "date_to": "2024-03-05"}


def warned(query):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        return tc.trends(TEXT, query if "kind" in query else {**RANGE, **query}, now=NOW)


def test_a_property_math_over_text_that_is_never_a_number_warns_and_keeps_the_zeros():
    r = warned({"events": [{"id": "buy", "math": "sum", "math_property": "price"}]})
    assert r.to_dicts()[0]["data"] == [0, 0, 0, 0, 0]
    assert codes(r) == [("text_math", ("events", 0, "math_property"))]
    assert str(r.warnings[0]).startswith("$.events[0].math_property: no value of the event property 'price' reads as a "
                                         "number ('$0.00', '$1.00', '$2.00', …); math 'sum' reads numbers")
    p90 = warned({"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "buy", "math": "p90",
                                                      "math_property": "tier", "math_property_type": "person_properties"}],
                  "dateRange": RANGE})
    assert codes(p90) == [("text_math", ("series", 0, "math_property"))] and "person property 'tier'" in str(p90.warnings[0])
    numeric_text = warned({"events": [{"id": "buy", "math": "avg", "math_property": "amount"}]})  # '3' reads as 3
    assert numeric_text.warnings == () and sum(numeric_text.to_dicts()[0]["data"]) > 0
    assert warned({"events": [{"id": "buy", "math": "total"}]}).warnings == ()


def test_an_exact_value_no_event_has_warns_with_the_stored_spelling():
    r = warned({"events": [{"id": "buy"}], "properties": [{"key": "plan", "value": "Pro"}]})
    assert r.to_dicts()[0]["data"] == [0, 0, 0, 0, 0]
    assert codes(r) == [("absent_value", ("properties", 0, "value"))]
    assert str(r.warnings[0]) == ("$.properties[0].value: no event has 'plan' = 'Pro'; 'pro' differs only in case "
                                  "(exact compares case; icontains does not) (the filter matches no event)")
    near = warned({"events": [{"id": "buy", "properties": [{"key": "plan", "value": ["tema", "x"]}]}]})
    assert codes(near) == [("absent_value", ("events", 0, "properties", 0, "value"))]
    assert "= ['tema', 'x']; did you mean 'Team'?" in str(near.warnings[0])
    person = warned({"events": [{"id": "buy"}], "properties": [{"key": "tier", "value": "gold", "type": "person"}]})
    assert codes(person) == [("absent_value", ("properties", 0, "value"))] and "no person has 'tier'" in str(person.warnings[0])
    for fine in ({"key": "plan", "value": ["Pro", "free"]},  # one of them is there
                 {"key": "plan", "value": "Pro", "operator": "is_not"},  # matches every event
                 {"key": "plan", "value": "Pro", "operator": "icontains"},
                 {"key": "amount", "value": "3"},  # the text of a stored value
                 {"key": "plann", "value": "pro"}):  # (unknown_property says that one)
        assert "absent_value" not in [c for c, _ in codes(warned({"events": [{"id": "buy"}], "properties": [fine]}))], fine
