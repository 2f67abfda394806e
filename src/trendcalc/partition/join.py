"""Matching breakdown values across partitions: partitions name their breakdown values (their
dictionaries' codes differ), the coordinator numbers the union in first-seen order.

A breakdown by a URL has tens of thousands of values per partition; the union is built with
C-level loops over the values (``dict.fromkeys``, ``map``), not a Python statement per value.
A value's class (normal, null marker) is the one its first partition gives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
from typing import Any

import attrs
import numpy as np


@attrs.frozen
class Joined:
    """The union of the partitions' breakdown values: ``values`` (first-seen order), their
    ``kinds``, and per partition ``maps[i][g]``: the union index of its group ``g``."""

    values: tuple[Any, ...]
    kinds: np.ndarray
    maps: list[np.ndarray]


def join_groups(groups: Sequence[Sequence[Any]], kinds: Sequence[np.ndarray | None]) -> Joined:
    """The union of the partitions' breakdown values (``groups[i]``, with their classes ``kinds[i]``)."""
    values = tuple(dict.fromkeys(chain.from_iterable(groups)))
    position = dict(zip(values, range(len(values))))
    maps = [np.fromiter(map(position.__getitem__, g), dtype=np.int64, count=len(g)) for g in groups]
    dtype = next((np.asarray(k).dtype for k in kinds if k is not None), np.dtype(np.int8))
    out = np.zeros(len(values), dtype=dtype)
    for gmap, k in zip(reversed(maps), reversed(kinds)):  # the first partition's class written last
        if k is not None and len(gmap):
            out[gmap[::-1]] = np.asarray(k)[::-1]  # (within a partition each value once; reversed alike)
    return Joined(values, out, maps)


__all__ = ["Joined", "join_groups"]
