"""Top-N and Other of an additive math in two phases: candidates first, then only their cells.

A breakdown by a URL keeps 25 values and folds tens of thousands into Other, yet the one-phase
merge ships every partition's cells of every value (values × buckets), and the coordinator
matches them all by value. For a math whose cells are sums over persons (``merge.ADD``: counts,
DAU, weekly/monthly active, first-time; integers, so sums are exact in any order):

1. each partition computes its cells as usual and keeps them (``_KEPT``, this process); it
   sends its candidates (``Candidates``): the ``top_of`` normal values of greatest total over
   the buckets and every null marker, with their totals, and the greatest total of a value it
   did not send (its bound);
2. the coordinator takes the union of the candidates (``pool_of``);
3. each partition sends the cells of every candidate (zeros where it has none), the sum of all
   its cells per bucket, and whether it has other values;
4. the coordinator adds them: the candidates' exact totals, ranked with the engine's ``rank``
   — the totals the single store ranks on. A value no partition sent has a total of at most the
   partitions' bounds added; when every kept value is normal and above that sum (or nothing was
   left out) the kept values, their order, ties and the null marker are the single store's, and
   Other is everything minus the kept cells (counts: exact). The engine's ``grouped_series``
   shapes them. Otherwise (values of near-equal totals around the cut) the query merges every
   value in one more phase, as without this module.

A partition whose phase-1 cells are gone from this process (a Dask worker other than the one of
phase 1, an evicted entry) computes them again. Other maths, small breakdowns (the coordinator
knows their value bounds from the cost facts, ``cost.py``), total-value displays and one-bucket
axes keep the one-phase merge.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from ..engine.cost import breakdown_values
from ..engine.math import effective_series, math_type
from ..limits import Limits
from ..project import Project
from ..query.model import TrendsFilter
from ..results import SeriesResult
from ..store import EventStore
from .join import join_groups
from .merge import ADD, merge_of
from .partials import Partial

MIN_VALUES = 200
"""Two phases pay when a query may have more breakdown values than this (and more than twice the
kept ones): below it, one phase's cells are few and a second round trip costs more."""

KEEP_AT_MOST = 16
CANDIDATES_PER_KEPT = 4
MIN_CANDIDATES = 64
"""Phase 1 sends per partition the ``max(MIN_CANDIDATES, CANDIDATES_PER_KEPT × (limit + 1))``
normal values of greatest total."""

ALWAYS = False
"""Rank every additive breakdown in two phases, however few its values (the tests set it, to
check the two-phase path on every conformance case)."""

_KEPT: dict[Any, tuple[EventStore, Partial]] = {}
_KEPT_LOCK = threading.Lock()
_TOKENS = itertools.count()


def token() -> tuple[int, int]:
    """A key naming one partitioned run's phase-1 cells in every process (pid, counter)."""
    return os.getpid(), next(_TOKENS)


def reads_facts(ctx: Any) -> bool:
    """Whether ``two_phase_queries`` may rank some query of this run, reading its cost facts
    (a breakdown over a time axis)."""
    return ctx.filter.breakdown is not None and (ALWAYS or not ctx.display.total_value)


def two_phase_queries(ctx: Any, queries: Sequence[Any], facts: Sequence[Any] | None) -> tuple[int, ...]:
    """The planned queries (indexes) to rank in two phases: an additive integer math with a
    breakdown over a time axis whose values may be many (``facts``: the queries' combined cost
    facts, ``engine.cost.QueryFacts``; None: not known, one phase)."""
    b = ctx.filter.breakdown
    if facts is None or b is None or not reads_facts(ctx):
        return ()
    limit = ctx.display.breakdown_limit or b.limit
    out = []
    for i, (q, f) in enumerate(zip(queries, facts)):
        if q.cohort is not None or (q.axis.n_buckets <= 1 and not ALWAYS):
            continue
        series = effective_series(q.series, ctx.filter.interval)
        math = math_type(series.math)
        first = ctx.display.cumulative and math.new_actors_cumulative
        entry = merge_of(series, ctx.filter, first)
        if entry is not ADD or not math.integer:
            continue
        _, final = breakdown_values(ctx, q, f.rows, f.bounds)
        if ALWAYS or final > max(MIN_VALUES, 2 * (limit + 1)):
            out.append(i)
    return tuple(out)


