"""The up-front cost check on partitioned stores (``partition/cost.py``): the single store's
estimate over all partitions, refused with the single store's ValidationError before any
partition computes a partial."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.cost import estimate
from trendcalc.engine.trends import plan_queries, resolve_now
from trendcalc.partition.cost import combine, dictionaries_of, facts_of
from trendcalc.partition.partials import context
from trendcalc.partition.phases import partial_answers_in
from trendcalc.partition.run import run_map
from trendcalc.partition.split import person_partitions, subset
from trendcalc.partition.tasks import Task

from .splits import round_robin
from .worlds import NOW, PROJECT, records, store

QUERIES = [
    {"events": [{"id": "$pageview", "math": "dau"}, {"id": "signup"}], "date_from": "-30d"},
    {"events": [{"id": "$pageview"}], "date_from": "-30d", "breakdown": "$browser",
     "properties": [{"key": "n", "value": "3", "operator": "gt", "type": "event"}]},
    {"events": [{"id": "$pageview", "math": "first_time_for_user"}], "actions": [{"id": 1, "type": "actions"}],
     "date_from": "-60d", "breakdown": "plan", "breakdown_type": "person"},
    {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "purchase"}], "interval": "week",
     "breakdownFilter": {"breakdowns": [{"property": "$browser"}, {"property": "n"}]}, "dateRange": {"date_from": "all"}},
    {"events": [{"id": "$pageview"}], "date_from": "-30d", "breakdown": "distinct_id", "breakdown_type": "event_metadata"},
    {"events": [{"id": "signup"}], "date_from": "-30d", "breakdown": "$group_0", "breakdown_type": "event_metadata"},
]


def _split(world: tc.EventStore, k: int, assign: Any = None) -> list[tc.EventStore]:
    part = person_partitions(world, k, assign)
    return [subset(world, part == p) for p in range(k)]


def _estimates(world: tc.EventStore, stores: list[tc.EventStore], query: dict[str, Any], shared: bool,
               value_bounds: Any = None) -> tuple[Any, Any]:
    """(the single store's estimate, the one combined from the partitions' facts)."""
    filt, now, limits = tc.parse_filter(query), resolve_now(NOW), tc.Limits()
    ctx = context(world, filt, PROJECT, now, limits)
    queries = plan_queries(ctx)
    earliest = {}
    if filt.date_from == "all":  # as the coordinator: the earliest event over all partitions, each plans with it
        from trendcalc.engine.plan import earliest_event_us

        earliest["earliest_us"] = earliest_event_us(ctx, filt.series)
    facts = combine(filt, [facts_of(s, filt, PROJECT, now, limits, earliest) for s in stores], shared, value_bounds)
    return estimate(ctx, queries), estimate(ctx, queries, facts=facts)


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("k,assign", [(1, None), (3, None), (4, round_robin)])
@pytest.mark.parametrize("layout", ["memory", "saved"])
def test_estimate_over_shared_dictionaries_is_the_single_stores(query: dict[str, Any], k: int, assign: Any, layout: str,
                                                                tmp_path: Path) -> None:
    """Partitions of an EventStore: in memory they share its dictionaries; saved, each holds
    compact ones and the manifest the store's value bounds (``partition/compact.py``). Either
    way the estimate is the single store's (``$group_0`` and the person ``plan``: some rows lack them)."""
    world = store()
    if layout == "memory":
        stores, shared, bounds = _split(world, k, assign), True, None
    else:
        parts = tc.partition(world, tmp_path / "p", partitions=k, assign=assign, durable=False)
        stores, (shared, bounds) = [parts.load(i) for i in range(k)], dictionaries_of(parts.manifest)
        assert parts.manifest["dictionaries"] == "compact" and bounds is not None
    single, parted = _estimates(world, stores, query, shared, bounds)
    assert single.rows > 0 and single.work > 0
    assert parted == single


@pytest.mark.parametrize("query", QUERIES)
def test_estimate_over_own_dictionaries_bounds_the_single_stores(query: dict[str, Any], tmp_path: Path) -> None:
    """Streamed partitions number their own dictionaries: rows add exactly, value bounds add up
    to at least the single store's."""
    import json

    events, persons, groups = records()
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    world = store()
    parts = tc.partition(str(tmp_path / "e.jsonl"), tmp_path / "p", partitions=3, persons=persons, groups=groups,
                         durable=False)
    assert parts.manifest["dictionaries"] == "per-partition"
    single, parted = _estimates(world, [parts.load(i) for i in range(3)], query, shared=False)
    assert parted.rows == single.rows
    assert parted.cells >= single.cells and parted.breakdown_cells >= single.breakdown_cells
    assert parted.work >= single.work


