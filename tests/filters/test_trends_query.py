"""TrendsQuery input (filters/trends_query.py): the same model as the legacy dict, its own errors."""

from __future__ import annotations

import pytest

import trendcalc as tc
from tests.spec_world import run
from trendcalc.query.model import PropertyGroup


def tq(**kw):
    return {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "e"}], **kw}


def parse(**kw):
    return tc.parse_filter(tq(**kw))


def test_defaults():
    f = parse()
    assert (f.date_from, f.date_to, f.interval, f.display, f.source) == (None, None, "day", "ActionsLineGraph", "query")
    assert f.series[0].kind == "events" and f.series[0].id == "e" and f.series[0].label == "e"
    assert f.breakdown is None and f.formulas == () and not f.compare and f.smoothing_intervals == 1


def test_full_query_maps_every_numeric_field():
    f = tc.parse_filter({
        "kind": "TrendsQuery",
        "series": [
            {"kind": "EventsNode", "event": "$pageview", "name": "$pageview", "custom_name": "Views",
             "math": "dau", "properties": []},
            {"kind": "ActionsNode", "id": 7, "name": "Signed up", "math": "dau", "math_group_type_index": 0.0},
            {"kind": "EventsNode", "event": None},
        ],
        "dateRange": {"date_from": "-14d", "date_to": "-1d", "explicitDate": True},
        "interval": "minute",
        "properties": {"type": "AND", "values": [{"type": "OR", "values": []}]},
        "filterTestAccounts": True,
        "breakdownFilter": {"breakdown": "$browser", "breakdown_type": "event", "breakdown_limit": 5,
                            "breakdown_normalize_url": True, "breakdown_hide_other_aggregation": True},
        "trendsFilter": {"display": "ActionsLineGraphCumulative", "smoothingIntervals": 3, "formula": "A+B"},
        "compareFilter": {"compare": True, "compare_to": "-1w"},
        "samplingFactor": 0.5,
        "aggregation_group_type_index": 1,
    })
    views, action, everything = f.series
    assert (views.label, views.custom_name, views.math) == ("$pageview", "Views", "dau")
    assert (action.kind, action.id, action.label, action.math_group_type_index) == ("actions", 7, "Signed up", 0)
    assert (everything.id, everything.label, everything.index) == (None, "All events", 2)
    assert (f.date_from, f.date_to, f.explicit_date, f.interval) == ("-14d", "-1d", True, "minute")
    assert isinstance(f.properties, PropertyGroup) and f.filter_test_accounts
    b = f.breakdown
    assert (b.items[0].property, b.items[0].normalize_url, b.limit, b.hide_other) == ("$browser", True, 5, True)
    assert (f.display, f.smoothing_intervals, f.formulas[0].text) == ("ActionsLineGraphCumulative", 3, "A+B")
    assert (f.compare, f.compare_to, f.sampling_factor, f.aggregation_group_type_index) == (True, "-1w", 0.5, 1)


def test_same_answer_as_the_legacy_form():
    legacy = {"events": [{"id": "$pageview", "math": "dau"}, {"id": "$pageleave"}], "date_from": "2020-01-09",
              "date_to": "2020-01-19", "breakdown": "$browser", "formula": "A+B", "compare": True}
    query = {"kind": "TrendsQuery",
             "series": [{"kind": "EventsNode", "event": "$pageview", "math": "dau"}, {"kind": "EventsNode", "event": "$pageleave"}],
             "dateRange": {"date_from": "2020-01-09", "date_to": "2020-01-19"},
             "breakdownFilter": {"breakdown": "$browser"}, "trendsFilter": {"formula": "A+B"},
             "compareFilter": {"compare": True}}
    a, b = run(legacy), run(query)
    assert [(r["breakdown_value"], r["compare_label"], r["data"]) for r in a] == \
           [(r["breakdown_value"], r["compare_label"], r["data"]) for r in b]
    assert len(a) > 2


def test_missing_date_range_is_midnight_seven_days_ago():
    res = run(tq(series=[{"event": "$pageview"}]), now="2020-01-19T15:00:00Z")
    assert res[0]["days"][0] == "2020-01-12" and len(res[0]["days"]) == 8


def test_minute_interval_is_kept():
    assert parse(interval="minute").interval == "minute"
    res = run(tq(series=[{"event": "$pageview"}], interval="minute", dateRange={"date_from": "-5M"}),
              now="2020-01-19T12:02:00Z")
    assert res[0]["days"] == [f"2020-01-19 11:{m}:00" for m in range(57, 60)] + [
        "2020-01-19 12:00:00", "2020-01-19 12:01:00", "2020-01-19 12:02:00"]
    assert res[0]["data"] == [0, 0, 0, 1, 0, 0]


