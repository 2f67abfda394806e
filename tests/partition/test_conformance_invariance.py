"""Every trends conformance case (the shared corpus and our transcriptions, ``conformance/extra``)
on person-partitioned stores: the same ``to_dicts()`` as the
single store, or UnsupportedError — for k in {1, 2, 3, 7} and a hash, an all-in-one (empty
partitions) and a round-robin split. Partitions are split in memory (``split.subset``, the code
``tc.partition`` saves) for the whole matrix; one configuration per case also goes through the
files (``tc.partition`` → ``PartitionedStore.open`` → ``tc.trends``)."""

from __future__ import annotations

import warnings
from collections import Counter
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.trends import resolve_now
from trendcalc.partition.merge import check_partitionable
from trendcalc.partition.run import run_stores
from trendcalc.partition.split import person_partitions, subset

from ..conformance.harness import load_cases, load_extra_cases
from .splits import SPLITS

CASES = [c for c in load_cases() + load_extra_cases() if c["query_kind"] in ("trends", "trends_query")]


def query_of(case: dict[str, Any]) -> Any:
    """The legacy filter of a ``trends`` case, the TrendsQuery of a ``trends_query`` case."""
    return case["query"] if case["query_kind"] == "trends_query" else case["filter"]
KS = (1, 2, 3, 7)
# k=1 puts everyone in one partition whatever the split: one configuration is enough there
CONFIGS = [(k, name, assign) for k in KS for name, assign in SPLITS.items() if k > 1 or name == "hash"]


def world(case: dict[str, Any]) -> tuple[tc.EventStore, tc.Project]:
    store = tc.EventStore.from_records(case["events"], persons=case.get("persons"), groups=case.get("groups"))
    project = tc.Project.from_dict({**case["project"], "actions": case.get("actions", []), "cohorts": case.get("cohorts", [])})
    return store, project


def answer(run: Any) -> Any:
    """``to_dicts()`` of a run, or the error it raised (a ValidationError is an answer too)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        try:
            return run().to_dicts()
        except tc.UnsupportedError:
            raise
        except tc.ValidationError as e:
            return ("error", type(e).__name__)


def category(case: dict[str, Any]) -> str:
    """"answered" (the partitioned run answers: checked equal by the test above), "unsupported"
    (refused before any partition runs), "invalid" (the query is invalid: both sides raise
    ValidationError)."""
    store, project = world(case)
    try:
        filt = tc.parse_filter(query_of(case))
        check_partitionable(filt, project)
        part = person_partitions(store, 2, None)
        run_stores([subset(store, part == p) for p in range(2)], filt, project, resolve_now(case["now"]))
    except tc.UnsupportedError:
        return "unsupported"
    except tc.ValidationError:
        return "invalid"
    return "answered"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_partitioned_equals_single_store(case: dict[str, Any], tmp_path: Any) -> None:
    store, project = world(case)
    query, now = query_of(case), case["now"]
    want = answer(lambda: tc.trends(store, query, project=project, now=now))
    try:
        filt = tc.parse_filter(query)
        check_partitionable(filt, project)
    except tc.UnsupportedError:
        parts = tc.partition(store, tmp_path / "p", partitions=2, durable=False)
        with pytest.raises(tc.UnsupportedError):
            tc.trends(parts, query, project=project, now=now)
        return
    except tc.ValidationError:
        filt = None
    answered = 0
    for k, name, assign in CONFIGS:
        part = person_partitions(store, k, assign)
        stores = [subset(store, part == p) for p in range(k)]
        assert sum(len(s) for s in stores) == len(store)
        if filt is None:
            got = answer(lambda: tc.trends(store, query, project=project, now=now))  # invalid query
        else:
            # accepted by check_partitionable: every partitioned run answers (never raises)
            rows = [np.flatnonzero(part == p) for p in range(k)]
            got = answer(lambda stores=stores, rows=rows: run_stores(stores, filt, project, resolve_now(now), person_rows=rows))
        assert got == want, (k, name)
        answered += 1
    parts = tc.partition(store, tmp_path / "p", partitions=3, durable=False)
    got = answer(lambda: tc.trends(parts, query, project=project, now=now))
    assert got == want
    answered += 1
    assert answered == len(CONFIGS) + 1


def test_most_trends_cases_are_supported() -> None:
    counts = Counter(category(c) for c in CASES)
    print(f"partitioned: of {len(CASES)} trends and TrendsQuery conformance cases {counts['answered']} answered, "
          f"{counts['unsupported']} raise UnsupportedError, {counts['invalid']} invalid queries")
    assert counts["answered"] >= 580 and counts["unsupported"] == 0, counts  # (595 cases: 2 invalid)
