"""Property types inferred from the data like PostHog's ingestion (issue #15)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
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


# --- large dictionaries: detection stops at the deciding value (the 50 M benchmark's e-mails) ------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from trendcalc.store import inferred_types  # noqa: E402
from trendcalc.store.columns import PropertyColumn, ValueDictionary  # noqa: E402

_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**40), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["2024-03-01", "true", "FALSE", " x ", "12/13/2023", "plain", "1717000000"]),
                    st.lists(st.integers(), max_size=1))
_KEYS = st.sampled_from(["v", "created_at", "signup_date", "utm_source", "n"])


def _full_pass(key, values, codes, ts, latest_s):
    """The definition: detect every distinct value; person columns (ts None) take the first typed
    value in dictionary order, event columns the typed value seen first in time (ties: code),
    "now" its first-seen time when rule 3 may read it."""
    needs_now = inferred_types.has_datetime_keyword(key) and any(type(v) is int and v >= 0 for v in values)
    first = [math.inf] * len(values)
    if ts is not None:
        for c, t in zip(codes.tolist(), ts.tolist()):
            if c >= 0:
                first[c] = min(first[c], t / 1e6)
    typed = [(first[i], i, t) for i, v in enumerate(values)
             if (ts is None or first[i] < math.inf)  # an event value no row holds was never ingested
             and (t := detect(key, v, first[i] if (needs_now and ts is not None) else latest_s)) is not None]
    if not typed:
        return None
    return typed[0][2] if ts is None else min(typed)[2]


@settings(max_examples=150, deadline=None)
@given(key=_KEYS, raw=st.lists(_VALUES, min_size=1, max_size=12), data=st.data(), lazy=st.booleans())
def test_column_type_equals_the_full_pass(key, raw, data, lazy):
    """Either way of finding an event column's type (every value, or first-seen order until a
    typed value) gives the definition's answer."""
    values = []
    for v in raw:  # a dictionary holds distinct values
        if all(not (type(v) is type(w) and v == w) for w in values):
            values.append(v)
    # most values are held by some row, as in a store built from rows; plus extra rows and NULLs;
    # some may be held by none (a partition sliced from a store shares the store's dictionaries)
    unheld = set(data.draw(st.lists(st.integers(0, len(values) - 1), max_size=3)))
    extra = data.draw(st.lists(st.integers(-1, len(values) - 1).filter(lambda c: c not in unheld), max_size=12))
    held = [c for c in range(len(values)) if c not in unheld]
    codes = np.array(data.draw(st.permutations(held + extra)), dtype=np.int32)
    n_rows = len(codes)
    ts = np.array(data.draw(st.lists(st.integers(1_700_000_000, 1_700_000_100), min_size=n_rows, max_size=n_rows)),
                  dtype=np.int64) * 1_000_000
    latest = 1_700_000_200.0
    col = PropertyColumn(codes, ValueDictionary(values))
    saved = inferred_types.prefers_first_seen_order
    inferred_types.prefers_first_seen_order = lambda n_values, n_rows, needs: lazy
    try:
        for t in (None, ts):
            assert inferred_types.column_type(key, col, t, latest) == _full_pass(key, values, codes, t, latest)
    finally:
        inferred_types.prefers_first_seen_order = saved


def test_a_large_column_detects_only_up_to_the_deciding_value(monkeypatch):
    n = 50_000  # as many values as rows: first-seen order is the cheaper way
    values = [None, *(f"user{i}@example.com" for i in range(n))]
    calls = []

    def counting(key, value, now_s):
        calls.append(value)
        return detect(key, value, now_s)

    monkeypatch.setattr(inferred_types, "detect", counting)
    person_col = PropertyColumn(np.arange(len(values), dtype=np.int32), ValueDictionary(values))
    assert inferred_types.column_type("email", person_col, None, NOW_S) == "String"
    assert calls == [None, "user0@example.com"]
    calls.clear()
    # an event column: value k first seen at second len - k, so the last value is seen first
    ts = (np.arange(len(values), 0, -1, dtype=np.int64) + 1_700_000_000) * 1_000_000
    assert inferred_types.column_type("email", person_col, ts, NOW_S) == "String"
    assert calls == [values[-1]]
