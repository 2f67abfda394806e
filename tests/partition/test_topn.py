"""Top-N and Other of additive maths in two phases (``partition/topn.py``): totals by value
first, then only the kept values' cells — the single store's ``to_dicts()``, ties, the null
marker and Other included."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.trends import resolve_now
from trendcalc.partition import topn
from trendcalc.partition.merge import check_partitionable
from trendcalc.partition.run import run_stores
from trendcalc.partition.split import person_partitions, subset

from .splits import SPLITS
from .test_conformance_invariance import CASES, answer, query_of, world

BREAKDOWN_CASES = [c for c in CASES if "breakdown" in str(query_of(c)).lower()]
NOW = "2024-03-15T12:00:00Z"


@pytest.fixture
def always(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topn, "ALWAYS", True)


@pytest.mark.parametrize("top", ["default", "one"])
@pytest.mark.parametrize("case", BREAKDOWN_CASES, ids=[c["id"] for c in BREAKDOWN_CASES])
def test_every_breakdown_case_in_two_phases(case: dict[str, Any], top: str, always: None,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Every conformance case with a breakdown, its additive maths ranked in two phases, on 3
    partitions (hash, all in one, round-robin): the single store's answer — with the default
    candidates (all values of these small cases) and with one candidate per partition (values
    left out: the bound decides, or the fallback to every value)."""
    if top == "one":
        monkeypatch.setattr(topn, "MIN_CANDIDATES", 1)
        monkeypatch.setattr(topn, "CANDIDATES_PER_KEPT", 0)
    store, project = world(case)
    query, now = query_of(case), case["now"]
    try:
        filt = tc.parse_filter(query)
        check_partitionable(filt, project)
    except (tc.UnsupportedError, tc.ValidationError):
        return
    want = answer(lambda: tc.trends(store, query, project=project, now=now))
    for name, assign in SPLITS.items():
        part = person_partitions(store, 3, assign)
        stores = [subset(store, part == p) for p in range(3)]
        rows = [np.flatnonzero(part == p) for p in range(3)]
        got = answer(lambda stores=stores, rows=rows: run_stores(stores, filt, project, resolve_now(now), person_rows=rows))
        assert got == want, name


def test_the_two_phase_path_runs_on_the_breakdown_cases(always: None) -> None:
    """(The test above exercises the path: most breakdown cases have an additive math.)"""
    from trendcalc.engine.trends import plan_queries
    from trendcalc.partition.cost import combine, facts_of
    from trendcalc.partition.partials import context

    ranked = 0
    for case in BREAKDOWN_CASES:
        store, project = world(case)
        try:
            filt = tc.parse_filter(query_of(case))
            check_partitionable(filt, project)
        except (tc.UnsupportedError, tc.ValidationError):
            continue
        now, limits = resolve_now(case["now"]), tc.Limits()
        ctx = context(store, filt, project, now, limits)
        try:
            queries = plan_queries(ctx)
            facts = combine(filt, [facts_of(store, filt, project, now, limits, {})], True)
        except tc.ValidationError:
            continue
        ranked += bool(topn.two_phase_queries(ctx, queries, facts))
    assert ranked >= 40, ranked


def urls() -> list[dict[str, Any]]:
    """400 URLs over 120 persons and 10 days, many with equal totals (ties at the cut), some
    events without a URL (the null marker), URL counts differing by partition."""
    events = []
    for p in range(120):
        for i in range(p % 7 + 1):
            u = (p * 13 + i * 7) % 400
            props = {} if (p + i) % 17 == 0 else {"$current_url": f"https://x.io/{u:03d}"}
            events.append({"event": "$pageview", "distinct_id": f"u{p}", "properties": props,
                           "timestamp": f"2024-03-{5 + (p + i) % 10:02d}T{(p * i) % 24:02d}:00:00Z"})
    return events


def skewed() -> list[dict[str, Any]]:
    """40 popular URLs (every person visits several, every day) and 360 rare ones (one visit)."""
    events = []
    for p in range(120):
        for i in range(12):
            events.append({"event": "$pageview", "distinct_id": f"u{p}", "properties": {"$current_url": f"/pop{(p + i) % 40:02d}"},
                           "timestamp": f"2024-03-{5 + (p + i) % 10:02d}T{i:02d}:00:00Z"})
        for i in range(3):
            events.append({"event": "$pageview", "distinct_id": f"u{p}", "properties": {"$current_url": f"/rare{p * 3 + i:03d}"},
                           "timestamp": f"2024-03-{5 + p % 10:02d}T20:00:00Z"})
    return events


