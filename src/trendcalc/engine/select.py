"""Row selection: which store rows a series reads, straight from the event index.

An event series over [lo, hi) is one binary-searched slice; "all events" and actions are unions
of slices (one per event name), never a scan of the whole table. A ``Rows`` keeps those blocks as
slices for as long as it can — a slice of a column is a view, not a copy — and becomes ascending
index arrays (per block) only once a mask drops rows. Within a block rows are in time order, so
the rows of each time bucket are a contiguous run found by ``searchsorted``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..store import EventStore
from .block_positions import block_positions

Block = slice | np.ndarray
RowKey = slice | np.ndarray  # what indexes a store column: a slice (a view) or row indices


def _len(b: Block) -> int:
    return b.stop - b.start if isinstance(b, slice) else len(b)


class Rows:
    """Rows of one series: blocks (slices, or ascending int64 index arrays) each sorted by time."""

    __slots__ = ("blocks", "_index", "_bounds", "_codes", "_n")

    def __init__(self, blocks: Sequence[Block]):
        self.blocks: tuple[Block, ...] = tuple(b for b in blocks if _len(b) > 0)
        self._index: np.ndarray | None = None
        self._bounds: np.ndarray | None = None  # (start, stop) per block when all are slices and known
        self._codes: np.ndarray | None = None  # the event code of each block, when known
        self._n: int | None = None

    def __len__(self) -> int:
        if self._n is None:  # (blocks never change: counted once)
            bounds = self._bounds
            self._n = (sum(_len(b) for b in self.blocks) if bounds is None
                       else int(bounds[:, 1].sum() - bounds[:, 0].sum()))
        return self._n

    @classmethod
    def from_index(cls, store: EventStore, index: np.ndarray) -> Rows:
        """Ascending row indices (e.g. an action's matched rows) split into per-event blocks,
        each in time order because the store is ordered by (event, ts)."""
        index = np.asarray(index, dtype=np.int64)
        cuts = np.searchsorted(index, store.offsets)
        return cls([index[a:b] for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist())])

    @property
    def key(self) -> slice | np.ndarray:
        """What to index a store column with: a slice when there is one contiguous block (a view
        then, no copy), else the concatenated index array."""
        if len(self.blocks) == 1 and isinstance(self.blocks[0], slice):
            return self.blocks[0]
        return self.index()

    def index(self) -> np.ndarray:
        """All row indices, block after block (int64; materialised once)."""
        if self._index is None:
            parts = [np.arange(b.start, b.stop, dtype=np.int64) if isinstance(b, slice) else b for b in self.blocks]
            if not parts:
                self._index = np.zeros(0, dtype=np.int64)
            else:
                self._index = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return self._index

    def take(self, column: np.ndarray) -> np.ndarray:
        """``column`` at these rows (a view for a single slice)."""
        return column[self.key]

    def restrict(self, mask: np.ndarray) -> Rows:
        """The rows where ``mask`` (aligned with ``index()``) holds; blocks stay in time order."""
        if mask.all():
            return self
        out: list[Block] = []
        pos = 0
        for b in self.blocks:
            n = _len(b)
            m = mask[pos:pos + n]
            pos += n
            if isinstance(b, slice):
                out.append(np.flatnonzero(m) + b.start)
            else:
                out.append(b[m])
        return Rows(out)

    def bucket_runs(self, ts: np.ndarray, edges: np.ndarray, store: EventStore | None = None) -> tuple[Rows, Sequence[np.ndarray]]:
        """(rows inside [edges[0], edges[-1]), per block the start of each bucket's run).

        ``runs[k][b]:runs[k][b+1]`` are block k's rows in bucket b (positions within the block).
        Given the ``store`` whose ``ts`` this is, blocks that are slices find all their runs in
        one look-up (engine/block_positions.py)."""
        if store is not None and len(self.blocks) > 1 and all(isinstance(b, slice) for b in self.blocks):
            fast = self._slice_runs(store, edges)
            if fast is not None:
                return fast
        blocks, runs = [], []
        for b in self.blocks:
            r = ts[b].searchsorted(edges)  # (side "left")
            lo, hi = int(r[0]), int(r[-1])
            if hi <= lo:
                continue
            blocks.append(slice(b.start + lo, b.start + hi) if isinstance(b, slice) else b[lo:hi])
            runs.append(r - lo)
        return Rows(blocks), runs

    def _slice_runs(self, store: EventStore, edges: np.ndarray) -> tuple[Rows, Sequence[np.ndarray]] | None:
        """``bucket_runs`` of slice blocks, each within one event's block of the store (None
        when one is not)."""
        bounds = self._bounds
        if bounds is None:
            bounds = np.array([(b.start, b.stop) for b in self.blocks], dtype=np.int64)  # type: ignore[union-attr]
        codes = self._codes
        if codes is None:
            codes = np.searchsorted(store.offsets, bounds[:, 0], "right") - 1
            if not bool((bounds[:, 1] <= store.offsets[codes + 1]).all()):
                return None
        pos = block_positions(store, codes, edges)
        if bool((pos[:, 0] == bounds[:, 0]).all()) and bool((pos[:, -1] == bounds[:, 1]).all()):
            return self, RunMatrix(pos - pos[:, :1])  # the edges span exactly these rows (a query's own range)
        # each row of ``pos`` is non-decreasing: when its ends lie within the block, all do
        if not (bool((pos[:, 0] >= bounds[:, 0]).all()) and bool((pos[:, -1] <= bounds[:, 1]).all())):
            np.maximum(pos, bounds[:, :1], out=pos)
            np.minimum(pos, bounds[:, 1:], out=pos)
        keep = pos[:, -1] > pos[:, 0]
        if not keep.all():
            pos, codes = pos[keep], codes[keep]
        return Rows.of_bounds(pos[:, [0, -1]], codes), RunMatrix(pos - pos[:, :1])

    @classmethod
    def of_slices(cls, starts: Sequence[int], stops: Sequence[int]) -> Rows:
        """Rows of the slices ``starts[k]:stops[k]``, the empty ones left out."""
        rows = cls.__new__(cls)
        rows.blocks = tuple(slice(a, b) for a, b in zip(starts, stops) if b > a)
        rows._index = None
        rows._bounds = rows._codes = None
        rows._n = None
        return rows

    @classmethod
    def of_bounds(cls, bounds: np.ndarray, codes: np.ndarray | None = None) -> Rows:
        """Rows of the slices ``bounds[k, 0]:bounds[k, 1]`` (an (n, 2) int64 array), the empty
        ones left out; the bounds (and ``codes``, the event code of each slice, which must lie
        within that event's block) are kept for ``bucket_runs``."""
        keep = bounds[:, 1] > bounds[:, 0]
        if not keep.all():
            bounds = bounds[keep]
            codes = None if codes is None else codes[keep]
        rows = cls.__new__(cls)
        rows.blocks = tuple(map(slice, bounds[:, 0].tolist(), bounds[:, 1].tolist()))
        rows._index = None
        rows._bounds = bounds
        rows._codes = codes
        rows._n = None
        return rows


class RunMatrix(Sequence[np.ndarray]):
    """Bucket runs of slice blocks (``runs[k]`` = block k's run starts, a row of ``matrix``) kept
    as one (blocks, buckets + 1) array: no per-block list to build, and sums over the blocks
    need no stacking."""

    __slots__ = ("matrix",)

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self.matrix)

    def __getitem__(self, k: Any) -> Any:
        return self.matrix[k]

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.matrix)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.matrix if dtype is None else self.matrix.astype(dtype)


def slices_to_rows(slices: Iterable[slice]) -> np.ndarray:
    """Concatenated row indices of the given slices (int64, ascending within each slice)."""
    return Rows(list(slices)).index()


def event_selection(store: EventStore, names: Iterable[str | None], lo_us: int, hi_us: int) -> Rows:
    """Rows of the given event names (None = every event) with lo_us <= ts < hi_us."""
    codes: set[int] = set()
    for name in names:
        if name is None:
            codes.update(range(len(store.event_names)))
            break
        code = store.event_code(name)
        if code is not None:
            codes.add(code)
    if len(codes) <= 1:
        return Rows([store.event_slice(c, lo_us, hi_us) for c in codes])
    ordered = np.array(sorted(codes), dtype=np.int64)
    pos = block_positions(store, ordered, np.array([lo_us, hi_us], dtype=np.int64))
    return Rows.of_bounds(pos, ordered)


def event_rows(store: EventStore, names: Iterable[str | None], lo_us: int, hi_us: int) -> np.ndarray:
    """Row indices of ``event_selection`` (ascending within each event)."""
    return event_selection(store, names, lo_us, hi_us).index()
