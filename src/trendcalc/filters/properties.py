"""Row masks for property groups: AND/OR trees of leaves, each leaf one vectorised predicate.

A leaf is evaluated by its source (``SOURCES[leaf.type]``: where the value is read — event,
person, group, session, cohort, element) and its operator (``filters.operators.OPERATORS``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import UnsupportedError
from .model import PropertyFilter, PropertyGroup

LeafMask = Callable[["object", PropertyFilter, np.ndarray], np.ndarray]
SOURCES: dict[str, LeafMask] = {}


def mask_rows(ctx: object, group: PropertyGroup, rows: np.ndarray) -> np.ndarray:
    """Boolean mask over ``rows`` for a property group (empty group → all True)."""
    if not group.values:
        return np.ones(len(rows), dtype=bool)
    combine = np.logical_and if group.type == "AND" else np.logical_or
    out: np.ndarray | None = None
    for node in group.values:
        m = mask_rows(ctx, node, rows) if isinstance(node, PropertyGroup) else leaf_mask(ctx, node, rows)
        out = m if out is None else combine(out, m)
    return out


def leaf_mask(ctx: object, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    source = SOURCES.get(leaf.type)
    if source is None:
        raise UnsupportedError(("properties",), f"property filters of type {leaf.type!r} are not implemented yet")
    return source(ctx, leaf, rows)
