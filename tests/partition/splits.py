"""Person → partition maps for the tests: the default hash, and adversarial ones."""

from __future__ import annotations

import numpy as np

import trendcalc as tc


def all_in_last(store: tc.EventStore, k: int) -> np.ndarray:
    """Every person in the last partition: the others are empty stores."""
    return np.full(len(store.persons), k - 1, dtype=np.int32)


def round_robin(store: tc.EventStore, k: int) -> np.ndarray:
    """Neighbouring person rows in different partitions (persons who share sessions, groups and
    breakdown values are spread as widely as possible)."""
    return (np.arange(len(store.persons)) % k).astype(np.int32)


SPLITS = {"hash": None, "all-in-last": all_in_last, "round-robin": round_robin}
