"""Person and group tables: property columns indexed by person / group row."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .columns import PropertyColumn

NO_TIME = np.iinfo(np.int64).min  # created_at unknown


class PersonTable:
    """Persons: row i is one person, whatever the number of its distinct_ids.

    ``person_of_distinct_id[c]`` is the person row of distinct_id code ``c``; ``synthetic`` marks
    persons created at ingest for distinct_ids that had no person row.
    """

    __slots__ = ("ids", "created_at", "properties", "person_of_distinct_id", "synthetic")

    def __init__(
        self,
        ids: np.ndarray,
        created_at: np.ndarray,
        properties: Mapping[str, PropertyColumn],
        person_of_distinct_id: np.ndarray,
        synthetic: np.ndarray,
    ):
        self.ids = ids
        self.created_at = created_at
        self.properties = dict(properties)
        self.person_of_distinct_id = person_of_distinct_id
        self.synthetic = synthetic

    def __len__(self) -> int:
        return len(self.created_at)

    def freeze(self) -> None:
        """Make every array read-only: a store is immutable (SECURITY.md §7)."""
        _freeze(self.ids, self.created_at, self.person_of_distinct_id, self.synthetic)
        for col in self.properties.values():
            col.freeze()

    def column(self, key: str) -> PropertyColumn | None:
        return self.properties.get(key)


class GroupTable:
    """Groups of one type: row i is the group with key ``keys[i]``."""

    __slots__ = ("group_type_index", "keys", "index", "created_at", "properties")

    def __init__(
        self,
        group_type_index: int,
        keys: np.ndarray,
        created_at: np.ndarray,
        properties: Mapping[str, PropertyColumn],
    ):
        self.group_type_index = group_type_index
        self.keys = keys
        self.index = {k: i for i, k in enumerate(keys.tolist())}
        self.created_at = created_at
        self.properties = dict(properties)

    def __len__(self) -> int:
        return len(self.keys)

    def freeze(self) -> None:
        """Make every array read-only: a store is immutable (SECURITY.md §7)."""
        _freeze(self.keys, self.created_at)
        for col in self.properties.values():
            col.freeze()

    def column(self, key: str) -> PropertyColumn | None:
        return self.properties.get(key)


def _freeze(*arrays: object) -> None:
    for a in arrays:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
