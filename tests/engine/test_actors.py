"""The actors behind a data point (engine/actors.py, ``tc.actors``).

Worlds are small and hand-computed. ``UPSTREAM`` is PostHog's own persons-modal world
(test_trends_persons.py); its expected rows are the upstream assertions. The windows of
``test_window_*`` are the upstream facts of test_trends_actors_query_builder.py (Europe/Berlin).
"""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

import trendcalc as tc
from trendcalc.engine.actors import point_window
from trendcalc.engine.context import QueryContext
from trendcalc.engine.math import MATHS, effective_series
from trendcalc.limits import DEFAULT_LIMITS
from trendcalc.query.actors_request import ActorsRequest
from trendcalc.query.displays import DISPLAYS
from trendcalc.timeutil import us_to_datetime

NULL = "$$_posthog_breakdown_null_$$"
OTHER = "$$_posthog_breakdown_other_$$"


def ev(event: str, who: str, ts: str, **props):
    return {"event": event, "distinct_id": who, "timestamp": ts, "properties": props}


# --- PostHog's persons-modal world -------------------------------------------------------------

UPSTREAM_EVENTS = [
    ev("$pageview", "person1", "2023-04-29T16:00:00Z", **{"$browser": "Chrome"}),
    ev("$pageleave", "person1", "2023-04-29T17:00:00Z", **{"$browser": "Chrome"}),
    ev("$pageview", "person2", "2023-04-29T17:00:00Z", **{"$browser": "Safari"}),
    ev("$pageview", "person2", "2023-04-29T18:00:00Z", **{"$browser": "Safari"}),
    ev("$pageview", "person1", "2023-05-01T16:00:00Z", **{"$browser": "Chrome", "some_property": 20}),
    ev("$pageview", "person1", "2023-05-01T17:00:00Z", **{"$browser": "Chrome"}),
    ev("$pageview", "person1", "2023-05-01T18:00:00Z", **{"$browser": "Chrome"}),
    ev("$pageview", "person2", "2023-05-01T16:00:00Z", **{"$browser": "Safari", "some_property": 22}),
    ev("$pageview", "person2", "2023-05-01T17:00:00Z", **{"$browser": "Safari"}),
    ev("$pageview", "person3", "2023-05-01T16:00:00Z", **{"$browser": "Safari"}),
    ev("$pageview", "person1", "2023-05-06T16:00:00Z", some_property=20),
]
UPSTREAM_PERSONS = [
    {"distinct_ids": ["person1"], "properties": {"$geoip_country_code": "US"}},
    {"distinct_ids": ["person2"], "properties": {"$geoip_country_code": "DE"}},
    {"distinct_ids": ["person3"], "properties": {"$geoip_country_code": "DE"}},
]
UPSTREAM = tc.EventStore.from_records(UPSTREAM_EVENTS, persons=UPSTREAM_PERSONS)
COHORTS = tc.Project(cohorts=[
    {"id": 1, "name": "US users", "groups": [{"properties": [{"key": "$geoip_country_code", "value": "US", "type": "person"}]}]},
    {"id": 2, "name": "DE users", "groups": [{"properties": [{"key": "$geoip_country_code", "value": "DE", "type": "person"}]}]},
])
NOW = "2023-05-07T12:00:00Z"
PAGEVIEWS = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}], "dateRange": {"date_from": "-7d"}}
# the upstream test helper's columns and order
MODAL = {"select": ["actor", "created_at", "event_count"], "order_by": ["event_count DESC"]}


def who(query, store=UPSTREAM, now=NOW, project=None, **request):
    """(first distinct_id or id, event_count) per returned actor."""
    rows = tc.actors(store, query, project=project, now=now, **{**MODAL, **request}).to_rows()
    return [(r[0]["distinct_ids"][0] if r[0].get("distinct_ids") else r[0]["id"], r[2]) for r in rows]


def with_(query, **fields):
    return {**query, **fields}


def test_single_series_persons_by_event_count():
    assert who(PAGEVIEWS, day="2023-04-29") == [("person2", 2), ("person1", 1)]


def test_series_index_picks_the_series():
    q = with_(PAGEVIEWS, series=[{"kind": "EventsNode", "event": "$pageview"}, {"kind": "EventsNode", "event": "$pageleave"}])
    assert who(q, day="2023-04-29") == [("person2", 2), ("person1", 1)]
    assert who(q, day="2023-04-29", series=1) == [("person1", 1)]


def test_event_and_person_breakdown_values():
    q = with_(PAGEVIEWS, breakdownFilter={"breakdown": "$browser"})
    assert who(q, day="2023-05-01", breakdown="Safari") == [("person2", 2), ("person3", 1)]
    assert who(q, day="2023-05-01", breakdown="Firefox") == []
    q = with_(PAGEVIEWS, breakdownFilter={"breakdown": "$geoip_country_code", "breakdown_type": "person"})
    assert who(q, day="2023-05-01", breakdown="DE") == [("person2", 2), ("person3", 1)]
    assert who(q, day="2023-05-01", breakdown="UK") == []


