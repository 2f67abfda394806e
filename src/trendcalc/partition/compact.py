"""Compact dictionaries for the saved partitions of an in-memory store, and the whole store's
value bounds that the cost check then reads from the manifest.

``split.subset`` keeps each property's whole dictionary: partitions held in memory share it
(``run.run_stores`` relies on that). A saved partition holding the whole dictionary, though,
writes it again per partition: for a property with a value per event (an amount, an id) that
is ``k`` times the dictionary on disk, ``k`` times its JSON encoding, and every partition
opened decodes all of it. So ``write_partitions`` gives each partition's event and person
property columns a compact dictionary (``compact_column``): only the values its codes use, in
the whole dictionary's order (relative order kept), the codes remapped through a look-up
table. Group tables stay whole: groups span persons.

Compact dictionaries change one thing outside the partition: a breakdown item's value bound
(``engine/cost.py``: dictionary values, plus one when some row lacks the property) is no
longer the same in every partition, so neither the most any partition reports (too small)
nor their sum (too large) is the single store's. ``value_bounds`` computes the whole store's
bounds once, at partition time, for the manifest (``"dictionaries": "compact"``), and
``partition/cost.combine`` uses them, so the up-front check stays exactly the single store's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..store.columns import PropertyColumn, ValueDictionary

COMPACT = "compact"
"""The manifest's ``"dictionaries"`` of partitions cut from a store with compact dictionaries
(``"shared"``: written before, every partition holding the whole dictionaries;
``"per-partition"``: streamed from files)."""


def compact_column(col: PropertyColumn) -> PropertyColumn:
    """``col`` over only the dictionary values its codes use, in the dictionary's order, codes
    remapped (-1, no value, stays -1); ``col`` itself when it uses every value. Vectorised: one
    pass over the codes; the new dictionary is built from the used values only."""
    codes = np.asarray(col.codes)
    n = len(col.dictionary)
    used_mask = np.zeros(n + 1, dtype=bool)  # (the last slot takes the -1s)
    used_mask[codes] = True
    used = np.flatnonzero(used_mask[:n])
    if len(used) == n:
        return col
    lut = np.full(n + 1, -1, dtype=codes.dtype)  # lut[-1] = -1
    lut[used] = np.arange(len(used), dtype=codes.dtype)
    values = col.dictionary.values
    return PropertyColumn(lut[codes], ValueDictionary([values[i] for i in used.tolist()]))


def compact_columns(columns: Mapping[str, PropertyColumn]) -> dict[str, PropertyColumn]:
    """``compact_column`` of every column, by key."""
    return {key: compact_column(col) for key, col in columns.items()}


def _bound(col: PropertyColumn) -> int:
    """``engine.cost._with_missing`` of a whole column: its values, plus one when a row lacks it."""
    return len(col.dictionary) + int(bool((np.asarray(col.codes) < 0).any()))


def value_bounds(store: Any) -> dict[str, dict[str, int]]:
    """The whole store's value bound of every event and person property (the manifest's
    ``"value_bounds"``), as the single store's cost estimate computes it."""
    return {"event": {key: _bound(col) for key, col in store.properties.items()},
            "person": {key: _bound(col) for key, col in store.persons.properties.items()}}


__all__ = ["COMPACT", "compact_column", "compact_columns", "value_bounds"]
