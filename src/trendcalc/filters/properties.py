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


def column_mask(ctx: object, leaf: PropertyFilter, codes: np.ndarray, dictionary: object, prop_type: str | None) -> np.ndarray:
    """One leaf over dictionary-encoded values (codes, -1 = NULL): the operator table's seam.

    An operator entry is called as ``op(ctx, leaf, codes, dictionary, prop_type)`` and evaluates
    its predicate once per dictionary value before gathering by ``codes``."""
    from .operators import OPERATORS

    op = OPERATORS.get(leaf.operator)
    if op is None:
        raise UnsupportedError(("properties",), f"operator {leaf.operator!r} is not implemented yet")
    return op(ctx, leaf, codes, dictionary, prop_type)  # type: ignore[operator]


SESSION_TYPES = {"$session_duration": "Numeric", "duration": "Numeric", "$pageview_count": "Numeric",
                 "$autocapture_count": "Numeric", "$screen_count": "Numeric", "$num_uniq_urls": "Numeric",
                 "$start_timestamp": "DateTime", "$end_timestamp": "DateTime", "$is_bounce": "Boolean"}  # fmt: skip


def session_leaf(ctx: object, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    """A ``type: session`` filter: the field of each row's session (filters.md §9); session-less
    events read 0 for numeric fields and NULL for the others (the join's defaults)."""
    from ..store.sessions import session_table

    found = session_table(ctx.store).row_codes(str(leaf.key), rows)  # type: ignore[attr-defined]
    if found is None:
        raise UnsupportedError(("properties",), f"session property {leaf.key!r} is not supported")
    codes, dictionary = found
    return column_mask(ctx, leaf, codes, dictionary, SESSION_TYPES.get(str(leaf.key), "String"))


SOURCES["session"] = session_leaf