def test_null_breakdown_matches_missing_values():
    q = with_(PAGEVIEWS, breakdownFilter={"breakdown": "$browser", "breakdown_limit": 1})
    assert who(q, day="2023-05-06", breakdown="Chrome") == []
    assert who(q, day="2023-05-06", breakdown=NULL) == [("person1", 1)]
    multi = with_(PAGEVIEWS, breakdownFilter={"breakdowns": [{"property": "$browser"}], "breakdown_limit": 1})
    assert who(multi, day="2023-05-06", breakdown=["Chrome"]) == []
    assert who(multi, day="2023-05-06", breakdown=[NULL]) == [("person1", 1)]


def test_null_breakdown_matches_null_empty_and_missing():
    store = tc.EventStore.from_records([
        ev("e", "a", "2024-01-10T12:00:00Z", p=None), ev("e", "b", "2024-01-10T12:00:00Z", p=""),
        ev("e", "c", "2024-01-10T12:00:00Z", other=1), ev("e", "d", "2024-01-10T12:00:00Z", p="x"),
    ], persons=[{"distinct_ids": [d]} for d in "abcd"])
    q = {"events": [{"id": "e"}], "date_from": "2024-01-01", "date_to": "2024-01-15", "breakdown": "p"}
    rows = tc.actors(store, q, now="2024-01-15T12:00:00Z", day="2024-01-10", breakdown=NULL, select=["actor"]).to_rows()
    assert sorted(r[0]["distinct_ids"][0] for r in rows) == ["a", "b", "c"]
    assert who(q, store=store, now="2024-01-15T12:00:00Z", day="2024-01-10", breakdown="x") == [("d", 1)]


def test_other_keeps_everyone_as_upstream():
    """PostHog's actors query does not filter "Other" (a known upstream TODO): every actor of the
    point is returned, whatever the breakdown limit kept."""
    q = with_(PAGEVIEWS, breakdownFilter={"breakdowns": [{"property": "some_property", "type": "event"}], "breakdown_limit": 1})
    assert len(who(q, day="2023-05-01", breakdown=[OTHER])) == 3
    q = with_(PAGEVIEWS, breakdownFilter={"breakdowns": [{"property": "some_property"}, {"property": "$browser"}], "breakdown_limit": 1})
    assert len(who(q, day="2023-05-01", breakdown=[OTHER, OTHER])) == 3
    assert who(q, day="2023-05-01", breakdown=[OTHER, "Safari"]) == [("person2", 2), ("person3", 1)]


def test_multiple_breakdowns_and_number_lookups():
    q = with_(PAGEVIEWS, breakdownFilter={"breakdowns": [{"property": "$geoip_country_code", "type": "person"}, {"property": "some_property"}]})
    assert who(q, day="2023-05-01", breakdown=["DE", "22"]) == [("person2", 1)]
    assert who(q, day="2023-05-01", breakdown=["DE", 22]) == [("person2", 1)]  # str(22), like upstream
    assert who(q, day="2023-05-01", breakdown=["DE", NULL]) == [("person2", 1), ("person3", 1)]


def test_lone_value_over_multiple_breakdowns_reads_property_none():
    """PostHog's single-breakdown filter for a lone value over `breakdowns` (property "None"):
    the null marker keeps everyone (upstream test_trends_math_first_time_for_user_numeric_breakdowns)."""
    q = with_(PAGEVIEWS, breakdownFilter={"breakdowns": [{"property": "$browser"}]})
    with pytest.warns(tc.TrendcalcWarning, match=r"actors_request\.breakdown: one value for a query with 1 breakdowns"):
        assert who(q, day="2023-05-01", breakdown=NULL) == [("person1", 3), ("person2", 2), ("person3", 1)]
    assert who(q, day="2023-05-01", breakdown=OTHER) == [("person1", 3), ("person2", 2), ("person3", 1)]
    assert who(q, day="2023-05-01", breakdown="Safari") == []
    store = tc.EventStore.from_records([ev("$pageview", "person1", "2023-05-01T16:00:00Z", **{"None": "x"})], persons=UPSTREAM_PERSONS)
    assert who(q, store=store, day="2023-05-01", breakdown="x") == [("person1", 1)]


def test_cohort_breakdowns():
    one = with_(PAGEVIEWS, breakdownFilter={"breakdown": [2], "breakdown_type": "cohort"})
    assert who(one, project=COHORTS, day="2023-05-01", breakdown=2) == [("person2", 2), ("person3", 1)]
    both = with_(PAGEVIEWS, breakdownFilter={"breakdown": [1, 2], "breakdown_type": "cohort"})
    assert who(both, project=COHORTS, day="2023-05-01", breakdown=1) == [("person1", 3)]
    assert who(both, project=COHORTS, day="2023-05-01", breakdown=2) == [("person2", 2), ("person3", 1)]
    with_all = with_(PAGEVIEWS, breakdownFilter={"breakdown": [1, "all"], "breakdown_type": "cohort"})
    assert who(with_all, project=COHORTS, day="2023-05-01", breakdown="all") == [("person1", 3), ("person2", 2), ("person3", 1)]
    with pytest.raises(tc.ValidationError) as e:
        who(both, project=COHORTS, day="2023-05-01", breakdown=9)
    assert e.value.path == ("actors_request", "breakdown")


