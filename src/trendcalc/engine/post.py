"""Post-processing of per-bucket values: cumulative display and smoothing (spec §5.2, §9.1)."""

from __future__ import annotations

import numpy as np


def cumulative(values: np.ndarray, present: np.ndarray, *, forward_fill: bool) -> np.ndarray:
    """Running total. Without a breakdown PostHog sums over buckets that have rows and then
    forward-fills every non-positive bucket with the previous value (first bucket kept)."""
    running = np.cumsum(values)
    if not forward_fill:
        return running
    out = np.where(present, running, 0.0)
    if len(out) > 1:
        keep = out > 0
        keep[0] = True
        idx = np.where(keep, np.arange(len(out)), 0)
        np.maximum.accumulate(idx, out=idx)
        out = out[idx]
    return out


def smooth(values: np.ndarray, n: int) -> np.ndarray:
    """floor of the mean of the last min(i+1, n) values at each i."""
    if n <= 1 or len(values) == 0:
        return values
    c = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    i = np.arange(len(values))
    lo = np.maximum(i + 1 - n, 0)
    return np.floor((c[i + 1] - c[lo]) / (i + 1 - lo))
