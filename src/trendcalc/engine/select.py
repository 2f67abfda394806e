"""Row selection: which store rows a series reads, as index arrays built from the event index.

An event series over [lo, hi) is one binary-searched slice; "all events" and actions are unions
of slices (one per event name), never a scan of the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..store import EventStore


def slices_to_rows(slices: Iterable[slice]) -> np.ndarray:
    """Concatenated row indices of the given slices (int64, ascending within each slice)."""
    parts = [np.arange(s.start, s.stop, dtype=np.int64) for s in slices if s.stop > s.start]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def event_rows(store: EventStore, names: Iterable[str | None], lo_us: int, hi_us: int) -> np.ndarray:
    """Rows of the given event names (None = every event) with lo_us <= ts < hi_us."""
    codes: set[int] = set()
    for name in names:
        if name is None:
            codes.update(range(len(store.event_names)))
            break
        code = store.event_code(name)
        if code is not None:
            codes.add(code)
    return slices_to_rows(store.event_slice(c, lo_us, hi_us) for c in sorted(codes))
