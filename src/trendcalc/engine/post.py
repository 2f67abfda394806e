"""Post-processing of per-bucket values: cumulative display and smoothing (spec §5.2, §9.1)."""

from __future__ import annotations

import math

import numpy as np


def cumulative(values: np.ndarray, present: np.ndarray | None = None, *, forward_fill: bool) -> np.ndarray:
    """Running total of per-bucket values.

    Without a breakdown PostHog runs the sum over buckets that have rows and then applies
    ``arrayFill(x -> x > 0)``: every non-positive bucket after the first takes the previous value.
    A bucket without rows repeats the running total, which that fill would give it anyway, so
    ``present`` does not change the result (kept for callers that pass it). With a breakdown the
    running sum is exact (no fill)."""
    running = np.cumsum(np.asarray(values, dtype=np.float64))
    if not forward_fill or len(running) < 2:
        return running
    keep = running > 0
    keep[0] = True
    idx = np.where(keep, np.arange(len(running)), 0)
    np.maximum.accumulate(idx, out=idx)
    return running[idx]


def smooth(values: np.ndarray, n: int) -> np.ndarray:
    """floor of the mean of the last min(i+1, n) values at each i.

    Each window is summed exactly (``math.fsum``, a loop over buckets): differences of a prefix
    sum cancel badly with float maths, e.g. [4/3, 0, 1, 1] gave floor(1.999…/2) = 0 for the last
    window instead of 1 (found by tests/property)."""
    if n <= 1 or len(values) == 0:
        return values
    vals = np.asarray(values, dtype=np.float64).tolist()
    return np.array([math.floor(math.fsum(vals[max(0, i + 1 - n) : i + 1]) / min(i + 1, n)) for i in range(len(vals))],
                    dtype=np.float64)
