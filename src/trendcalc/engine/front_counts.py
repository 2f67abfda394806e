"""Every code's total and the first codes' rows per bucket, from one ``bincount``.

A top-N count breakdown (engine/topn.py) needs each value's total (to rank) and then the kept
values' rows per bucket. Two passes over the rows' codes cost two gathers/bincounts; but
dictionary codes are numbered by first use, so the frequent values — the ones a top 25 keeps —
mostly have small codes. One pass counts both: a row whose code is below ``front`` is counted in
its (bucket, code) cell, any other row in its code's total. The key is built with two
vectorised integer operations (a bucket offset per row, zeroed for the codes past the front,
plus the code) and counted by one ``bincount``; the front's totals are its matrix's column sums.

When the kept values all lie in the front (or the missing value), their cells are columns of the
matrix and Other is each bucket's rows minus theirs; otherwise topn counts the kept values' cells
in a second pass as before — the totals are right either way, so the answer never depends on
where the values lie, only the time does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs
import numpy as np

from .distinct import THREAD_MIN_ROWS, over_buckets

FRONT = 512
"""Codes counted per bucket (below this code), at most: a top 25 of URLs numbered by first use
lies within the first few hundred codes; the matrix costs ``n_buckets × (FRONT + 1)`` bins."""
FRONT_MIN = 256
"""A smaller front (many buckets: hours) misses a top 25 too often (Q4's reach code 309) to pay
for its pass: then topn counts the totals alone and the kept cells in a second pass."""
CELLS_PER_ROW = 0.25
"""Front matrix cells allowed per row: its zeroing and column sums stay a fraction of the pass."""


@attrs.frozen
class FrontCounts:
    """``totals``: rows per code in the look-up table's order (code k at k, the missing value
    last, int64); ``matrix``: rows per (bucket, front column) — column j < ``front`` is code j,
    column ``front`` the missing value (int64, n_buckets × (front + 1))."""

    totals: np.ndarray
    matrix: np.ndarray
    front: int


def front_size(n_codes: int, n_rows: int, n_buckets: int, limit: int) -> int:
    """How many first codes to count per bucket: ``FRONT`` or every code, within
    ``CELLS_PER_ROW``; 0 — not worth it — when that is neither every code nor ``FRONT_MIN``
    codes and twice the limit."""
    front = min(n_codes, FRONT, int(n_rows * CELLS_PER_ROW) // max(n_buckets, 1) - 1)
    return front if front > 0 and (front == n_codes or front >= max(2 * limit, FRONT_MIN)) else 0


def _keys(codes: np.ndarray, runs: Sequence[np.ndarray], a: int, b: int, base: int, stride: int,
          front: int, dtype: type[np.integer]) -> np.ndarray:
    """The bincount key of rows a..b (blocks of ``runs`` concatenated): ``base + bucket ×
    stride + code + 1`` below the front (the missing code -1 at column 0), the code past it."""
    n_buckets = len(runs[0]) - 1
    first: np.ndarray = np.arange(n_buckets, dtype=dtype) * stride + (base + 1)
    parts, pos = [], 0
    for r in runs:
        edges = np.clip(r + pos, a, b)  # the block's bucket edges within a..b
        if edges[-1] > edges[0]:
            parts.append(np.repeat(first, np.diff(edges)))
        pos += int(r[-1])
    key = parts[0] if len(parts) == 1 else np.concatenate(parts)
    x = codes[a:b]
    np.multiply(key, x < front, out=key)  # zero past the front
    np.add(key, x, out=key, casting="unsafe")  # (codes are small non-negative ints, -1 below the front)
    return key


def front_counts(codes: np.ndarray, runs: Sequence[np.ndarray], n_codes: int, n_buckets: int, front: int,
                 threads: int) -> FrontCounts:
    """Rows per code (``n_codes`` dictionary codes and the missing value) and per (bucket, code)
    of the codes below ``front`` (1 ≤ front ≤ n_codes); ``runs``: each block's bucket runs, the
    blocks concatenated in ``codes``. Large scans split their rows over ``threads`` threads."""
    stride = front + 1
    bins = n_codes + n_buckets * stride
    dtype = np.int32 if bins < 2**31 else np.int64
    n = len(codes)
    cuts = [0, n] if threads <= 1 or n < THREAD_MIN_ROWS else [n * i // threads for i in range(threads + 1)]
    parts: list[np.ndarray | None] = [None] * (len(cuts) - 1)

    def work(indices: Iterable[int]) -> None:
        for i in indices:
            a, b = cuts[i], cuts[i + 1]
            parts[i] = np.bincount(_keys(codes, runs, a, b, n_codes, stride, front, dtype), minlength=bins)

    if n:
        over_buckets(len(parts), n, threads, work)
    counted = parts[0] if len(parts) == 1 and parts[0] is not None else np.zeros(bins, dtype=np.int64)
    if len(parts) > 1:
        for p in parts:
            assert p is not None
            counted += p
    by_bucket = counted[n_codes:].reshape(n_buckets, stride)
    matrix = np.empty_like(by_bucket)
    matrix[:, :front] = by_bucket[:, 1:]
    matrix[:, front] = by_bucket[:, 0]  # the missing value last
    totals = np.empty(n_codes + 1, dtype=np.int64)
    totals[:n_codes] = counted[:n_codes]  # (zero below the front)
    in_front = matrix.sum(axis=0)
    totals[:front] = in_front[:front]
    totals[n_codes] = in_front[front]
    return FrontCounts(totals, matrix, front)


__all__ = ["FRONT", "FrontCounts", "front_counts", "front_size"]
