"""Property types inferred from the data like PostHog's ingestion (issue #15)."""

from __future__ import annotations

import datetime as dt

import pytest

import trendcalc as tc
from trendcalc.testing import reference
from trendcalc.typedetect import SIX_MONTHS_AGO_SECS, detect

NOW_S = dt.datetime(2025, 3, 11, tzinfo=dt.timezone.utc).timestamp()


# Executed upstream examples (rust/property-defs-rs tests, as listed in property-types.md §4)
@pytest.mark.parametrize(("key", "value", "want"), [
    ("random_property", "2025-03-11T09:48:12.863948+00:00", "DateTime"),
    ("random_property", "2023-12-13", "DateTime"),
    ("random_property", "12/13/2023", "DateTime"),
    ("random_property", "2023/12/13 15:45:30Z", "DateTime"),
    ("random_property", "12/13/2023 15:45:30-07", "DateTime"),
    ("random_property", "2023-13-12T15:45:30", "DateTime"),
    ("timestamp", "15:45:30", "String"),
    ("signup_date", "not a date", "String"),
    ("created_at", "15:45:30", "String"),
    ("signup_date", "true", "Boolean"),
    ("updatedAt", "FALSE", "Boolean"),
    ("posthog_is_awesome", "true", "Boolean"),
    ("time", 1639400730, "Numeric"),
    ("TIMESTAMP", 1639400730, "Numeric"),
    ("sent-at", 1639400730, "Numeric"),
    ("was_detected_at", 1639400730, "Numeric"),
    ("time", int(NOW_S), "DateTime"),
    ("Created_At", int(NOW_S), "DateTime"),
    ("last-seen-at", int(NOW_S), "DateTime"),
    ("random_property_has_datetime_value", int(NOW_S), "DateTime"),
    ("hedgehogs_enumerated", int(NOW_S), "Numeric"),
    ("thyme_stamp", int(NOW_S), "Numeric"),
    ("UTM_Source", 12345, "String"),
    ("$Survey_Response_2", 7, "String"),
    ("$FEATURE/My-Flag", True, "String"),
    ("$feature_flag_response", False, "String"),
    # consequences of the rules (property-types.md §4)
    ("plan", "True", "String"),
    ("n", "42", "String"),
    ("created_at", 1717000000.5, "Numeric"),
    ("created_at", "1717000000", "String"),
    ("d", "2023-12-13T15:45", "String"),
    ("price", 29.9, "Numeric"),
    ("flag", False, "Boolean"),
    ("obj", {"a": 1}, None),
    ("list", [1], None),
])
def test_detector_matches_upstream_examples(key, value, want):
    assert detect(key, value, NOW_S) == want


def test_epoch_threshold_is_six_months_before_now():
    now = 1_700_000_000
    assert detect("sent_at", now - SIX_MONTHS_AGO_SECS, now) == "DateTime"
    assert detect("sent_at", now - SIX_MONTHS_AGO_SECS - 1, now) == "Numeric"


def ev(ts: str, props: dict, name: str = "buy", who: str = "a") -> dict:
    return {"event": name, "distinct_id": who, "timestamp": ts, "properties": props}


PRICES = [5, 12, 20.5, 9.99, 11, 3]
EVENTS = [ev(f"2024-03-0{1 + i % 3}T10:00:00Z", {"price": p, "paid": i % 2 == 0, "plan": "pro" if i % 2 else "free",
                                                  "seen": f"2024-02-0{1 + i % 5}"}, who=f"u{i}")
          for i, p in enumerate(PRICES)]
QUERY = {"events": [{"id": "buy", "math": "sum", "math_property": "price"}], "display": "ActionsTable",
         "date_from": "2024-03-01", "date_to": "2024-03-03"}
NOW = "2024-03-04T00:00:00Z"


