"""``tc.actors`` on person-partitioned stores: the same rows, order, paging, ``has_more`` and
``missing_actors_count`` as the single store, for Trends, Stickiness and Lifecycle data points,
k in {1, 2, 3, 7}, hash and adversarial splits; through the files with a process pool; and the
conformance corpus' actors cases."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.actors.route import plan_actors
from trendcalc.engine.trends import resolve_now
from trendcalc.limits import DEFAULT_LIMITS
from trendcalc.partition.actors import actors_partitioned
from trendcalc.partition.split import person_partitions, subset
from trendcalc.partition.tasks import on_stores

from ..conformance.harness import actors_query, load_cases, load_extra_cases
from .splits import SPLITS
from .worlds import NOW, PROJECT, store

KS = (1, 2, 3, 7)
CONFIGS = [(k, name, assign) for k in KS for name, assign in SPLITS.items() if k > 1 or name == "hash"]
DAU = {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d", "interval": "week"}
GROUP_SERIES = [{"kind": "EventsNode", "event": "$pageview", "math": "unique_group", "math_group_type_index": 0}]
GROUP_LIFECYCLE = {"kind": "LifecycleQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                   "dateRange": {"date_from": "-30d"}, "interval": "day", "aggregation_group_type_index": 0}
POINTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "default": (DAU, {"day": "2024-03-03"}),
    "paged": (DAU, {"day": "2024-03-03", "limit": 4, "offset": 3}),
    "last-page": (DAU, {"day": "2024-03-10", "limit": 5, "offset": 10}),
    "count-order": (DAU, {"day": "2024-02-25", "select": ["actor", "event_count", "last_seen"],
                          "order_by": ["event_count DESC", "last_seen ASC"]}),
    "id-order": (DAU, {"day": "2024-03-03", "select": ["id", "event_count"], "order_by": ["id DESC"], "limit": 7}),
    "created-order": (DAU, {"day": "2024-03-03", "select": ["person", "created_at", "event_count"]}),
    "property-order": (DAU, {"day": "2024-03-03", "select": ["id", "properties.plan", "properties.age"],
                             "order_by": ["properties.plan DESC", "properties.age ASC"]}),
    "breakdown": ({**DAU, "breakdown": "$browser"}, {"day": "2024-03-03", "breakdown": "Chrome"}),
    "histogram-bin": ({**DAU, "breakdown": "n", "breakdown_histogram_bin_count": 3}, {"day": "2024-03-03"}),
    "compare": ({**DAU, "compare": True, "date_from": "-14d"}, {"day": "2024-03-10", "compare": "previous"}),
    "total": ({"events": [{"id": "signup"}], "display": "ActionsPie", "date_from": "-30d"},
              {"select": ["actor", "event_count", "event_distinct_ids"], "order_by": ["event_count DESC"]}),
    "weekly-active": ({"events": [{"id": "$pageview", "math": "weekly_active"}], "date_from": "-14d"}, {"day": "2024-03-10"}),
    "first-time": ({"events": [{"id": "purchase", "math": "first_time_for_user"}], "date_from": "-30d"},
                   {"day": "2024-03-02"}),
    "all": ({"events": [{"id": "purchase"}], "date_from": "all", "interval": "month"}, {"day": "2024-02-01"}),
    "action-cohort": ({"actions": [{"id": 1}], "date_from": "-30d", "interval": "week",
                       "properties": [{"key": "id", "value": 7, "type": "cohort"}]}, {"day": "2024-03-03"}),
    "groups": ({"events": [{"id": "$pageview", "math": "dau", "math_group_type_index": 0}], "date_from": "-30d",
                "interval": "week"}, {"day": "2024-03-03"}),
    "groups-ordered": ({"events": [{"id": "$pageview", "math": "unique_group", "math_group_type_index": 0}],
                        "date_from": "-30d", "display": "ActionsTable"},
                       {"select": ["group", "event_count", "last_seen", "properties.size", "created_at"],
                        "order_by": ["event_count ASC", "last_seen DESC"], "limit": 3, "offset": 1}),
    "groups-by-property": ({"events": [{"id": "signup", "math": "weekly_active"}], "aggregation_group_type_index": 0,
                            "date_from": "-30d", "display": "ActionsPie"},
                           {"select": ["actor", "id", "event_count"], "order_by": ["properties.size DESC"]}),
    "stickiness": ({"shown_as": "Stickiness", "events": [{"id": "$pageview"}], "date_from": "-14d"}, {"day": 2}),
    "stickiness-all": ({"kind": "StickinessQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                        "dateRange": {"date_from": "all"}, "interval": "week"}, {"day": 1}),
    "lifecycle-new": ({"shown_as": "Lifecycle", "events": [{"id": "$pageview"}], "date_from": "-30d", "interval": "week"},
                      {"day": "2024-02-12", "status": "new"}),
    "lifecycle-dormant": ({"kind": "LifecycleQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                           "dateRange": {"date_from": "-21d"}, "interval": "week"}, {"day": "2024-03-10", "status": "dormant"}),
    "lifecycle-returning": ({"kind": "LifecycleQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                             "dateRange": {"date_from": "-30d"}, "interval": "week"},
                            {"day": "2024-03-10", "status": "returning", "select": ["actor", "event_count"],
                             "order_by": ["event_count DESC"]}),
    # groups of stickiness and lifecycle points: a group's events lie in several partitions
    "stickiness-groups": ({"kind": "StickinessQuery", "series": GROUP_SERIES, "dateRange": {"date_from": "-14d"}},
                          {"day": 9}),
    "stickiness-groups-paged": ({"kind": "StickinessQuery", "series": GROUP_SERIES, "dateRange": {"date_from": "-14d"}},
                                {"day": "11", "limit": 1, "offset": 1}),
    "stickiness-groups-criteria": ({"kind": "StickinessQuery", "series": GROUP_SERIES, "dateRange": {"date_from": "-30d"},
                                    "stickinessFilter": {"stickinessCriteria": {"operator": "gte", "value": 2}}},
                                   {"day": 4, "select": ["group", "event_count", "last_seen", "properties.size", "created_at"],
                                    "order_by": ["event_count ASC", "last_seen DESC"], "limit": 2}),
    "stickiness-groups-cumulative-previous": ({"kind": "StickinessQuery", "series": GROUP_SERIES,
                                               "dateRange": {"date_from": "-14d"},
                                               "stickinessFilter": {"display": "ActionsLineGraphCumulative"},
                                               "compareFilter": {"compare": True}},
                                              {"day": 10, "compare": "previous", "select": ["id", "event_count"],
                                               "order_by": ["id DESC"]}),
    "lifecycle-groups-returning": (GROUP_LIFECYCLE, {"day": "2024-02-23", "status": "returning",
                                                     "select": ["actor", "event_count", "last_seen"]}),
    "lifecycle-groups-dormant": (GROUP_LIFECYCLE, {"day": "2024-02-24", "status": "dormant", "limit": 2, "offset": 1}),
    "lifecycle-groups-resurrecting": (GROUP_LIFECYCLE, {"day": "2024-02-25", "status": "resurrecting",
                                                        "select": ["group", "event_count"], "order_by": ["event_count DESC"]}),
}
OVERRIDES = ("series", "day", "breakdown", "compare", "include_recordings", "select", "order_by", "limit", "offset")


def rows_of(result: tc.ActorsResult) -> Any:
    return (result.columns, result.rows, result.has_more, result.limit, result.offset, result.missing_actors_count)


def single(world: tc.EventStore, query: Any, request: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        return tc.actors(world, query, project=PROJECT, now=NOW, **request)


def in_memory(world: tc.EventStore, query: Any, request: dict[str, Any], k: int, assign: Any) -> tc.ActorsResult:
    part = person_partitions(world, k, assign)
    stores = [subset(world, part == p) for p in range(k)]
    overrides = {key: request.get(key) for key in OVERRIDES}
    plan = plan_actors(query, overrides, request.get("status"), PROJECT, DEFAULT_LIMITS)
    return actors_partitioned(on_stores(stores), plan, PROJECT, resolve_now(NOW), DEFAULT_LIMITS,
                              tuple(np.flatnonzero(part == i) for i in range(k)))


@pytest.fixture(scope="module")
def world() -> tc.EventStore:
    return store()


@pytest.mark.parametrize("name", list(POINTS))
def test_partitioned_actors_equal_single_store(world: tc.EventStore, name: str) -> None:
    query, request = POINTS[name]
    want = rows_of(single(world, query, request))
    assert want[1], "the point has actors"
    for k, split, assign in CONFIGS:
        assert rows_of(in_memory(world, query, request, k, assign)) == want, (k, split)


def test_ties_and_ids_follow_the_whole_store(world: tc.EventStore) -> None:
    """The adversarial premise: many actors tie on event_count and have no id of their own, so
    the order and the ``person:<row>`` ids come from the rows of the whole store."""
    query, request = POINTS["count-order"]
    result = single(world, query, request)
    counts = [r[1] for r in result.rows]
    assert len(counts) > len(set(counts))
    assert any(str(r[0]["id"]).startswith("person:") for r in result.rows)


def test_through_files_and_a_process_pool(world: tc.EventStore, tmp_path: Any) -> None:
    parts = tc.partition(world, tmp_path / "p", partitions=3, assign=SPLITS["round-robin"], durable=False)
    for name in ("paged", "all", "stickiness", "lifecycle-new", "groups-ordered", "stickiness-groups-criteria",
                 "lifecycle-groups-dormant"):
        query, request = POINTS[name]
        want = rows_of(single(world, query, request))
        assert rows_of(tc.actors(parts, query, project=PROJECT, now=NOW, **request)) == want
        assert rows_of(tc.actors(parts, query, project=PROJECT, now=NOW, executor="processes", **request)) == want


def test_a_store_written_without_global_person_rows_refuses(world: tc.EventStore, tmp_path: Any) -> None:
    parts = tc.partition(world, tmp_path / "p", partitions=2, durable=False)
    (parts.root / "part-001.person_rows.npy").unlink()
    query, request = POINTS["default"]
    with pytest.raises(tc.UnsupportedError, match="without its persons' rows"):
        tc.actors(parts, query, project=PROJECT, now=NOW, **request)


def test_group_points_need_every_partition(world: tc.EventStore) -> None:
    """The adversarial premise of the group points: on a round-robin split of 3, no partition
    alone finds the point's groups (a group's intervals and statuses need all its events)."""
    for name in ("stickiness-groups", "lifecycle-groups-returning"):
        query, request = POINTS[name]
        want = rows_of(single(world, query, request))
        part = SPLITS["round-robin"](world, 3)
        alone = [rows_of(single(subset(world, part == p), query, request)) for p in range(3)]
        assert all(a[1] != want[1] for a in alone), name


ACTOR_CASES = [c for c in load_cases() + load_extra_cases() if c["query_kind"] == "actors"]


@pytest.mark.parametrize("case", ACTOR_CASES, ids=[c["id"] for c in ACTOR_CASES])
def test_conformance_actors_cases(case: dict[str, Any], tmp_path: Any) -> None:
    events_store = tc.EventStore.from_records(case["events"], persons=case.get("persons"), groups=case.get("groups"))
    project = tc.Project.from_dict({"infer_property_types": False, **case["project"], "actions": case.get("actions", []),
                                    "cohorts": case.get("cohorts", [])})
    query = actors_query(case["query"] if "query" in case else case["filter"], case["actors_request"])

    def answer(store: Any) -> Any:  # the rows, or the error (a case may expect one)
        try:
            return rows_of(tc.actors(store, query, project=project, now=case["now"]))
        except tc.ValidationError as e:
            return ("error", e.path, e.message)

    want = answer(events_store)
    for k in KS:
        parts = tc.partition(events_store, tmp_path / f"p{k}", partitions=k, assign=SPLITS["round-robin"], durable=False)
        assert answer(parts) == want, k
