"""The partitioned store's on-disk layout: the manifest's name, format tag and version, and the
shape of the ``assign`` hook (shared by the writer, ``split.py``, and the reader, ``store.py``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..store import EventStore

FORMAT = "trendcalc-partitioned"
VERSION = 1
MANIFEST = "manifest.json"

Assign = Callable[[EventStore, int], np.ndarray]
"""``assign(store, k)``: the partition (0..k-1) of every person row of ``store``."""


def person_rows_file(name: str) -> str:
    """The file beside partition ``name`` holding, per person row of the partition, the row of
    that person in the whole store (ascending when sliced from an EventStore; streamed from
    files, in the partition build's order): the order ``tc.actors`` breaks ties by."""
    return f"{name}.person_rows.npy"