QUERIES = [
    {"events": [{"id": "$pageview"}], "date_from": "-14d", "breakdown": "$current_url", "breakdown_limit": 25},
    {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-14d", "breakdown": "$current_url",
     "breakdown_limit": 10, "display": "ActionsLineGraphCumulative"},
    {"events": [{"id": "$pageview", "math": "weekly_active"}, {"id": "$pageview"}], "date_from": "-14d",
     "breakdown": "$current_url", "compare": True},
    {"events": [{"id": "$pageview"}, {"id": "$pageview", "math": "dau"}], "date_from": "-14d", "formula": "A/B",
     "breakdown": "$current_url", "breakdown_limit": 5},
    {"events": [{"id": "$pageview"}], "date_from": "-14d", "breakdown": "$current_url", "breakdown_limit": 25,
     "breakdown_hide_other_aggregation": True},
    {"events": [{"id": "$pageview"}], "date_from": "-14d", "breakdown": "$current_url", "breakdown_limit": 400},
]


@pytest.mark.parametrize("executor", [None, "processes"])
def test_many_values_with_ties_equal_the_single_store(executor: Any, tmp_path: Path) -> None:
    """Without forcing: 400 values are worth two phases (``MIN_VALUES``) — the answers are the
    single store's, on a saved store with its own dictionaries per partition and a sliced one."""
    import json

    events = urls()
    store = tc.EventStore.from_records(events)
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    sliced = tc.partition(store, tmp_path / "s", partitions=4, durable=False)
    streamed = tc.partition(str(tmp_path / "e.jsonl"), tmp_path / "f", partitions=3, durable=False)
    for query in QUERIES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tc.TrendcalcWarning)
            want = tc.trends(store, query, now=NOW).to_dicts()
        assert len(want) > 5
        for parts in (sliced, streamed):
            assert tc.trends(parts, query, now=NOW, executor=executor).to_dicts() == want


@pytest.mark.parametrize("per_kept,expect", [(4, "certain"), (0, "fallback")])
def test_candidates_decide_or_fall_back(per_kept: int, expect: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a few times the kept values as candidates the bound settles the 400-value breakdowns;
    with a single candidate per partition it cannot, and every value is merged: both answers
    are the single store's (on 40 popular and 360 rare URLs)."""
    from trendcalc.partition.run import run_stores

    monkeypatch.setattr(topn, "CANDIDATES_PER_KEPT", per_kept)
    monkeypatch.setattr(topn, "MIN_CANDIDATES", 1)
    outcomes: list[Any] = []
    finish = topn.finish

    def spy(ctx: Any, q: Any, pool: Any, cells: Any, i: int, n_real: int) -> Any:
        got = finish(ctx, q, pool, cells, i, n_real)
        outcomes.append((pool.bound is not None, got is not None))
        return got

    monkeypatch.setattr(topn, "finish", spy)
    store = tc.EventStore.from_records(skewed())
    part = person_partitions(store, 4, None)
    stores = [subset(store, part == p) for p in range(4)]
    for query in QUERIES[:4]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tc.TrendcalcWarning)
            want = tc.trends(store, query, now=NOW).to_dicts()
        assert run_stores(stores, tc.parse_filter(query), tc.Project.from_dict({}), resolve_now(NOW)).to_dicts() == want
    assert outcomes and all(left_out for left_out, _ in outcomes)  # values were left out every time
    if expect == "certain":
        assert all(ok for _, ok in outcomes)
    else:
        assert not any(ok for _, ok in outcomes)


def test_many_values_take_two_phases() -> None:
    """The 400-value breakdown is ranked in two phases, the 2-value one in one."""
    from trendcalc.engine.trends import plan_queries
    from trendcalc.partition.cost import combine, facts_of
    from trendcalc.partition.partials import context

    store = tc.EventStore.from_records(urls())
    now, limits = resolve_now(NOW), tc.Limits()
    for query, expect in ((QUERIES[0], (0,)), ({**QUERIES[0], "breakdown": "$browser"}, ())):
        filt = tc.parse_filter(query)
        ctx = context(store, filt, tc.Project.from_dict({}), now, limits)
        facts = combine(filt, [facts_of(store, filt, ctx.project, now, limits, {})], True)
        assert topn.two_phase_queries(ctx, plan_queries(ctx), facts) == expect


def test_phase_two_without_phase_ones_cells_computes_them_again() -> None:
    """A partition whose phase-1 cells are not in its process (a Dask worker other than phase
    1's) computes them again: the same answer."""
    from trendcalc.partition.run import run_map
    from trendcalc.partition.tasks import Task

    store = tc.EventStore.from_records(urls())
    part = person_partitions(store, 3, None)
    stores = [subset(store, part == p) for p in range(3)]
    seen: list[Any] = []

    def forgetful(task: Task) -> list[Any]:
        if task.fn is topn.kept_cells_in:
            seen.append(len(topn._KEPT))
            topn._KEPT.clear()
        return [task.for_partition(i)(s) for i, s in enumerate(stores)]

    for query in QUERIES:
        filt = tc.parse_filter(query)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tc.TrendcalcWarning)
            want = tc.trends(store, query, now=NOW).to_dicts()
        assert run_map(forgetful, filt, tc.Project.from_dict({}), resolve_now(NOW), tc.Limits(), shared=True).to_dicts() == want
    assert len(seen) == len(QUERIES) - 1 and min(seen) > 0  # (all but the 400-value limit: one phase)
