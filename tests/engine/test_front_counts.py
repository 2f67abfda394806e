"""One bincount for every code's total and the first codes' cells (engine/front_counts.py), and
topn's use of it: answers never depend on whether the kept values lie in the front or on the
ranking's sample — only which path counts them does (tests/engine/test_topn.py's comparison
with the general path, run with fronts and samples that miss)."""

from __future__ import annotations

from collections import Counter
from typing import Any
from unittest import mock

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine import distinct, front_counts, topn

from .test_topn import BASE, NOW, STORE, both


def _reference(codes: np.ndarray, runs: list[np.ndarray], n_codes: int, n_buckets: int) -> np.ndarray:
    """Rows per (bucket, look-up slot: code k at k, the missing value last), by np.add.at."""
    bucket = np.concatenate([np.repeat(np.arange(n_buckets), np.diff(r)) for r in runs])
    out = np.zeros((n_buckets, n_codes + 1), dtype=np.int64)
    np.add.at(out, (bucket, np.where(codes < 0, n_codes, codes)), 1)
    return out


@pytest.mark.parametrize("front", [1, 7, 50])
def test_totals_and_front_cells_over_blocks_and_threads(front: int) -> None:
    rng = np.random.default_rng(5)
    n_codes = 50
    runs = [np.array([0, 700, 700, 2100, 3000]), np.array([0, 0, 1500, 1900, 2000]), np.array([0, 10, 20, 30, 40])]
    codes = rng.integers(-1, n_codes, sum(int(r[-1]) for r in runs)).astype(np.int32)
    ref = _reference(codes, runs, n_codes, 4)
    for threads, min_rows in ((1, 10**9), (2, 10), (3, 10)):
        with mock.patch.object(front_counts, "THREAD_MIN_ROWS", min_rows), \
                mock.patch.object(distinct, "THREAD_MIN_ROWS", min_rows):
            got = front_counts.front_counts(codes, runs, n_codes, 4, front, threads)
        np.testing.assert_array_equal(got.totals, ref.sum(axis=0))
        np.testing.assert_array_equal(got.matrix[:, :front], ref[:, :front])
        np.testing.assert_array_equal(got.matrix[:, front], ref[:, n_codes])  # the missing value last
        assert got.front == front
    identity = np.arange(n_codes + 1)
    assert topn._in_front(identity, True, n_codes + 1, np.array([0, front - 1, n_codes]), front)
    # the code at the front lies past it (there is none when the front holds every code)
    assert topn._in_front(identity, True, n_codes + 1, np.array([0, front]), front) == (front == n_codes)
    folded = np.append(np.arange(n_codes) // 2, n_codes // 2)  # two codes per label, the missing value with code 0's
    assert topn._in_front(folded, False, n_codes // 2 + 1, np.array([(front - 1) // 2, n_codes // 2]), front) == (front % 2 == 0)
    assert topn._in_front(folded, False, n_codes // 2 + 1, np.array([front // 2]), front) == (front == n_codes)


def test_front_size() -> None:
    assert front_counts.front_size(20_000, 120_000, 31, 25) == front_counts.FRONT
    assert front_counts.front_size(300, 120_000, 31, 25) == 300  # every code
    assert front_counts.front_size(20_000, 40_000, 31, 25) == 40_000 // 4 // 31 - 1  # a quarter cell per row
    assert front_counts.front_size(200, 40_000, 31, 25) == 200  # every code, however few
    assert front_counts.front_size(20_000, 120_000, 744, 25) == 0  # hours: too small a front to pay
    assert front_counts.front_size(20_000, 120_000, 31, 300) == 0  # fewer codes than twice the limit
    assert front_counts.front_size(600, 120_000, 31, 5000) == 0  # a front of 512 cannot hold 5000 kept values


VARIANTS = [
    {},
    {"breakdown_limit": 1},
    {"breakdown_limit": 7},
    {"breakdown_normalize_url": True},
    {"breakdown_normalize_url": True, "breakdown_limit": 3},
    {"interval": "hour", "date_from": "2024-01-10", "date_to": "2024-01-12"},
    {"display": "ActionsLineGraphCumulative"},
    {"display": "BoldNumber", "breakdown_limit": 4},
    {"breakdown_hide_other_aggregation": True, "breakdown_limit": 3},
    {"events": [{"id": "$pageview"}, {"id": "$pageleave", "custom_name": "Leave"}]},
]


@pytest.mark.parametrize("front,sample", [(2, 3), (3, 512), (4, 8), (6, 3), (14, 8), (40, 512), (512, 25)])
def test_fronts_and_samples_that_miss_answer_the_same(front: int, sample: int) -> None:
    """Small fronts leave kept values past them (the second pass counts them), small samples
    leave too few values above the bound (every group is ranked): the answers equal the
    general path's; across the cases both outcomes of each choice happen."""
    outcomes: Counter[str] = Counter()
    real_cells, real_rank = topn._front_cells, topn.groups_to_rank

    def cells(*a: Any) -> Any:
        out = real_cells(*a)
        outcomes["front" if out is not None else "second pass"] += 1
        return out

    def rank(t: Any, limit: int) -> Any:
        ids = real_rank(t, limit)
        outcomes["some" if len(ids) < t.n_present else "all"] += 1
        return ids

    with mock.patch.object(front_counts, "FRONT", front), mock.patch.object(front_counts, "FRONT_MIN", 1), \
            mock.patch.object(front_counts, "CELLS_PER_ROW", 1.0), \
            mock.patch.object(topn, "RANK_SAMPLE", sample), \
            mock.patch.object(topn, "_front_cells", cells), mock.patch.object(topn, "groups_to_rank", rank):
        for variant in VARIANTS:
            q = {**BASE, **variant}
            fast, general, calls = both(lambda q=q: tc.trends(STORE, q, now=NOW))
            assert fast == general, variant
            assert calls >= 1
    if front == 6:
        assert outcomes["second pass"] and outcomes["front"]
    if front >= 40:
        assert outcomes["front"]
    if sample == 512:
        assert outcomes["some"]
    if sample == 3:
        assert outcomes["all"]
