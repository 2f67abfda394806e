"""Count breakdowns by one property (engine/topn.py) answer exactly what the general path does.

The general path builds the (value × bucket) matrix, ranks its row sums and adds the folded rows
into Other; topn ranks the code totals and counts only the kept values' cells. Each test runs the
same query twice, once with topn switched off, and compares whole answers (or errors)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import trendcalc as tc
from trendcalc.engine import distinct, topn
from trendcalc.testing import strategies as tst

UTC = dt.timezone.utc
NOW = "2024-02-01T00:00:00Z"


def _answer(run: Any) -> Any:
    try:
        return run().to_dicts()
    except (tc.ValidationError, tc.UnsupportedError) as exc:
        return ("error", type(exc).__name__, exc.path, exc.message)


def both(run: Any) -> tuple[Any, Any, int]:
    """(answer with topn, answer without it, how many queries topn answered)."""
    calls = Counter()
    real = topn.top_n_counts

    def counted(*a: Any, **k: Any) -> Any:
        calls["n"] += 1
        return real(*a, **k)

    with mock.patch.object(topn, "top_n_counts", counted):
        fast = _answer(run)
    with mock.patch.object(topn, "applies", lambda *a: False):
        general = _answer(run)
    return fast, general, calls["n"]


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tst.scenarios(min_events=5, max_events=60, breakdown=True, maths=("total", "total", "dau", "sum")))
def test_random_breakdowns_equal_general_path(scenario: tst.Scenario) -> None:
    w = scenario.world
    fast, general, _ = both(lambda: tc.trends(w.store(), scenario.query, project=w.project, now=w.now))
    assert fast == general


def _url_store(seed: int = 7, n: int = 4000) -> tc.EventStore:
    """Thousands of rows over ~600 URLs with Zipf-like counts: ties at every count, missing and
    empty values, and URLs that one normalisation (§6.5) folds together (``/a``, ``/a/``, ``/a?``);
    a ``page`` of seven such values."""
    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
    pages = [f"https://x.io/p{k}" for k in range(200)]
    urls = pages + [p + "/" for p in pages[:150]] + [p + "?" for p in pages[:100]] + [f"https://x.io/t{k}" for k in range(150)]
    weights = 1.0 / np.arange(1, len(urls) + 1) ** 0.9
    picks = rng.choice(len(urls), size=n, p=weights / weights.sum())
    events = []
    for i in range(n):
        props: dict[str, Any] = {"$current_url": urls[picks[i]], "flag": bool(i % 3),
                                 "page": ["/a", "/a/", "/b", "/b?", "", "/c#", "/c"][i % 7]}
        if i % 41 == 0:
            props.pop("$current_url")  # missing: the null marker
        elif i % 53 == 0:
            props["$current_url"] = ""
        events.append({"event": "$pageview" if i % 5 else "$pageleave", "distinct_id": f"u{i % 97}",
                       "timestamp": t0 + dt.timedelta(minutes=int(rng.integers(0, 60 * 24 * 30))), "properties": props})
    return tc.EventStore.from_records(events)


STORE = _url_store()
BASE = {"events": [{"id": "$pageview"}], "date_from": "2024-01-01", "date_to": "2024-01-31",
        "breakdown": "$current_url", "breakdown_type": "event"}
VARIANTS = [
    {},
    {"breakdown_limit": 1},
    {"breakdown_limit": 7},
    {"breakdown_limit": 5000},
    {"breakdown_normalize_url": True},
    {"breakdown_normalize_url": True, "breakdown_limit": 3},
    {"interval": "hour", "date_from": "2024-01-10", "date_to": "2024-01-12"},
    {"interval": "week"},  # 600 values × 5 buckets: fewer cells than rows (the (bucket, code) matrix)
    {"interval": "week", "breakdown_normalize_url": True},
    {"breakdown": "page", "breakdown_normalize_url": True, "breakdown_limit": 2},  # a few codes, folded labels
    {"breakdown": "page"},
    {"display": "ActionsLineGraphCumulative"},
    {"display": "ActionsPie"},
    {"display": "BoldNumber", "breakdown_limit": 4},
    {"display": "ActionsTable"},
    {"sampling_factor": 0.5},
    {"breakdown_hide_other_aggregation": True},
    {"events": [{"id": "$pageview"}, {"id": "$pageleave", "custom_name": "Leave"}]},
    {"events": [{"id": None}]},
    {"properties": [{"key": "flag", "value": ["true"], "operator": "exact", "type": "event"}]},
    {"breakdown": "flag"},
    {"breakdown": "no_such_property"},
    {"breakdown": "distinct_id", "breakdown_type": "event_metadata"},
    {"compare": True},
    {"formula": "A * 2"},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: ",".join(f"{k}={v[k]}" for k in v) or "plain")
@pytest.mark.parametrize("threads", [1, 2])
def test_many_values_equal_general_path(variant: dict[str, Any], threads: int) -> None:
    q = {**BASE, **variant}
    limits = tc.Limits(threads=threads)
    with mock.patch.object(topn, "THREAD_MIN_ROWS", 100):  # split even these rows over threads
        fast, general, calls = both(lambda: tc.trends(STORE, q, now=NOW, limits=limits))
    assert fast == general
    assert calls >= 1  # the fast path answered
    if not (variant.get("breakdown_limit", 25) >= 600 or "breakdown_hide_other_aggregation" in variant
            or variant.get("breakdown") in ("flag", "no_such_property", "page")):
        assert any(s["breakdown_value"] == "$$_posthog_breakdown_other_$$" for s in fast)


def test_other_counts_every_folded_row() -> None:
    """Kept values plus Other add up to the unbroken count, bucket by bucket."""
    broken = tc.trends(STORE, {**BASE, "breakdown_limit": 3}, now=NOW).to_dicts()
    whole = tc.trends(STORE, {k: v for k, v in BASE.items() if not k.startswith("breakdown")}, now=NOW).to_dicts()[0]
    assert len(broken) == 4
    assert [sum(col) for col in zip(*(s["data"] for s in broken))] == whole["data"]


def test_code_totals_and_slot_cells_by_chunks() -> None:
    """The per-code totals and (bucket, slot) cells are the same however the rows are split."""
    rng = np.random.default_rng(3)
    codes = rng.integers(-1, 50, 5000).astype(np.int32)
    runs = [np.array([0, 1000, 1000, 3100, 5000])]
    code_slot = np.append(rng.integers(0, 4, 50), 4).astype(np.intp)  # code -1: the last entry
    ref_totals = np.bincount(codes + 1, minlength=51)
    bucket = np.repeat(np.arange(4), np.diff(runs[0]))
    ref_cells = np.zeros((4, 5), dtype=np.int64)
    np.add.at(ref_cells, (bucket, code_slot[codes]), 1)
    for threads, min_rows in ((1, 10**9), (2, 10), (3, 10)):
        with mock.patch.object(topn, "THREAD_MIN_ROWS", min_rows), mock.patch.object(distinct, "THREAD_MIN_ROWS", min_rows):
            np.testing.assert_array_equal(topn.code_totals(codes, 51, threads), ref_totals)
            np.testing.assert_array_equal(topn.slot_cells(codes, code_slot, runs, 5, 4, threads), ref_cells)
