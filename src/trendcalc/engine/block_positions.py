"""Where time bounds fall in every event block at once: a coarse slot index of the store.

The store is sorted by (event, ts), so the rows of event ``c`` before time ``x`` end at
``offsets[c] + searchsorted(ts[block c], x)``. A query over "All events" asks that for every
event name and every bucket edge: one ``searchsorted`` per event name, each a Python call and a
binary search with cache misses — on 30 event names more than the rest of an hourly count.

``SlotIndex`` holds, per event block, the row position at every point of a fixed grid (15
minutes, else an hour or a day, whichever keeps the table within ``MAX_ENTRIES_PER_ROW`` of the
store's size) and at the last whole second before it plus 1 µs (where a range whose ``date_to``
ends at ``…:59:59.999999`` stops: PostHog compares whole seconds, engine/timeaxis.py). Bucket
edges of hour/day/week/month intervals in whole-quarter-hour time zones and those range ends are
one fancy-index into the table, for all blocks together. Any other bound reads the last rows of
its slot, still vectorised. The index is built once per store (the store is immutable) on first
use.
"""

from __future__ import annotations

import attrs
import numpy as np

from ..recent import Recent
from ..store import EventStore

SLOT_WIDTHS_US = (900_000_000, 3_600_000_000, 86_400_000_000)
"""Grid widths tried in order: a quarter hour, an hour, a day."""
MAX_ENTRIES_PER_ROW = 0.25
"""Table entries allowed per stored row (plus ``MIN_ENTRIES``): at most 2 bytes a row."""
MIN_ENTRIES = 1 << 16
SECOND_BEFORE_US = 999_999
"""The second bound kept per grid point: ``date_to`` at ``…:59:59.999999`` selects ts < the grid
point − 999 999 µs (whole seconds, inclusive)."""
SCAN_ROWS = 16
"""Rows before the next grid point scanned for an off-grid bound (vectorised) before searching."""
_SCAN = np.arange(1, SCAN_ROWS + 1, dtype=np.int64)


@attrs.frozen
class SlotIndex:
    """``table[c, 2j + 1]``: the absolute row of the first row of event block ``c`` with
    ``ts >= origin + j * width`` (the block's end when none), ``table[c, 2j]`` the same for
    ``ts >= origin + j * width - SECOND_BEFORE_US``; ``j`` from 0 to ``n_slots``."""

    origin: int
    width: int
    table: np.ndarray  # a view of ``by_bound``
    by_bound: np.ndarray  # (bounds, events), C order: the events' positions at one bound are adjacent
    all_events: np.ndarray  # the positions summed over every event, per bound
    grid_columns: Recent[np.ndarray] = attrs.field(factory=lambda: Recent(64), eq=False, repr=False)
    """The table columns of recent bound arrays that lie on the grid (a pure function of the bounds)."""

    @property
    def n_slots(self) -> int:
        return self.table.shape[1] // 2 - 1

    def at(self, codes: np.ndarray, cols: np.ndarray | list[int]) -> np.ndarray:
        """``table[codes[:, None], cols]``, read bound by bound (a few cache lines per bound)."""
        return self.by_bound[cols][:, codes].T

    def column(self, x: int) -> int | None:
        """The table column of bound ``x`` (None when it is neither a grid point nor a grid
        point's second-before bound)."""
        rel = min(max(x, self.origin), self.origin + self.n_slots * self.width) - self.origin
        slot, rem = divmod(rel, self.width)
        if rem == 0:
            return slot * 2 + 1
        return slot * 2 + 2 if rem == self.width - SECOND_BEFORE_US else None


def slot_index(store: EventStore) -> SlotIndex | None:
    """The store's slot index (built once, cached with the store); None for an empty store or
    one whose time span is too long for any grid width."""
    return store.cached(("block_positions", "slot index"), lambda: _build(store))


