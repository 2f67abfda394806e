"""Cell reductions against plain row-at-a-time references on random data."""

from __future__ import annotations

from fractions import Fraction

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


@pytest.mark.parametrize("seed", range(6))
def test_sums_are_exact_on_both_paths(seed):
    """The per-segment path (cells in order, long segments) and the bincount path give the
    exact sum rounded once (engine/exactsum.py): the same whatever the order of the rows."""
    rng = np.random.default_rng(seed)
    n_cells = int(rng.integers(1, 5))
    n = cells.SEGMENT_MIN_ROWS * n_cells * 3
    values = rng.normal(scale=1e6, size=n) * rng.choice([1e-9, 1.0, 1e9], n)
    values[rng.random(n) < 0.1] = np.nan
    values[rng.random(n) < 0.05] = -0.0
    for cell in (np.sort(rng.integers(0, n_cells, n)), rng.integers(0, n_cells, n)):
        exact = [Fraction(0)] * (n_cells + 1)
        for c, v in zip(cell.tolist(), values.tolist()):
            if not np.isnan(v):
                exact[c] += Fraction(v)
        want = [float(x) for x in exact]
        got = cells.sum_(cell, values, n_cells + 1)
        assert got.tolist() == want
        shuffled = rng.permutation(n)
        assert cells.sum_(cell[shuffled], values[shuffled], n_cells + 1).tolist() == want
        assert not (np.signbit(got) & (got == 0)).any()  # no -0.0
        ok = ~np.isnan(values)
        mean = cells.mean(cell, values, n_cells + 1)
        for c in range(n_cells):
            k = int(np.count_nonzero(ok & (cell == c)))
            assert mean[c] == (want[c] / k if k else mean[c])


@pytest.mark.parametrize("seed", range(6))
def test_quantile_of_ranks_equals_quantile_of_values(seed):
    """Ranks into a dictionary's ordered values give the same quantiles as the values."""
    rng = np.random.default_rng(seed)
    ordered = np.unique(np.round(rng.normal(size=40), 1))
    n, n_cells = 600, int(rng.integers(1, 9))
    rank = rng.integers(0, len(ordered) + 1, n)  # len(ordered) = NULL
    values = np.append(ordered, np.nan)[rank]
    for cell in (np.sort(rng.integers(0, n_cells, n)), rng.integers(0, n_cells, n)):
        for level in (0.5, 0.9, 0.99):
            got = cells.quantile_of_ranks(cell, rank.astype(np.uint16), ordered, n_cells + 1, level)
            want = cells.quantile(cell, values, n_cells + 1, level)
            assert np.array_equal(got, want, equal_nan=True)


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