def test_kind_is_inferred_for_nodes_without_one():
    f = tc.parse_filter({"kind": "TrendsQuery", "series": [{"event": "e"}, {"id": 3}]})
    assert [s.kind for s in f.series] == ["events", "actions"]


def test_insight_viz_node_is_unwrapped():
    f = tc.parse_filter({"kind": "InsightVizNode", "full": True, "source": tq(interval="week")})
    assert f.interval == "week"
    with pytest.raises(tc.ValidationError) as exc:
        tc.parse_filter({"kind": "InsightVizNode", "source": tq(interval="weak")})
    assert exc.value.path == ("source", "interval") and "did you mean 'week'" in exc.value.message


def test_compare_old_and_new_spelling():
    assert parse(compareFilter={"compare": True}).compare
    assert parse(trendsFilter={"compare": True}).compare
    assert not parse(compareFilter={"compare": False, "compare_to": "-1w"}).compare


def test_formula_precedence_and_custom_names():
    f = parse(series=[{"event": "a"}, {"event": "b"}],
              trendsFilter={"formula": "A", "formulas": ["B"], "formulaNodes": [{"formula": "a/b", "custom_name": "Ratio"}]})
    assert [(x.text, x.custom_name) for x in f.formulas] == [("a/b", "Ratio")]
    f = parse(series=[{"event": "a"}, {"event": "b"}], trendsFilter={"formula": "A", "formulas": ["B", "A*2"]})
    assert [x.text for x in f.formulas] == ["B", "A*2"]
    # no character stripping in a TrendsQuery: '%' is modulo here
    f = parse(series=[{"event": "a"}, {"event": "b"}], trendsFilter={"formula": "A % B"})
    assert f.formulas[0].text == "A % B"


def test_presentation_fields_are_accepted_and_echoed():
    f = parse(trendsFilter={"showLegend": True, "aggregationAxisFormat": "percentage", "decimalPlaces": 2,
                            "yAxisScaleType": "log10", "hiddenLegendIndexes": [1], "showValuesOnSeries": True,
                            "resultCustomizationBy": "value", "goalLines": [{"label": "x", "value": 3}]},
              response={"results": []}, tags={"productKey": "x"}, version=2, dataColorTheme=1,
              modifiers={"debug": True})
    assert dict(f.echo)["showLegend"] is True and dict(f.echo)["decimalPlaces"] == 2
    res = run(tq(series=[{"event": "$pageview"}], trendsFilter={"showLegend": True}))
    assert res[0]["filter"]["showLegend"] is True


def test_breakdowns_multi_and_cohort():
    f = parse(breakdownFilter={"breakdowns": [{"property": "a"}, {"property": "b", "type": "person"}]})
    assert f.breakdown.multi and [i.type for i in f.breakdown.items] == ["event", "person"]
    f = parse(breakdownFilter={"breakdown": ["all", 4], "breakdown_type": "cohort"})
    assert f.breakdown.items[0].property == ("all", 4)


@pytest.mark.parametrize(
    "query, path, words",
    [
        (tq(wat=1), ("wat",), "unknown field"),
        (tq(trendsFilter={"dispaly": "ActionsTable"}), ("trendsFilter", "dispaly"), "did you mean 'display'"),
        (tq(trendsFilter={"display": "ActionsTabel"}), ("trendsFilter", "display"), "did you mean 'ActionsTable'"),
        (tq(dateRange={"date_from": 7}), ("dateRange", "date_from"), "date string"),
        (tq(dateRange={"from": "-7d"}), ("dateRange", "from"), "unknown field"),
        (tq(dateRange="-7d"), ("dateRange",), "expected an object"),
        (tq(interval="fortnight"), ("interval",), "unknown interval"),
        (tq(series="e"), ("series",), "list"),
        ({"kind": "TrendsQuery"}, ("series",), "needs `series`"),
        (tq(series=[{"kind": "EventsNode", "event": 5}]), ("series", 0, "event"), "event name"),
        (tq(series=[{"kind": "EventsNode", "id": 5}]), ("series", 0, "id"), "unknown field"),
        (tq(series=[{"kind": "ActionsNode"}]), ("series", 0, "id"), "action `id`"),
        (tq(series=[{"kind": "EventNode", "event": "e"}]), ("series", 0, "kind"), "did you mean 'EventsNode'"),
        (tq(series=[{"event": "e", "math": "summ"}]), ("series", 0, "math"), "did you mean 'sum'"),
        (tq(series=["e"]), ("series", 0), "EventsNode"),
        (tq(breakdownFilter={"breakdown": "x", "breakdown_type": "persons"}), ("breakdownFilter", "breakdown", "type"), "did you mean 'person'"),
        (tq(breakdownFilter={"breakdowns": [{"property": p} for p in "abcd"]}), ("breakdownFilter", "breakdowns"), "at most 3"),
        (tq(breakdownFilter={"breakdwon": "x"}), ("breakdownFilter", "breakdwon"), "did you mean 'breakdown'"),
        (tq(trendsFilter={"smoothingIntervals": 0}), ("trendsFilter", "smoothingIntervals"), "integer"),
        (tq(trendsFilter={"formula": "A+B"}), ("trendsFilter", "formula"), "series B at position 2"),
        (tq(trendsFilter={"formulas": ["A", "A +"]}), ("trendsFilter", "formulas", 1), "position 3"),
        (tq(trendsFilter={"formulaNodes": [{"formula": "A", "name": "x"}]}), ("trendsFilter", "formulaNodes", 0, "name"), "unknown field"),
        (tq(trendsFilter={"formulaNodes": [{"custom_name": "x"}]}), ("trendsFilter", "formulaNodes", 0, "formula"), "empty"),
        (tq(compareFilter={"compare_to": 7}), ("compareFilter", "compare_to"), "relative date"),
        (tq(samplingFactor=3), ("samplingFactor",), "(0, 1]"),
        (tq(aggregation_group_type_index=9), ("aggregation_group_type_index",), "[0, 4]"),
        (tq(properties=[{"key": "a", "operator": "equals", "value": 1}]), ("properties", 0, "operator"), "unknown operator"),
        ({"kind": "TrendQuery", "series": []}, ("kind",), "did you mean 'TrendsQuery'"),
        ({"kind": "InsightVizNode"}, ("source",), "TrendsQuery"),
    ],
)
def test_validation_errors_name_the_path(query, path, words):
    with pytest.raises(tc.ValidationError) as exc:
        tc.parse_filter(query)
    assert not isinstance(exc.value, tc.UnsupportedError)
    assert exc.value.path == path
    assert words in exc.value.message


