"""Correctly rounded per-cell sums in one split: a plain float sum whose rounding is certified.

``split_sums`` (engine/exactsum.py) reaches the exact sum of each cell by splitting every value
into exact parts until nothing is left — two or three passes over the rows and their remainders.
Most cells do not need the last passes: after ONE error-free split v = q + r (q on a grid coarse
enough that any order of adding the q of a cell is exact), the cell's exact sum is Q + Σr, and the
float sum R of its remainders is off by at most γ(n−1)·Σ|r| ≤ 2u·n²·max|r| (any order, any tree:
the standard bound of recursive summation, u = 2^-53). TwoSum gives Q + R = s + t exactly, with s
the float nearest to Q + R. So the exact sum lies within E of s + t, and when that whole interval
is strictly inside s's rounding interval (half the gap to each neighbour of s), the correctly
rounded exact sum *is* s — proved, not hoped. Cells that fail (a sum that cancels to almost
nothing, a near-tie) and any input with infinities go to ``split_sums``: the answers are the same
numbers bit for bit, whichever path a cell takes.

The per-cell float sums add time-ordered segments with NumPy's pairwise ``sum`` (no dependency
chain through one accumulator), or one ``bincount`` when the cells are not in order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .exactsum import split_sums

Adder = Callable[[np.ndarray, np.ndarray, int], np.ndarray]

SEGMENT_MIN_ROWS = 64
REDUCEAT_ROWS = 16_384
"""Up to this many rows the per-cell sums are one ``reduceat`` (sequential adds), above it one
pairwise ``sum`` per cell."""
"""Rows per cell (on average) from which per-segment ``sum`` calls beat one ``bincount``."""


def cell_bounds(cell: np.ndarray, n_cells: int) -> np.ndarray | None:
    """``bounds`` with ``bounds[k]:bounds[k+1]`` the rows of cell k, when ``cell`` is
    non-decreasing with long enough segments (time-ordered rows of one group are); else None."""
    n = len(cell)
    if n == 0 or n < SEGMENT_MIN_ROWS * min(n_cells, n) or not bool(np.all(cell[1:] >= cell[:-1])):
        return None
    return np.searchsorted(cell, np.arange(n_cells + 1))


def _totals(cell: np.ndarray | None, x: np.ndarray, n_cells: int, bounds: np.ndarray | None) -> np.ndarray:
    """Float sum of ``x`` per cell, in whatever order is fastest (by ``bounds`` when given)."""
    if bounds is None:
        assert cell is not None
        return np.bincount(cell, weights=x, minlength=n_cells)
    out = np.zeros(n_cells, dtype=np.float64)
    filled = np.flatnonzero(np.diff(bounds))
    if len(x) <= REDUCEAT_ROWS:  # few rows: one call; its sequential adds cost less than a call per cell
        if len(filled):
            out[filled] = np.add.reduceat(x, bounds[filled])  # empty cells left out: each run ends where the next starts
        return out
    for k in filled.tolist():
        out[k] = x[bounds[k]:bounds[k + 1]].sum()
    return out


def rounded_sums(cell: np.ndarray | None, values: np.ndarray, n_cells: int, fallback_add: Adder | None = None,
                 bounds: np.ndarray | None = None) -> np.ndarray:
    """The correctly rounded sum of ``values`` (NaN skipped) per cell — the same numbers as
    ``split_sums(cell, values, n_cells).values()`` — by one split and a certified rounding
    (module docstring); ``fallback_add`` is the per-cell adder the fallback passes use. Rows
    that come by cell may give ``bounds`` (cell k: ``bounds[k]:bounds[k+1]``) instead of ``cell``."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if cell is None and (bounds is None or len(bounds) != n_cells + 1 or int(bounds[-1]) != n):
        raise ValueError("rounded_sums needs a cell per row, or n_cells + 1 bounds ending at the number of values")

    given = bounds

    def cells() -> np.ndarray:  # the cell per row, built from the bounds only when a path needs it
        if cell is not None:
            return np.asarray(cell)
        assert given is not None
        return np.repeat(np.arange(n_cells, dtype=np.int64), np.diff(given))

    if n == 0:
        return np.zeros(n_cells, dtype=np.float64)
    lo, hi = float(np.fmin.reduce(values)), float(np.fmax.reduce(values))  # NaN ignored
    if np.isnan(hi):  # every value NULL
        return np.zeros(n_cells, dtype=np.float64)
    if np.isinf(lo) or np.isinf(hi):
        return split_sums(cells(), values, n_cells, fallback_add).values()
    if np.isnan(values).any():  # NaN is NULL: skipped, i.e. adds 0 (fmax/fmin return the number)
        values = np.fmax(values, 0.0) if lo >= 0.0 else np.fmax(values, 0.0) + np.fmin(values, 0.0)
    top = max(hi, -lo)
    if top == 0.0:
        return np.zeros(n_cells, dtype=np.float64)
    _, e = np.frexp(2.0 * n * top)  # σ = 2^e > 2·n·max|v|
    e = int(e)
    if e > 1000:  # sums near the float range: the limbs path knows overflow
        return split_sums(cells(), values, n_cells, fallback_add).values()
    sigma = 2.0**e
    q = values + sigma
    q -= sigma  # error-free: q is on the grid 2^(e-53), Σ|q| < σ, so any order adds them exactly
    r = values - q  # exact (the rounding error of σ + v), |r| <= 2^(e-53)
    if bounds is not None and n < SEGMENT_MIN_ROWS * n_cells:
        bounds = None  # short segments: one bincount beats a sum per cell
    row_cell = cells() if bounds is None else None
    if row_cell is not None:
        bounds = cell_bounds(row_cell, n_cells)
    counts = np.diff(bounds) if bounds is not None else np.bincount(row_cell, minlength=n_cells)  # type: ignore[arg-type]
    big_q = _totals(row_cell, q, n_cells, bounds)
    small = _totals(row_cell, r, n_cells, bounds)
    # |small - Σr| <= γ(k-1)·Σ|r| <= 2u·k·(k·2^(e-53)) for a cell of k rows (u = 2^-53)
    k = counts.astype(np.float64)
    err = k * k * 2.0 ** (e - 53) * 2.0**-52
    s = big_q + small
    bb = s - big_q
    t = (big_q - (s - bb)) + (small - bb)  # TwoSum: s + t == big_q + small exactly
    up = np.nextafter(s, np.inf) - s
    down = s - np.nextafter(s, -np.inf)
    ok = ((up * 0.5 - t) > 2.0 * err) & ((t + down * 0.5) > 2.0 * err)
    out = s + 0.0  # -0.0 → 0.0, as a sum that starts from 0
    bad = np.flatnonzero(~ok & (counts > 0))
    out[counts == 0] = 0.0
    if len(bad):
        out[bad] = _exact_cells(cells(), values, n_cells, bad, fallback_add)
    return out


def _exact_cells(cell: np.ndarray, values: np.ndarray, n_cells: int, bad: np.ndarray,
                 add: Adder | None) -> np.ndarray:
    """The exact-path sums of the cells ``bad`` (only their rows are split again)."""
    if len(bad) * 4 >= n_cells:
        return split_sums(cell, values, n_cells, add).values()[bad]
    pick = np.zeros(n_cells, dtype=bool)
    pick[bad] = True
    rows = pick[cell]
    return split_sums(cell[rows], values[rows], n_cells, add).values()[bad]


__all__ = ["cell_bounds", "rounded_sums"]