def test_numeric_column_works_without_a_definition():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"event": "buy", "distinct_id": [f"u{i}" for i in range(len(PRICES))],
                       "timestamp": pd.to_datetime([e["timestamp"] for e in EVENTS]), "price": [float(p) for p in PRICES]})
    for store in (tc.EventStore.from_records(EVENTS), tc.EventStore.from_pandas(df)):
        q = {**QUERY, "properties": [{"key": "price", "operator": "gt", "value": 10}]}
        got = tc.trends(store, q, now=NOW).to_dicts()[0]["aggregated_value"]
        assert got == pytest.approx(df.loc[df.price > 10, "price"].sum())
        assert tc.trends(store, QUERY, now=NOW).to_dicts()[0]["aggregated_value"] == pytest.approx(df.price.sum())


def test_property_definitions_show_what_was_inferred():
    store = tc.EventStore.from_records(EVENTS, persons=[{"distinct_ids": ["u0"], "properties": {"age": 30, "vip": "true"}}])
    got = {(d["kind"], d["name"]): d["type"] for d in store.property_definitions}
    assert got == {("event", "price"): "Numeric", ("event", "paid"): "Boolean", ("event", "plan"): "String",
                   ("event", "seen"): "DateTime", ("person", "age"): "Numeric", ("person", "vip"): "Boolean"}


def test_first_value_in_time_order_decides():
    # "7" (String) is seen first in time although it comes later in the input
    events = [ev("2024-03-02T00:00:00Z", {"v": 7}), ev("2024-03-01T00:00:00Z", {"v": "7"})]
    assert tc.EventStore.from_records(events).inferred_type("v") == "String"
    events = [ev("2024-03-01T00:00:00Z", {"v": None}), ev("2024-03-02T00:00:00Z", {"v": {"a": 1}}),
              ev("2024-03-03T00:00:00Z", {"v": 2.5})]
    assert tc.EventStore.from_records(events).inferred_type("v") == "Numeric"  # untyped values do not block


def test_declared_definitions_win_and_the_switch_turns_inference_off():
    store = tc.EventStore.from_records(EVENTS)
    q = {**QUERY, "properties": [{"key": "price", "operator": "gt", "value": 10}]}
    declared = tc.Project(property_definitions=[{"name": "price", "type": "String", "kind": "event"}])
    for project in (declared, tc.Project(infer_property_types=False), tc.Project.from_dict({"infer_property_types": False})):
        with pytest.raises(tc.ValidationError) as info:
            tc.trends(store, q, project=project, now=NOW)
        assert "declare it Numeric" in info.value.message
        assert "Quote" not in info.value.message
    # a quoted value keeps PostHog's text comparison on a String property ("9.99" > "10" as text)
    quoted = {**QUERY, "properties": [{"key": "price", "operator": "gt", "value": "10"}]}
    as_text = tc.trends(store, quoted, project=declared, now=NOW).to_dicts()[0]["aggregated_value"]
    assert as_text == pytest.approx(sum(p for p in PRICES if str(p) > "10"))  # "5", "3", "9.99" > "10" as text
    assert as_text != pytest.approx(sum(p for p in PRICES if p > 10))
    with pytest.raises(tc.ValidationError):
        tc.Project(infer_property_types="yes")


def test_inferred_types_answer_as_declared_ones():
    """The engine with inference equals the reference given the inferred types as definitions."""
    store = tc.EventStore.from_records(EVENTS)
    declared = tc.Project(property_definitions=store.property_definitions, infer_property_types=False)
    for q in (QUERY, {**QUERY, "breakdown": "price"}, {**QUERY, "breakdown": "paid"},
              {**QUERY, "properties": [{"key": "paid", "operator": "exact", "value": True}]},
              {**QUERY, "properties": [{"key": "seen", "operator": "is_date_before", "value": "2024-02-03"}]}):
        got = tc.trends(store, q, now=NOW).to_dicts()
        want = reference.reference_trends(EVENTS, None, None, query=q, project=declared, now=NOW)
        assert [(s["breakdown_value"] if "breakdown_value" in s else None, s["aggregated_value"]) for s in got] == \
            [(s["breakdown_value"] if "breakdown_value" in s else None, s["aggregated_value"]) for s in want]
