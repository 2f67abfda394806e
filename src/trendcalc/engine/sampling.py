"""``sampling_factor`` (spec §10.1): ClickHouse ``SAMPLE f`` on ``cityHash64(distinct_id)``.

ClickHouse keeps the rows whose sampling key is below ``f × 2^64`` (f read as an exact decimal
fraction, the product truncated), so the sample is a deterministic set of distinct_ids. Results
are then corrected with ``round(value * (1 / f))`` for the counting maths only.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from ..store import EventStore
from ..store.cityhash import cityhash64


def distinct_id_hashes(store: EventStore) -> np.ndarray:
    """cityHash64 of every distinct_id (uint64), computed once per store."""
    return store.cached(
        "cityhash64_distinct_id",
        lambda: np.fromiter((cityhash64(str(d)) for d in store.distinct_ids), dtype=np.uint64, count=len(store.distinct_ids)),
    )


def sample_threshold(factor: float) -> int | None:
    """The exclusive upper bound on cityHash64 for ``SAMPLE factor`` (None: no sampling)."""
    ratio = Fraction(repr(float(factor)))
    if ratio >= 1:
        return None
    return int(ratio * (1 << 64))


def sample_mask(store: EventStore, rows: np.ndarray | slice, factor: float | None) -> np.ndarray | None:
    """Rows kept by the sample (None when every row is kept); ``rows`` indexes the event columns."""
    if factor is None:
        return None
    bound = sample_threshold(factor)
    if bound is None:
        return None
    hashes = distinct_id_hashes(store)
    return hashes[store.distinct_id[rows]] < np.uint64(bound)


def correct(value: Any, factor: float | None, applies: bool) -> Any:
    """PostHog's correct_result_for_sampling: round(value * (1 / f)) (half to even) for counts."""
    if not factor or factor == 1 or not applies:
        return value
    return round(value * (1 / factor))
