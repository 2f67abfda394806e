"""GroupNode series: the events of any (``OR``) or every (``AND``) member, each member an event
(None = every event) or an action, narrowed by the member's own property filters — PostHog's
``OR(AND(event = 'a', <a's filters>), event = 'b')``. The group's own filters, like any series',
are applied afterwards by the series mask."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ...query.model import SeriesGroup
from ..context import QueryContext
from ..select import event_rows
from .actions import action_rows
from .properties import mask_rows

_COMBINE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {"OR": np.union1d, "AND": np.intersect1d}


def group_rows(ctx: QueryContext, group: SeriesGroup, lo_us: int, hi_us: int) -> np.ndarray:
    """Sorted rows in [lo, hi) selected by the group (a member naming a missing action selects
    no row)."""
    combine = _COMBINE[group.operator]
    out: np.ndarray | None = None
    for m in group.members:
        if m.kind == "events":
            rows = event_rows(ctx.store, [m.id], lo_us, hi_us)
            if m.id is None:  # every event: ascending per event only
                rows = np.sort(rows)
        else:
            found = action_rows(ctx, m.id, lo_us, hi_us)
            rows = np.zeros(0, dtype=np.int64) if found is None else found
        if m.properties:
            rows = rows[mask_rows(ctx, m.properties, rows)]
        rows = np.asarray(rows, dtype=np.int64)
        out = rows if out is None else combine(out, rows)
    return np.zeros(0, dtype=np.int64) if out is None else out


__all__ = ["group_rows"]
