"""The exact partial states of the maths on a partitioned store: what one partition computes
over its rows (``partial_*``), how the partitions' states merge, and the cell values of the
merged state (``finalize_*``) — computed by the engine's own reductions, so that the answer is
the single store's bit for bit.

Every state refers to a partition's cells ``group × n_buckets + bucket`` with the partition's
own breakdown groups; ``merge_*`` maps them to the merged groups (``maps[i][g]`` is the merged
group of partition i's group g). Keys that span partitions (sessions, group keys) travel as
text — the rendered ``$session_id`` or the group key — never as a partition's dictionary codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ..engine import cells
from ..engine.exactsum import ExactSums, split_sums

Maps = Sequence[np.ndarray]


def merged_cells(cell: np.ndarray, gmap: np.ndarray, n_buckets: int) -> np.ndarray:
    """A partition's flat cells in the merged groups."""
    cell = np.asarray(cell, dtype=np.int64)
    return gmap[cell // n_buckets] * n_buckets + cell % n_buckets


def as_cells(flat: np.ndarray, n_groups: int, n_buckets: int) -> np.ndarray:
    """As ``engine.math``: NaN (no value) → 0, shaped (groups, buckets)."""
    return np.nan_to_num(np.asarray(flat, dtype=np.float64), nan=0.0).reshape(n_groups, n_buckets)


# --- additive cells --------------------------------------------------------------------------------


def merge_add(states: Sequence[np.ndarray], maps: Maps, n_groups: int, n_buckets: int) -> np.ndarray:
    """Cells that are sums over persons: the partitions' cells added (integers: any order)."""
    if n_groups == 1 and all(len(g) == 1 for g in maps):  # no breakdown (the usual DAU): vectors added
        total = np.zeros(n_buckets, dtype=np.float64)
        for v in states:
            total += np.asarray(v, dtype=np.float64).reshape(n_buckets)
        return total.reshape(1, n_buckets)
    out = np.zeros((n_groups, n_buckets), dtype=np.float64)
    for values, gmap in zip(states, maps):
        rows = np.asarray(values, dtype=np.float64).reshape(len(gmap), n_buckets)
        if len(gmap) and np.bincount(gmap).max() <= 1:  # each merged group once (the usual): a plain scatter
            out[gmap] += rows
        else:
            np.add.at(out, gmap, rows)
    return out


# --- sums and averages of a property: exact sums ------------------------------------------------------


@attrs.frozen
class SumState:
    """Exact per-cell sums of the non-NULL values (integer limbs) and their number."""

    sums: ExactSums
    n: np.ndarray


def partial_sum(cell: np.ndarray, values: np.ndarray, n_cells: int) -> SumState:
    ok = ~np.isnan(values)
    return SumState(split_sums(cell, values, n_cells).exact(), np.bincount(cell[ok], minlength=n_cells).astype(np.int64))


def merge_sum(states: Sequence[SumState], maps: Maps, n_groups: int, n_buckets: int) -> SumState:
    n_cells = n_groups * n_buckets
    sums, n = ExactSums.empty(n_cells), np.zeros(n_cells, dtype=np.int64)
    for s, gmap in zip(states, maps):
        at = merged_cells(np.arange(s.sums.n_cells), gmap, n_buckets)
        sums = sums.merge(s.sums, at, n_cells)
        np.add.at(n, at, s.n)
    return SumState(sums, n)


def finalize_sum(state: SumState, n_groups: int, n_buckets: int) -> np.ndarray:
    return as_cells(state.sums.values(), n_groups, n_buckets)


def finalize_avg(state: SumState, n_groups: int, n_buckets: int) -> np.ndarray:
    s = state.sums.values()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(state.n > 0, s / np.maximum(state.n, 1), np.nan)  # as cells.mean
    return as_cells(mean, n_groups, n_buckets)


# --- min and max --------------------------------------------------------------------------------------


def merge_extreme(ufunc: np.ufunc) -> Callable[[Sequence[np.ndarray], Maps, int, int], np.ndarray]:
    """Per-cell min (``np.fmin``) or max (``np.fmax``) of the partitions' (NaN: no value)."""

    def merge(states: Sequence[np.ndarray], maps: Maps, n_groups: int, n_buckets: int) -> np.ndarray:
        out = np.full(n_groups * n_buckets, np.nan)
        for flat, gmap in zip(states, maps):
            ufunc.at(out, merged_cells(np.arange(len(flat)), gmap, n_buckets), flat)
        return out

    return merge


# --- value counts: quantiles, per-actor maths ---------------------------------------------------------


@attrs.frozen
class ValueCounts:
    """The multiset of non-NULL values per cell: (cell, value, how many times), one entry per
    distinct (cell, value)."""

    cell: np.ndarray
    value: np.ndarray
    count: np.ndarray


def value_counts(cell: np.ndarray, values: np.ndarray, counts: np.ndarray | None = None) -> ValueCounts:
    """The ValueCounts of (cell, value) rows (NaN dropped), each counted ``counts`` times."""
    cell = np.asarray(cell, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    mult = np.ones(len(cell), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    ok = ~np.isnan(values)
    cell, values, mult = cell[ok], values[ok], mult[ok]
    if len(cell) == 0:
        return ValueCounts(cell, values, mult)
    order = np.lexsort((values, cell))
    cell, values, mult = cell[order], values[order], mult[order]
    head = np.ones(len(cell), dtype=bool)
    head[1:] = (cell[1:] != cell[:-1]) | (values[1:] != values[:-1])
    at = np.flatnonzero(head)
    return ValueCounts(cell[at], values[at], np.add.reduceat(mult, at))


def merge_value_counts(states: Sequence[ValueCounts], maps: Maps, n_groups: int, n_buckets: int) -> ValueCounts:
    if not states:
        return value_counts(np.zeros(0, np.int64), np.zeros(0))
    return value_counts(np.concatenate([merged_cells(s.cell, g, n_buckets) for s, g in zip(states, maps)]),
                        np.concatenate([s.value for s in states]), np.concatenate([s.count for s in states]))


def reduce_counts(name: str, level: float | None) -> Callable[[ValueCounts, int, int], np.ndarray]:
    """The engine's reducer ``name`` (sum/avg/min/max, or a quantile at ``level``) over the
    multisets: the same number as over the rows they count."""

    def finalize(state: ValueCounts, n_groups: int, n_buckets: int) -> np.ndarray:
        n_cells = n_groups * n_buckets
        c, v, k = state.cell, state.value, state.count
        n = np.bincount(c, weights=k, minlength=n_cells).astype(np.int64)
        if level is not None:
            out = raw_quantiles(state, n_cells, level)
        elif name in ("sum", "avg"):
            s = ExactSums.of(c, v, n_cells, k).values()
            with np.errstate(invalid="ignore", divide="ignore"):
                out = s if name == "sum" else np.where(n > 0, s / np.maximum(n, 1), np.nan)
        else:
            out = np.full(n_cells, np.nan)
            (np.fmin if name == "min" else np.fmax).at(out, c, v)
        return as_cells(out, n_groups, n_buckets)

    return finalize


def raw_quantiles(state: ValueCounts, n_cells: int, level: float) -> np.ndarray:
    """ClickHouse's quantile per cell over the multisets (NaN where a cell has no value), with
    the engine's interpolation (``cells._interpolate``)."""
    out = np.full(n_cells, np.nan)
    k, v = state.count, state.value
    n = np.bincount(state.cell, weights=k, minlength=n_cells).astype(np.int64)
    has = np.flatnonzero(n)
    if len(has):
        # entries come by (cell, value); the i-th smallest value of cell x is the entry where
        # the running count passes start[x] + i
        ends = np.cumsum(k)
        start = np.concatenate(([0], np.cumsum(n)[:-1]))
        left, right = cells._interpolation_ranks(n[has], level)
        lv = v[np.searchsorted(ends, start[has] + left, "right")]
        rv = v[np.searchsorted(ends, start[has] + right, "right")]
        out[has] = cells._interpolate(n[has], level, lv, rv)
    return out


# --- keys that span partitions: sessions, group keys ---------------------------------------------------


@attrs.frozen
class KeyCells:
    """The distinct (cell, key) pairs of a partition, keys as text."""

    cell: np.ndarray
    key: np.ndarray  # object array of str


def key_cells(cell: np.ndarray, key_id: np.ndarray, n_keys: int, texts: np.ndarray) -> KeyCells:
    """KeyCells of rows with cell ``cell`` and key ``texts[key_id]``."""
    c, k, _ = cells.distinct_pairs(np.asarray(cell, np.int64), np.asarray(key_id, np.int64), max(n_keys, 1))
    return KeyCells(c, np.asarray(texts, dtype=object)[k] if len(k) else np.zeros(0, dtype=object))


def merge_keys(states: Sequence[KeyCells], maps: Maps, n_groups: int, n_buckets: int) -> KeyCells:
    """The union of the partitions' pairs (duplicates kept: the finalize counts distinct keys)."""
    if not states:
        return KeyCells(np.zeros(0, np.int64), np.zeros(0, dtype=object))
    return KeyCells(np.concatenate([merged_cells(s.cell, g, n_buckets) for s, g in zip(states, maps)]),
                    np.concatenate([s.key for s in states]))


def key_ids(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ids of text keys, in the keys' sorted order."""
    if len(keys) == 0:
        return np.zeros(0, np.int64), 1
    uniq, ids = np.unique(keys.astype(str), return_inverse=True)
    return ids.reshape(-1).astype(np.int64), len(uniq)


def finalize_distinct(state: KeyCells, n_groups: int, n_buckets: int) -> np.ndarray:
    """Distinct keys per cell (``unique_session``, groups counted by ``dau``/``unique_group``)."""
    ids, n = key_ids(state.key)
    return cells.count_distinct(state.cell, ids, n, n_groups * n_buckets).reshape(n_groups, n_buckets)


def finalize_first_seen(state: KeyCells, n_groups: int, n_buckets: int) -> np.ndarray:
    """New keys per cell: each (group, key) counted in its first bucket (cumulative display)."""
    ids, n = key_ids(state.key)
    out = np.zeros(n_groups * n_buckets, dtype=np.float64)
    if len(ids) == 0:
        return out.reshape(n_groups, n_buckets)
    group, bucket = state.cell // n_buckets, state.cell % n_buckets
    first = np.full(n_groups * n, n_buckets, dtype=np.int64)
    np.minimum.at(first, group * n + ids, bucket)
    seen = np.flatnonzero(first < n_buckets)
    np.add.at(out, (seen // n) * n_buckets + first[seen], 1.0)
    return out.reshape(n_groups, n_buckets)


@attrs.frozen
class SessionKeys:
    """``unique_session``'s state: the sessions only this partition has, counted here — distinct
    per cell (``local``) and each (group, session) in its first bucket (``local_first``, the
    cumulative display) — and the (cell, key) pairs of the sessions more partitions have
    (``shared``), which merge by key. ``local`` None: which keys are shared is not known (a
    manifest without ``shared_texts``, partitions in memory), so every pair is in ``shared``."""

    local: np.ndarray | None
    local_first: np.ndarray | None
    shared: KeyCells


def session_keys_state(cell: np.ndarray, key_id: np.ndarray, n_keys: int, texts: np.ndarray, spans: np.ndarray | None,
                       n_cells: int, n_buckets: int, first: bool, distinct: Callable[[], np.ndarray]) -> SessionKeys:
    """The SessionKeys of rows with cell ``cell`` and key ``texts[key_id]``; ``spans[k]``: key
    ``k`` is in more than one partition (None: not known); ``first``: count each (group, local
    key) in its first bucket instead (a cumulative display); ``distinct()``: the distinct keys
    per cell of all the rows (the engine's fast count), from which the shared keys' are taken
    off — the key sets are disjoint."""
    if spans is None:
        return SessionKeys(None, None, key_cells(cell, key_id, n_keys, texts))
    cell, key_id = np.asarray(cell, np.int64), np.asarray(key_id, np.int64)
    here = ~spans[key_id]
    shared = key_cells(cell[~here], key_id[~here], n_keys, texts)
    if not first:
        local = np.asarray(distinct(), dtype=np.float64).reshape(-1) - np.bincount(shared.cell, minlength=n_cells)
        return SessionKeys(local, None, shared)
    c, k, _ = cells.distinct_pairs(cell[here], key_id[here], max(n_keys, 1))
    c, k = np.asarray(c, np.int64), np.asarray(k, np.int64)
    local = np.bincount(c, minlength=n_cells).astype(np.float64)
    group, bucket = c // n_buckets, c % n_buckets
    pair = group * max(n_keys, 1) + k
    order = np.lexsort((bucket, pair))  # each (group, key) from its earliest bucket
    new = np.ones(len(order), dtype=bool)
    new[1:] = pair[order][1:] != pair[order][:-1]
    local_first = np.bincount(c[order][new], minlength=n_cells).astype(np.float64)
    return SessionKeys(local, local_first, shared)


def merge_session_keys(states: Sequence[SessionKeys], maps: Maps, n_groups: int, n_buckets: int) -> SessionKeys:
    """Local counts added, shared pairs by union. Every partition was given the same list of
    shared keys, so all split their sessions or none does."""
    shared = merge_keys([s.shared for s in states], maps, n_groups, n_buckets)
    split = [s.local is not None for s in states]
    if not any(split):
        return SessionKeys(None, None, shared)
    if not all(split):
        raise AssertionError("partitions split their sessions by different lists")
    local = merge_add([np.asarray(s.local) for s in states], maps, n_groups, n_buckets)
    first = None if any(s.local_first is None for s in states) else merge_add(
        [np.asarray(s.local_first) for s in states], maps, n_groups, n_buckets)
    return SessionKeys(local, first, shared)


def finalize_session_keys(state: SessionKeys, n_groups: int, n_buckets: int) -> np.ndarray:
    out = finalize_distinct(state.shared, n_groups, n_buckets)
    return out if state.local is None else out + as_cells(state.local, n_groups, n_buckets)


def finalize_session_keys_first_seen(state: SessionKeys, n_groups: int, n_buckets: int) -> np.ndarray:
    out = finalize_first_seen(state.shared, n_groups, n_buckets)
    if state.local is None:
        return out
    if state.local_first is None:  # (every partition counts first buckets when the display is cumulative)
        raise AssertionError("a cumulative unique_session without its partitions' first buckets")
    return out + as_cells(state.local_first, n_groups, n_buckets)


# --- $session_duration: sessions' global bounds --------------------------------------------------------


@attrs.frozen
class SessionDurations:
    """Distinct (cell, session key) pairs, and the start/end (µs) of every session of the
    partition (a session's events may lie in several partitions: its bounds are the min and max
    over them)."""

    pairs: KeyCells
    session: np.ndarray  # object array: the session table's ids
    start_us: np.ndarray
    end_us: np.ndarray


def merge_sessions(states: Sequence[SessionDurations], maps: Maps, n_groups: int, n_buckets: int) -> SessionDurations:
    pairs = merge_keys([s.pairs for s in states], maps, n_groups, n_buckets)
    if not states:
        return SessionDurations(pairs, np.zeros(0, dtype=object), np.zeros(0, np.int64), np.zeros(0, np.int64))
    ids = np.concatenate([s.session for s in states])
    start = np.concatenate([s.start_us for s in states])
    end = np.concatenate([s.end_us for s in states])
    if len(ids) == 0:
        return SessionDurations(pairs, ids, start, end)
    uniq, inv = np.unique(ids.astype(str), return_inverse=True)
    lo = np.full(len(uniq), np.iinfo(np.int64).max, dtype=np.int64)
    hi = np.full(len(uniq), np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(lo, inv.reshape(-1), start)
    np.maximum.at(hi, inv.reshape(-1), end)
    return SessionDurations(pairs, uniq.astype(object), lo, hi)


def session_finalize(reduce: Callable[[np.ndarray, np.ndarray, int], np.ndarray]) -> Callable[[SessionDurations, int, int], np.ndarray]:
    """``reduce`` (the engine's reducer of the math) over each (cell, session)'s duration:
    whole seconds between the session's first and last event over every partition; 0 for
    events without a (UUIDv7) session, as the single store's session table."""
    from ..store.sessions import UUID7

    def finalize(state: SessionDurations, n_groups: int, n_buckets: int) -> np.ndarray:
        ids, n = key_ids(state.pairs.key)
        c, k, first = cells.distinct_pairs(state.pairs.cell, ids, n)
        texts = state.pairs.key[first] if len(first) else np.zeros(0, dtype=object)
        duration = (state.end_us // 1_000_000 - state.start_us // 1_000_000).astype(np.float64)
        index = {s: i for i, s in enumerate(state.session.tolist())}
        # a loop over the distinct (cell, session) pairs, not rows
        at = np.array([index.get(t.lower(), -1) if UUID7.match(t) else -1 for t in texts.tolist()], dtype=np.int64)
        values = np.where(at >= 0, duration[np.maximum(at, 0)] if len(duration) else 0.0, 0.0)
        return as_cells(reduce(c, values, n_groups * n_buckets), n_groups, n_buckets)

    return finalize


# --- weekly / monthly active groups ---------------------------------------------------------------------


@attrs.frozen
class ActiveKeys:
    """Distinct (group, key, activity time) triples of a partition."""

    group: np.ndarray
    key: np.ndarray  # object array of text keys
    t: np.ndarray


def active_keys(group: np.ndarray, key_id: np.ndarray, texts: np.ndarray, t: np.ndarray) -> ActiveKeys:
    group = np.asarray(group, dtype=np.int64)
    key_id = np.asarray(key_id, dtype=np.int64)
    if len(t) == 0:
        return ActiveKeys(group, np.zeros(0, dtype=object), t)
    order = np.lexsort((t, key_id, group))
    g, k, tt = group[order], key_id[order], t[order]
    head = np.ones(len(g), dtype=bool)
    head[1:] = (g[1:] != g[:-1]) | (k[1:] != k[:-1]) | (tt[1:] != tt[:-1])
    return ActiveKeys(g[head], np.asarray(texts, dtype=object)[k[head]], tt[head])


def merge_active(states: Sequence[ActiveKeys], maps: Maps, n_groups: int, n_buckets: int) -> ActiveKeys:
    if not states:
        return ActiveKeys(np.zeros(0, np.int64), np.zeros(0, dtype=object), np.zeros(0, np.int64))
    return ActiveKeys(np.concatenate([g[s.group] for s, g in zip(states, maps)]),
                      np.concatenate([s.key for s in states]), np.concatenate([s.t for s in states]))


def active_finalize(days: int) -> Callable[[ActiveKeys, int, int, Any, Any], np.ndarray]:
    """The engine's weekly/monthly active counts over the merged (group, key, time) triples."""

    def finalize(state: ActiveKeys, n_groups: int, n_buckets: int, ctx: Any, q: Any) -> np.ndarray:
        from ..engine.math import active_counts

        ids, _ = key_ids(state.key)
        return active_counts(ctx, q.axis, state.t, ids, state.group, n_groups, days)

    return finalize

