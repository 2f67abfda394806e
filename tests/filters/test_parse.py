import pytest

import trendcalc as tc
from trendcalc.query.model import PropertyGroup


def parse(**q):
    return tc.parse_filter({"events": [{"id": "e"}], **q})


def test_defaults():
    f = parse()
    assert (f.date_from, f.date_to, f.interval, f.display) == ("-7d", None, "day", "ActionsLineGraph")
    assert f.series[0].math == "total" and f.series[0].label == "e"
    assert f.properties == PropertyGroup()


def test_series_order_actions_first_then_stable_sort_by_order():
    f = tc.parse_filter({
        "events": [{"id": "e1", "order": 2}, {"id": "e2"}, {"id": None, "order": 1}],
        "actions": [{"id": 5, "name": "act", "order": 0}, {"id": None}],
    })
    assert [s.label for s in f.series] == ["act", "e2", "All events", "e1"]
    assert [s.index for s in f.series] == [0, 1, 2, 3]


def test_a_series_given_as_a_string_is_an_error_not_dropped():
    # upstream drops string entries and answers nothing; trendcalc says what was meant
    with pytest.raises(tc.ValidationError) as exc:
        tc.parse_filter({"events": [{"id": "e1"}, "product_view"]})
    assert exc.value.path == ("events", 1)
    assert '{"id": "product_view"}' in exc.value.message