def test_total_value_display_takes_the_whole_range():
    q = with_(PAGEVIEWS, trendsFilter={"display": "BoldNumber"})
    rows = who(q, now="2023-05-01T20:00:00Z")
    assert sorted(rows) == [("person1", 4), ("person2", 4), ("person3", 1)]
    assert rows[2] == ("person3", 1)


def test_compare_current_and_previous():
    q = with_(PAGEVIEWS, compareFilter={"compare": True})
    assert who(q, day="2023-05-06", compare="current") == [("person1", 1)]
    assert who(q, day="2023-05-06", compare="previous") == [("person2", 2), ("person1", 1)]
    # without compare in the query, "previous" is the current period (as upstream)
    assert who(PAGEVIEWS, day="2023-05-06", compare="previous") == [("person1", 1)]


def test_weekly_active_looks_back_six_days():
    events = [ev("$pageview", f"p{i}", f"2023-04-{i}T16:00:00Z") for i in range(17, 24)]
    store = tc.EventStore.from_records(events, persons=[{"distinct_ids": [e["distinct_id"]]} for e in events])
    q = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview", "math": "weekly_active"}],
         "dateRange": {"date_from": "-7d"}}
    assert sorted(who(q, store=store, now="2023-04-30T12:00:00Z", day="2023-04-28")) == [("p22", 1), ("p23", 1)]
    data = tc.trends(store, q, now="2023-04-30T12:00:00Z").to_dicts()[0]
    assert data["data"][data["days"].index("2023-04-28")] == 2


