"""The partitioned store's on-disk layout: the manifest's name, format tag and version, and the
shape of the ``assign`` hook (shared by the writer, ``split.py``, and the reader, ``store.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from ..store import EventStore

FORMAT = "trendcalc-partitioned"
VERSION = 1
MANIFEST = "manifest.json"

Assign = Callable[[EventStore, int], np.ndarray]
"""``assign(store, k)``: the partition (0..k-1) of every person row of ``store``."""


def is_partitioned_manifest(data: bytes | str) -> bool:
    """Whether a directory's ``manifest.json`` text is a partitioned store's (a saved store's, or
    text that is not JSON, is not: its own reader says what is wrong with it)."""
    try:
        head = json.loads(data)
    except ValueError:
        return False
    return isinstance(head, dict) and head.get("format") == FORMAT


def person_rows_file(name: str) -> str:
    """The file beside partition ``name`` holding, per person row of the partition, the row of
    that person in the whole store (ascending when sliced from an EventStore; streamed from
    files, in the partition build's order): the order ``tc.actors`` breaks ties by."""
    return f"{name}.person_rows.npy"
