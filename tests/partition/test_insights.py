"""Stickiness and lifecycle on person-partitioned stores, on a world whose groups spread over
persons (so over partitions): persons and groups, criteria, cumulative, compare, sampling and
``date_from: "all"`` — the single store's ``to_dicts()`` for k in {1, 2, 3, 7}, hash and
adversarial splits, and through the files with a process pool."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.partition.split import person_partitions, subset

from .splits import SPLITS
from .test_insights_invariance import partitioned
from .worlds import NOW, PROJECT, store

KS = (1, 2, 3, 7)
CONFIGS = [(k, name, assign) for k in KS for name, assign in SPLITS.items() if k > 1 or name == "hash"]
SERIES = [{"kind": "EventsNode", "event": "$pageview"}]
GROUP_SERIES = [{"kind": "EventsNode", "event": "$pageview", "math": "unique_group", "math_group_type_index": 0}]
QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "stickiness": ("stickiness", {"shown_as": "Stickiness", "events": [{"id": "$pageview"}], "actions": [{"id": 1}],
                                  "date_from": "-30d"}),
    "stickiness-groups-criteria": ("stickiness", {"kind": "StickinessQuery", "series": GROUP_SERIES, "dateRange": {"date_from": "-30d"},
                                                  "stickinessFilter": {"stickinessCriteria": {"operator": "gte", "value": 2}}}),
    "stickiness-groups-cumulative-compare": ("stickiness", {
        "kind": "StickinessQuery", "series": GROUP_SERIES, "dateRange": {"date_from": "-14d"},
        "stickinessFilter": {"display": "ActionsLineGraphCumulative"}, "compareFilter": {"compare": True}}),
    "stickiness-all-weeks": ("stickiness", {"kind": "StickinessQuery", "series": SERIES, "interval": "week",
                                            "dateRange": {"date_from": "all"}}),
    # math hogql: the expression's value is the actor, and a value's events span partitions as a group's do
    "stickiness-hogql-actor-criteria": ("stickiness", {
        "kind": "StickinessQuery", "series": [{"kind": "EventsNode", "event": "$pageview", "math": "hogql",
                                               "math_hogql": "concat(properties.$browser, '/', toString(person.properties.plan))"}],
        "dateRange": {"date_from": "-30d"}, "stickinessFilter": {"stickinessCriteria": {"operator": "gte", "value": 2}}}),
    "lifecycle": ("lifecycle", {"shown_as": "Lifecycle", "events": [{"id": "$pageview"}], "date_from": "-30d",
                                "interval": "week"}),
    "lifecycle-groups": ("lifecycle", {"kind": "LifecycleQuery", "series": SERIES, "dateRange": {"date_from": "-30d"},
                                       "interval": "day", "aggregation_group_type_index": 0}),
    "lifecycle-sampled": ("lifecycle", {"kind": "LifecycleQuery", "series": SERIES, "dateRange": {"date_from": "-21d"},
                                        "interval": "week", "samplingFactor": 0.5}),
    "lifecycle-all": ("lifecycle", {"kind": "LifecycleQuery", "series": SERIES, "dateRange": {"date_from": "all"},
                                    "interval": "week", "aggregation_group_type_index": 0}),
}


def answer(run: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        return run().to_dicts()


@pytest.fixture(scope="module")
def world() -> tc.EventStore:
    return store()


@pytest.mark.parametrize("name", list(QUERIES))
def test_partitioned_equals_single_store(world: tc.EventStore, name: str) -> None:
    insight, query = QUERIES[name]
    want = answer(lambda: getattr(tc, insight)(world, query, project=PROJECT, now=NOW))
    assert any(any(s["data"]) for s in want)  # not all zeros
    for k, split, assign in CONFIGS:
        part = person_partitions(world, k, assign)
        stores = [subset(world, part == p) for p in range(k)]
        rows = tuple(np.flatnonzero(part == p) for p in range(k))
        assert answer(lambda stores=stores, rows=rows: partitioned(insight, stores, query, PROJECT, NOW, rows)) == want, (k, split)


def test_groups_span_partitions(world: tc.EventStore) -> None:
    """The adversarial premise: on a round-robin split every group has events in several partitions."""
    part = person_partitions(world, 3, SPLITS["round-robin"])
    col = world.column("$group_0")
    assert col is not None
    for code in range(len(col.dictionary)):
        assert len(set(part[world.person[col.codes == code]].tolist())) > 1


def test_through_files_and_a_process_pool(world: tc.EventStore, tmp_path: Any) -> None:
    parts = tc.partition(world, tmp_path / "p", partitions=3, durable=False)
    for name in ("stickiness-groups-criteria", "lifecycle-groups", "stickiness-all-weeks", "stickiness-hogql-actor-criteria"):
        insight, query = QUERIES[name]
        want = answer(lambda insight=insight, query=query: getattr(tc, insight)(world, query, project=PROJECT, now=NOW))
        got = answer(lambda insight=insight, query=query: getattr(tc, insight)(parts, query, project=PROJECT, now=NOW,
                                                                               executor="processes"))
        assert got == want
    insight, query = QUERIES["lifecycle"]
    assert answer(lambda: tc.trends(parts, query, project=PROJECT, now=NOW)) == answer(
        lambda: tc.lifecycle(world, query, project=PROJECT, now=NOW))