def test_groups_math_returns_groups():
    events = [
        ev("$pageview", "person1", "2023-05-01T16:00:00Z", **{"$group_0": "Hooli"}),
        ev("$pageview", "person1", "2023-05-01T17:00:00Z", **{"$group_0": "Hooli"}),
        ev("$pageview", "person1", "2023-05-01T18:00:00Z", **{"$group_0": "Pied Piper"}),
        ev("$pageview", "person1", "2023-05-01T19:00:00Z", **{"$group_0": ""}),
        ev("$pageview", "person1", "2023-05-01T20:00:00Z"),
    ]
    groups = [{"group_type_index": 0, "group_key": "Hooli", "properties": {"name": "Hooli"}, "created_at": "2023-01-02T03:04:05Z"},
              {"group_type_index": 0, "group_key": "Pied Piper"}]
    store = tc.EventStore.from_records(events, groups=groups)
    q = {"kind": "TrendsQuery", "dateRange": {"date_from": "-7d"},
         "series": [{"kind": "EventsNode", "event": "$pageview", "math": "unique_group", "math_group_type_index": 0}]}
    assert who(q, store=store, day="2023-05-01") == [("Hooli", 2), ("Pied Piper", 1)]
    row = tc.actors(store, q, now=NOW, day="2023-05-01", select=["group", "created_at"], order_by=["group"]).to_rows()[0]
    assert row == [{"id": "Hooli", "type": "group", "properties": {"name": "Hooli"}, "group_key": "Hooli", "group_type_index": 0,
                    "created_at": "2023-01-02T03:04:05Z", "group_properties": {"name": "Hooli"}}, "2023-01-02T03:04:05Z"]
    # the default columns of groups: just the group
    r = tc.actors(store, q, now=NOW, day="2023-05-01")
    assert r.columns == ("group",) and [x[0]["id"] for x in r] == ["Hooli", "Pied Piper"]
    # aggregation_group_type_index makes dau count groups too
    q2 = {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-7d", "aggregation_group_type_index": 0}
    assert who(q2, store=store, day="2023-05-01") == [("Hooli", 2), ("Pied Piper", 1)]


# --- a non-UTC world: buckets are local days ---------------------------------------------------

BERLIN = tc.Project(timezone="Europe/Berlin", property_definitions=[{"name": "n", "type": "Numeric", "kind": "event"}])
# 2024-03-31 is the DST day in Berlin: local midnight is 2024-03-30T23:00Z, the next 2024-03-31T22:00Z.
LOCAL_EVENTS = [
    ev("e", "u1", "2024-03-30T22:30:00Z", b="Chrome", n=10),  # 03-30 23:30 local
    ev("e", "u1", "2024-03-30T23:30:00Z", b="Chrome", n=20),  # 03-31 00:30 local
    ev("e", "u1", "2024-03-31T21:59:00Z", b="Chrome", n=30),  # 03-31 23:59 local
    ev("e", "u1", "2024-03-31T22:00:00Z", b="Chrome", n=30),  # 04-01 00:00 local
    ev("e", "u2", "2024-03-31T10:00:00Z", b="Firefox"),
    ev("e", "u3", "2024-04-01T10:00:00Z", b="Firefox", n=15),
]
LOCAL = tc.EventStore.from_records(LOCAL_EVENTS, persons=[{"distinct_ids": ["u1"], "id": "U1"}, {"distinct_ids": ["u2", "u2-alias"], "id": 2}])
LOCAL_NOW = "2024-04-02T12:00:00Z"
LOCAL_RANGE = {"date_from": "2024-03-29", "date_to": "2024-04-01"}


def local(query, **request):
    """Like ``who`` but without created_at, so that u3 (no person row) is returned too."""
    request = {"select": ["actor", "event_distinct_ids", "event_count"], **request}
    return who(query, store=LOCAL, project=BERLIN, now=LOCAL_NOW, **request)


def test_day_bucket_is_a_local_day():
    q = {"events": [{"id": "e"}], **LOCAL_RANGE}
    assert local(q, day="2024-03-31") == [("u1", 2), ("u2", 1)]
    assert local(q, day="2024-03-30") == [("u1", 1)]
    assert local(q, day="2024-04-01") == [("u1", 1), ("u3", 1)]


def test_hour_bucket_in_local_time():
    q = {"events": [{"id": "e"}], **LOCAL_RANGE, "interval": "hour"}
    assert local(q, day="2024-03-31 00:00:00") == [("u1", 1)]  # 23:00Z .. 00:00Z
    assert local(q, day="2024-03-31 23:00:00") == [("u1", 1)]  # 21:00Z .. 22:00Z
    assert local(q, day="2024-03-31T21:00:00Z") == [("u1", 1)]  # an explicit offset wins


def test_actors_add_up_to_each_data_point():
    """On every day of every breakdown value, the actors are the dau value and their events the
    total value."""
    for breakdown in (None, "b"):
        q = {"events": [{"id": "e"}, {"id": "e", "math": "dau"}], **LOCAL_RANGE}
        if breakdown:
            q["breakdown"] = breakdown
        result = tc.trends(LOCAL, q, project=BERLIN, now=LOCAL_NOW).to_dicts()
        totals = [r for r in result if r["action"]["math"] == "total"]
        daus = [r for r in result if r["action"]["math"] == "dau"]
        for total, dau in zip(totals, daus):
            for i, day in enumerate(total["days"]):
                extra = {"breakdown": total["breakdown_value"]} if breakdown else {}
                rows = tc.actors(LOCAL, q, project=BERLIN, now=LOCAL_NOW, day=day, select=["actor", "event_count"], **extra).to_rows()
                assert len(rows) == dau["data"][i]
                assert sum(r[1] for r in rows) == total["data"][i]


def test_histogram_bins():
    q = {"events": [{"id": "e"}], **LOCAL_RANGE, "breakdown": "n", "breakdown_histogram_bin_count": 2}
    result = tc.trends(LOCAL, q, project=BERLIN, now=LOCAL_NOW).to_dicts()
    values = {r["breakdown_value"]: r["data"] for r in result}
    assert values == {"[10,20]": [0, 1, 0, 1], "[20,30.01]": [0, 0, 2, 1], NULL: [0, 0, 1, 0]}
    assert local(q, day="2024-03-31", breakdown="[20,30.01]") == [("u1", 2)]
    assert local(q, day="2024-04-01", breakdown="[10,20]") == [("u3", 1)]
    assert local(q, day="2024-04-01", breakdown="[20,30.01]") == [("u1", 1)]
    assert local(q, day="2024-03-31", breakdown=NULL) == [("u2", 1)]
    assert len(local(q, day="2024-03-31", breakdown='["",""]')) == 2
    with pytest.raises(tc.ValidationError) as e:
        local(q, day="2024-03-31", breakdown="twenty")
    assert e.value.path == ("actors_request", "breakdown")


def test_explicit_dates_clamp_the_window():
    q = {"events": [{"id": "e"}], "date_from": "2024-03-31T12:00:00Z", "date_to": "2024-03-31T21:59:00Z", "explicit_date": True}
    assert local(q, day="2024-03-31") == [("u1", 1)]


def test_first_time_for_user():
    q = {"events": [{"id": "e", "math": "first_time_for_user"}], **LOCAL_RANGE}
    data = tc.trends(LOCAL, q, project=BERLIN, now=LOCAL_NOW).to_dicts()[0]["data"]
    assert data == [0, 1, 1, 1]
    assert local(q, day="2024-03-30") == [("u1", 1)]
    assert local(q, day="2024-03-31") == [("u2", 1)]
    assert local(q, day="2024-04-01") == [("u3", 1)]
    with pytest.raises(tc.ValidationError):
        local(q, day="2024-04-01", select=["actor", "last_seen"])


def test_person_dicts_and_columns():
    q = {"events": [{"id": "e"}], **LOCAL_RANGE}
    r = tc.actors(LOCAL, q, project=BERLIN, now=LOCAL_NOW, day="2024-03-31",
                  select=["actor", "id", "event_count", "last_seen", "person.$delete", "properties.x"], order_by=["id DESC"])
    assert r.columns == ("actor", "id", "event_count", "last_seen", "person.$delete", "properties.x", "event_distinct_ids")
    assert r.to_rows() == [
        [{"id": "U1", "properties": {}, "created_at": None, "distinct_ids": ["u1"]}, "U1", 2, "2024-03-31T23:59:00+02:00", 1, None, ["u1"]],
        [{"id": 2, "properties": {}, "created_at": None, "distinct_ids": ["u2", "u2-alias"]}, 2, 1, "2024-03-31T12:00:00+02:00", 1, None, ["u2"]],
    ]
    assert r.to_dicts()[1]["event_count"] == 1 and r[0][1] == "U1" and len(r) == 2


def test_persons_without_a_person_row():
    """Actors without a person row come back as {"id", "distinct_ids"} unless a persons column
    (created_at, properties.*) is asked for: then PostHog's INNER JOIN drops them."""
    q = {"events": [{"id": "e"}], **LOCAL_RANGE}
    r = tc.actors(LOCAL, q, project=BERLIN, now=LOCAL_NOW, day="2024-04-01", select=["actor", "event_count"])
    assert r.to_rows() == [
        [{"id": "U1", "properties": {}, "created_at": None, "distinct_ids": ["u1"]}, 1, ["u1"]],
        [{"id": "person:2", "distinct_ids": ["u3"]}, 1, ["u3"]],
    ]
    assert r.to_response()["missing_actors_count"] == 1
    assert who(q, store=LOCAL, project=BERLIN, now=LOCAL_NOW, day="2024-04-01") == [("u1", 1)]  # with created_at


def test_default_columns_and_orders():
    persons = [{"distinct_ids": [f"d{i}"], "properties": {"email": f"{9 - i}@x.com"}, "created_at": f"2020-01-0{i + 1}T00:00:00Z"} for i in range(3)]
    events = [ev("e", f"d{i}", "2024-01-10T12:00:00Z") for i in range(3)] + [ev("e", "d1", "2024-01-10T13:00:00Z")]
    store = tc.EventStore.from_records(events, persons=persons)
    q = {"events": [{"id": "e"}], "date_from": "2024-01-09", "date_to": "2024-01-11"}
    default = tc.actors(store, q, now="2024-01-12T00:00:00Z", day="2024-01-10")
    assert default.columns == ("person", "id", "person.$delete", "event_distinct_ids")
    assert [r[1] for r in default] == ["person:0", "person:1", "person:2"]  # first column ascending

    def order(**kw):
        return [r[0]["distinct_ids"][0] for r in tc.actors(store, q, now="2024-01-12T00:00:00Z", day="2024-01-10", **kw)]

    assert order(select=["person", "created_at"]) == ["d2", "d1", "d0"]  # created_at DESC
    assert order(select=["person"], order_by=["person"]) == ["d2", "d1", "d0"]  # by email
    assert order(select=["person"], order_by=["person DESC"]) == ["d0", "d1", "d2"]
    assert order(select=["person"], order_by=["event_count DESC, id DESC"]) == ["d1", "d2", "d0"]
    assert order(select=["person"], order_by=["event_count DESC"]) == ["d1", "d0", "d2"]  # ties: person order


def test_paging():
    events = [ev("e", f"d{i:03d}", "2024-01-10T12:00:00Z") for i in range(150)]
    store = tc.EventStore.from_records(events)
    q = {"events": [{"id": "e"}], "date_from": "2024-01-09", "date_to": "2024-01-11"}

    def page(**kw):
        return tc.actors(store, q, now="2024-01-12T00:00:00Z", day="2024-01-10", select=["actor"], **kw)

    first = page()
    assert (len(first), first.has_more, first.limit, first.offset) == (100, True, 100, 0)
    rest = page(offset=100)
    assert (len(rest), rest.has_more) == (50, False)
    ids = [r[0]["id"] for r in first] + [r[0]["id"] for r in rest]
    assert len(set(ids)) == 150
    assert page(limit=0).limit == 100 and page(limit=10**9).limit == 50_000
    assert (len(page(limit=150)), page(limit=150).has_more) == (150, False)


def test_query_dict_forms():
    q = with_(PAGEVIEWS, breakdownFilter={"breakdown": "$browser"})
    insight = {"kind": "InsightActorsQuery", "source": q, "day": "2023-05-01", "breakdown": "Safari"}
    actors_query = {"kind": "ActorsQuery", "source": insight, "select": ["actor", "created_at", "event_count"], "orderBy": ["event_count DESC"]}
    expected = [("person2", 2), ("person3", 1)]
    assert who(insight) == expected
    rows = tc.actors(UPSTREAM, actors_query, now=NOW).to_rows()
    assert [(r[0]["distinct_ids"][0], r[2]) for r in rows] == expected
    with pytest.raises(tc.ValidationError) as e:
        tc.actors(UPSTREAM, insight, now=NOW, day="2023-05-02")
    assert e.value.path == ("actors_request", "day")
    with pytest.raises(tc.ValidationError) as e:
        tc.actors(UPSTREAM, {**actors_query, "source": {**insight, "day": 5}}, now=NOW)
    assert e.value.path == ("source", "day")
    with pytest.raises(tc.UnsupportedError):
        tc.actors(UPSTREAM, {**actors_query, "search": "bob"}, now=NOW)


@pytest.mark.parametrize(
    "query, request_, path",
    [
        (PAGEVIEWS, {"day": "2023-05-01", "series": 1}, ("actors_request", "series")),
        (PAGEVIEWS, {"day": "2023-05-01", "series": -1}, ("actors_request", "series")),
        (PAGEVIEWS, {"day": "2023-05-01", "series": True}, ("actors_request", "series")),
        (PAGEVIEWS, {}, ("actors_request", "day")),
        (PAGEVIEWS, {"day": "the first of May"}, ("actors_request", "day")),
        (PAGEVIEWS, {"day": "1800-01-01"}, ("actors_request", "day")),
        (PAGEVIEWS, {"day": 20230501}, ("actors_request", "day")),
        (with_(PAGEVIEWS, trendsFilter={"display": "ActionsPie"}), {"day": "2023-05-01"}, ("actors_request", "day")),
        (PAGEVIEWS, {"day": "2023-05-01", "breakdown": "Chrome"}, ("actors_request", "breakdown")),
        (with_(PAGEVIEWS, breakdownFilter={"breakdown": "$browser"}), {"day": "2023-05-01", "breakdown": ["Chrome"]}, ("actors_request", "breakdown")),
        (with_(PAGEVIEWS, breakdownFilter={"breakdowns": [{"property": "$browser"}, {"property": "x"}]}), {"day": "2023-05-01", "breakdown": ["Chrome"]},
         ("actors_request", "breakdown")),
        (with_(PAGEVIEWS, breakdownFilter={"breakdown": "$browser"}), {"day": "2023-05-01", "breakdown": {"a": 1}}, ("actors_request", "breakdown")),
        (PAGEVIEWS, {"day": "2023-05-01", "compare": "before"}, ("actors_request", "compare")),
        (PAGEVIEWS, {"day": "2023-05-01", "include_recordings": "yes"}, ("actors_request", "include_recordings")),
        (PAGEVIEWS, {"day": "2023-05-01", "select": ["actor", "matched_recordings"]}, ("actors_request", "select", 1)),
        (PAGEVIEWS, {"day": "2023-05-01", "select": ["group"]}, ("actors_request", "select", 0)),
        (PAGEVIEWS, {"day": "2023-05-01", "select": "actor"}, ("actors_request", "select")),
        (PAGEVIEWS, {"day": "2023-05-01", "order_by": ["event_count DOWN"]}, ("actors_request", "order_by", 0)),
        (PAGEVIEWS, {"day": "2023-05-01", "limit": "10"}, ("actors_request", "limit")),
    ],
)
def test_bad_requests_name_their_path(query, request_, path):
    with pytest.raises(tc.ValidationError) as e:
        tc.actors(UPSTREAM, query, now=NOW, **request_)
    assert e.value.path == path


def test_unknown_columns_are_unsupported():
    with pytest.raises(tc.UnsupportedError) as e:
        tc.actors(UPSTREAM, PAGEVIEWS, now=NOW, day="2023-05-01", select=["actor", "count()"])
    assert e.value.path == ("actors_request", "select", 1)


def test_recordings_column_is_empty():
    rows = tc.actors(UPSTREAM, PAGEVIEWS, now=NOW, day="2023-05-01", include_recordings=True,
                     select=["actor", "matched_recordings"]).to_rows()
    assert [r[1] for r in rows] == [[], [], []]


# --- the window of a point: upstream's builder facts (team timezone Europe/Berlin) ------------------


def window(query, now, **request):
    filt = tc.parse_filter({"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                            "dateRange": {"date_from": "-7d"}, **query})
    display = attrs.evolve(DISPLAYS[filt.display], exact_timerange=False)  # as run_actors
    ctx = QueryContext(UPSTREAM, filt, tc.Project(timezone="Europe/Berlin"), _dt(now), DEFAULT_LIMITS, display)
    series = effective_series(filt.series[0], filt.interval)
    w = point_window(ctx, MATHS[series.math], ActorsRequest(**request))
    return _utc(w.lo_us), _utc(w.hi_us)


def _dt(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def _utc(us):
    return us_to_datetime(us).strftime("%Y-%m-%d %H:%M:%S.%f")


DAY = ("2023-05-07 22:00:00.000000", "2023-05-08 22:00:00.000000")
NOW_2024 = "2024-05-30T12:00:00Z"
WAU = {"series": [{"kind": "EventsNode", "event": "$pageview", "math": "weekly_active"}]}
MAU = {"series": [{"kind": "EventsNode", "event": "$pageview", "math": "monthly_active"}]}
BOLD = {"trendsFilter": {"display": "BoldNumber"}}
COMPARE = {"compareFilter": {"compare": True}}
COMPARE_3D = {"compareFilter": {"compare": True, "compare_to": "-3d"}}


@pytest.mark.parametrize(
    "query, now, request_, expected",
    [
        ({}, "2023-05-10T12:00:00Z", {"day": "2023-05-08"}, DAY),
        ({}, "2023-05-10T12:00:00Z", {"day": "2023-05-08T15:00:00Z"}, ("2023-05-08 15:00:00.000000", "2023-05-09 15:00:00.000000")),
        ({"interval": "hour"}, "2023-05-10T12:00:00Z", {"day": "2023-05-08T15:00:00"}, ("2023-05-08 13:00:00.000000", "2023-05-08 14:00:00.000000")),
        (COMPARE, "2023-05-10T12:00:00Z", {"day": "2023-05-10", "compare": "current"}, ("2023-05-09 22:00:00.000000", "2023-05-10 22:00:00.000000")),
        (COMPARE, "2023-05-10T12:00:00Z", {"day": "2023-05-10", "compare": "previous"}, ("2023-05-02 22:00:00.000000", "2023-05-03 22:00:00.000000")),
        ({**COMPARE, "interval": "hour"}, "2023-05-10T12:00:00Z", {"day": "2023-05-10T15:00:00", "compare": "previous"},
         ("2023-05-03 13:00:00.000000", "2023-05-03 14:00:00.000000")),
        (COMPARE_3D, "2023-05-10T12:00:00Z", {"day": "2023-05-10", "compare": "previous"}, ("2023-05-06 22:00:00.000000", "2023-05-07 22:00:00.000000")),
        ({"compareFilter": {"compare": True, "compare_to": "-3h"}}, "2023-05-10T12:00:00Z", {"day": "2023-05-10", "compare": "previous"},
         ("2023-05-09 19:00:00.000000", "2023-05-10 19:00:00.000000")),
        (BOLD, "2022-06-15T12:00:00Z", {}, ("2022-06-07 22:00:00.000000", "2022-06-15 21:59:59.999999]")),
        ({**BOLD, **COMPARE}, "2022-06-15T12:00:00Z", {"compare": "previous"}, ("2022-05-31 22:00:00.000000", "2022-06-08 21:59:59.999999]")),
        ({**BOLD, **COMPARE_3D}, "2022-06-15T12:00:00Z", {"compare": "previous"}, ("2022-06-04 22:00:00.000000", "2022-06-12 21:59:59.999999]")),
        (WAU, NOW_2024, {"day": "2024-05-27"}, ("2024-05-20 22:00:00.000000", "2024-05-27 22:00:00.000000")),
        ({**WAU, **COMPARE}, NOW_2024, {"day": "2024-05-27", "compare": "previous"}, ("2024-05-13 22:00:00.000000", "2024-05-20 22:00:00.000000")),
        ({**WAU, **COMPARE_3D}, NOW_2024, {"day": "2024-05-27", "compare": "previous"}, ("2024-05-17 22:00:00.000000", "2024-05-24 22:00:00.000000")),
        ({**WAU, **BOLD}, NOW_2024, {}, ("2024-05-24 21:59:59.999999", "2024-05-30 21:59:59.999999]")),
        ({**WAU, **BOLD, **COMPARE}, NOW_2024, {"compare": "previous"}, ("2024-05-17 21:59:59.999999", "2024-05-23 21:59:59.999999]")),
        (MAU, NOW_2024, {"day": "2024-05-27"}, ("2024-04-27 22:00:00.000000", "2024-05-27 22:00:00.000000")),
        ({"dateRange": {"date_from": "2024-05-08T14:29:13.634000Z", "explicitDate": True}}, "2024-05-08T15:32:00Z", {"day": "2024-05-08"},
         ("2024-05-08 14:29:13.634000", "2024-05-08 15:32:00.000000]")),
        ({"dateRange": {"date_from": "2024-05-08T14:29:13.634000Z", "date_to": "2024-05-08T14:32:57.692000Z", "explicitDate": True}},
         "2024-05-08T15:32:00Z", {"day": "2024-05-08"}, ("2024-05-08 14:29:13.634000", "2024-05-08 14:32:57.692000]")),
        ({**MAU, "dateRange": {"date_from": "2024-05-08T14:29:13.634000Z", "date_to": "2024-05-08T14:32:57.692000Z", "explicitDate": True}},
         "2024-05-08T15:32:00Z", {"day": "2024-05-08"}, ("2024-05-08 14:29:13.634000", "2024-05-08 14:32:57.692000")),
    ],
)
def test_window_matches_upstream(query, now, request_, expected):
    """``expected`` is upstream's (>= lo, < hi) — or (>= lo, <= hi) where hi ends in "]"."""
    lo, hi = window(query, now, **request_)
    want_lo, want_hi = expected
    if want_hi.endswith("]"):
        want_hi = us_to_datetime(_us(want_hi[:-1]) + 1).strftime("%Y-%m-%d %H:%M:%S.%f")
    assert (lo, hi) == (want_lo, want_hi)


def _us(text):
    from trendcalc.timeutil import datetime_to_us

    return datetime_to_us(dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.timezone.utc))


@pytest.mark.parametrize("compare", [{"compare": True}, {"compare": True, "compare_to": "-3d"}])
@pytest.mark.parametrize("date_from", ["-7d", "-14d", "2023-04-28"])
def test_every_point_of_a_compared_result(compare, date_from):
    """The actors of each point of both periods (asked with the current period's day, the
    series' action.days, as PostHog's modal does) are as many as its dau value."""
    q = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview", "math": "dau"}],
         "dateRange": {"date_from": date_from}, "compareFilter": compare}
    for series in tc.trends(UPSTREAM, q, now=NOW).to_dicts():
        for i, day in enumerate(series["action"]["days"]):
            rows = tc.actors(UPSTREAM, q, now=NOW, day=day[:10], compare=series["compare_label"], select=["actor"]).to_rows()
            assert len(rows) == series["data"][i], (series["compare_label"], day)


def test_readme_example():
    store = tc.EventStore.from_records(
        [{"event": "$pageview", "distinct_id": d, "timestamp": ts, "properties": {"$browser": b}}
         for d, ts, b in [("u1", "2024-03-11T09:00:00Z", "Chrome"), ("u1", "2024-03-11T17:00:00Z", "Chrome"),
                          ("u2", "2024-03-11T10:00:00Z", "Firefox"), ("u3", "2024-03-12T10:00:00Z", "Chrome")]],
        persons=[{"id": "p1", "distinct_ids": ["u1", "anon-1"], "properties": {"email": "ann@x.com"},
                  "created_at": "2024-01-05T00:00:00Z"},
                 {"id": "p2", "distinct_ids": ["u2"], "properties": {"email": "bob@x.com"}}],
    )
    q = {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-3d", "breakdown": "$browser"}
    now = "2024-03-13T18:00:00Z"
    assert [(r["breakdown_value"], r["data"]) for r in tc.trends(store, q, now=now)] == [("Chrome", [0, 1, 1, 0]), ("Firefox", [0, 1, 0, 0])]
    who = tc.actors(store, q, day="2024-03-11", breakdown="Chrome", now=now,
                    select=["actor", "created_at", "event_count"], order_by=["event_count DESC"])
    assert who.to_rows() == [[{"id": "p1", "properties": {"email": "ann@x.com"}, "created_at": "2024-01-05T00:00:00Z",
                               "distinct_ids": ["u1", "anon-1"]}, "2024-01-05T00:00:00Z", 2, ["u1"]]]


# --- every point of random worlds ----------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from trendcalc.testing import strategies as tst  # noqa: E402


@settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=tst.worlds(max_events=30, min_days=-9, max_days=1),
       breakdown=st.sampled_from([None, "$browser", "plan", "flag", "$current_url"]),
       event=st.sampled_from(["$pageview", None]))
def test_actors_add_up_on_random_worlds(world, breakdown, event):
    """Every day of a -7d query but the last (whose upper bound PostHog's trends query takes to
    the whole second, the actors query to the microsecond): the point's actors are its dau value
    and their events its total value, per breakdown value except Other."""
    store = world.store()
    project = attrs.evolve(world.project, aggregate_users_by_distinct_id=False)
    q = {"events": [{"id": event}, {"id": event, "math": "dau"}], "date_from": "-7d", "interval": "day"}
    if breakdown:
        q["breakdown"] = breakdown
    result = tc.trends(store, q, project=project, now=world.now).to_dicts()
    totals = [r for r in result if r["action"]["math"] == "total"]
    daus = {r.get("breakdown_value"): r for r in result if r["action"]["math"] == "dau"}
    for total in totals:
        value = total.get("breakdown_value")
        if value == OTHER or value not in daus:
            continue
        for i, day in enumerate(total["days"][:-1]):
            rows = tc.actors(store, q, project=project, now=world.now, day=day, breakdown=value,
                             select=["actor", "event_count"], limit=1000).to_rows()
            assert (len(rows), sum(r[1] for r in rows)) == (daus[value]["data"][i], total["data"][i]), (value, day)