@pytest.mark.parametrize("text", ["2024-13-01", "2024-06-31", "last week", "yesterday", "June 2024", "01.06.2024", "-7"])
def test_unreadable_dates_are_errors(text):
    with pytest.raises(tc.ValidationError) as exc:
        parse(date_from=text)
    assert exc.value.path == ("date_from",) and "'-7d'" in exc.value.message
    with pytest.raises(tc.ValidationError) as exc:
        tc.parse_filter({"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "e"}], "dateRange": {"date_to": text}})
    assert exc.value.path == ("dateRange", "date_to")


@pytest.mark.parametrize("text", ["-7d", "-24h", "dStart", "-1mStart", "yStart", "2019-9-24", "2020-01-03 23:59:59", "2020-01-01T12:00:00.00Z"])
def test_readable_dates_parse(text):
    assert parse(date_from=text).date_from == text


def test_date_from_after_date_to_is_an_error():
    store = tc.EventStore.from_records([{"event": "e", "distinct_id": "u", "timestamp": "2024-01-01T00:00:00Z"}])
    with pytest.raises(tc.ValidationError) as exc:
        tc.trends(store, {"events": [{"id": "e"}], "date_from": "2024-02-01", "date_to": "2024-01-01"}, now="2024-03-01")
    assert exc.value.path == ("date_from",) and "after date_to" in exc.value.message


@pytest.mark.parametrize(("typo", "meant"), [("=", "exact"), ("equals", "exact"), ("!=", "is_not"), (">=", "gte"), ("contains", "icontains")])
def test_operator_typos_suggest_the_operator(typo, meant):
    with pytest.raises(tc.ValidationError) as exc:
        parse(properties=[{"key": "a", "value": "b", "operator": typo}])
    assert f"did you mean {meant!r}" in exc.value.message


def test_interval_normalisation():
    assert parse(interval="HOUR").interval == "hour"
    assert parse(interval="minute").interval == "hour"  # legacy coercion, as PostHog
    with pytest.raises(tc.ValidationError) as exc:
        parse(interval="dya")
    assert exc.value.path == ("interval",) and "did you mean 'day'" in exc.value.message


@pytest.mark.parametrize(
    "query, path, words",
    [
        ({"events": [{"id": "e", "math": "daus"}]}, ("events", 0, "math"), "did you mean 'dau'"),
        ({"events": [{"id": "e", "math": "sum"}]}, ("events", 0, "math_property"), "math_property"),
        ({"events": [{"id": 3}]}, ("events", 0, "id"), "event name"),
        ({"events": [{"id": "e", "bogus": 1}]}, ("events", 0, "bogus"), "unknown series field"),
        ({"events": [{"id": "e"}], "display": "ActionsLine"}, ("display",), "did you mean"),
        ({"events": [{"id": "e"}], "smoothing_intervals": 0}, ("smoothing_intervals",), "integer"),
        ({"events": [{"id": "e"}], "sampling_factor": 2}, ("sampling_factor",), "(0, 1]"),
        ({"events": [{"id": "e"}], "date_from": 5}, ("date_from",), "date string"),
        ({"events": [{"id": "e"}], "wat": 1}, ("wat",), "unknown filter field"),
        ({"events": [{"id": "e"}], "properties": "x"}, ("properties",), "expected a list"),
        ({"events": [{"id": "e"}], "properties": [{"key": "a", "operator": "equals", "value": 1}]},
         ("properties", 0, "operator"), "unknown operator"),
        ({"events": [{"id": "e"}], "breakdown": "$browser", "breakdown_type": "persons"}, ("breakdown", "type"), "did you mean 'person'"),
        ({"events": [{"id": "e"}], "breakdown": "x", "breakdown_type": "group"}, ("breakdown", "group_type_index"), "group_type_index"),
        ("not a dict", (), "filter object"),
    ],
)
def test_validation_errors_name_the_path(query, path, words):
    with pytest.raises(tc.ValidationError) as exc:
        tc.parse_filter(query)
    assert exc.value.path == path
    assert words in exc.value.message


@pytest.mark.parametrize(
    "query, path",
    [
        ({"events": [{"id": "e"}], "display": "CalendarHeatmap"}, ("display",)),
        ({"events": [{"id": "e"}], "insight": "FUNNELS"}, ("insight",)),
        ({"events": [{"id": "e", "math": "hogql", "math_hogql": "sum(arrayJoin(properties.x))"}]}, ("events", 0, "math_hogql")),
        ({"events": [{"id": "e"}], "breakdown": "toStartOfDay(timestamp)", "breakdown_type": "hogql"}, ("breakdown",)),
        ({"events": [{"id": "e"}], "breakdown": "x", "breakdown_type": "data_warehouse"}, ("breakdown", "type")),
        ({"events": [{"id": "e"}], "data_warehouse": [{"id": "t"}]}, ("data_warehouse",)),
    ],
)
def test_unsupported_names_the_field(query, path):
    with pytest.raises(tc.UnsupportedError) as exc:
        tc.parse_filter(query)
    assert exc.value.path == path


def test_display_only_fields_are_accepted_and_echoed():
    f = parse(show_legend=True, hidden_legend_keys={"0": True}, decimal_places=2)
    assert dict(f.echo) == {"show_legend": True, "hidden_legend_keys": {"0": True}, "decimal_places": 2}


def test_breakdown_forms():
    f = parse(breakdown="$browser")
    assert f.breakdown.items[0].property == "$browser" and f.breakdown.items[0].type == "event"
    assert f.breakdown.limit == 25
    for bad in (0, -1, "0"):  # PostHog reads 0 as unset and -1 as "all Other"; trendcalc refuses both (#19)
        with pytest.raises(tc.ValidationError, match=r"breakdown_limit: expected a breakdown_limit of at least 1"):
            parse(breakdown="$browser", breakdown_limit=bad)
    assert parse(breakdown="5", breakdown_type="cohort").breakdown.items[0].property == (5,)
    assert parse(breakdown='[1, "all"]', breakdown_type="cohort").breakdown.items[0].property == (1, "all")
    multi = parse(breakdowns=[{"property": "a"}, {"property": "b", "type": "person"}, {"type": "event"}])
    assert multi.breakdown.multi and [i.property for i in multi.breakdown.items] == ["a", "b"]
    assert parse(breakdown=5, breakdown_type="undefined").breakdown is None


def test_bool_parsing_and_explicit_date():
    assert parse(explicit_date="true").explicit_date is True
    assert parse(compare="1").compare is True
    assert parse(filter_test_accounts=False).filter_test_accounts is False


def test_filter_is_immutable_and_input_untouched():
    q = {"events": [{"id": "e"}], "breakdowns": [{"property": "a"}], "hidden_legend_keys": {"0": True}}
    before = repr(q)
    f = tc.parse_filter(q)
    assert repr(q) == before
    with pytest.raises(AttributeError):
        f.interval = "hour"  # type: ignore[misc]


def test_series_limit():
    with pytest.raises(tc.ValidationError) as exc:
        tc.parse_filter({"events": [{"id": "e"}] * 3}, limits=tc.Limits(max_series=2))
    assert "max_series" in exc.value.message
