"""Every stickiness and lifecycle conformance case (shared and ``conformance/extra``) on
person-partitioned stores: the same
``to_dicts()`` as the single store (or the same ValidationError), or UnsupportedError — for k in
{1, 2, 3, 7} and a hash, an all-in-one (empty partitions) and a round-robin split, in memory;
one configuration per case also through the files (``tc.partition`` → ``tc.stickiness`` /
``tc.lifecycle`` / ``tc.trends`` with ``shown_as``)."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.supported import check_project, check_supported
from trendcalc.engine.trends import resolve_now
from trendcalc.limits import DEFAULT_LIMITS
from trendcalc.partition.insights import lifecycle_partitioned, stickiness_partitioned
from trendcalc.partition.split import person_partitions, subset
from trendcalc.partition.tasks import on_stores
from trendcalc.query.lifecycle import parse_lifecycle
from trendcalc.query.stickiness import parse_stickiness

from ..conformance.harness import LEGACY_KINDS, SHOWN_AS, load_cases, load_extra_cases
from .splits import SPLITS

KINDS = {"stickiness": "stickiness", "stickiness_query": "stickiness", "lifecycle": "lifecycle", "lifecycle_query": "lifecycle"}
CASES = [c for c in load_cases() + load_extra_cases() if c["query_kind"] in KINDS]
KS = (1, 2, 3, 7)
CONFIGS = [(k, name, assign) for k in KS for name, assign in SPLITS.items() if k > 1 or name == "hash"]


def world(case: dict[str, Any]) -> tuple[tc.EventStore, tc.Project, Any]:
    store = tc.EventStore.from_records(case["events"], persons=case.get("persons"), groups=case.get("groups"))
    project = tc.Project.from_dict({"infer_property_types": False, **case["project"], "actions": case.get("actions", []),
                                    "cohorts": case.get("cohorts", [])})
    kind = case["query_kind"]
    query = case["query"] if "query" in case and kind not in LEGACY_KINDS else case["filter"]
    return store, project, query


def answer(run: Any) -> Any:
    """``to_dicts()`` of a run, or the ValidationError it raised (UnsupportedError propagates)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        try:
            return run().to_dicts()
        except tc.UnsupportedError:
            raise
        except tc.ValidationError as e:
            return ("error", type(e).__name__, str(e))


def partitioned(insight: str, stores: list[tc.EventStore], query: Any, project: tc.Project, now: str,
                rows: tuple[Any, ...] | None = None) -> Any:
    """What ``tc.stickiness``/``tc.lifecycle`` do with a PartitionedStore, over stores in memory
    (``rows``: each partition's persons' rows in the whole store)."""
    if insight == "stickiness":
        q = parse_stickiness(query)
        check_project(q.base, project, DEFAULT_LIMITS)
        return stickiness_partitioned(on_stores(stores), q, project, resolve_now(now), DEFAULT_LIMITS, rows)
    lq = parse_lifecycle(query)
    check_supported(lq.base)
    check_project(lq.base, project, DEFAULT_LIMITS)
    return lifecycle_partitioned(on_stores(stores), lq, project, resolve_now(now), DEFAULT_LIMITS, rows)


def category(case: dict[str, Any]) -> str:
    store, project, query = world(case)
    insight = KINDS[case["query_kind"]]
    part = person_partitions(store, 2, None)
    try:
        got = answer(lambda: partitioned(insight, [subset(store, part == p) for p in range(2)], query, project, case["now"]))
    except tc.UnsupportedError:
        return "unsupported"
    return "invalid" if isinstance(got, tuple) else "answered"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_partitioned_equals_single_store(case: dict[str, Any], tmp_path: Any) -> None:
    store, project, query = world(case)
    insight, now = KINDS[case["query_kind"]], case["now"]
    single = getattr(tc, insight)
    try:
        want = answer(lambda: single(store, query, project=project, now=now))
    except tc.UnsupportedError:
        return  # not answered by the single store either
    for k, name, assign in CONFIGS:
        part = person_partitions(store, k, assign)
        stores = [subset(store, part == p) for p in range(k)]
        assert sum(len(s) for s in stores) == len(store)
        try:
            rows = tuple(np.flatnonzero(part == p) for p in range(k))
            got = answer(lambda stores=stores, rows=rows: partitioned(insight, stores, query, project, now, rows))
        except tc.UnsupportedError:
            assert category(case) == "unsupported", (k, name)
            continue
        assert got == want, (k, name)
    parts = tc.partition(store, tmp_path / "p", partitions=3, durable=False)
    try:
        got = answer(lambda: single(parts, query, project=project, now=now))
    except tc.UnsupportedError:
        assert category(case) == "unsupported"
        return
    assert got == want
    if case["query_kind"] in SHOWN_AS and query.get("shown_as") == SHOWN_AS[case["query_kind"]]:
        assert answer(lambda: tc.trends(parts, query, project=project, now=now)) == want


def test_most_cases_are_supported() -> None:
    counts = Counter((KINDS[c["query_kind"]], category(c)) for c in CASES)
    print(f"partitioned: of {len(CASES)} stickiness and lifecycle conformance cases: {dict(sorted(counts.items()))}")
    for insight in ("stickiness", "lifecycle"):
        n = sum(v for (i, _), v in counts.items() if i == insight)
        assert counts[(insight, "answered")] + counts[(insight, "invalid")] >= 0.9 * n, counts
