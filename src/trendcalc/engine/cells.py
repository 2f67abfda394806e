"""Vectorised reductions of row values into (group, bucket) cells.

Most functions take ``cell`` (int64 flat cell id per row) and return one float per cell. When
rows come in time order, block by block, the ``*_runs`` variants take the *runs* of each bucket
instead (``runs[k][b]:runs[k][b+1]`` are block k's rows in bucket b) and need no per-row bucket
array. Distinct counts take the cheapest of a bitmap, marks or a sort (engine/distinct.py);
nothing loops over rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import distinct
from .certified_sum import rounded_sums


def count(cell: np.ndarray, n_cells: int) -> np.ndarray:
    """Rows per cell."""
    return np.bincount(cell, minlength=n_cells).astype(np.float64)

def count_runs(runs: Sequence[np.ndarray], n_buckets: int) -> np.ndarray:
    """Rows per bucket from bucket runs: no pass over the rows."""
    if not runs:
        return np.zeros(n_buckets, dtype=np.float64)
    matrix = getattr(runs, "matrix", None)  # runs of slice blocks (engine/select.py RunMatrix)
    if matrix is not None:
        total = matrix.sum(axis=0)
    else:
        total = runs[0] if len(runs) == 1 else np.sum(runs, axis=0)  # Σ_k (r_k[b+1] - r_k[b]) = diff(Σ_k r_k)
    return np.diff(total).astype(np.float64)


def count_grouped_runs(group: np.ndarray, runs: Sequence[np.ndarray], n_groups: int, n_buckets: int) -> np.ndarray:
    """Rows per (group, bucket): one ``bincount`` of the group ids of each bucket's run.

    ``group`` is aligned with the rows, blocks concatenated in order."""
    out = np.zeros((n_buckets, n_groups), dtype=np.int64)
    pos = 0
    for r in runs:
        for b in range(n_buckets):
            a, e = pos + int(r[b]), pos + int(r[b + 1])
            if e > a:
                out[b] += np.bincount(group[a:e], minlength=n_groups)
        pos += int(r[-1])
    return out.T.reshape(-1).astype(np.float64)



def count_distinct(cell: np.ndarray, key: np.ndarray, n_keys: int, n_cells: int) -> np.ndarray:
    """Distinct ``key`` values (0 <= key < n_keys) per cell: the cheapest of a (cell, key)
    bitmap, marks or one sort (engine/distinct.py)."""
    return distinct.count_distinct(cell, key, n_keys, n_cells)


def count_distinct_runs(
    key: np.ndarray, runs: Sequence[np.ndarray], n_keys: int, n_buckets: int, threads: int = 1
) -> np.ndarray:
    """Distinct ``key`` values per bucket from bucket runs: each bucket by the cheapest of a
    bitmap over the keys, marks or a sort, no per-row bucket array (engine/distinct.py);
    buckets split over ``threads`` threads when the scan is large."""
    return distinct.count_distinct_runs(key, runs, n_keys, n_buckets, threads=threads)


def distinct_pairs(cell: np.ndarray, key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (cell, key) pairs: (cell, key, first row index of each pair)."""
    combined = cell.astype(np.int64) * int(n_keys) + key.astype(np.int64)
    uniq, first = np.unique(combined, return_index=True)
    return uniq // int(n_keys), uniq % int(n_keys), first


# A per-cell loop over contiguous segments beats one weighted ``bincount`` (whose adds into the
# same bin wait on each other) while the segments are long: at least this many rows each.
SEGMENT_MIN_ROWS = 256


def _segments(cell: np.ndarray, n_cells: int) -> np.ndarray | None:
    """Segment bounds (``bounds[k]:bounds[k+1]`` = the rows of cell k) when ``cell`` is
    non-decreasing and its segments are long enough to reduce one by one; else None."""
    n = len(cell)
    if n == 0 or n < SEGMENT_MIN_ROWS * min(n_cells, n):
        return None
    if not bool(np.all(cell[1:] >= cell[:-1])):
        return None
    bounds = np.searchsorted(cell, np.arange(n_cells + 1))
    return bounds if n >= SEGMENT_MIN_ROWS * int(np.count_nonzero(np.diff(bounds))) else None


