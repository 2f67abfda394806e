"""Formulas over real series (engine/formulas.py): alignment, labels, displays, compare, errors.

Unit tests of the parser and evaluator live beside this file; here every formula runs through
``trendcalc.trends`` on the spec's §12 fixture (tests/spec_world.py).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trendcalc as tc
from tests.spec_world import NOW, PROJECT, run, spec_store
from trendcalc.engine.formulas import natural_key

PV, PL = {"id": "$pageview"}, {"id": "$pageleave"}
RANGE = {"date_from": "2020-01-09", "date_to": "2020-01-19"}
PAGEVIEW = [1, 0, 1, 3, 1, 0, 2, 0, 1, 0, 1]
PAGELEAVE = [0, 0, 1, 1, 3, 0, 0, 1, 0, 0, 0]


def legacy(formula, **kw):
    return run({"events": [PV, PL], **RANGE, "formula": formula, **kw})


def query(trends_filter, **kw):
    q = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"},
                                           {"kind": "EventsNode", "event": "$pageleave"}],
         "dateRange": RANGE, "trendsFilter": trends_filter, **kw}
    return run(q)


def test_spec_example_a_plus_2b():
    [r] = legacy("A+2*B")
    assert r["data"] == [1, 0, 3, 5, 7, 0, 2, 2, 1, 0, 1]
    assert r["count"] == 22.0 and isinstance(r["count"], float)
    assert r["label"] == "Formula (A+2*B)"
    assert r["action"] is None and r["order"] == 0
    assert r["days"][0] == "2020-01-09" and r["labels"][0] == "9-Jan-2020"
    assert "breakdown_value" not in r and "compare" not in r


def test_letters_are_case_insensitive_and_label_keeps_the_text():
    [r] = legacy("a - b")
    assert r["data"] == [a - b for a, b in zip(PAGEVIEW, PAGELEAVE)]
    assert r["label"] == "Formula (a - b)"


def test_division_by_zero_gives_zero_and_floats():
    [r] = legacy("A / B")
    assert r["data"] == [0, 0, 1.0, 3.0, 1 / 3, 0, 0, 0.0, 0, 0, 0]
    assert all(isinstance(x, float) for x in r["data"])
    assert r["count"] == pytest.approx(1 + 3 + 1 / 3)


def test_integer_arithmetic_keeps_ints():
    [r] = legacy("A * 2 - B")
    assert r["data"] == [2 * a - b for a, b in zip(PAGEVIEW, PAGELEAVE)]
    assert all(isinstance(x, int) for x in r["data"])


def test_legacy_formula_characters_are_stripped():
    # PostHog keeps only letters, digits, space and - * ^ + / ( ) . in a legacy formula
    [r] = legacy("A + B,")
    assert r["data"] == [a + b for a, b in zip(PAGEVIEW, PAGELEAVE)]
    assert r["label"] == "Formula (A + B)"


def test_several_formulas_in_order_with_custom_names():
    res = query({"formulaNodes": [{"formula": "A+B", "custom_name": "sum"}, {"formula": "A-B"}]})
    assert [r["label"] for r in res] == ["sum", "Formula (A-B)"]
    assert [r["order"] for r in res] == [0, 1]
    assert res[0]["data"] == [a + b for a, b in zip(PAGEVIEW, PAGELEAVE)]
    assert res[1]["data"] == [a - b for a, b in zip(PAGEVIEW, PAGELEAVE)]


def test_formula_nodes_win_over_formulas_over_formula():
    res = query({"formula": "A", "formulas": ["B"], "formulaNodes": [{"formula": "A+B"}]})
    assert [r["label"] for r in res] == ["Formula (A+B)"]
    res = query({"formula": "A", "formulas": ["B", "2*B"]})
    assert [r["label"] for r in res] == ["Formula (B)", "Formula (2*B)"]
    assert res[1]["data"] == [2 * b for b in PAGELEAVE]


def test_cumulative_display_applies_the_formula_to_cumulated_series():
    [r] = legacy("A - B", display="ActionsLineGraphCumulative")
    cum_a = [1, 1, 2, 5, 6, 6, 8, 8, 9, 9, 10]
    cum_b = [0, 0, 1, 2, 5, 5, 5, 6, 6, 6, 6]
    assert r["data"] == [a - b for a, b in zip(cum_a, cum_b)]
    assert r["count"] == float(sum(r["data"]))  # a formula's count is the sum, even cumulative


def test_total_value_display():
    [r] = legacy("A + 10 * B", display="ActionsTable")
    assert r["aggregated_value"] == 10 + 10 * 6 and isinstance(r["aggregated_value"], float)
    assert r["data"] is None and r["count"] == 0 and r["days"] == []
    assert r["label"] == "Formula (A + 10 * B)" and "labels" not in r


def test_breakdown_alignment_and_ordering():
    res = legacy("A - B", breakdown="$browser")
    assert [r["breakdown_value"] for r in res] == ["Chrome", "Firefox", "Edge", "Safari"]
    assert [r["count"] for r in res] == [3.0, 1.0, 0.0, 0.0]
    # Edge and Safari tie on sum and count; the data list decides (descending)
    assert res[2]["data"][3] == 1 and res[3]["data"][6] == 1
    assert all(r["label"] == "Formula (A - B)" for r in res)


def test_breakdown_values_missing_in_a_series_are_zero_filled():
    store = tc.EventStore.from_records([
        {"event": "a", "distinct_id": "u", "timestamp": "2020-01-10T12:00:00Z", "properties": {"k": "x"}},
        {"event": "a", "distinct_id": "u", "timestamp": "2020-01-10T12:00:00Z", "properties": {"k": "x"}},
        {"event": "b", "distinct_id": "u", "timestamp": "2020-01-11T12:00:00Z", "properties": {"k": "x"}},
        {"event": "b", "distinct_id": "u", "timestamp": "2020-01-11T12:00:00Z", "properties": {"k": "only-b"}},
        {"event": "b", "distinct_id": "u", "timestamp": "2020-01-11T12:00:00Z", "properties": {}},
    ])
    q = {"events": [{"id": "a"}, {"id": "b"}], "date_from": "2020-01-10", "date_to": "2020-01-11",
         "breakdown": "k", "formula": "A + 3*B"}
    res = tc.trends(store, q, now=NOW).to_dicts()
    by_value = {r["breakdown_value"]: r for r in res}
    assert by_value["x"]["data"] == [2, 3]
    assert by_value["only-b"]["data"] == [0, 3]
    assert [r["breakdown_value"] for r in res] == ["x", "only-b", "$$_posthog_breakdown_null_$$"]
    # series A lacks "only-b": PostHog's result is built on its zero filler row
    filler = by_value["only-b"]
    assert "filter" not in filler and filler["aggregated_value"] == 0 and filler["action"] is None
    assert filler["days"] == ["2020-01-10", "2020-01-11"] and filler["order"] == 0
    assert "filter" in by_value["x"]


def test_compare_applies_the_formula_per_half():
    res = legacy("A+2*B", date_from="2020-01-15", compare=True)
    assert [(r["compare_label"], r["data"], r["count"]) for r in res] == [
        ("current", [2, 2, 1, 0, 1], 6.0),
        ("previous", [0, 3, 5, 7, 0], 15.0),
    ]
    assert all(r["compare"] is True for r in res)
    assert res[1]["days"][0] == "2020-01-10"


def test_compare_with_several_formulas_orders_by_formula_then_period():
    res = query({"formulas": ["A", "B"]}, compareFilter={"compare": True},
                dateRange={"date_from": "2020-01-15", "date_to": "2020-01-19"})
    assert [(r["label"], r["compare_label"], r["order"]) for r in res] == [
        ("Formula (A)", "current", 0), ("Formula (A)", "previous", 0),
        ("Formula (B)", "current", 1), ("Formula (B)", "previous", 1),
    ]


def test_compare_with_breakdown_sorts_each_half_by_count():
    res = legacy("A + B", date_from="2020-01-12", date_to="2020-01-16", compare=True, breakdown="$browser")
    current = [r for r in res if r["compare_label"] == "current"]
    previous = [r for r in res if r["compare_label"] == "previous"]
    assert res == current + previous
    assert [(r["breakdown_value"], r["count"]) for r in current] == [
        ("Chrome", 5.0), ("Edge", 2.0), ("Firefox", 2.0), ("Safari", 2.0)]
    assert [(r["breakdown_value"], r["count"]) for r in previous] == [("Chrome", 2.0), ("Firefox", 1.0)]


def test_missing_letter_is_a_validation_error_with_position():
    with pytest.raises(tc.ValidationError) as exc:
        legacy("A + C")
    assert exc.value.path == ("formula",)
    assert "series C at position 4" in exc.value.message
    with pytest.raises(tc.ValidationError) as exc:
        query({"formulaNodes": [{"formula": "A"}, {"formula": "b*z"}]})
    assert exc.value.path == ("trendsFilter", "formulaNodes", 1, "formula")
    assert "Z at position 2" in exc.value.message


def test_malformed_formula_names_the_position():
    with pytest.raises(tc.ValidationError) as exc:
        query({"formula": "A + (B"})
    assert exc.value.path == ("trendsFilter", "formula") and "position 4" in exc.value.message
    with pytest.raises(tc.ValidationError) as exc:
        legacy("A ^ B")  # '^' survives legacy cleaning and is rejected, as in PostHog
    assert "position 2" in exc.value.message


def test_a_deleted_action_in_a_formula_is_an_error():
    q = {"actions": [{"id": 99}], "events": [PV], **RANGE, "formula": "A+B"}
    with pytest.raises(tc.ValidationError) as exc:
        run(q)
    assert exc.value.path == ("formula",)


def test_input_is_not_mutated():
    q = {"kind": "TrendsQuery", "series": [{"event": "$pageview"}], "trendsFilter": {"formulas": ["A", "2*A"]}}
    before = repr(q)
    run(q)
    assert repr(q) == before


def test_natural_key_matches_natsort_ignorecase():
    values = ["b10", "B2", "a", "$$_posthog_breakdown_null_$$", "10", "9", "Chrome"]
    # checked against natsort 8.4 natsorted(values, alg=ns.IGNORECASE)
    assert sorted(values, key=natural_key) == ["9", "10", "$$_posthog_breakdown_null_$$", "a", "B2", "b10", "Chrome"]
    assert sorted(["all", 5, 12], key=natural_key) == [5, 12, "all"]
    assert sorted([("b", "1"), ("a", "2")], key=natural_key) == [("a", "2"), ("b", "1")]


# --- properties ---------------------------------------------------------------------------------

EVENTS = ("a", "b", "c")
event_lists = st.lists(
    st.tuples(st.sampled_from(EVENTS), st.integers(0, 5), st.sampled_from(["u1", "u2", "u3"])),
    min_size=1, max_size=40,
)


def _store(rows):
    return tc.EventStore.from_records(
        [{"event": e, "distinct_id": u, "timestamp": f"2020-01-{10 + d:02d}T08:00:00Z"} for e, d, u in rows]
    )


def _series_data(store, math):
    q = {"events": [{"id": e, "math": math} for e in EVENTS], "date_from": "2020-01-10", "date_to": "2020-01-15"}
    return [r["data"] for r in tc.trends(store, q, now=NOW).to_dicts()]


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(event_lists, st.sampled_from(["total", "dau"]))
def test_formula_a_equals_series_a(rows, math):
    store = _store(rows)
    data = _series_data(store, math)
    q = {"events": [{"id": e, "math": math} for e in EVENTS], "date_from": "2020-01-10",
         "date_to": "2020-01-15", "formula": "A"}
    [r] = tc.trends(store, q, now=NOW).to_dicts()
    assert r["data"] == data[0] and r["count"] == float(sum(data[0]))


def _python(op, x, y):
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    try:
        return x / y
    except ZeroDivisionError:
        return 0


@FAST
@given(event_lists, st.sampled_from("+-*/"), st.sampled_from("+-*/"), st.integers(1, 9))
def test_formula_is_elementwise_arithmetic_on_the_series(rows, op1, op2, k):
    store = _store(rows)
    a, b, c = _series_data(store, "total")
    formula = f"(A {op1} B) {op2} ({k} * C)"
    q = {"events": [{"id": e} for e in EVENTS], "date_from": "2020-01-10", "date_to": "2020-01-15", "formula": formula}
    [r] = tc.trends(store, q, now=NOW).to_dicts()
    expected = [_python(op2, _python(op1, x, y), k * z) for x, y, z in zip(a, b, c)]
    assert r["data"] == pytest.approx(expected)
    assert r["count"] == pytest.approx(sum(expected))


@FAST
@given(event_lists, st.sampled_from("+-*"))
def test_formula_with_breakdown_equals_arithmetic_per_value(rows, op):
    rows = [(e, d, u) for e, d, u in rows if e != "c"]
    store = tc.EventStore.from_records(
        [{"event": e, "distinct_id": u, "timestamp": f"2020-01-{10 + d:02d}T08:00:00Z", "properties": {"who": u}}
         for e, d, u in rows]
    )
    base = {"events": [{"id": "a"}, {"id": "b"}], "date_from": "2020-01-10", "date_to": "2020-01-15", "breakdown": "who"}
    series = tc.trends(store, base, now=NOW).to_dicts()
    per = {}
    for r in series:
        per.setdefault(r["breakdown_value"], {})[r["label"].split(" - ")[0]] = r["data"]
    res = tc.trends(store, {**base, "formula": f"A {op} B"}, now=NOW).to_dicts()
    assert {r["breakdown_value"] for r in res} == set(per)
    for r in res:
        zeros = [0] * len(r["data"])
        a, b = per[r["breakdown_value"]].get("a", zeros), per[r["breakdown_value"]].get("b", zeros)
        assert r["data"] == [_python(op, x, y) for x, y in zip(a, b)]
    keys = [(sum(r["data"]), r["data"]) for r in res if not isinstance(r.get("aggregated_value"), int)]
    assert keys == sorted(keys, reverse=True)


def test_world_fixture_is_the_spec_one():
    res = tc.trends(spec_store(), {"events": [PV], **RANGE}, project=PROJECT, now=NOW).to_dicts()
    assert res[0]["data"] == PAGEVIEW


def _row(value, data, period=None):
    return tc.SeriesResult(label="x", order=0, action={}, filter={}, data=data, labels=["l"] * len(data),
                           days=["d"] * len(data), count=float(sum(data)), breakdown_value=value,
                           has_breakdown=True, compare_label=period)


def _ctx(query):
    from types import SimpleNamespace

    from trendcalc.query.displays import DISPLAYS

    filt = tc.parse_filter(query)
    return SimpleNamespace(filter=filt, display=DISPLAYS[filt.display])


def test_cohort_breakdown_with_all_is_evaluated_per_cohort_block():
    from types import SimpleNamespace

    from trendcalc.engine.formulas import apply_formulas

    ctx = _ctx({"events": [PV, PL], "breakdown": ["all", 7], "breakdown_type": "cohort", "formula": "A+B"})
    queries = [SimpleNamespace(period=None)] * 4  # cohort-major: (all, A), (all, B), (7, A), (7, B)
    results = [[_row("all", [1, 2])], [_row("all", [10, 20])], [_row(7, [3, 0])], [_row(7, [0, 5])]]
    out = apply_formulas(ctx, queries, results)
    assert [(r.breakdown_value, r.data, r.label) for r in out] == [
        ("all", [11, 22], "Formula (A+B)"), (7, [3, 5], "Formula (A+B)")]


def test_compare_halves_are_split_by_period_and_fillers_keep_the_period():
    from types import SimpleNamespace

    from trendcalc.engine.formulas import apply_formulas

    ctx = _ctx({"events": [PV, PL], "breakdown": "$browser", "formula": "A-B", "compare": True})
    queries = [SimpleNamespace(period=p) for p in ("current", "current", "previous", "previous")]
    results = [
        [_row("x", [1, 1], "current")], [_row("x", [0, 1], "current"), _row("y", [4, 0], "current")],
        [_row("x", [2, 2], "previous")], [],
    ]
    out = [r.to_dict() for r in apply_formulas(ctx, queries, results)]
    assert [(r["compare_label"], r["breakdown_value"], r["data"]) for r in out] == [
        ("current", "x", [1, 0]), ("current", "y", [-4, 0]), ("previous", "x", [2, 2])]
    assert "filter" not in out[1] and out[1]["aggregated_value"] == 0  # built on the filler row