def _refusal(world: tc.EventStore, query: dict[str, Any], limits: tc.Limits) -> tc.ValidationError:
    with pytest.raises(tc.ValidationError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        tc.trends(world, query, project=PROJECT, now=NOW, limits=limits)
    return err.value


LIMITED = [
    (QUERIES[0], "max_work"),
    (QUERIES[1], "max_breakdown_cells"),
    (QUERIES[2], "max_cells"),
    (QUERIES[3], "max_work"),
]


def _tight(world: tc.EventStore, query: dict[str, Any], name: str) -> tc.Limits:
    """Limits just under the single store's estimate of ``query`` for ``name``."""
    filt = tc.parse_filter(query)
    ctx = context(world, filt, PROJECT, resolve_now(NOW), tc.Limits())
    cost = estimate(ctx, plan_queries(ctx))
    field = {"max_work": cost.work, "max_breakdown_cells": cost.breakdown_cells, "max_cells": cost.cells}[name]
    return tc.Limits(**{name: field - 1})


@pytest.mark.parametrize("query,name", LIMITED)
def test_a_query_over_the_limits_raises_before_any_partition_computes(query: dict[str, Any], name: str) -> None:
    """The single store's error, word for word, and no partition ran its partials."""
    world = store()
    limits = _tight(world, query, name)
    want = _refusal(world, query, limits)
    assert name in want.message
    stores = _split(world, 3, round_robin)
    ran: list[Any] = []

    def recording(task: Task) -> list[Any]:
        ran.append(task.fn)
        return [task.for_partition(i)(s) for i, s in enumerate(stores)]

    with pytest.raises(tc.ValidationError) as err:
        run_map(recording, tc.parse_filter(query), PROJECT, resolve_now(NOW), limits, shared=True)
    assert (err.value.path, err.value.message) == (want.path, want.message)
    assert partial_answers_in not in ran and facts_of in ran


@pytest.mark.parametrize("executor", [None, "processes"])
def test_a_saved_partitioned_store_refuses_as_the_single_store(executor: Any, tmp_path: Path) -> None:
    world = store()
    parts = tc.partition(world, tmp_path / "p", partitions=3, durable=False)
    for query, name in LIMITED:
        limits = _tight(world, query, name)
        want = _refusal(world, query, limits)
        with pytest.raises(tc.ValidationError) as err:
            tc.trends(parts, query, project=PROJECT, now=NOW, limits=limits, executor=executor)
        assert (err.value.path, err.value.message) == (want.path, want.message)
        # within the limits (the estimate itself): the single store's answer, the check memoised
        ok = tc.Limits(**{name: getattr(limits, name) + 1})
        for _ in range(2):
            got = tc.trends(parts, query, project=PROJECT, now=NOW, limits=ok, executor=executor).to_dicts()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", tc.TrendcalcWarning)
                assert got == tc.trends(world, query, project=PROJECT, now=NOW, limits=ok).to_dicts()
    assert np.all(np.array(parts.events) > 0)


@pytest.mark.parametrize("name", ["stickiness", "stickiness-groups-criteria", "stickiness-all-weeks", "lifecycle",
                                  "lifecycle-groups", "lifecycle-all"])
def test_stickiness_and_lifecycle_refuse_as_the_single_store(name: str, tmp_path: Path) -> None:
    """Stickiness and lifecycle on partitions: the single store's up-front refusal (max_work just
    under its estimate), word for word; at the estimate itself, the single store's answer."""
    from trendcalc.partition.insights import insight_plan
    from trendcalc.query.lifecycle import parse_lifecycle
    from trendcalc.query.stickiness import parse_stickiness

    from .test_insights import QUERIES as INSIGHTS

    kind, query = INSIGHTS[name]
    world = store()
    parsed = (parse_stickiness if kind == "stickiness" else parse_lifecycle)(query)
    ctx, queries, outputs = insight_plan(world, kind, parsed, PROJECT, resolve_now(NOW), tc.Limits(), {})
    work = estimate(ctx, queries, outputs, breakdown=False).work
    answer = tc.stickiness if kind == "stickiness" else tc.lifecycle
    parts = tc.partition(world, tmp_path / "p", partitions=3, assign=round_robin, durable=False)
    tight = tc.Limits(max_work=work - 1)
    with pytest.raises(tc.ValidationError) as want, warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        answer(world, query, project=PROJECT, now=NOW, limits=tight)
    with pytest.raises(tc.ValidationError) as got:
        answer(parts, query, project=PROJECT, now=NOW, limits=tight)
    assert (got.value.path, got.value.message) == (want.value.path, want.value.message)
    ok = tc.Limits(max_work=work)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        expected = answer(world, query, project=PROJECT, now=NOW, limits=ok).to_dicts()
    assert answer(parts, query, project=PROJECT, now=NOW, limits=ok).to_dicts() == expected


@pytest.mark.parametrize("query", QUERIES)
def test_the_full_size_estimate_bounds_the_exact_one(query: dict[str, Any]) -> None:
    """Every fact at its largest (all events in every window, every row its own breakdown value)
    gives an estimate no smaller in any measure: within the limits at full size, within them
    exactly (``cost.fits_at_full_size``)."""
    from trendcalc.engine.cost import QueryFacts

    world = store()
    filt, now = tc.parse_filter(query), resolve_now(NOW)
    ctx = context(world, filt, PROJECT, now, tc.Limits())
    if filt.date_from == "all":
        from trendcalc.engine.plan import earliest_event_us

        ctx.given["earliest_us"] = earliest_event_us(ctx, filt.series)
    queries = plan_queries(ctx)
    n_items = len(filt.breakdown.items) if filt.breakdown is not None else 0
    largest = [QueryFacts(rows=len(world), touched=len(world), bounds=(None,) * n_items, shared=True) for _ in queries]
    exact, full = estimate(ctx, queries), estimate(ctx, queries, facts=largest)
    assert full.work > exact.work and full.rows > exact.rows  # the windows hold fewer than all events
    assert full.cells >= exact.cells and full.breakdown_cells >= exact.breakdown_cells


def _recording(stores: list[tc.EventStore], ran: list[Any]) -> Any:
    def run(task: Task) -> list[Any]:
        ran.append(task.fn)
        return [task.for_partition(i)(s) for i, s in enumerate(stores)]

    return run


@pytest.mark.parametrize("query,reads", [(QUERIES[0], False), (QUERIES[2], True), (QUERIES[4], True)])
def test_a_query_within_the_limits_at_full_size_asks_no_facts(query: dict[str, Any], reads: bool) -> None:
    """Knowing the partitions' size, a query within the limits whatever the facts runs no facts
    phase — unless a breakdown over a time axis reads them (the two-phase top-N decision) — and
    answers as the single store; with limits between the exact and the full-size estimate, the
    facts phase runs and the query still answers."""
    world = store()
    stores = _split(world, 3, round_robin)
    filt, now = tc.parse_filter(query), resolve_now(NOW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        want = tc.trends(world, query, project=PROJECT, now=NOW).to_dicts()
    ran: list[Any] = []
    got = run_map(_recording(stores, ran), filt, PROJECT, now, tc.Limits(), shared=True, n_events=len(world))
    assert got.to_dicts() == want and (facts_of in ran) is reads and partial_answers_in in ran
    if not reads:  # max_work at the exact estimate: under the full-size one, so the facts are asked
        exact = tc.Limits(max_work=estimate(context(world, filt, PROJECT, now, tc.Limits()),
                                            plan_queries(context(world, filt, PROJECT, now, tc.Limits()))).work)
        ran.clear()
        got = run_map(_recording(stores, ran), filt, PROJECT, now, exact, shared=True, n_events=len(world))
        assert got.to_dicts() == want and facts_of in ran


@pytest.mark.parametrize("kind", ["stickiness", "lifecycle"])
def test_stickiness_and_lifecycle_within_the_limits_ask_no_facts(kind: str) -> None:
    from trendcalc.partition.insights import (
        insight_facts_of,
        lifecycle_partitioned,
        stickiness_partitioned,
    )
    from trendcalc.query.lifecycle import parse_lifecycle
    from trendcalc.query.stickiness import parse_stickiness

    from .test_insights import QUERIES as INSIGHTS

    _, query = INSIGHTS[kind]
    world = store()
    stores = _split(world, 3, round_robin)
    parsed = (parse_stickiness if kind == "stickiness" else parse_lifecycle)(query)
    answer = stickiness_partitioned if kind == "stickiness" else lifecycle_partitioned
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        want = (tc.stickiness if kind == "stickiness" else tc.lifecycle)(world, query, project=PROJECT, now=NOW)
    for n_events, asks in ((None, True), (len(world), False)):
        ran: list[Any] = []
        got = answer(_recording(stores, ran), parsed, PROJECT, resolve_now(NOW), tc.Limits(), n_events=n_events)
        assert got.to_dicts() == want.to_dicts() and (insight_facts_of in ran) is asks
