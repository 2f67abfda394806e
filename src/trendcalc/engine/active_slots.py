"""Weekly/monthly active actors of an ungrouped frame without truncating every row's time.

The general path (``math.active_actors``) truncates each row's timestamp to its local day and
finds the day slots by comparing neighbours; on a frame whose rows are time-ordered blocks the
same slots are a binary search of the local midnights into each block — a few dozen searches
instead of a pass (and a search) per row. The per-slot distinct actors and the sliding window
are ``distinct.rolling_slots``'s.
"""

from __future__ import annotations

import numpy as np

from . import distinct
from .context import Frame
from .localtime import local_midnights


def active_by_day_slots(frame: Frame, starts_us: np.ndarray, window_us: np.ndarray) -> np.ndarray | None:
    """Distinct actors per bucket with a local day in ``(window_us[b], starts_us[b]]``, or None
    when the frame is grouped or its blocks are not known to be in time order."""
    if frame.grouped:
        return None
    blocks = frame.selection.blocks
    for b in blocks:
        if not isinstance(b, slice) and len(b) > 1 and not bool(np.all(b[1:] > b[:-1])):
            return None  # re-selected rows (repeat_rows): order unknown
    actors, _ = frame.actors()
    out = np.zeros(len(starts_us), dtype=np.float64)
    if len(actors) == 0:
        return out
    ts = frame.ts()
    lens = [b.stop - b.start if isinstance(b, slice) else len(b) for b in blocks]
    offsets = np.concatenate(([0], np.cumsum(lens)[:-1])).astype(np.int64).tolist()
    lo = min(int(ts[o]) for o in offsets)
    hi = max(int(ts[o + n - 1]) for o, n in zip(offsets, lens))
    edges = local_midnights(lo, hi, frame.ctx.project.tz)  # slot j: [edges[j], edges[j+1])
    parts = [(o, np.searchsorted(ts[o:o + n], edges, "left")) for o, n in zip(offsets, lens)]
    return distinct.rolling_slots(actors, parts, edges[:-1], starts_us, window_us,
                                  threads=frame.ctx.limits.threads)
