"""Distinct counts by cost: bitmap, marks or sort, whichever is cheapest for the rows at hand.

Three methods find the distinct keys (``0 <= key < space``) among a set of rows:

- ``bitmap``: set one byte per row's key, count the set bytes, clear them. Cost ~ rows (a
  random byte write each) + the key space (a vector scan and a clear). Best when a bucket's rows
  are many compared to the keys.
- ``marks``: write each row's position at its key in a scratch array of ``space`` int32, then
  count the rows that read their own position back: of the rows sharing a key exactly one wins
  (whichever write landed last), so the winners are the distinct keys. Cost ~ rows (a random
  write and read each), nothing to clear; dearer per row once the array outgrows the cache.
- ``sort``: sort the keys, count the changes. Cost ~ rows × log rows, no scratch, no random
  access: NumPy's vectorised sort makes it the cheapest for most sets of rows that are few
  compared to the keys (a day of 34 k rows among 400 k persons), where marks used to be chosen.

``choose`` prices each method with per-element costs fitted to NumPy timings (``Costs``;
relative nanoseconds, only their ratios matter) and picks the cheapest;
``TRENDCALC_DISTINCT=bitmap|marks|sort`` forces one (for diagnosis, or on a host whose sort is
slow), as does the ``method`` argument (for tests).

Buckets are independent, so the per-bucket counts of a large scan run on ``threads`` threads,
each with scratch arrays of its own (NumPy releases the GIL in the fancy indexing, scans and
sorts that do the work); the answers do not depend on the thread count.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import attrs
import numpy as np

METHODS = ("bitmap", "marks", "sort")

# Largest (cell, key) space a bitmap (bytes) or a marks array (int32) is allocated for; larger
# spaces take the sort.
BITMAP_LIMIT = 1 << 25
MARKS_LIMIT = 1 << 24

# A scan is split over threads only when it has at least this many rows (below it the hand-off
# costs more than it saves).
THREAD_MIN_ROWS = 200_000


@attrs.frozen
class Costs:
    """Nanoseconds per element of each method's steps, fitted to timings of ``n_distinct`` and
    ``distinct_values`` over a grid of 300–300 k rows and key spaces of 10 k–8 M (NumPy 2.4,
    an AMD EPYC with 512 KiB of L2 per core and a shared 32 MiB L3, keys indexed as intp;
    ``benchmarks/distinct_costs.py`` measures the grid and scores the model against the fastest
    method of each point). Only their ratios matter.

    A random write or read is cheap while the scratch array stays in cache and dearer beyond it:
    the per-row costs grow with the share of the array a cache cannot hold (``_miss``): the
    marks array (4 bytes a key) and the bitmap (a byte a key) beyond 4 MiB. Listing a
    bitmap's keys costs per key listed (``flatnonzero`` over sparse bits), estimated as a third
    of the rows."""

    call: float = 4000.0  # fixed cost of a method's NumPy calls (bitmap, marks)
    scatter: float = 1.8  # bitmap: one random byte write per row, in cache (an intp index)
    scatter_miss: float = 2.0  # bitmap: more per row when the bitmap does not fit ``bitmap_cache``
    scan: float = 0.065  # bitmap: count + clear, per slot of the key space
    scan_miss: float = 0.03
    listing: float = 0.15  # bitmap: listing the set slots (when the keys themselves are wanted), per slot
    listed: float = 6.0  # bitmap: per key listed (estimated as a third of the rows)
    listing_call: float = 3500.0
    mark: float = 3.2  # marks: one random int32 write and read per row, in cache
    mark_values: float = 5.5  # marks: the same when the keys are wanted (a compress more)
    mark_miss: float = 12.0  # marks: more per row when the marks array does not fit ``marks_cache``
    sort_call: float = 3400.0
    sort: float = 0.34  # sort: per row per log2(rows)
    sort_values: float = 0.53  # sort: the same when the keys are wanted (a mask and a compress more)
    sort_values_call: float = 5200.0
    slide: float = 2.9  # rolling windows: a key entering or leaving the per-key counts (read, add, write)
    slide_miss: float = 6.0  # more per key when the counts (a byte a key) do not fit ``bitmap_cache``
    slide_compare: float = 1.5  # the ``slots`` slide's comparison and count per key
    last_write: float = 2.1  # the ``last`` slide: a row's key cast to intp and its last slot written
    last_scan: float = 0.15  # the ``last`` slide: comparing every key's last slot, per key per bucket
    page: float = 250.0  # first touch of a fresh 4 KiB page of a large scratch array
    marks_cache: int = 1 << 22  # bytes
    bitmap_cache: int = 1 << 22  # bytes


COSTS = Costs()


def _miss(footprint: float, cache: int) -> float:
    """The share of a scratch array of ``footprint`` bytes that ``cache`` bytes cannot hold."""
    return max(0.0, 1.0 - cache / footprint) if footprint > 0 else 0.0


def cost(method: str, rows: float, space: int, costs: Costs = COSTS, fresh: bool = False, values: bool = False) -> float:
    """Estimated ns to count the distinct keys of ``rows`` rows in a key space of ``space``
    (``values``: to list them); ``fresh``: the scratch array is allocated for this one use (its
    pages are touched once)."""
    c = costs
    if method == "bitmap":
        miss = _miss(space, c.bitmap_cache)
        ns = c.call + rows * (c.scatter + c.scatter_miss * miss) + space * (c.scan + c.scan_miss * miss)
        if values:
            ns += c.listing_call + c.listing * space + c.listed * min(rows, space) / 3
        return ns + (c.page * min(rows, space / 4096) if fresh else 0.0)
    if method == "marks":
        miss = _miss(4 * space, c.marks_cache)
        ns = c.call + rows * ((c.mark_values if values else c.mark) + c.mark_miss * miss)
        return ns + (c.page * min(rows, space / 1024) if fresh else 0.0)
    per = c.sort_values if values else c.sort
    return (c.sort_values_call if values else c.sort_call) + per * rows * math.log2(max(rows, 2))


def choose(rows: int, space: int, fresh: bool = False, values: bool = False) -> str:
    """The cheapest method for ``rows`` rows over ``space`` keys (``TRENDCALC_DISTINCT`` forces one)."""
    forced = os.environ.get("TRENDCALC_DISTINCT")
    allowed = _allowed(space)
    if forced in allowed:
        return forced  # type: ignore[return-value]
    return min(allowed, key=lambda m: cost(m, rows, space, fresh=fresh, values=values))


def choose_scan(rows: np.ndarray, space: int, values: bool = False) -> str:
    """The cheapest single method for a scan whose buckets (or slots) hold ``rows`` rows each,
    over ``space`` keys, each method priced for the busy buckets as buckets of their mean size
    (one Python call per method, not per bucket). One method per scan: near a tie, switching
    methods between buckets costs more (a second scratch array) than picking the slightly
    dearer one for a bucket saves."""
    forced = os.environ.get("TRENDCALC_DISTINCT")
    allowed = _allowed(space)
    if forced in allowed:
        return forced  # type: ignore[return-value]
    if len(allowed) == 1:
        return allowed[0]
    busy = int(np.count_nonzero(rows))
    mean = float(rows.sum()) / max(busy, 1)  # exact but for the sort's log term
    return min(allowed, key=lambda m: cost(m, mean, space, values=values))


def _allowed(space: int) -> tuple[str, ...]:
    out: tuple[str, ...] = ("sort",)
    if space <= MARKS_LIMIT:
        out = ("marks",) + out
    if space <= BITMAP_LIMIT:
        out = ("bitmap",) + out
    return out


class Scratch:
    """Reusable per-thread buffers over a key space: a bitmap, a marks array and positions.

    Both are left in a state the next use accepts: the bitmap cleared, the marks array in any
    state (every key a use reads, it has written first)."""

    def __init__(self, space: int):
        self.space = max(int(space), 1)
        self._bits: np.ndarray | None = None
        self._marks: np.ndarray | None = None
        self._pos = np.zeros(0, dtype=np.int32)
        self._idx = np.zeros(0, dtype=np.intp)

    def bits(self) -> np.ndarray:
        if self._bits is None:
            self._bits = np.zeros(self.space, dtype=bool)
        return self._bits

    def marks(self) -> np.ndarray:
        if self._marks is None:
            self._marks = np.empty(self.space, dtype=np.int32)
        return self._marks

    def positions(self, n: int) -> np.ndarray:
        if len(self._pos) < n:
            self._pos = np.arange(max(n, 2 * len(self._pos)), dtype=np.int32)
        return self._pos[:n]

    def index(self, x: np.ndarray) -> np.ndarray:
        """``x`` as a platform-int (intp) index, copied into a reused buffer when it is not one:
        NumPy scatters and gathers with an int32 index about twice as slowly as with intp (it
        casts the index chunk by chunk inside the indexing loop), and one vector cast first is
        cheap (10 k keys: ~40 µs scattered as int32, ~18 µs as intp plus ~2 µs to cast)."""
        if x.dtype == np.intp:
            return x
        if len(self._idx) < len(x):
            self._idx = np.empty(max(len(x), 2 * len(self._idx)), dtype=np.intp)
        out = self._idx[:len(x)]
        np.copyto(out, x, casting="unsafe")
        return out


def n_distinct(x: np.ndarray, method: str, scratch: Scratch) -> int:
    """Number of distinct values of ``x`` (``0 <= x < scratch.space``) by ``method``."""
    if len(x) == 0:
        return 0
    if method == "bitmap":
        bits = scratch.bits()
        bits[scratch.index(x)] = True
        n = int(np.count_nonzero(bits))
        bits[:] = False
        return n
    if method == "marks":
        marks, pos, i = scratch.marks(), scratch.positions(len(x)), scratch.index(x)
        marks[i] = pos
        return int(np.count_nonzero(marks[i] == pos))
    s = np.sort(x)
    return 1 + int(np.count_nonzero(s[1:] != s[:-1]))


def distinct_values(x: np.ndarray, method: str, scratch: Scratch) -> np.ndarray:
    """The distinct values of ``x`` (in no particular order) by ``method``."""
    if len(x) == 0:
        return x[:0]
    if method == "bitmap":
        bits = scratch.bits()
        bits[scratch.index(x)] = True
        out = np.flatnonzero(bits)
        bits[:] = False
        return out
    if method == "marks":
        marks, pos, i = scratch.marks(), scratch.positions(len(x)), scratch.index(x)
        marks[i] = pos
        return x[marks[i] == pos]
    s = np.sort(x)
    keep = np.ones(len(s), dtype=bool)
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


# --- threads ------------------------------------------------------------------------------------

_POOL: tuple[ThreadPoolExecutor, int] | None = None
_POOL_LOCK = threading.Lock()
_THREAD_CAP: int | None = None


def cap_threads(cap: int | None) -> None:
    """Cap the threads of every query in this process (None: no cap). A process pool's workers
    set it to their share of the cores, so that k workers × ``Limits.threads`` threads do not
    oversubscribe the machine (``partition/executors.py``)."""
    global _THREAD_CAP
    _THREAD_CAP = cap


_LOCAL = threading.local()


@contextmanager
def capped_here(cap: int) -> Iterator[None]:
    """Cap the threads of the queries this thread runs inside the block (a caller that computes
    one share of a partitioned query beside the pool's workers, ``partition/pipes.py``)."""
    before = getattr(_LOCAL, "cap", None)
    _LOCAL.cap = cap
    try:
        yield
    finally:
        _LOCAL.cap = before


def _pool(threads: int) -> ThreadPoolExecutor:
    """One process-wide pool, created on first use and grown (replaced) when more threads are asked."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[1] < threads:
            _POOL = (ThreadPoolExecutor(max_workers=threads, thread_name_prefix="trendcalc-distinct"), threads)
        return _POOL[0]


class _Claims:
    """Buckets ``0..n-1`` handed out one at a time to whichever thread iterates next (each
    bucket to exactly one: ``itertools.count``'s step is atomic), so threads share the buckets
    by how fast each actually runs."""

    def __init__(self, n: int):
        self._n = n
        self._next = itertools.count().__next__

    def __iter__(self) -> Iterator[int]:
        while (b := self._next()) < self._n:
            yield b


def over_buckets(n_buckets: int, rows: int, threads: int, work: Callable[[Iterable[int]], None]) -> None:
    """Run ``work(buckets)`` over all buckets (``work`` iterates its buckets once, each
    independent of the others): on the calling thread, or on ``threads`` threads when the scan
    is large enough to pay for them — the calling thread and ``threads - 1`` of the pool,
    claiming buckets as they go (``_Claims``). The caller starts at once, and a pool thread
    that wakes late, or a core the machine gives it slowly, takes fewer buckets instead of
    holding the answer back (a fixed round-robin split waited for the slower half)."""
    threads = min(int(threads), n_buckets, getattr(_LOCAL, "cap", None) or _THREAD_CAP or n_buckets)
    if threads <= 1 or rows < THREAD_MIN_ROWS:
        work(range(n_buckets))
        return
    claims = _Claims(n_buckets)
    futures = [_pool(threads - 1).submit(work, claims) for _ in range(threads - 1)]
    try:
        work(claims)
    finally:
        errors = [f.exception() for f in futures]  # (waits: no thread still works after this returns)
    for error in errors:
        if error is not None:
            raise error


# --- the counts the engine asks for ------------------------------------------------------------------


def _sizes(bounds: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Rows per bucket, summed over blocks whose rows in bucket b are ``bounds[k][b]:bounds[k][b+1]``."""
    out = np.zeros(n, dtype=np.int64)
    for b in bounds:
        edges = np.asarray(b[:n + 1], dtype=np.int64)
        out += edges[1:] - edges[:-1]
    return out


def count_distinct_runs(
    key: np.ndarray, runs: Sequence[np.ndarray], n_keys: int, n_buckets: int, *, method: str | None = None,
    threads: int = 1,
) -> np.ndarray:
    """Distinct ``key`` values per bucket from bucket runs (``runs[k][b]:runs[k][b+1]`` are block
    k's rows in bucket b, blocks concatenated in ``key``), by the cheapest method for the scan."""
    out = np.zeros(n_buckets, dtype=np.float64)
    if len(key) == 0 or n_buckets == 0:
        return out
    space = max(int(n_keys), 1)
    if len(runs) == 1:  # one block (the usual): its bounds as they are
        bounds = [np.asarray(runs[0], dtype=np.int64).tolist()]
    else:
        bounds = [(np.asarray(r, dtype=np.int64) + p).tolist() for p, r in zip(_offsets(runs), runs)]
    how = method or choose_scan(_sizes(runs, n_buckets), space)

    def work(buckets: Iterable[int]) -> None:
        scratch = Scratch(space)
        if how == "bitmap" and len(bounds) == 1:
            _bitmap_runs(key, bounds[0], buckets, scratch, out)
            return
        for b in buckets:
            parts = [key[r[b]:r[b + 1]] for r in bounds if r[b + 1] > r[b]]
            if not parts:
                continue
            x = parts[0] if len(parts) == 1 else np.concatenate(parts)
            out[b] = n_distinct(x, how, scratch)

    over_buckets(n_buckets, len(key), threads, work)
    return out


def _bitmap_runs(key: np.ndarray, edges: Sequence[int], buckets: Iterable[int], scratch: Scratch, out: np.ndarray) -> None:
    """``count_distinct_runs`` by bitmap over one block (rows ``edges[b]:edges[b+1]`` in bucket
    b), with nothing per bucket but its NumPy calls: a partition's DAU is ~30 buckets of ~10 k
    rows each, where the general loop's Python (the list of parts, the method's dispatch) was
    ~15 % of the time."""
    bits = scratch.bits()
    cast = key.dtype != np.intp  # index with an intp copy (see Scratch.index), into one buffer
    buf = np.empty(max([hi - lo for lo, hi in zip(edges, edges[1:])], default=0) if cast else 0, dtype=np.intp)
    for b in buckets:
        lo, hi = edges[b], edges[b + 1]
        if hi > lo:
            if cast:
                idx = buf[:hi - lo]
                np.copyto(idx, key[lo:hi], casting="unsafe")
            else:
                idx = key[lo:hi]
            bits[idx] = True
            out[b] = np.count_nonzero(bits)
            bits.fill(False)


def _offsets(runs: Sequence[np.ndarray]) -> list[int]:
    """Where each block's rows start in the concatenated rows (block k has ``runs[k][-1]``)."""
    return np.cumsum([0] + [int(r[-1]) for r in runs[:-1]]).tolist()


def count_distinct(cell: np.ndarray, key: np.ndarray, n_keys: int, n_cells: int, *, method: str | None = None) -> np.ndarray:
    """Distinct ``key`` values (0 <= key < n_keys) per cell, by the cheapest method over the
    combined (cell, key) space (a fresh scratch array each call)."""
    if len(cell) == 0:
        return np.zeros(n_cells, dtype=np.float64)
    n_keys = max(int(n_keys), 1)
    space = int(n_cells) * n_keys
    combined = cell.astype(np.int64) * n_keys + key
    method = method or choose(len(cell), space, fresh=True)
    if method == "bitmap":
        seen = np.zeros(space, dtype=bool)
        seen[combined] = True
        return np.count_nonzero(seen.reshape(n_cells, n_keys), axis=1).astype(np.float64)
    first = distinct_values(combined, method, Scratch(space))
    return np.bincount(first // n_keys, minlength=n_cells).astype(np.float64)


def rolling_one_group(
    key: np.ndarray, t: np.ndarray, starts: np.ndarray, window_starts: np.ndarray, *, method: str | None = None
) -> np.ndarray:
    """Distinct keys per bucket b with some ``t`` in ``(window_starts[b], starts[b]]``, one group.

    ``t`` takes few distinct values (truncated days or hours), the slots: rows are grouped by
    slot (no sort when they come in time order), then ``rolling_slots`` counts."""
    if len(t) == 0 or len(starts) == 0:
        return np.zeros(len(starts), dtype=np.float64)
    if np.all(t[1:] >= t[:-1]):
        srt, ordered = t, key
    else:
        order = np.argsort(t, kind="stable")
        srt, ordered = t[order], key[order]
    change = np.empty(len(srt), dtype=bool)
    change[0] = True
    np.not_equal(srt[1:], srt[:-1], out=change[1:])
    bounds = np.append(np.flatnonzero(change), len(srt))
    return rolling_slots(ordered, [(0, bounds)], srt[change], starts, window_starts, method=method)


def rolling_slots(
    key: np.ndarray, blocks: Sequence[tuple[int, np.ndarray]], slots: np.ndarray, starts: np.ndarray,
    window_starts: np.ndarray, *, method: str | None = None, threads: int = 1,
) -> np.ndarray:
    """Distinct keys per bucket b among the rows of the slots s with ``window_starts[b] < s <=
    starts[b]``.

    ``blocks``: (offset, bounds) per time-ordered block of ``key``: rows ``offset + bounds[j]``
    to ``offset + bounds[j+1]`` are in slot j (``slots`` ascending). The window of a bucket is a
    range of slots, slid with the buckets (``ROLLING``): ``last`` writes each key's last slot
    seen, slot by slot, and counts per bucket the keys last seen inside its window; ``slots``
    finds each slot's distinct keys first (``method``: how, else the cheapest; slots over
    ``threads`` threads) and slides per-key counts over those, touching only the keys of the
    slots that enter or leave. The cheaper of the two is taken (``rolling_method``);
    ``method="last"`` forces the first."""
    out = np.zeros(len(starts), dtype=np.float64)
    n_slots = len(slots)
    if len(key) == 0 or len(starts) == 0 or n_slots == 0:
        return out
    space = int(key.max()) + 1
    ends = [(np.asarray(b, dtype=np.int64) + o).tolist() for o, b in blocks]
    first = np.searchsorted(slots, window_starts, "right")  # window (ws, s] → slots [first, last)
    last = np.searchsorted(slots, starts, "right")
    windows = list(zip(first.tolist(), np.maximum(last, first).tolist()))
    sizes = _sizes([b for _, b in blocks], n_slots)
    if method is None:
        method = rolling_method(sizes, space, len(starts), threads)
    if method == "last":
        return _slide_last(key, ends, space, n_slots, windows, out)
    keys: list[np.ndarray] = [np.zeros(0, dtype=np.intp)] * n_slots
    how = method if method in METHODS else choose_scan(sizes, space, values=True)

    def work(js: Iterable[int]) -> None:
        scratch = Scratch(space)
        for j in js:
            parts = [key[b[j]:b[j + 1]] for b in ends if b[j + 1] > b[j]]
            if parts:
                x = parts[0] if len(parts) == 1 else np.concatenate(parts)
                # intp: the sliding counts below index with these keys (see Scratch.index)
                keys[j] = distinct_values(x, how, scratch).astype(np.intp, copy=False)

    over_buckets(n_slots, len(key), threads, work)
    counts: np.ndarray = np.zeros(space, dtype=_count_type(n_slots))
    active = 0
    a = b = 0  # counts = the slots a..b-1 added
    for i, (lo, hi) in enumerate(windows):
        if lo < a or hi < b:  # a window that does not slide forward: start over
            for j in range(a, b):
                counts[keys[j]] = 0
            active, a, b = 0, lo, lo
        for j in range(a, min(lo, b)):
            k = keys[j]
            counts[k] -= 1
            active -= int(np.count_nonzero(counts[k] == 0))
        for j in range(max(b, lo), hi):
            k = keys[j]
            counts[k] += 1
            active += int(np.count_nonzero(counts[k] == 1))
        a, b = lo, hi
        out[i] = active
    return out


ROLLING = ("last", "slots")
"""The two ways ``rolling_slots`` slides a window; ``rolling_method`` prices them."""


def rolling_method(sizes: np.ndarray, space: int, n_buckets: int, threads: int = 1) -> str:
    """``last`` or ``slots``, whichever is estimated cheaper for slots of ``sizes`` rows over
    ``space`` keys and ``n_buckets`` windows (``TRENDCALC_DISTINCT`` forcing a distinct method
    means ``slots``, which uses it).

    ``last`` costs a random write per row (``last_write``, more once the last-slot array, two
    bytes a key, outgrows the cache) and a pass over the key space per bucket (``last_scan``);
    ``slots`` costs each slot's distinct keys (split over ``threads``) and a slide of per-key
    counts over those keys as slots enter and leave. Dense windows (a partition's daily actors
    among its persons) take ``last``: on the 10 M benchmark's weekly actors a partition's slide
    took 2.0 ms against 4.2 ms by the per-key counts ``last`` replaced; a few rows among
    millions of keys take ``slots``."""
    if os.environ.get("TRENDCALC_DISTINCT") in METHODS:
        return "slots"
    c = COSTS
    rows = float(sizes.sum())
    busy = max(int(np.count_nonzero(sizes)), 1)
    by_last = rows * (c.last_write + c.scatter_miss * _miss(2 * space, c.bitmap_cache)) + n_buckets * space * c.last_scan
    how = choose_scan(sizes, space, values=True)
    distinct_keys = busy * cost(how, rows / busy, space, values=True) / max(1, min(int(threads), busy))
    slide = c.slide + c.slide_miss * _miss(space, c.bitmap_cache)
    by_slots = distinct_keys + 2 * rows * (slide + c.slide_compare)
    return "last" if by_last <= by_slots else "slots"


def _count_type(n_slots: int) -> type:
    """The smallest unsigned type that counts up to ``n_slots`` slots per key."""
    return np.uint8 if n_slots < 255 else np.uint16 if n_slots < 65535 else np.uint32


def _slide_last(key: np.ndarray, ends: Sequence[list[int]], space: int, n_slots: int,
                windows: Sequence[tuple[int, int]], out: np.ndarray) -> np.ndarray:
    """``rolling_slots`` by ``last``: each key's last slot seen, written slot by slot in time
    order (``seen[rows] = j``: one random write per row, a key repeated in the slot writing the
    same value); once the slots before a bucket's window end ``hi`` are written, its keys are
    those last seen at or after the window's start ``lo``. No distinct step and nothing to take
    off as a slot leaves (the per-key counts this replaced read, added and wrote every row twice,
    entering and leaving); a pass over the (two-byte) last slots per bucket."""
    seen: np.ndarray = np.full(space, -1, dtype=np.int16 if n_slots < 1 << 15 else np.int32)
    idx = key if key.dtype == np.intp else key.astype(np.intp)  # once (see Scratch.index)
    a = b = 0  # seen holds the slots a..b-1
    for i, (lo, hi) in enumerate(windows):
        if lo < a or hi < b:  # a window starting before the slots written, or ending before: start over
            seen.fill(-1)
            a = b = lo
        for j in range(b, hi):
            for e in ends:
                if e[j + 1] > e[j]:
                    seen[idx[e[j]:e[j + 1]]] = j
        b = max(b, hi)
        out[i] = np.count_nonzero(seen >= lo) if hi > lo else 0
    return out
