"""tc.lifecycle beyond the shared cases: DST hours, groups and their created_at, personless and
person-less events in both engines, several series, sampling, explicit dates, routing through
tc.trends, validation, and the result helpers. Expected numbers are worked out by hand in the
comments (spec stickiness-lifecycle §5–6)."""

from __future__ import annotations

import math

import pytest

import trendcalc as tc

UTC_PROJECT = tc.Project(timezone="UTC")


def ev(did: str, ts: str, event: str = "$pageview", **props):
    return {"event": event, "distinct_id": did, "timestamp": ts, "properties": props}


def by_status(result) -> dict[str, list[float]]:
    return {d["status"]: d["data"] for d in result.to_dicts()}


def lq(**kw):
    q = {"kind": "LifecycleQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}
    q.update(kw)
    return q


def test_hour_buckets_across_a_fall_back_night_are_distinct():
    # Europe/Berlin leaves summer time on 2023-10-29 at 03:00 CEST -> 02:00 CET: the local 02:00
    # hour happens twice (00:00Z and 01:00Z). One event in each: resurrecting in the first,
    # returning in the second, dormant in 03:00 CET.
    store = tc.EventStore.from_records([ev("u", "2023-10-29T00:30:00Z"), ev("u", "2023-10-29T01:30:00Z")],
                                       persons=[{"distinct_ids": ["u"], "created_at": "2023-01-01T00:00:00Z"}])
    q = lq(interval="hour", dateRange={"date_from": "2023-10-29T01:00", "date_to": "2023-10-29T04:00"})
    r = tc.lifecycle(store, q, project=tc.Project(timezone="Europe/Berlin"), now="2023-11-01T00:00:00Z")
    d = r.to_dicts()
    assert d[0]["days"] == ["2023-10-29 01:00:00", "2023-10-29 02:00:00", "2023-10-29 02:00:00",
                            "2023-10-29 03:00:00", "2023-10-29 04:00:00"]
    assert by_status(r) == {
        "new": [0.0] * 5,
        "returning": [0.0, 0.0, 1.0, 0.0, 0.0],
        "resurrecting": [0.0, 1.0, 0.0, 0.0, 0.0],
        "dormant": [0.0, 0.0, 0.0, -1.0, 0.0],
    }


def test_day_after_spring_forward_is_the_next_local_midnight():
    # America/New_York springs forward on 2024-03-10 (a 23-hour day). Active 03-09 and 03-10
    # local evenings: returning on 03-10, dormant on 03-11.
    store = tc.EventStore.from_records([ev("u", "2024-03-10T02:00:00Z"), ev("u", "2024-03-11T02:00:00Z")],
                                       persons=[{"distinct_ids": ["u"], "created_at": "2024-03-10T01:00:00Z"}])
    q = lq(dateRange={"date_from": "2024-03-09", "date_to": "2024-03-11"})
    r = tc.lifecycle(store, q, project=tc.Project(timezone="America/New_York"), now="2024-04-01T00:00:00Z")
    # 02:00Z on 03-10 is 21:00 on 03-09 local, the creation day: new on 03-09
    assert by_status(r) == {"new": [1.0, 0.0, 0.0], "returning": [0.0, 1.0, 0.0],
                            "resurrecting": [0.0, 0.0, 0.0], "dormant": [0.0, 0.0, -1.0]}


GROUP_EVENTS = [
    ev("p1", "2020-01-02T10:00:00Z", **{"$group_0": "acme"}),
    ev("p2", "2020-01-03T10:00:00Z", **{"$group_0": "acme"}),   # another person, same group
    ev("p1", "2020-01-02T11:00:00Z", **{"$group_0": "ghost"}),  # a group never ingested
    ev("p1", "2020-01-04T10:00:00Z", **{"$group_0": ""}),       # empty key: not activity
    ev("p3", "2020-01-04T10:00:00Z"),                           # no group at all
]
GROUPS = [{"group_type_index": 0, "group_key": "acme", "created_at": "2020-01-02T08:00:00Z"}]
PERSONS = [{"distinct_ids": [d], "created_at": "2020-01-01T00:00:00Z"} for d in ("p1", "p2", "p3")]


def test_group_aggregation_uses_the_group_created_at():
    store = tc.EventStore.from_records(GROUP_EVENTS, persons=PERSONS, groups=GROUPS)
    q = lq(dateRange={"date_from": "2020-01-02", "date_to": "2020-01-05"}, aggregation_group_type_index=0)
    r = tc.lifecycle(store, q, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    # acme: created 01-02 -> new 01-02, returning 01-03, dormant 01-04.
    # ghost: no group row, so never new -> resurrecting 01-02, dormant 01-03.
    assert by_status(r) == {"new": [1.0, 0.0, 0.0, 0.0], "returning": [0.0, 1.0, 0.0, 0.0],
                            "resurrecting": [1.0, 0.0, 0.0, 0.0], "dormant": [0.0, -1.0, -1.0, 0.0]}


def test_persons_of_the_same_events_without_group_aggregation():
    store = tc.EventStore.from_records(GROUP_EVENTS, persons=PERSONS, groups=GROUPS)
    q = lq(dateRange={"date_from": "2020-01-02", "date_to": "2020-01-05"})
    r = tc.lifecycle(store, q, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    # persons created 01-01 (the look-back day, no activity there): p1 resurrecting 01-02,
    # dormant 01-03, resurrecting 01-04, dormant 01-05; p2 resurrecting 01-03, dormant 01-04;
    # p3 resurrecting 01-04, dormant 01-05.
    assert by_status(r) == {"new": [0.0] * 4, "returning": [0.0] * 4,
                            "resurrecting": [1.0, 1.0, 2.0, 0.0], "dormant": [0.0, -1.0, -1.0, -2.0]}


PERSONLESS_WORLD = [
    ev("p1", "2020-01-10T12:00:00Z"),
    ev("p1", "2020-01-11T12:00:00Z", **{"$process_person_profile": False}),
    ev("anon", "2020-01-10T12:00:00Z"),  # no person row
    ev("anon", "2020-01-11T12:00:00Z"),
]


def test_runner_drops_personless_events_and_keeps_person_less_ids():
    store = tc.EventStore.from_records(PERSONLESS_WORLD, persons=[{"distinct_ids": ["p1"], "created_at": "2020-01-10T00:00:00Z"}])
    q = lq(dateRange={"date_from": "2020-01-10", "date_to": "2020-01-12"})
    r = tc.lifecycle(store, q, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    # p1: new 01-10, its 01-11 event is personless -> dormant 01-11.
    # anon: no created_at -> resurrecting 01-10, returning 01-11, dormant 01-12.
    assert by_status(r) == {"new": [1.0, 0.0, 0.0], "returning": [0.0, 1.0, 0.0],
                            "resurrecting": [1.0, 0.0, 0.0], "dormant": [0.0, -1.0, -1.0]}


def test_legacy_engine_keeps_personless_events_and_drops_ids_without_a_person():
    store = tc.EventStore.from_records(PERSONLESS_WORLD, persons=[{"distinct_ids": ["p1"], "created_at": "2020-01-10T00:00:00Z"}])
    f = {"events": [{"id": "$pageview"}], "shown_as": "Lifecycle", "date_from": "2020-01-10", "date_to": "2020-01-12"}
    r = tc.lifecycle(store, f, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    # the legacy person INNER JOIN: anon is gone; p1 new 01-10, returning 01-11, dormant 01-12
    assert by_status(r) == {"new": [1.0, 0.0, 0.0], "returning": [0.0, 1.0, 0.0],
                            "resurrecting": [0.0, 0.0, 0.0], "dormant": [0.0, 0.0, -1.0]}
    assert [(w.code, w.path) for w in r.warnings] == [("personless_dropped", ())]
    assert str(r.warnings[0]).startswith("$: 1 of the store's persons are distinct_ids without a person row")


def test_only_the_legacy_form_on_a_store_with_personless_ids_warns_of_the_person_join():
    f = {"events": [{"id": "$pageview"}], "shown_as": "Lifecycle", "date_from": "2020-01-10", "date_to": "2020-01-12"}
    q = lq(dateRange={"date_from": "2020-01-10", "date_to": "2020-01-12"})
    bare = tc.EventStore.from_records([ev("a", "2020-01-10T12:00:00Z"), ev("b", "2020-01-11T12:00:00Z")])
    with pytest.warns(tc.TrendcalcWarning, match="drops their events"):
        legacy = tc.lifecycle(bare, f, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert all(v == 0 for d in legacy.to_dicts() for v in d["data"])  # the legacy engine's numbers stay
    assert str(legacy.warnings[0]).startswith("$: 2 of the store's persons")
    assert tc.lifecycle(bare, q, project=UTC_PROJECT, now="2020-02-01T00:00:00Z").warnings == ()
    assert tc.trends(bare, f, project=UTC_PROJECT, now="2020-02-01T00:00:00Z").warnings == legacy.warnings
    people = [{"distinct_ids": ["a"]}, {"distinct_ids": ["b"], "created_at": "2020-01-11T00:00:00Z"}]
    whole = tc.EventStore.from_records([ev("a", "2020-01-10T12:00:00Z"), ev("b", "2020-01-11T12:00:00Z")], persons=people)
    r = tc.lifecycle(whole, f, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert r.warnings == ()
    assert by_status(r)["new"] == [0.0, 1.0, 0.0]


def test_merged_distinct_ids_are_one_person():
    store = tc.EventStore.from_records([ev("a", "2020-01-10T12:00:00Z"), ev("b", "2020-01-11T12:00:00Z")],
                                       persons=[{"distinct_ids": ["a", "b"], "created_at": "2020-01-10T00:00:00Z"}])
    r = tc.lifecycle(store, lq(dateRange={"date_from": "2020-01-10", "date_to": "2020-01-11"}), project=UTC_PROJECT,
                     now="2020-02-01T00:00:00Z")
    assert by_status(r) == {"new": [1.0, 0.0], "returning": [0.0, 1.0], "resurrecting": [0.0, 0.0], "dormant": [0.0, 0.0]}


def test_runner_ands_all_series_and_labels_from_the_first():
    store = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z"), ev("u", "2020-01-10T13:00:00Z", "$pageleave")],
                                       persons=[{"distinct_ids": ["u"], "created_at": "2020-01-10T00:00:00Z"}])
    q = lq(dateRange={"date_from": "2020-01-10", "date_to": "2020-01-11"},
           series=[{"kind": "EventsNode", "event": "$pageview"}, {"kind": "EventsNode", "event": "$pageleave"}])
    r = tc.lifecycle(store, q, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert [d["label"] for d in r.to_dicts()] == ["$pageview - new", "$pageview - returning",
                                                  "$pageview - resurrecting", "$pageview - dormant"]
    assert all(d["data"] == [0.0, 0.0] for d in r.to_dicts())  # no event is both
    q["series"] = [{"kind": "EventsNode", "event": None}, {"kind": "EventsNode", "event": "$pageleave"}]
    r = tc.lifecycle(store, q, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert r.to_dicts()[0]["label"] == "All events - new"
    assert by_status(r)["new"] == [1.0, 0.0]  # only the $pageleave is both


def test_legacy_engine_gives_every_entity_four_series_read_from_the_first():
    store = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z")],
                                       persons=[{"distinct_ids": ["u"], "created_at": "2020-01-10T00:00:00Z"}])
    f = {"events": [{"id": "$pageview", "order": 0}, {"id": "$pageleave", "order": 1}], "shown_as": "Lifecycle",
         "date_from": "2020-01-10", "date_to": "2020-01-11"}
    d = tc.lifecycle(store, f, project=UTC_PROJECT, now="2020-02-01T00:00:00Z").to_dicts()
    assert [x["label"] for x in d][3:5] == ["$pageview - dormant", "$pageleave - new"]
    assert d[4]["data"] == d[0]["data"] == [1.0, 0.0]


def test_sampling_scales_runner_counts_but_not_legacy_counts():
    evs = [ev(f"u{i}", f"2020-01-{10 + i % 3:02d}T12:00:00Z") for i in range(60)]
    persons = [{"distinct_ids": [f"u{i}"], "created_at": "2019-01-01T00:00:00Z"} for i in range(60)]
    store = tc.EventStore.from_records(evs, persons=persons)
    dates = {"date_from": "2020-01-10", "date_to": "2020-01-13"}
    full = by_status(tc.lifecycle(store, lq(dateRange=dates), project=UTC_PROJECT, now="2020-02-01T00:00:00Z"))
    assert full["resurrecting"] == [20.0, 20.0, 20.0, 0.0]
    runner = by_status(tc.lifecycle(store, lq(dateRange=dates, samplingFactor=0.5), project=UTC_PROJECT,
                                    now="2020-02-01T00:00:00Z"))
    legacy = by_status(tc.lifecycle(store, {"events": [{"id": "$pageview"}], "shown_as": "Lifecycle", "sampling_factor": 0.5,
                                            **dates}, project=UTC_PROJECT, now="2020-02-01T00:00:00Z"))
    for status in runner:
        assert runner[status] == [2 * v for v in legacy[status]]
    kept = sum(legacy["resurrecting"])
    assert 0 < kept < 60  # the sample keeps some distinct_ids, not all


def test_explicit_date_drops_a_first_bucket_that_starts_before_date_from():
    store = tc.EventStore.from_records([ev("u", "2020-01-10T08:00:00Z"), ev("u", "2020-01-11T12:00:00Z")],
                                       persons=[{"distinct_ids": ["u"], "created_at": "2020-01-10T00:00:00Z"}])
    q = lq(dateRange={"date_from": "2020-01-10T10:00:00", "date_to": "2020-01-11T23:59:59", "explicitDate": True})
    r = tc.lifecycle(store, q, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    # the 01-10 bucket starts before 10:00 and is dropped; its event still makes 01-11 returning
    assert r.to_dicts()[0]["days"] == ["2020-01-11"]
    assert by_status(r) == {"new": [0.0], "returning": [1.0], "resurrecting": [0.0], "dormant": [0.0]}


def test_months_start_on_the_first_and_look_back_one_month():
    store = tc.EventStore.from_records([ev("u", "2020-01-31T12:00:00Z"), ev("u", "2020-02-01T12:00:00Z"),
                                        ev("u", "2020-04-15T12:00:00Z")],
                                       persons=[{"distinct_ids": ["u"], "created_at": "2020-01-31T00:00:00Z"}])
    q = lq(interval="month", dateRange={"date_from": "2020-02-15", "date_to": "2020-05-02"})
    d = tc.lifecycle(store, q, project=UTC_PROJECT, now="2020-06-01T00:00:00Z").to_dicts()
    assert d[0]["days"] == ["2020-02-01", "2020-03-01", "2020-04-01", "2020-05-01"]
    assert d[0]["labels"] == ["Feb 2020", "Mar 2020", "Apr 2020", "May 2020"]
    assert {x["status"]: x["data"] for x in d} == {
        "new": [0.0] * 4, "returning": [1.0, 0.0, 0.0, 0.0],
        "resurrecting": [0.0, 0.0, 1.0, 0.0], "dormant": [0.0, -1.0, 0.0, -1.0]}


def test_trends_routes_every_lifecycle_form():
    store = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z")],
                                       persons=[{"distinct_ids": ["u"], "created_at": "2020-01-10T00:00:00Z"}])
    base = {"events": [{"id": "$pageview"}], "date_from": "2020-01-09", "date_to": "2020-01-11"}
    expected = tc.lifecycle(store, {**base, "shown_as": "Lifecycle"}, project=UTC_PROJECT, now="2020-02-01T00:00:00Z").to_dicts()
    assert by_status(tc.lifecycle(store, {**base, "shown_as": "Lifecycle"}, project=UTC_PROJECT))["new"] == [0.0, 1.0, 0.0]
    for q in ({**base, "shown_as": "Lifecycle"}, {**base, "insight": "LIFECYCLE"}, {**base, "insight": "lifecycle"}):
        assert tc.trends(store, q, project=UTC_PROJECT, now="2020-02-01T00:00:00Z").to_dicts() == expected
    query = lq(dateRange={"date_from": "2020-01-09", "date_to": "2020-01-11"})
    direct = tc.lifecycle(store, query, project=UTC_PROJECT, now="2020-02-01T00:00:00Z").to_dicts()
    wrapped = {"kind": "InsightVizNode", "source": query}
    assert tc.trends(store, wrapped, project=UTC_PROJECT, now="2020-02-01T00:00:00Z").to_dicts() == direct


def test_legacy_fields_the_engine_does_not_read_are_reported():
    store = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z", **{"$browser": "Chrome"})],
                                       persons=[{"distinct_ids": ["u"]}])  # (no person-join warning)
    f = {"events": [{"id": "$pageview", "math": "sum"}], "shown_as": "Lifecycle", "date_from": "2020-01-10",
         "date_to": "2020-01-11"}
    plain = tc.lifecycle(store, f, project=UTC_PROJECT)
    with pytest.warns(tc.TrendcalcWarning, match="'breakdown' is not read"):
        r = tc.lifecycle(store, {**f, "breakdown": "$browser", "display": "ActionsBar"}, project=UTC_PROJECT)
    assert r.to_dicts() == plain.to_dicts()  # math without math_property is no error either: not read
    assert [(w.code, w.path) for w in r.warnings] == [("not_read", ("display",)), ("not_read", ("breakdown",))]
    assert str(r.warnings[1]) == "$.breakdown: 'breakdown' is not read by a lifecycle (PostHog ignores it too)"
    assert plain.warnings == ()


@pytest.mark.parametrize(("query", "path", "kind", "message"), [
    (lq(dateRnage={}), ("dateRnage",), tc.ValidationError, "dateRange"),
    (lq(lifecycleFilter={"toggledLifecycles": ["dormnat"]}), ("lifecycleFilter", "toggledLifecycles", 0),
     tc.ValidationError, "dormant"),
    (lq(lifecycleFilter={"stackd": True}), ("lifecycleFilter", "stackd"), tc.ValidationError, "stacked"),
    (lq(series=[]), ("series",), tc.ValidationError, "at least one series"),
    (lq(customAggregationTarget=True), ("customAggregationTarget",), tc.UnsupportedError, "customAggregationTarget"),
    (lq(series=[{"kind": "ActionsNode", "id": 7}]), ("series", 0, "id"), tc.ValidationError, "Action ID 7 does not exist!"),
    (lq(interval="fortnight"), ("interval",), tc.ValidationError, "fortnight"),
    ({"events": [{"id": "$pageview"}], "shown_as": "Stickiness", "insight": "TRENDS"}, ("shown_as",), tc.ValidationError,
     "Lifecycle"),
    ({"kind": "TrendsQuery", "series": []}, ("kind",), tc.ValidationError, "LifecycleQuery"),
])
def test_bad_queries_name_their_path(query, path, kind, message):
    store = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z")])
    with pytest.raises(kind) as info:
        tc.lifecycle(store, query, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert info.value.path == path
    assert message in str(info.value)


def test_query_dict_is_not_mutated():
    q = lq(series=[{"kind": "EventsNode", "event": "$pageview", "math": "dau"}], lifecycleFilter={"toggledLifecycles": ["new"]})
    snapshot = repr(q)
    store = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z")])
    tc.lifecycle(store, q, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert repr(q) == snapshot


def test_result_helpers():
    store = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z"), ev("u", "2020-01-11T12:00:00Z")],
                                       persons=[{"distinct_ids": ["u"], "created_at": "2020-01-10T00:00:00Z"}])
    r = tc.lifecycle(store, lq(dateRange={"date_from": "2020-01-10", "date_to": "2020-01-12"},
                               lifecycleFilter={"toggledLifecycles": ["new", "dormant"]}),
                     project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert isinstance(r, tc.TrendsResult) and isinstance(r, tc.LifecycleResult)
    assert set(r.to_dicts()[0]) == {"action", "data", "count", "labels", "days", "label", "status"}
    assert r.to_dicts()[3]["count"] == -1.0 and r.to_dicts()[0]["count"] == 1.0
    csv = r.to_csv().splitlines()
    assert csv[0] == "series,breakdown_value,compare_label,2020-01-10,2020-01-11,2020-01-12,total"
    assert csv[4] == "$pageview - dormant,,,0,0,-1,-1"
    df = r.to_pandas()
    assert list(df[df["series"] == "$pageview - returning"]["value"]) == [0.0, 1.0, 0.0]
    fig = r.plot()
    ax = fig.axes[0]
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights[0] == -1.0 and heights[-1] == 1.0 and len(ax.patches) == 6  # only new and dormant drawn
    assert not any(math.isnan(h) for h in heights)


def test_actors_of_a_lifecycle_point():
    # ann: new 03-01, returning 03-02, dormant 03-03; bob (created in January): resurrecting 03-02,
    # dormant 03-03; cy (merged ids c1/c2, created in January): resurrecting 03-01, returning
    # 03-02 (two events), dormant 03-03
    evs = [ev("ann", "2024-03-01T09:00:00Z"), ev("ann", "2024-03-02T09:00:00Z"), ev("bob", "2024-03-02T10:00:00Z"),
           ev("c1", "2024-03-01T10:00:00Z"), ev("c2", "2024-03-02T11:00:00Z"), ev("c2", "2024-03-02T12:00:00Z")]
    persons = [{"distinct_ids": ["ann"], "created_at": "2024-03-01T08:00:00Z", "properties": {"email": "ann@x.io"}},
               {"distinct_ids": ["bob"], "created_at": "2024-01-15T00:00:00Z", "properties": {"email": "bob@x.io"}},
               {"distinct_ids": ["c1", "c2"], "created_at": "2024-01-15T00:00:00Z", "properties": {"email": "cy@x.io"}}]
    store = tc.EventStore.from_records(evs, persons=persons)
    source = lq(dateRange={"date_from": "2024-03-01", "date_to": "2024-03-04"})

    def emails(status, day, **kw):
        q = {"kind": "InsightActorsQuery", "source": source, "day": day, "status": status}
        rows = tc.actors(store, {"kind": "ActorsQuery", "source": q, "select": ["properties.email", "event_count"],
                                 "orderBy": ["properties.email ASC"], **kw}, project=UTC_PROJECT,
                         now="2024-04-01T00:00:00Z").to_rows()
        return [tuple(r) for r in rows]

    assert emails("new", "2024-03-01") == [("ann@x.io", 1)]
    assert emails("resurrecting", "2024-03-01") == [("cy@x.io", 1)]
    assert emails("returning", "2024-03-02") == [("ann@x.io", 1), ("cy@x.io", 2)]
    assert emails("resurrecting", "2024-03-02") == [("bob@x.io", 1)]
    # dormant on 03-03: the events counted are their last active bucket's (03-02)
    assert emails("dormant", "2024-03-03") == [("ann@x.io", 1), ("bob@x.io", 1), ("cy@x.io", 2)]
    assert emails("dormant", "2024-03-03T15:00:00") == emails("dormant", "2024-03-03")  # truncated to the bucket
    assert emails("new", "2024-03-04") == []
    # every data point of the result is the size of its actors list
    result = tc.lifecycle(store, source, project=UTC_PROJECT, now="2024-04-01T00:00:00Z").to_dicts()
    for series in result:
        for day, value in zip(series["days"], series["data"]):
            n = len(tc.actors(store, source, day=day, status=series["status"], project=UTC_PROJECT,
                              now="2024-04-01T00:00:00Z"))
            assert n == abs(value)


def test_actors_of_a_lifecycle_point_validate_the_request():
    store = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z")])
    source = {"events": [{"id": "$pageview"}], "shown_as": "Lifecycle", "date_from": "2020-01-10", "date_to": "2020-01-11"}
    with pytest.raises(tc.ValidationError) as info:
        tc.actors(store, {"kind": "InsightActorsQuery", "source": source, "day": "2020-01-10", "status": "dormnat"},
                  project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert info.value.path == ("status",) and "dormant" in str(info.value)
    with pytest.raises(tc.ValidationError) as info:
        tc.actors(store, source, status="new", project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert info.value.path == ("actors_request", "day")
    with pytest.raises(tc.ValidationError) as info:
        tc.actors(store, {"kind": "InsightActorsQuery", "source": {**source, "date_form": "x"}, "day": "2020-01-10",
                          "status": "new"}, project=UTC_PROJECT, now="2020-02-01T00:00:00Z")
    assert info.value.path == ("source", "date_form")
    groups = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z", **{"$group_0": "acme"})],
                                        groups=[{"group_type_index": 0, "group_key": "acme", "created_at": "2020-01-10T00:00:00Z"}])
    rows = tc.actors(groups, lq(dateRange={"date_from": "2020-01-10", "date_to": "2020-01-11"}, aggregation_group_type_index=0),
                     day="2020-01-10", status="new", project=UTC_PROJECT, now="2020-02-01T00:00:00Z").to_dicts()
    assert [r["group"]["id"] for r in rows] == ["acme"]


def test_docs_example_runs():
    """docs/lifecycle.md's example (its assert is the documented answer)."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).parents[2] / "docs" / "lifecycle.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    exec(compile(code.replace("print(result.table())", "table = result.table()"), "docs/lifecycle.md", "exec"), {})


def test_status_is_refused_for_trends_actors():
    store = tc.EventStore.from_records([ev("u", "2020-01-10T12:00:00Z")])
    with pytest.raises(tc.ValidationError) as info:
        tc.actors(store, {"events": [{"id": "$pageview"}]}, day="2020-01-10", status="new", project=UTC_PROJECT,
                  now="2020-02-01T00:00:00Z")
    assert info.value.path == ("actors_request", "status")