# --- the worker side ------------------------------------------------------------------------------


@attrs.frozen
class Candidates:
    """Phase 1's answer of one partition to one ranked query: its best values by total over the
    buckets — every value of another class than normal (the null marker), and the ``top`` normal
    ones — with their classes and totals; ``bound``: the greatest total of a normal value it did
    not send (None: it sent every value)."""

    groups: tuple[Any, ...]
    kinds: np.ndarray
    totals: np.ndarray
    bound: float | None


def totals_in(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
              given: Any, ranked: tuple[int, ...], key: Any, top: int, *rows: Any) -> list[Any]:
    """Phase 1: every query's Partial, but for the ``ranked`` ones its Candidates (the cells kept
    in this process under ``key`` for phase 2)."""
    from ..engine.grouping import NORMAL
    from .phases import partial_answers_in

    partials: list[Any] = partial_answers_in(store, filt, project, now, limits, given, *rows)
    for i in ranked:
        p = partials[i]
        if p.values is None or p.groups is None:
            continue
        with _KEPT_LOCK:
            while len(_KEPT) >= KEEP_AT_MOST:  # runs whose phase 2 never came (an error between phases)
                _KEPT.pop(next(iter(_KEPT)))
            _KEPT[(key, i, id(store))] = (store, p)
        totals = np.asarray(p.values, dtype=np.float64).sum(axis=1)
        kinds = np.asarray(p.kinds)
        normal = np.flatnonzero(kinds == NORMAL)
        bound = None
        if len(normal) > top:
            order = np.argpartition(-totals[normal], top)  # the top best first, then the rest
            bound = float(totals[normal[order[top:]]].max())
            send = np.sort(np.concatenate([normal[order[:top]], np.flatnonzero(kinds != NORMAL)]))
        else:
            send = np.arange(len(totals))
        groups = p.groups
        partials[i] = Candidates(tuple(groups[g] for g in send.tolist()), kinds[send], totals[send], bound)
    return partials


def kept_cells_in(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
                  given: Any, ranked: tuple[int, ...], key: Any, top: int,
                  each: tuple[Any, dict[int, tuple[Any, ...]]]) -> dict[int, tuple[np.ndarray, np.ndarray, bool] | None]:
    """Phase 2: per ranked query, this partition's (cells of each candidate value — zeros where it
    has none —, its cells of all values added per bucket, whether it has values besides the
    candidates); ``each``: (its RowsHandle, per ranked query the candidate values). None where
    the series has no breakdown values here."""
    handle, wanted = each
    out: dict[int, tuple[np.ndarray, np.ndarray, bool] | None] = {}
    missing = [i for i in ranked if i in wanted and _take(key, i, store) is None]
    again = None
    if missing:  # phase 1 ran in another process (or was evicted): compute again
        from .phases import partial_answers_in

        again = partial_answers_in(store, filt, project, now, limits, given, *(() if handle is None else (handle,)))
    for i in ranked:
        p = (again[i] if again is not None and i in missing else _take(key, i, store, pop=True)) if i in wanted else None
        if p is None or p.values is None or p.groups is None:
            out[i] = None
            continue
        values = np.asarray(p.values, dtype=np.float64)
        position = dict(zip(p.groups, range(len(p.groups))))
        local = np.fromiter((position.get(v, -1) for v in wanted[i]), dtype=np.int64, count=len(wanted[i]))
        have = local >= 0
        cells = np.zeros((len(local), values.shape[1]), dtype=np.float64)
        cells[have] = values[local[have]]
        out[i] = (cells, values.sum(axis=0), int(have.sum()) < len(p.groups))
    return out


def _take(key: Any, i: int, store: EventStore, pop: bool = False) -> Partial | None:
    with _KEPT_LOCK:
        hit = _KEPT.pop((key, i, id(store)), None) if pop else _KEPT.get((key, i, id(store)))
    if hit is None or hit[0] is not store:
        return None
    return hit[1]


