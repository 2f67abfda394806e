"""The math registry: one entry per math type with its vectorised per-cell rule.

``compute(frame)`` returns a (n_groups, n_buckets) float array. Total-value displays call the
same function with a single whole-range bucket, so an entry's per-bucket rule and its
aggregated-value rule agree unless the entry overrides ``total``.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from . import cells
from .context import Frame


@attrs.frozen
class MathType:
    name: str
    compute: Callable[[Frame], np.ndarray]
    integer: bool = True  # results are counts (rendered as ints)
    new_actors_cumulative: bool = False  # cumulative display counts each actor once (§5.2)


def _shape(frame: Frame, flat: np.ndarray) -> np.ndarray:
    return flat.reshape(frame.n_groups, frame.n_buckets)


def total(frame: Frame) -> np.ndarray:
    """count(): events per cell."""
    return _shape(frame, cells.count(frame.cell(), frame.n_groups * frame.n_buckets))


def dau(frame: Frame) -> np.ndarray:
    """Distinct actors per cell."""
    actors, n = frame.actors()
    return _shape(frame, cells.count_distinct(frame.cell(), actors, n, frame.n_groups * frame.n_buckets))


def first_seen(frame: Frame) -> np.ndarray:
    """New actors per cell: each (group, actor) counted once, in the bucket of its first row.

    Cumulative display of dau/unique_group accumulates these (spec §5.2)."""
    actors, n = frame.actors()
    n_cells = frame.n_groups * frame.n_buckets
    if len(actors) == 0:
        return _shape(frame, np.zeros(n_cells))
    key = frame.group.astype(np.int64) * n + actors
    order = np.lexsort((frame.bucket, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    rows = order[first]
    cell = frame.group[rows].astype(np.int64) * frame.n_buckets + frame.bucket[rows]
    return _shape(frame, cells.count(cell, n_cells))


MATHS: dict[str, MathType] = {
    m.name: m
    for m in (
        MathType("total", total),
        MathType("dau", dau, new_actors_cumulative=True),
    )
}
