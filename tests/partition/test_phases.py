"""Formulas over merged series, histogram breakdowns (global bin edges from a first phase) and
``date_from: "all"`` (the earliest event over all partitions from a first phase) on partitioned
stores: the single store's ``to_dicts()`` for k in {1, 2, 3, 7}, hash and adversarial splits,
and through the files with a process pool."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.trends import resolve_now
from trendcalc.partition.run import run_stores
from trendcalc.partition.split import person_partitions, subset

from .splits import SPLITS
from .worlds import NOW, PROJECT, store

KS = (1, 2, 3, 7)
CONFIGS = [(k, name, assign) for k in KS for name, assign in SPLITS.items() if k > 1 or name == "hash"]

QUERIES = {
    "formula": {"events": [{"id": "$pageview", "math": "dau"}, {"id": "signup"}], "formula": "A / B + 1",
                "date_from": "2024-02-20", "date_to": "2024-03-14"},
    "formula-breakdown": {"events": [{"id": "$pageview", "math": "dau"}, {"id": "purchase"}], "formula": "A - B",
                          "breakdown": "$browser", "breakdown_limit": 2, "date_from": "-21d"},
    "formula-compare": {"events": [{"id": "$pageview"}, {"id": "signup", "math": "dau"}], "formula": "A * 2 - B",
                        "compare": True, "date_from": "-14d"},
    "formula-total": {"events": [{"id": "$pageview", "math": "weekly_active"}, {"id": "signup"}], "formula": "A + B",
                      "display": "ActionsPie", "breakdown": "plan", "breakdown_type": "person", "date_from": "-30d"},
    "formula-query": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview", "math": "dau"},
                                                        {"kind": "ActionsNode", "id": 1}],
                      "trendsFilter": {"formulas": ["A / B", "B - A"]}, "dateRange": {"date_from": "-28d"}},
    "histogram": {"events": [{"id": "$pageview", "math": "dau"}], "breakdown": "n", "breakdown_histogram_bin_count": 4,
                  "date_from": "-30d"},
    "histogram-person": {"events": [{"id": "$pageview"}, {"id": "purchase"}], "breakdown": "age",
                         "breakdown_type": "person", "breakdown_histogram_bin_count": 3, "date_from": "-14d", "compare": True},
    "histogram-total": {"events": [{"id": "signup"}], "breakdown": "n", "breakdown_histogram_bin_count": 5,
                        "display": "ActionsBarValue", "date_from": "-35d"},
    "histogram-multi": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                        "breakdownFilter": {"breakdowns": [{"property": "n", "histogram_bin_count": 3},
                                                           {"property": "$browser"}]},
                        "dateRange": {"date_from": "-21d"}},
    # non-additive maths over a histogram: merged per number, then folded into the bins
    "histogram-p90": {"events": [{"id": "$pageview", "math": "p90", "math_property": "n"}], "breakdown": "n",
                      "breakdown_histogram_bin_count": 4, "date_from": "-30d"},
    "histogram-avg-person": {"events": [{"id": "$pageview", "math": "avg", "math_property": "age",
                                         "math_property_type": "person_properties"}, {"id": "purchase", "math": "max",
                                                                                       "math_property": "n"}],
                             "breakdown": "age", "breakdown_type": "person", "breakdown_histogram_bin_count": 3,
                             "date_from": "-14d", "compare": True},
    "histogram-sessions": {"events": [{"id": "$pageview", "math": "unique_session"}], "breakdown": "n",
                           "breakdown_histogram_bin_count": 3, "date_from": "-30d", "display": "ActionsLineGraphCumulative"},
    "histogram-per-actor": {"events": [{"id": "$pageview", "math": "avg_count_per_actor"}], "breakdown": "n",
                            "breakdown_histogram_bin_count": 2, "display": "ActionsPie", "date_from": "-30d"},
    # ... and among several breakdowns: merged per (number, label), folded into (bin, label)
    "histogram-multi-p90": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview", "math": "p90",
                                                               "math_property": "n"}],
                            "breakdownFilter": {"breakdowns": [{"property": "n", "histogram_bin_count": 3},
                                                               {"property": "$browser"}]},
                            "dateRange": {"date_from": "-21d"}},
    "histogram-multi-two": {"kind": "TrendsQuery",
                            "series": [{"kind": "EventsNode", "event": "$pageview", "math": "avg", "math_property": "age",
                                        "math_property_type": "person_properties"},
                                       {"kind": "EventsNode", "event": "purchase", "math": "unique_session"}],
                            "breakdownFilter": {"breakdowns": [{"property": "$browser"},
                                                               {"property": "age", "type": "person", "histogram_bin_count": 2},
                                                               {"property": "n", "histogram_bin_count": 4}]},
                            "dateRange": {"date_from": "-30d"}, "compareFilter": {"compare": True}},
    "histogram-multi-per-actor": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview",
                                                                     "math": "max_count_per_actor"}],
                                  "trendsFilter": {"display": "ActionsTable"},
                                  "breakdownFilter": {"breakdowns": [{"property": "n", "histogram_bin_count": 2},
                                                                     {"property": "plan", "type": "person"}],
                                                      "breakdown_limit": 3},
                                  "dateRange": {"date_from": "-30d"}},
    "all": {"events": [{"id": "purchase", "math": "dau"}], "date_from": "all", "interval": "week"},
    "all-action-compare": {"actions": [{"id": 1}], "date_from": "all", "compare": True, "interval": "week"},
    "all-histogram-formula": {"events": [{"id": "signup"}, {"id": "$pageview", "math": "dau"}], "date_from": "all",
                              "interval": "week", "breakdown": "n", "breakdown_histogram_bin_count": 2, "formula": "A+B"},
    "all-missing-event": {"events": [{"id": "never-happened"}], "date_from": "all"},
    # persons without an id are "person:<row>" with the row of the whole store
    "person-id-breakdown": {"events": [{"id": "$pageview"}], "breakdown": "person_id", "breakdown_type": "event_metadata",
                            "breakdown_limit": 100, "date_from": "-30d", "display": "ActionsTable"},
    # HogQL reads only the row and its person: exact per partition
    "hogql-filter-breakdown": {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d",
                               "properties": [{"type": "hogql", "key": "person.properties.age > 30 or properties.n < 10"}],
                               "breakdown": "concat(person.properties.plan, '-', properties.$browser)",
                               "breakdown_type": "hogql"},
    "hogql-person-id": {"events": [{"id": "signup"}], "date_from": "-30d", "display": "ActionsPie",
                        "properties": [{"type": "hogql", "key": "person_id != 'person:3'"}],
                        "breakdown": "person_id", "breakdown_type": "hogql", "breakdown_limit": 100},
}


def answer(run: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        try:
            return run().to_dicts()
        except tc.ValidationError as e:
            if isinstance(e, tc.UnsupportedError):
                raise
            return ("error", type(e).__name__, str(e))


@pytest.fixture(scope="module")
def world() -> tc.EventStore:
    return store()


@pytest.mark.parametrize("name", list(QUERIES))
def test_partitioned_equals_single_store(world: tc.EventStore, name: str) -> None:
    query = QUERIES[name]
    want = answer(lambda: tc.trends(world, query, project=PROJECT, now=NOW))
    assert isinstance(want, list) and want
    if name != "all-missing-event":
        assert any(any(s.get("data") or [s.get("aggregated_value")]) for s in want)  # not all zeros
    filt = tc.parse_filter(query)
    for k, split, assign in CONFIGS:
        part = person_partitions(world, k, assign)
        stores = [subset(world, part == p) for p in range(k)]
        rows = [np.flatnonzero(part == p) for p in range(k)]
        got = answer(lambda stores=stores, rows=rows: run_stores(stores, filt, PROJECT, resolve_now(NOW), person_rows=rows))
        assert got == want, (k, split)


def test_histogram_edges_differ_per_partition_without_the_first_phase(world: tc.EventStore) -> None:
    """The adversarial premise: with each partition's own min/max the bins would not line up."""
    from trendcalc.engine.breakdown import numeric_bounds, source_of
    from trendcalc.engine.trends import build_frame, plan_queries
    from trendcalc.partition.partials import context

    filt = tc.parse_filter(QUERIES["histogram"])
    part = person_partitions(world, 3, SPLITS["round-robin"])
    bounds = set()
    for p in range(3):
        ctx = context(subset(world, part == p), filt, PROJECT, resolve_now(NOW), tc.Limits())
        q = plan_queries(ctx)[0]
        frame = build_frame(ctx, q)
        assert frame is not None
        item = filt.breakdown.items[0]
        bounds.add(numeric_bounds(source_of(item.type)(ctx, item, frame.row_key)))
    assert len(bounds) > 1


def test_through_files_and_a_process_pool(world: tc.EventStore, tmp_path: Any) -> None:
    parts = tc.partition(world, tmp_path / "p", partitions=3, durable=False)
    for name in ("formula-breakdown", "histogram-person", "all-histogram-formula", "histogram-multi-two"):
        query = QUERIES[name]
        want = answer(lambda query=query: tc.trends(world, query, project=PROJECT, now=NOW))
        assert answer(lambda query=query: tc.trends(parts, query, project=PROJECT, now=NOW, executor="processes")) == want
        assert answer(lambda query=query: tc.trends(parts, query, project=PROJECT, now=NOW)) == want