# --- the coordinator ------------------------------------------------------------------------------


def top_of(ctx: Any) -> int:
    """How many normal values each partition sends in phase 1: a few times the kept ones, so that
    the kept values' totals usually clear the bound of the values not sent."""
    b = ctx.filter.breakdown
    limit = ctx.display.breakdown_limit or b.limit
    return max(MIN_CANDIDATES, CANDIDATES_PER_KEPT * (limit + 1))


@attrs.frozen
class Pool:
    """Phase 1's merge of one query: the union of the partitions' candidate values (``join``),
    their classes, and the sum of the partitions' bounds (None: every partition sent every value)."""

    values: tuple[Any, ...]
    kinds: np.ndarray
    bound: float | None


def pool_of(partials: Sequence[Any]) -> Pool | None:
    """The candidates of one query over the partitions (None: the series exists in none)."""
    present = [p for p in partials if isinstance(p, Candidates)]
    if not present and all(getattr(p, "values", None) is None for p in partials):
        return None
    joined = join_groups([p.groups for p in present], [p.kinds for p in present])
    bounds = [p.bound for p in present if p.bound is not None]
    return Pool(joined.values, joined.kinds, float(sum(bounds)) if bounds else None)


def finish(ctx: Any, q: Any, pool: Pool | None, cells: Sequence[Any], i: int, n_real: int) -> list[SeriesResult] | None:
    """Phase 2's merge of query ``i``: the candidates' exact totals (their cells added over the
    partitions) ranked by the engine's ``rank``, shaped by ``grouped_series`` — or None when the
    kept values are not certain (a value no partition sent could rank among them: its total may
    reach the partitions' bounds added), and the query must merge every value."""
    from ..engine.grouping import NORMAL, Grouping
    from ..engine.math import effective_series, math_type
    from ..engine.trends import grouped_series, rank_groups

    if pool is None:
        return []
    series = effective_series(q.series, ctx.filter.interval)
    if series is not q.series:
        q = attrs.evolve(q, series=series)
    n = len(pool.values)
    merged = np.zeros((n, q.axis.n_buckets), dtype=np.float64)
    everything = np.zeros(q.axis.n_buckets, dtype=np.float64)
    outside = False
    for part in cells:
        got = part.get(i)
        if got is not None:
            merged += got[0]
            everything += got[1]
            outside = outside or got[2]
    totals = merged.sum(axis=1)
    grouping = Grouping(codes=None, fine_to_final=np.arange(n), values=pool.values, kinds=pool.kinds)
    keep, other = rank_groups(ctx, grouping, totals)
    if pool.bound is not None:  # some values were not sent: each has a total of at most pool.bound
        b = ctx.filter.breakdown
        limit = ctx.display.breakdown_limit or b.limit
        certain = len(keep) == limit and all(
            totals[g] > pool.bound and (ctx.display.total_value or pool.kinds[g] == NORMAL) for g in keep)
        if not certain:
            return None
    kept = merged[keep]
    has_other = len(other) > 0 or outside
    pairs = [(pool.values[g], kept[j]) for j, g in enumerate(keep)]
    folded = everything - kept.sum(axis=0)  # counts: exact
    return grouped_series(ctx, q, math_type(series.math), pairs, folded if has_other else None, n_real)


def second_phase_args(pools: dict[int, Pool | None], n_partitions: int, rows: tuple[Any, ...] | None
                      ) -> tuple[tuple[Any, dict[int, tuple[Any, ...]]], ...]:
    """Per partition, phase 2's own argument: (its RowsHandle, per ranked query the candidates)."""
    wanted = {i: p.values for i, p in pools.items() if p is not None}
    return tuple((None if rows is None else rows[p], wanted) for p in range(n_partitions))


__all__ = ["Candidates", "Pool", "finish", "kept_cells_in", "pool_of", "second_phase_args", "top_of", "totals_in",
           "two_phase_queries"]
