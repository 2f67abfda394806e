"""Cell reductions against plain row-at-a-time references on random data."""

from __future__ import annotations

import numpy as np
import pytest

from trendcalc.engine import cells


@pytest.mark.parametrize("seed", range(5))
def test_quantile_matches_linear_interpolation(seed):
    rng = np.random.default_rng(seed)
    cell = rng.integers(0, 6, 200)
    values = rng.normal(size=200)
    values[rng.random(200) < 0.2] = np.nan
    for level in (0.5, 0.75, 0.9, 0.95, 0.99):
        got = cells.quantile(cell, values, 7, level)
        for c in range(7):
            v = values[(cell == c) & ~np.isnan(values)]
            if len(v) == 0:
                assert np.isnan(got[c])
            else:
                assert got[c] == pytest.approx(np.quantile(v, level, method="linear"), rel=1e-12)


def test_basic_reductions_skip_nan():
    cell = np.array([0, 0, 1, 1, 2])
    v = np.array([1.0, 3.0, np.nan, 5.0, np.nan])
    assert cells.sum_(cell, v, 4).tolist() == [4.0, 5.0, 0.0, 0.0]
    assert cells.mean(cell, v, 3)[:2].tolist() == [2.0, 5.0] and np.isnan(cells.mean(cell, v, 3)[2])
    assert cells.minimum(cell, v, 2).tolist() == [1.0, 5.0]
    assert cells.maximum(cell, v, 2).tolist() == [3.0, 5.0]
    assert cells.count_distinct(cell, np.array([7, 7, 1, 2, 3]), 8, 3).tolist() == [1.0, 2.0, 1.0]


@pytest.mark.parametrize("seed", range(5))
def test_rolling_distinct_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, n_b, window = 300, 20, 7
    starts = np.arange(n_b, dtype=np.int64) * 10 + 100
    wstarts = starts - window * 10
    t = rng.integers(0, 320, n).astype(np.int64)
    key = rng.integers(0, 15, n)
    group = rng.integers(0, 3, n)
    got = cells.rolling_distinct(key, group, t, starts, wstarts, 3)
    for g in range(3):
        for b in range(n_b):
            inside = (group == g) & (t > wstarts[b]) & (t <= starts[b])
            assert got[g, b] == len(set(key[inside].tolist()))
