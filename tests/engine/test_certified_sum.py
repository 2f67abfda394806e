"""The certified one-split sum (engine/certified_sum.py) gives the exact path's numbers bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trendcalc.engine import cells
from trendcalc.engine.certified_sum import rounded_sums
from trendcalc.engine.exactsum import split_sums


def _values(rng: np.random.Generator, kind: int, n: int) -> np.ndarray:
    if kind == 0:  # prices: two decimals, NULLs
        v = np.round(rng.uniform(0, 700, n), 2)
        return np.where(rng.random(n) < 0.1, np.nan, v)
    if kind == 1:  # every magnitude, both signs
        return rng.normal(0, 1, n) * 10.0 ** rng.integers(-300, 300, n).astype(float)
    if kind == 2:  # cancels exactly to 0 in every cell that holds both halves
        base = rng.uniform(-1, 1, n // 2)
        return np.concatenate([base, -base])
    if kind == 3:  # large and small values that lose each other in a float sum
        return rng.choice([1e16, 1.0, -1e16, 3.0, 2.0**-30, np.nan], n)
    if kind == 4:  # subnormals to large powers of two
        return rng.integers(-5, 5, n).astype(float) * 2.0 ** rng.integers(-1074, 900, n)
    return rng.choice([1.0, -np.inf, np.inf, 2.5, np.nan], n)  # infinities


def _bits(a: np.ndarray) -> list[int]:
    return np.where(np.isnan(a), 0x7FF8000000000000, a.view(np.int64)).tolist()


@pytest.mark.parametrize("kind", range(6))
@pytest.mark.parametrize("ordered", [True, False])
def test_rounded_sums_equal_the_exact_path(kind, ordered):
    rng = np.random.default_rng(kind * 2 + ordered)
    for _ in range(40):
        n = int(rng.integers(0, 2000))
        n_cells = int(rng.integers(1, 30))
        v = _values(rng, kind, n)
        cell = rng.integers(0, n_cells, len(v))
        if ordered:
            cell = np.sort(cell)
        with np.errstate(invalid="ignore", over="ignore"):
            got = rounded_sums(cell, v, n_cells)
            want = split_sums(cell, v, n_cells).values()
        assert _bits(got) == _bits(want)


def test_rounded_sums_are_fsum_and_order_free():
    rng = np.random.default_rng(7)
    v = np.round(rng.uniform(-50, 700, 20000), 2)
    cell = np.sort(rng.integers(0, 5, len(v)))
    got = rounded_sums(cell, v, 5)
    assert got.tolist() == [math.fsum(v[cell == k]) for k in range(5)]
    perm = rng.permutation(len(v))
    assert rounded_sums(cell[perm], v[perm], 5).tolist() == got.tolist()


def test_cells_sum_and_mean_use_it():
    v = np.array([0.1] * 10 + [np.nan, 0.2, 0.3])
    cell = np.array([0] * 10 + [1, 1, 1])
    assert cells.sum_(cell, v, 3).tolist() == [math.fsum([0.1] * 10), math.fsum([0.2, 0.3]), 0.0]
    assert cells.mean(cell, v, 3)[:2].tolist() == [math.fsum([0.1] * 10) / 10, math.fsum([0.2, 0.3]) / 2]
    assert np.isnan(cells.mean(cell, v, 3)[2])


@pytest.mark.parametrize("seed", range(4))
def test_quantile_selection_equals_sorted_interpolation(seed):
    rng = np.random.default_rng(seed)
    n_cells = 7
    cell = rng.integers(0, n_cells, 5000)
    if seed % 2:
        cell = np.sort(cell)
    v = rng.choice(np.round(rng.uniform(0, 100, 300), 2), len(cell))
    for level in (0.0, 0.5, 0.9, 0.99, 1.0):
        got = cells.quantile(cell, v, n_cells, level)
        for k in range(n_cells):
            s = np.sort(v[cell == k])
            index = level * (len(s) - 1)
            i = int(index)
            want = s[i] if i + 1 >= len(s) else s[i] * (i + 1 - index) + s[i + 1] * (index - i)
            assert got[k] == want


@pytest.mark.parametrize("kind", range(6))
def test_bounds_instead_of_cells_give_the_same_sums(kind):
    rng = np.random.default_rng(100 + kind)
    for n_cells, n in ((3, 5000), (40, 300), (7, 0), (5, 9)):  # long segments, short ones, none
        cell = np.sort(rng.integers(0, n_cells, n))
        v = _values(rng, kind, n)[:n]
        cell = cell[:len(v)]
        bounds = np.searchsorted(cell, np.arange(n_cells + 1))
        with np.errstate(invalid="ignore", over="ignore"):
            assert _bits(cells.sum_(None, v, n_cells, bounds=bounds)) == _bits(split_sums(cell, v, n_cells).values())
    with pytest.raises(ValueError):
        rounded_sums(None, np.ones(3), 2, bounds=np.array([0, 1]))


@pytest.mark.parametrize("seed", range(3))
def test_quantile_of_ranks_by_bounds(seed):
    rng = np.random.default_rng(seed)
    ordered = np.sort(np.unique(np.round(rng.uniform(0, 50, 200), 1)))
    for n_cells in (6, 1500):  # per-cell selections, and the lexsort path
        cell = np.sort(rng.integers(0, n_cells, 8000))
        rank = rng.integers(0, len(ordered) + 1, len(cell))  # len(ordered): NULL
        bounds = np.searchsorted(cell, np.arange(n_cells + 1))
        for level in (0.5, 0.9):
            want = cells.quantile_of_ranks(cell, rank, ordered, n_cells, level)
            got = cells.quantile_of_ranks(None, rank, ordered, n_cells, level, bounds=bounds)
            assert _bits(got) == _bits(want)
