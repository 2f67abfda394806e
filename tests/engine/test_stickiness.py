"""Stickiness beyond the shared cases: the spec's worked examples (stickiness-lifecycle.md §3),
intervalCount blocks, compare_to, criteria, cumulative mode, "all", validation, routing and the
result helpers. Every expected number is worked out by hand in the comment next to it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.stickiness import age

UTC = dt.timezone.utc


def pageview(did: str, day: int, *, hour: int = 12, browser: str = "Chrome", event: str = "$pageview", month: int = 1):
    return {"event": event, "distinct_id": did, "timestamp": f"2020-{month:02d}-{day:02d}T{hour:02d}:00:00Z",
            "properties": {"$browser": browser, "$group_0": "org:1"}}


# §3.11: p1 every day 01-11..01-19 (Chrome), p2 on odd days 01-11..01-19 (Firefox); both leave the
# page on the same days (for "all events").
def runner_world() -> tc.EventStore:
    evs = [pageview("p1", d) for d in range(11, 20)] + [pageview("p2", d, browser="Firefox") for d in range(11, 20, 2)]
    evs += [{**e, "event": "$pageleave"} for e in list(evs)]
    return tc.EventStore.from_records(evs, persons=[{"distinct_ids": ["p1"], "properties": {"name": "p1"}},
                                                    {"distinct_ids": ["p2"], "properties": {"name": "p2"}}])


def query(**kw):
    q = {"kind": "StickinessQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
         "dateRange": {"date_from": "2020-01-11", "date_to": "2020-01-20"}, "interval": "day"}
    q.update(kw)
    return q


def run(q, store=None, **kw):
    return tc.stickiness(store or runner_world(), q, now=kw.pop("now", "2020-01-21T00:00:00Z"), **kw).to_dicts()


def test_day_histogram_and_shape():
    [s] = run(query())
    # p1 on 9 days, p2 on 5 days; 10 days in the range
    assert s["data"] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert s["days"] == list(range(1, 11))
    assert s["labels"][:3] == ["1 day", "2 days", "3 days"]
    assert s["count"] == 2
    assert s["label"] == "$pageview"
    assert s["action"] == {"order": 0, "type": "events", "name": "$pageview", "id": "$pageview", "custom_name": None}
    assert "compare" not in s


def test_all_events_counts_any_name():
    [s] = run(query(series=[{"kind": "EventsNode", "event": None}]))
    assert s["label"] == "All events" and s["action"]["id"] is None
    assert s["data"] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]


def test_week_and_month_intervals():
    # Sunday weeks 01-05, 01-12, 01-19 → N = 3: p1 in all three (11 | 12-18 | 19), p2 too (11 | 13,15,17 | 19)
    [s] = run(query(interval="week"))
    assert s["data"] == [0, 0, 2] and s["labels"] == ["1 week", "2 weeks", "3 weeks"]
    # Monday weeks 01-06, 01-13, 01-20 → N = 3: p1 in 06 (11, 12) and 13 (13-19); p2 in 06 and 13
    [s] = tc.stickiness(runner_world(), query(interval="week"), project={"week_start_day": 1}, now="2020-01-21").to_dicts()
    assert s["data"] == [0, 2, 0]
    [s] = run(query(interval="month"))
    assert s["data"] == [2] and s["labels"] == ["1 month"]


def test_hour_interval_relative_range():
    # -2d at 2020-01-20 12:00 → 01-18 00:00 .. end of the 12:00 hour: 48 + 12 + 1 = 61 hours (§3.3)
    [s] = run(query(dateRange={"date_from": "-2d"}, interval="hour"), now="2020-01-20T12:30:00Z")
    assert len(s["days"]) == 61 and s["labels"][-1] == "61 hours"
    # p1 at 12:00 on 18 and 19 → 2 hours; p2 at 12:00 on 19 → 1 hour
    assert s["data"][:3] == [1, 1, 0] and s["count"] == 2


def test_interval_count_blocks_count_back_from_date_to():
    # c = 2 over 01-11..01-20: blocks {19,20} {17,18} {15,16} {13,14} {11,12}; p1 and p2 hit all 5
    [s] = run(query(intervalCount=2))
    assert s["data"] == [0, 0, 0, 0, 2] and s["days"] == [1, 2, 3, 4, 5]
    assert s["labels"] == ["1 day", "2 days", "3 days", "4 days", "5 days"]
    # c = 3 over 01-11..01-20: ceil(10/3) = 4 blocks {18-20} {15-17} {12-14} {11}; p2 (odd days) hits all 4
    [s] = run(query(intervalCount=3))
    assert s["data"] == [0, 0, 0, 2]
    # c = 1 given explicitly: age buckets, the same days as the calendar with a 23:59:59 date_to
    assert run(query(intervalCount=1))[0]["data"] == run(query())[0]["data"]


def test_compare_to_gives_previous_period_its_own_n():
    # current 01-12..01-20 (9 days): p1 on 12..19 (8), p2 on 13..19 odd (4) → [0,0,0,1,0,0,0,1,0]
    # previous 01-11..01-19: p1 on 9 days, p2 on 5 (§3.7)
    res = run(query(dateRange={"date_from": "2020-01-12", "date_to": "2020-01-20"},
                    compareFilter={"compare": True, "compare_to": "-1d"}))
    assert [r["compare_label"] for r in res] == ["current", "previous"]
    assert res[0]["data"] == [0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert res[1]["data"] == [0, 0, 0, 0, 1, 0, 0, 0, 1]
    assert res[0]["labels"] == res[1]["labels"]


def test_compare_lists_each_series_with_its_previous_copy():
    q = query(series=[{"kind": "EventsNode", "event": "$pageview"}, {"kind": "EventsNode", "event": "$pageleave"}],
              compareFilter={"compare": True})
    res = run(q)
    assert [(r["label"], r["compare_label"]) for r in res] == [
        ("$pageview", "current"), ("$pageview", "previous"), ("$pageleave", "current"), ("$pageleave", "previous")]
    assert [r["count"] for r in res] == [2, 0, 2, 0]


def criteria_world() -> tc.EventStore:
    # test_criteria's events per day: p1 11[2] 13[2] 15[2] 17[3] 19[1]; p2 12[2] 13[2] 19[1]
    per_day = {"p1": {11: 2, 13: 2, 15: 2, 17: 3, 19: 1}, "p2": {12: 2, 13: 2, 19: 1}}
    evs = [pageview(p, d) for p, days in per_day.items() for d, n in days.items() for _ in range(n)]
    return tc.EventStore.from_records(evs)


@pytest.mark.parametrize(("date_from", "op", "value", "expected"), [
    ("2020-01-12", "gte", 2, [0, 1, 1, 0, 0, 0, 0, 0, 0]),  # p1 13, 15, 17; p2 12, 13
    ("2020-01-12", "lte", 1, [2, 0, 0, 0, 0, 0, 0, 0, 0]),  # both only on 19
    ("2020-01-11", "exact", 2, [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]),  # p1 11, 13, 15; p2 12, 13
    ("2020-01-11", "gte", 0, [0, 0, 1, 0, 1, 0, 0, 0, 0, 0]),  # every active day: p1 5, p2 3
])
def test_criteria_filter_intervals_by_their_event_count(date_from, op, value, expected):
    q = query(dateRange={"date_from": date_from, "date_to": "2020-01-20"},
              stickinessFilter={"stickinessCriteria": {"operator": op, "value": value}})
    [s] = run(q, criteria_world())
    assert s["data"] == expected
    assert s["count"] == sum(expected)


def test_cumulative_counts_at_least_n_and_keeps_count():
    evs = [pageview("a", d) for d in (11, 12, 13)] + [pageview("b", d) for d in (11, 12)] + [pageview("c", 13)]
    q = query(dateRange={"date_from": "2020-01-11", "date_to": "2020-01-13"}, stickinessFilter={"computedAs": "cumulative"})
    [s] = run(q, tc.EventStore.from_records(evs))
    assert s["data"] == [3, 2, 1] and s["count"] == 3
    assert s["labels"] == ["1 day or more", "2 days or more", "3 days or more"]
    # with criteria first: only days with >= 2 events qualify; a, b have 1 event per day → nobody
    q["stickinessFilter"]["stickinessCriteria"] = {"operator": "gte", "value": 2}
    assert run(q, tc.EventStore.from_records(evs))[0]["data"] == [0, 0, 0]


def test_date_from_all_starts_at_the_earliest_event_of_any_name():
    evs = [pageview("a", d) for d in (11, 12)] + [pageview("b", 5, event="sign up")]
    store = tc.EventStore.from_records(evs)
    # the earliest event is b's sign up on 01-05 → 01-05 .. 01-20 = 16 days, although the
    # series reads $pageview only
    [s] = tc.stickiness(store, {"shown_as": "Stickiness", "date_from": "all", "events": [{"id": "$pageview"}]},
                        now="2020-01-20T10:00:00Z").to_dicts()
    assert len(s["days"]) == 16 and s["data"][1] == 1 and s["count"] == 1
    # an empty store: now − 1 week → 01-13 .. 01-20 = 8 days
    [s] = tc.stickiness(tc.EventStore.from_records([]), {"shown_as": "Stickiness", "date_from": "all",
                                                         "events": [{"id": "$pageview"}]},
                        now="2020-01-20T10:00:00Z").to_dicts()
    assert s["days"] == list(range(1, 9)) and s["count"] == 0


def test_group_aggregation_counts_group_keys():
    q = query(series=[{"kind": "EventsNode", "event": "$pageview", "math": "unique_group", "math_group_type_index": 0}])
    [s] = run(q)
    # one actor, org:1, active on 9 days
    assert s["data"] == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    # dau with a group index still counts persons (only unique_group aggregates groups)
    q["series"][0]["math"] = "dau"
    assert run(q)[0]["data"] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]


def test_merged_distinct_ids_are_one_actor_and_filters_apply():
    evs = [pageview("x1", 11), pageview("x2", 12), pageview("y", 11, browser="Firefox")]
    store = tc.EventStore.from_records(evs, persons=[{"distinct_ids": ["x1", "x2"], "properties": {"email": "x@posthog.com"}}])
    [s] = run(query(), store)
    assert s["data"][:3] == [1, 1, 0]  # y on 1 day, the x person on 2
    [s] = run(query(properties=[{"key": "$browser", "value": "Chrome", "operator": "exact", "type": "event"}]), store)
    assert s["data"][:3] == [0, 1, 0]
    project = {"test_account_filters": [{"key": "email", "value": "@posthog.com", "operator": "not_icontains", "type": "person"}]}
    [s] = tc.stickiness(store, query(filterTestAccounts=True), project=project, now="2020-01-21").to_dicts()
    assert s["data"][:3] == [1, 0, 0]


def test_missing_action_is_left_out_and_unknown_event_gives_zeros():
    project = {"actions": [{"id": 1, "name": "viewed", "steps": [{"event": "$pageview"}]}]}
    q = query(series=[{"kind": "ActionsNode", "id": 1}, {"kind": "ActionsNode", "id": 99},
                      {"kind": "EventsNode", "event": "nothing"}])
    res = tc.stickiness(runner_world(), q, project=project, now="2020-01-21").to_dicts()
    assert [r["label"] for r in res] == ["viewed", "nothing"]
    assert res[0]["action"]["id"] == "viewed" and res[0]["data"][4] == 1
    assert res[1]["data"] == [0] * 10 and res[1]["count"] == 0


def test_timezone_moves_events_between_days():
    # 2021-05-02T01:00Z, 09:00Z and 05-04T03:00Z: 2 days in UTC, 3 in US/Pacific (05-01, 05-02, 05-03)
    evs = [{"event": "$pageview", "distinct_id": "a", "timestamp": t} for t in
           ("2021-05-02T01:00:00Z", "2021-05-02T09:00:00Z", "2021-05-04T03:00:00Z")]
    store = tc.EventStore.from_records(evs)
    f = {"shown_as": "Stickiness", "date_from": "2021-05-01", "date_to": "2021-05-15", "events": [{"id": "$pageview"}]}
    assert tc.stickiness(store, f, now="2021-06-01").to_dicts()[0]["data"][:3] == [0, 1, 0]
    assert tc.stickiness(store, f, project={"timezone": "US/Pacific"}, now="2021-06-01").to_dicts()[0]["data"][:3] == [0, 0, 1]


def test_legacy_filter_routes_through_trends_and_normalises_math():
    store = runner_world()
    f = {"shown_as": "Stickiness", "date_from": "2020-01-11", "date_to": "2020-01-20",
         "events": [{"id": "$pageview", "math": "sum"}], "display": "ActionsBar"}
    direct = tc.stickiness(store, f, now="2020-01-21").to_dicts()
    assert direct[0]["data"] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]  # math "sum" becomes dau: persons
    assert tc.trends(store, f, now="2020-01-21").to_dicts() == direct
    g = {k: v for k, v in f.items() if k != "shown_as"} | {"insight": "stickiness"}
    assert tc.trends(store, g, now="2020-01-21").to_dicts() == direct
    assert tc.trends(store, query(), now="2020-01-21").to_dicts() == run(query())


def test_tc_stickiness_takes_a_legacy_filter_without_shown_as():
    # The function names the insight (as tc.lifecycle does); tc.trends still needs shown_as.
    store = runner_world()
    f = {"shown_as": "Stickiness", "date_from": "2020-01-11", "date_to": "2020-01-20", "events": [{"id": "$pageview"}]}
    bare = {k: v for k, v in f.items() if k != "shown_as"}
    want = tc.stickiness(store, f, now="2020-01-21").to_dicts()
    assert want[0]["data"] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert tc.stickiness(store, bare, now="2020-01-21").to_dicts() == want
    assert tc.stickiness(store, bare | {"insight": "TRENDS"}, now="2020-01-21").to_dicts() == want
    assert tc.trends(store, bare, now="2020-01-21").to_dicts() != want  # a Trends answer: days are dates
    assert tc.trends(store, bare, now="2020-01-21").to_dicts()[0]["days"][0] == "2020-01-11"


@pytest.mark.parametrize(("extra", "path", "message"), [
    ({"shown_as": "Lifecycle"}, ("shown_as",), "got 'Lifecycle'"),
    ({"insight": "FUNNELS"}, ("insight",), "got 'FUNNELS'"),
    ({"insight": 7}, ("insight",), "expected an insight name"),
])
def test_tc_stickiness_refuses_a_filter_naming_another_insight(extra, path, message):
    f = {"date_from": "2020-01-11", "date_to": "2020-01-20", "events": [{"id": "$pageview"}]} | extra
    with pytest.raises(tc.ValidationError) as exc:
        tc.stickiness(runner_world(), f, now="2020-01-21")
    assert tuple(exc.value.path) == path
    assert message in str(exc.value)


@pytest.mark.parametrize(("q", "path"), [
    (query(stickinessFilter={"stickinessCriteria": {"operator": "gte", "value": -1}}), ("stickinessFilter", "stickinessCriteria", "value")),
    (query(stickinessFilter={"stickinessCriteria": {"operator": "exact", "value": 0}}), ("stickinessFilter", "stickinessCriteria", "value")),
    (query(stickinessFilter={"stickinessCriteria": {"operator": "gt", "value": 1}}), ("stickinessFilter", "stickinessCriteria", "operator")),
    (query(stickinessFilter={"computedAs": "cumulativ"}), ("stickinessFilter", "computedAs")),
    (query(stickinessFilter={"criteria": {}}), ("stickinessFilter", "criteria")),
    (query(intervalCount=0), ("intervalCount",)),
    (query(intervalCount=366), ("intervalCount",)),
    (query(breakdownFilter={"breakdown": "$browser"}), ("breakdownFilter",)),
    (query(series=None), ("series",)),
    (query(series=[]), ("series",)),
    ({"kind": "InsightVizNode", "source": query(intervalCount=0)}, ("source", "intervalCount")),
    ({"shown_as": "Stickiness", "actions": [{"id": None}]}, ("events",)),
    (query(interval="fortnight"), ("interval",)),
    ({"shown_as": "Stickiness", "events": [{"id": "$pageview"}], "breakdown": "$browser"}, ("breakdown",)),
])
def test_bad_input_names_its_path(q, path):
    with pytest.raises(tc.ValidationError) as exc:
        tc.stickiness(runner_world(), q, now="2020-01-21")
    assert tuple(exc.value.path) == path


def test_error_message_suggests_the_nearest_operator():
    with pytest.raises(tc.ValidationError, match="gte"):
        tc.stickiness(runner_world(), query(stickinessFilter={"stickinessCriteria": {"operator": "gtee", "value": 1}}))


def test_query_is_not_mutated():
    q = query(stickinessFilter={"stickinessCriteria": {"operator": "gte", "value": 1}}, compareFilter={"compare": True})
    before = repr(q)
    run(q)
    assert repr(q) == before


def test_age_units():
    def us(s):
        return int(dt.datetime.fromisoformat(s).replace(tzinfo=UTC).timestamp()) * 1_000_000

    ts = np.array([us("2020-01-31T12:00:00"), us("2020-01-15T12:00:00"), us("2020-02-29T23:59:59")], np.int64)
    end = dt.datetime(2020, 2, 29, 23, 59, 59, tzinfo=UTC)
    assert age(ts, end, "month", UTC).tolist() == [0, 1, 0]  # 29 < 31: not a whole month yet
    assert age(ts, end, "day", UTC).tolist() == [29, 45, 0]
    assert age(ts, end, "week", UTC).tolist() == [4, 6, 0]
    assert age(ts, end, "hour", UTC).tolist() == [707, 1091, 0]
    end = dt.datetime(2020, 2, 29, 11, 0, tzinfo=UTC)  # earlier time of day than the rows': one day less
    assert age(ts[:2], end, "day", UTC).tolist() == [28, 44]


def test_result_helpers():
    res = tc.stickiness(runner_world(), query(compareFilter={"compare": True}), now="2020-01-21")
    assert isinstance(res, tc.StickinessResult) and len(res) == 2
    records = res.to_records()
    assert records[4] == {"series": "$pageview", "order": 0, "compare_label": "current", "intervals": 5,
                          "label": "5 days", "value": 1}
    csv = res.to_csv().splitlines()
    assert csv[0].split(",")[3:5] == ["1", "2"] and csv[1].split(",")[-1] == "2"
    assert "5 days" in res.table()
    assert "StickinessResult: 2 series" in res._repr_html_() and ">10 days<" in res._repr_html_()
    pd = pytest.importorskip("pandas", reason="the pandas extra is optional")
    df = res.to_pandas()
    assert list(df.columns) == ["series", "order", "compare_label", "intervals", "label", "value"]
    assert int(df[df.compare_label == "current"].value.sum()) == 2 and df.intervals.dtype == pd.Series([1]).dtype


def test_plot_draws_bars():
    pytest.importorskip("matplotlib", reason="the plot extra is optional")
    fig = tc.stickiness(runner_world(), query(compareFilter={"compare": True}), now="2020-01-21").plot()
    ax = fig.axes[0]
    assert len(ax.patches) == 20  # 10 bars per period
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "1 day"


def cumulative_world() -> tc.EventStore:
    # a on 3 days, b on 2, c on 1 (2020-01-11..13); b has two distinct_ids
    evs = ([pageview("a", d) for d in (11, 12, 13)] + [pageview("b1", 11), pageview("b2", 12)] + [pageview("c", 13)])
    return tc.EventStore.from_records(evs, persons=[{"id": "A", "distinct_ids": ["a"]}, {"id": "B", "distinct_ids": ["b1", "b2"]},
                                                    {"id": "C", "distinct_ids": ["c"]}])


def three_days(**kw):
    return query(dateRange={"date_from": "2020-01-11", "date_to": "2020-01-13"}, **kw)


@pytest.mark.parametrize(("day", "expected"), [
    (1, [["C", 1, ["c"]]]), (2, [["B", 2, ["b1", "b2"]]]), (3, [["A", 3, ["a"]]]), (4, [])])
def test_actors_of_a_data_point(day, expected):
    res = tc.actors(cumulative_world(), three_days(), day=day, select=["id", "event_count"], now="2020-01-21")
    assert res.to_rows() == expected


def test_actors_cumulative_and_via_insight_actors_query():
    q = three_days(stickinessFilter={"computedAs": "cumulative"})
    ia = {"kind": "InsightActorsQuery", "source": q, "day": 2}
    res = tc.actors(cumulative_world(), ia, select=["id"], order_by=["id ASC"], now="2020-01-21")
    assert [r[0] for r in res.to_rows()] == ["A", "B"]  # at least 2 days
    # the default columns: the person dict first
    res = tc.actors(cumulative_world(), three_days(), day=3, now="2020-01-21")
    assert res.columns[0] == "person" and res.to_rows()[0][0]["id"] == "A"


def test_actors_of_groups_and_previous_period():
    q = query(series=[{"kind": "EventsNode", "event": "$pageview", "math": "unique_group", "math_group_type_index": 0}],
              compareFilter={"compare": True})
    assert tc.actors(runner_world(), q, day=9, select=["group"], now="2020-01-21").to_rows()[0][0]["id"] == "org:1"
    assert tc.actors(runner_world(), q, day=9, compare="previous", select=["group"], now="2020-01-21").to_rows() == []


@pytest.mark.parametrize(("kw", "path"), [
    ({}, ("actors_request", "day")),
    ({"day": 0}, ("actors_request", "day")),
    ({"day": 1, "series": 3}, ("actors_request", "series")),
    ({"day": 1, "compare": "previous"}, ("actors_request", "compare")),
    ({"day": 1, "breakdown": "Chrome"}, ("actors_request", "breakdown")),
])
def test_actors_bad_request(kw, path):
    with pytest.raises(tc.ValidationError) as exc:
        tc.actors(runner_world(), query(), now="2020-01-21", **kw)
    assert tuple(exc.value.path) == path


def test_trends_actors_refuse_an_interval_number():
    with pytest.raises(tc.ValidationError, match="date string"):
        tc.actors(runner_world(), {"events": [{"id": "$pageview"}], "date_from": "2020-01-11"}, day=3, now="2020-01-21")


def test_warnings_like_trends():
    with pytest.warns(tc.TrendcalcWarning, match="none of the store's events"):
        res = tc.stickiness(runner_world(), query(dateRange={"date_from": "2021-01-01", "date_to": "2021-01-05"}),
                            now="2021-01-06")
    assert len(res.warnings) == 1 and res.to_dicts()[0]["count"] == 0
    with pytest.warns(tc.TrendcalcWarning, match="pageveiw"):
        tc.stickiness(runner_world(), query(series=[{"kind": "EventsNode", "event": "$pageveiw"}]), now="2020-01-21")