def _build(store: EventStore) -> SlotIndex | None:
    ts = store.ts
    n_codes = len(store.offsets) - 1
    if len(ts) == 0 or n_codes <= 0:
        return None
    lo, hi = int(ts.min()), int(ts.max())
    budget = max(int(len(ts) * MAX_ENTRIES_PER_ROW), MIN_ENTRIES)
    for width in SLOT_WIDTHS_US:
        origin = (lo // width) * width
        n_slots = (hi - origin) // width + 1  # origin + n_slots * width > every ts
        if n_codes * 2 * (n_slots + 1) > budget:
            continue
        grid = origin + np.arange(n_slots + 1, dtype=np.int64) * width
        bounds = np.stack((grid - SECOND_BEFORE_US, grid), axis=1).reshape(-1)
        by_bound = np.empty((len(bounds), n_codes), dtype=np.int64)
        offsets = store.offsets
        for c in range(n_codes):  # once per store: one search per event name
            a, b = int(offsets[c]), int(offsets[c + 1])
            by_bound[:, c] = a + ts[a:b].searchsorted(bounds)
        return SlotIndex(origin, width, by_bound.T, by_bound, by_bound.sum(axis=1))
    return None


def block_positions(store: EventStore, codes: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``out[i, j]`` = the absolute row where the rows of event ``codes[i]`` with ``ts < xs[j]``
    end (``offsets[c] + searchsorted(ts[block c], xs[j])``), for all pairs at once."""
    codes = np.asarray(codes, dtype=np.int64)
    xs = np.asarray(xs, dtype=np.int64)
    index = slot_index(store) if len(codes) > 1 else None
    if index is None:
        return _searched(store, codes, xs)
    if len(xs) <= 4:  # a range's bounds: their columns in plain Python
        found = [index.column(x) for x in xs.tolist()]
        cols = [c for c in found if c is not None]
        if len(cols) == len(found):
            return index.at(codes, cols)
    key = xs.tobytes()
    known = index.grid_columns.find(key)  # a query's bucket edges again (dashboards, compare periods)
    if known is not None:
        return index.at(codes, known)
    # a bound before the first slot or after the last ends where the grid's first/last point does
    rel = np.minimum(np.maximum(xs, index.origin), index.origin + index.n_slots * index.width) - index.origin
    slot, rem = np.divmod(rel, index.width)
    col = slot * 2 + 1
    off = rem != 0
    if off.any():
        before = rem == index.width - SECOND_BEFORE_US
        col[before] += 1  # the next grid point's second-before column
        off &= ~before
    out = index.at(codes, col)
    if off.any():
        i = np.flatnonzero(off)
        out[:, i] = _refined(store, index, codes, xs[i], slot[i])
    else:  # every bound is a table column: remember which
        index.grid_columns.put(key, col)
    return out


def rows_between(store: EventStore, codes: np.ndarray, lo_us: int, hi_us: int) -> int:
    """How many rows of the events ``codes`` have ``lo_us <= ts < hi_us`` (for "All events"
    two look-ups in the index's column sums)."""
    index = slot_index(store) if len(codes) > 1 else None
    if index is not None and len(codes) == index.table.shape[0]:
        a, b = index.column(lo_us), index.column(hi_us)
        if a is not None and b is not None:
            return max(int(index.all_events[b]) - int(index.all_events[a]), 0)
    pos = block_positions(store, codes, np.array([lo_us, hi_us], dtype=np.int64))
    return int(np.maximum(pos[:, 1] - pos[:, 0], 0).sum())


def _refined(store: EventStore, index: SlotIndex, codes: np.ndarray, xs: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """Positions of off-grid bounds inside slot ``slot``: the slot's rows at or after the bound
    form a suffix of it, counted over its last ``SCAN_ROWS`` rows (a bound just before a grid
    point, as ``date_to``'s end is, has few); a longer suffix is found by binary search."""
    lo = index.at(codes, slot * 2 + 1)
    hi = index.at(codes, slot * 2 + 3)
    at = hi[..., None] - _SCAN
    after = (store.ts[np.maximum(at, 0)] >= xs[:, None]) & (at >= lo[..., None])
    n_after = after.sum(axis=-1)
    out = hi - n_after
    if int(n_after.max()) < SCAN_ROWS:
        return out
    for i, j in zip(*np.nonzero(n_after == SCAN_ROWS)):  # long suffixes: a loop over (event, bound) pairs
        a, b = int(lo[i, j]), int(hi[i, j])
        out[i, j] = a + int(store.ts[a:b].searchsorted(xs[j]))
    return out


def _searched(store: EventStore, codes: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``block_positions`` by one binary search per event block (no index)."""
    out = np.empty((len(codes), len(xs)), dtype=np.int64)
    ts, offsets = store.ts, store.offsets
    for i, c in enumerate(codes.tolist()):
        a, b = int(offsets[c]), int(offsets[c + 1])
        out[i] = a + ts[a:b].searchsorted(xs)
    return out


__all__ = ["SlotIndex", "block_positions", "rows_between", "slot_index"]
