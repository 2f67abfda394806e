"""Vectorised reductions of row values into (group, bucket) cells.

Every function takes ``cell`` (int64 flat cell id per row) and returns one float per cell.
Distinct counts and order statistics are sort-based; nothing loops over rows.
"""

from __future__ import annotations

import numpy as np


def count(cell: np.ndarray, n_cells: int) -> np.ndarray:
    """Rows per cell."""
    return np.bincount(cell, minlength=n_cells).astype(np.float64)


def count_distinct(cell: np.ndarray, key: np.ndarray, n_keys: int, n_cells: int) -> np.ndarray:
    """Distinct ``key`` values per cell (sort-based: unique over combined int64 ids)."""
    if len(cell) == 0:
        return np.zeros(n_cells, dtype=np.float64)
    combined = np.unique(cell.astype(np.int64) * int(n_keys) + key.astype(np.int64))
    return np.bincount(combined // int(n_keys), minlength=n_cells).astype(np.float64)


def distinct_pairs(cell: np.ndarray, key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (cell, key) pairs: (cell, key, first row index of each pair)."""
    combined = cell.astype(np.int64) * int(n_keys) + key.astype(np.int64)
    uniq, first = np.unique(combined, return_index=True)
    return uniq // int(n_keys), uniq % int(n_keys), first


def sum_(cell: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Sum of values per cell; NaN values are skipped (0 for a cell without values)."""
    ok = ~np.isnan(values)
    return np.bincount(cell[ok], weights=values[ok], minlength=n_cells)


def mean(cell: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Mean of the non-NaN values per cell; NaN where a cell has none."""
    ok = ~np.isnan(values)
    n = np.bincount(cell[ok], minlength=n_cells)
    s = np.bincount(cell[ok], weights=values[ok], minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def _extreme(cell: np.ndarray, values: np.ndarray, n_cells: int, ufunc: np.ufunc, init: float) -> np.ndarray:
    ok = ~np.isnan(values)
    out = np.full(n_cells, init, dtype=np.float64)
    ufunc.at(out, cell[ok], values[ok])
    out[np.bincount(cell[ok], minlength=n_cells) == 0] = np.nan
    return out


def minimum(cell: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Smallest non-NaN value per cell (NaN where none)."""
    return _extreme(cell, values, n_cells, np.minimum, np.inf)


def maximum(cell: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Largest non-NaN value per cell (NaN where none)."""
    return _extreme(cell, values, n_cells, np.maximum, -np.inf)


def quantile(cell: np.ndarray, values: np.ndarray, n_cells: int, level: float) -> np.ndarray:
    """ClickHouse ``quantile(level)`` per cell over the non-NaN values (NaN where none).

    For up to 8192 values per cell ClickHouse's reservoir holds every value and interpolates
    linearly: index = level*(n-1), result = v[i]*(i+1-index) + v[i+1]*(index-i). We compute that
    exactly for every cell (larger cells are sampled upstream; exact here)."""
    ok = ~np.isnan(values)
    c, v = cell[ok].astype(np.int64), values[ok]
    out = np.full(n_cells, np.nan, dtype=np.float64)
    if len(v) == 0:
        return out
    order = np.lexsort((v, c))
    c, v = c[order], v[order]
    n = np.bincount(c, minlength=n_cells)
    start = np.concatenate(([0], np.cumsum(n)[:-1]))
    has = np.flatnonzero(n)
    index = np.clip(level * (n[has] - 1).astype(np.float64), 0.0, (n[has] - 1).astype(np.float64))
    left = index.astype(np.int64)
    right = left + 1
    last = right >= n[has]
    lv = v[start[has] + left]
    rv = v[start[has] + np.minimum(right, n[has] - 1)]
    interp = lv * (right - index) + rv * (index - left)
    out[has] = np.where(last, lv, interp)
    return out


def rolling_distinct(
    key: np.ndarray, group: np.ndarray, t: np.ndarray, starts: np.ndarray, window_starts: np.ndarray, n_groups: int
) -> np.ndarray:
    """Distinct keys per (group, bucket b) with some ``t`` in ``(window_starts[b], starts[b]]``.

    Each (key, t) covers a contiguous run of buckets; overlapping runs of one (group, key) are
    merged (sort + running max), then a difference array counts the keys covering each bucket.
    """
    n_b = len(starts)
    out = np.zeros((n_groups, n_b), dtype=np.float64)
    if n_b == 0 or len(t) == 0:
        return out
    lo = np.searchsorted(starts, t, "left")
    hi = np.searchsorted(window_starts, t, "left") - 1
    ok = lo <= hi
    if not ok.any():
        return out
    _, gk = np.unique(group[ok].astype(np.int64) * (int(key.max()) + 1) + key[ok].astype(np.int64), return_inverse=True)
    gk = gk.reshape(-1)
    lo, hi, grp = lo[ok], hi[ok], group[ok].astype(np.int64)
    order = np.lexsort((lo, gk))
    gk, lo, hi, grp = gk[order], lo[order], hi[order], grp[order]
    span = n_b + 2
    running = np.maximum.accumulate(gk * span + hi + 1) - gk * span - 1  # max hi so far within the key
    new = np.ones(len(gk), dtype=bool)
    new[1:] = (gk[1:] != gk[:-1]) | (lo[1:] > running[:-1])
    starts_idx = np.flatnonzero(new)
    ends_idx = np.concatenate((starts_idx[1:], [len(gk)])) - 1
    block_lo, block_hi, block_g = lo[starts_idx], running[ends_idx], grp[starts_idx]
    diff = np.zeros((n_groups, n_b + 1), dtype=np.int64)
    np.add.at(diff, (block_g, block_lo), 1)
    np.add.at(diff, (block_g, block_hi + 1), -1)
    out[:] = np.cumsum(diff, axis=1)[:, :n_b]
    return out