@pytest.mark.parametrize(
    "query, path",
    [
        ({"kind": "FunnelsQuery", "series": []}, ("kind",)),
        ({"kind": "InsightVizNode", "source": {"kind": "StickinessQuery", "series": []}}, ("source", "kind")),
        (tq(series=[{"kind": "DataWarehouseNode", "table_name": "t"}]), ("series", 0, "kind")),
        (tq(series=[{"event": "e", "math_multiplier": 2}]), ("series", 0, "math_multiplier")),
        (tq(series=[{"event": "e", "fixedProperties": [{"key": "a", "value": 1}]}]), ("series", 0, "fixedProperties")),
        (tq(series=[{"event": "e", "math": "hogql", "math_hogql": "sum(arrayJoin(properties.x))"}]), ("series", 0, "math_hogql")),
        (tq(modifiers={"personsOnEventsMode": "person_id_override_properties_joined"}), ("modifiers", "personsOnEventsMode")),
        (tq(conversionGoal={"actionId": 1}), ("conversionGoal",)),
        (tq(intervalCount=2), ("intervalCount",)),
        (tq(interval="second"), ("interval",)),
        (tq(trendsFilter={"display": "BoxPlot"}), ("trendsFilter", "display")),
        (tq(breakdownFilter={"breakdown": "$pathname", "breakdown_path_cleaning": True}), ("breakdownFilter", "breakdown_path_cleaning")),
        (tq(breakdownFilter={"breakdown": "toStartOfDay(timestamp)", "breakdown_type": "hogql"}), ("breakdownFilter", "breakdown")),
        (tq(breakdownFilter={"breakdown": "x", "breakdown_type": "data_warehouse"}), ("breakdownFilter", "breakdown", "type")),
    ],
)
def test_unsupported_names_the_field(query, path):
    with pytest.raises(tc.UnsupportedError) as exc:
        tc.parse_filter(query)
    assert exc.value.path == path


def test_execution_strategy_modifiers_are_ignored():
    """inCohortVia / personsArgMaxVersion choose how ClickHouse computes the same answer (upstream
    test_trends_persons.py test_trends_all_cohort_breakdown_persons_* runs the three inCohortVia
    ways with one expectation)."""
    for modifiers in ({"inCohortVia": "leftjoin_conjoined"}, {"inCohortVia": "subquery"}, {"personsArgMaxVersion": "v2"}):
        assert parse(modifiers=modifiers) == parse()


def test_input_is_not_mutated():
    q = tq(trendsFilter={"formulaNodes": [{"formula": "A"}]}, breakdownFilter={"breakdowns": [{"property": "a"}]})
    before = repr(q)
    tc.parse_filter(q)
    assert repr(q) == before


def test_empty_series_is_an_empty_answer():
    """PostHog's runner answers a query without series with no series (newer API layers refuse
    it; upstream test_response_empty_if_no_events)."""
    f = tc.parse_filter({"kind": "TrendsQuery", "series": []})
    assert tc.trends(tc.EventStore.from_records([]), f).to_dicts() == []