def _sums(cell: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Left-to-right sum per cell of ``values`` (no NaN), in row order — the order a plain loop
    adds them, so sums are bit-identical whichever path runs."""
    bounds = _segments(cell, n_cells)
    if bounds is None:
        return np.bincount(cell, weights=values, minlength=n_cells)
    out = np.zeros(n_cells, dtype=np.float64)
    for k in np.flatnonzero(np.diff(bounds)).tolist():
        out[k] = np.cumsum(values[bounds[k]:bounds[k + 1]])[-1]  # accumulate is sequential
    return out + 0.0  # -0.0 → 0.0, as a sum that starts from 0


def sum_(cell: np.ndarray | None, values: np.ndarray, n_cells: int, bounds: np.ndarray | None = None) -> np.ndarray:
    """Exact (correctly rounded) sum of values per cell, whatever their order; NaN values are
    skipped (0 for a cell without values). Rows that come by cell may give ``bounds`` instead of
    ``cell``. See engine/certified_sum.py and engine/exactsum.py."""
    return rounded_sums(cell, values, n_cells, _sums, bounds)


def mean(cell: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Mean of the non-NaN values per cell (their exact sum, rounded once, over their number);
    NaN where a cell has none."""
    ok = ~np.isnan(values)
    n = np.bincount(cell[ok], minlength=n_cells)
    s = rounded_sums(cell, values, n_cells, _sums)
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
    c, v = (cell, values) if ok.all() else (cell[ok], values[ok])
    out = np.full(n_cells, np.nan, dtype=np.float64)
    if len(v) == 0:
        return out
    n = np.bincount(c, minlength=n_cells)
    start = np.concatenate(([0], np.cumsum(n)[:-1]))
    has = np.flatnonzero(n)
    left, right = _interpolation_ranks(n[has], level)
    lv, rv = _kth_within_cells(c, v, n_cells, start[has], n[has], left, right)
    out[has] = _interpolate(n[has], level, lv, rv)
    return out


def _interpolation_ranks(n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The two ranks (0-based, ascending) each cell of ``n`` values interpolates between."""
    index = np.clip(level * (n - 1).astype(np.float64), 0.0, (n - 1).astype(np.float64))
    left = index.astype(np.int64)
    return left, np.minimum(left + 1, n - 1)


def _interpolate(n: np.ndarray, level: float, lv: np.ndarray, rv: np.ndarray) -> np.ndarray:
    """ClickHouse's linear interpolation per cell of ``n`` values: index = level*(n-1),
    v[i]*(i+1-index) + v[i+1]*(index-i), given each cell's values ``lv`` = v[i], ``rv`` = v[i+1]
    (ranks from ``_interpolation_ranks``)."""
    index = np.clip(level * (n - 1).astype(np.float64), 0.0, (n - 1).astype(np.float64))
    left = index.astype(np.int64)
    right = left + 1
    return np.where(right >= n, lv, lv * (right - index) + rv * (index - left))


def quantile_of_ranks(
    cell: np.ndarray | None, rank: np.ndarray, ordered: np.ndarray, n_cells: int, level: float,
    bounds: np.ndarray | None = None,
) -> np.ndarray:
    """``quantile`` over values given as ranks into ``ordered`` (ascending values; rank
    ``len(ordered)`` = NULL): the same numbers, with small-integer selections instead of float
    sorts and no compaction of the NULLs (they sort after every value of their cell). Rows that
    come by cell may give ``bounds`` (cell k: ``bounds[k]:bounds[k+1]``) instead of ``cell``."""
    out = np.full(n_cells, np.nan, dtype=np.float64)
    if len(rank) == 0:
        return out
    null = rank == len(ordered)
    if cell is None:
        assert bounds is not None and len(bounds) == n_cells + 1
        by_cell = True
        size = np.diff(bounds)
        if null.any():
            below = np.concatenate(([0], np.cumsum(null)))  # NULLs before each row
            n = size - np.diff(below[bounds])
        else:
            n = size
    else:
        by_cell = bool(np.all(cell[1:] >= cell[:-1]))  # time-ordered rows of one group come by bucket
        size = np.diff(np.searchsorted(cell, np.arange(n_cells + 1))) if by_cell else np.bincount(cell, minlength=n_cells)
        n = size - np.bincount(cell[null], minlength=n_cells) if null.any() else size
    has = np.flatnonzero(n)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    left, right = _interpolation_ranks(n[has], level)
    if cell is None and (len(has) > 1024 or n_cells >= 1 << 16):  # the lexsort path reads the cells
        cell = np.repeat(np.arange(n_cells, dtype=np.int64), size)
    lr, rr = _kth_within_cells(cell, rank, n_cells, start[has], size[has], left, right, by_cell)
    out[has] = _interpolate(n[has], level, ordered[lr], ordered[rr])
    return out


def _kth_within_cells(
    c: np.ndarray | None, v: np.ndarray, n_cells: int, starts: np.ndarray, sizes: np.ndarray,
    left: np.ndarray, right: np.ndarray, by_cell: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each listed cell's ``left``-th and ``right``-th smallest value of ``v`` (cell k's rows are
    ``starts[k]:starts[k]+sizes[k]`` once ordered by cell). Few cells: a radix sort of the small
    cell ids (skipped when rows already come by cell, as time-ordered rows do by bucket) and one
    ``partition`` per cell — a selection, linear in the cell's rows, not a sort; many cells: one
    two-key ``lexsort``."""
    if len(starts) > 1024 or n_cells >= 1 << 16:
        assert c is not None
        ordered = v[np.lexsort((v, c))]
        return ordered[starts + left], ordered[starts + right]
    if not (by_cell if by_cell is not None else np.all(c[1:] >= c[:-1])):  # type: ignore[index]
        assert c is not None
        v = v[np.argsort(c.astype(np.uint16), kind="stable")]
    lv, rv = [], []
    for a, m, i, j in zip(starts.tolist(), sizes.tolist(), left.tolist(), right.tolist()):
        part = v[a:a + m].copy()  # v is left as it was
        part.partition((i, j) if j != i else i)
        lv.append(part[i])
        rv.append(part[j])
    return np.array(lv, dtype=v.dtype), np.array(rv, dtype=v.dtype)


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
    if n_groups == 1:
        out[0] = _rolling_distinct_slots(key, t, starts, window_starts)
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


def _rolling_distinct_slots(key: np.ndarray, t: np.ndarray, starts: np.ndarray, window_starts: np.ndarray) -> np.ndarray:
    """``rolling_distinct`` of one group: the distinct keys of each time slot, slid over the
    buckets (engine/distinct.py)."""
    return distinct.rolling_one_group(key, t, starts, window_starts)
