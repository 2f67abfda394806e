"""Top-N and Other of an additive math in two phases: rank on totals first, then ship only the
kept values' cells.

A breakdown by a URL keeps 25 values and folds tens of thousands into Other, yet the one-phase
merge ships every partition's cells of every value (values × buckets) to the coordinator. For a
math whose cells are sums over persons (``merge.ADD``: counts, DAU, weekly/monthly active,
first-time; integers, so sums are exact in any order):

1. each partition computes its cells as usual, keeps them (``_KEPT``, this process), and sends
   per breakdown value one number: its total over the buckets (with the value's class);
2. the coordinator adds the totals by value (``join.py``) and ranks them with the engine's own
   ``rank`` — the totals the single store ranks on, so the kept values, their order, ties and
   the null marker are the single store's;
3. each partition sends the cells of the kept values (zeros where it has none) and its other
   values' cells folded into one row (the column sums minus the kept rows: integers, exact);
4. the coordinator adds them and hands the kept (value, cells) pairs and Other to the engine's
   ``grouped_series`` — the tail of ``shape_query``.

A partition whose kept cells are gone from this process (a Dask worker other than the one of
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

from ..limits import Limits
from ..project import Project
from ..query.model import TrendsFilter
from ..results import SeriesResult
from ..store import EventStore
from .join import join_groups
from .partials import Partial

MIN_VALUES = 200
"""Two phases pay when a query may have more breakdown values than this (and more than twice the
kept ones): below it, one phase's cells are few and a second round trip costs more."""

KEEP_AT_MOST = 16
ALWAYS = False
"""Rank every additive breakdown in two phases, however few its values (the tests set it, to
check the two-phase path on every conformance case)."""

_KEPT: dict[Any, tuple[EventStore, Partial]] = {}
_KEPT_LOCK = threading.Lock()
_TOKENS = itertools.count()


def token() -> tuple[int, int]:
    """A key naming one partitioned run's phase-1 cells in every process (pid, counter)."""
    return os.getpid(), next(_TOKENS)


def two_phase_queries(ctx: Any, queries: Sequence[Any], facts: Sequence[Any] | None) -> tuple[int, ...]:
    """The planned queries (indexes) to rank in two phases: an additive integer math with a
    breakdown over a time axis whose values may be many (``facts``: the queries' combined cost
    facts, ``engine.cost.QueryFacts``; None: not known, one phase)."""
    from ..engine.cost import breakdown_values
    from ..engine.math import effective_series, math_type
    from .merge import ADD, merge_of

    b = ctx.filter.breakdown
    if facts is None or b is None or (ctx.display.total_value and not ALWAYS):
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


def totals_in(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
              given: Any, ranked: tuple[int, ...], key: Any, *rows: Any) -> list[Partial]:
    """Phase 1: every query's Partial, but for the ``ranked`` ones only each breakdown value's
    total over the buckets (their cells kept in this process under ``key``)."""
    from .phases import partial_answers_in

    partials = partial_answers_in(store, filt, project, now, limits, given, *rows)
    for i in ranked:
        p = partials[i]
        if p.values is None or p.groups is None:
            continue
        with _KEPT_LOCK:
            while len(_KEPT) >= KEEP_AT_MOST:  # runs whose phase 2 never came (an error between phases)
                _KEPT.pop(next(iter(_KEPT)))
            _KEPT[(key, i, id(store))] = (store, p)
        partials[i] = attrs.evolve(p, values=np.asarray(p.values, dtype=np.float64).sum(axis=1))
    return partials


def kept_cells_in(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
                  given: Any, ranked: tuple[int, ...], key: Any, each: tuple[Any, dict[int, np.ndarray]]
                  ) -> dict[int, tuple[np.ndarray, np.ndarray] | None]:
    """Phase 2: per ranked query, (the kept values' cells, the other values' cells folded) of
    this partition; ``each``: (its RowsHandle, per ranked query the partition's group of each
    kept value, -1 where it has none). None where the series has no breakdown values here."""
    handle, kept = each
    out: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
    missing = [i for i in ranked if _take(key, i, store) is None and i in kept]
    again = None
    if missing:  # phase 1 ran in another process (or was evicted): compute again
        from .phases import partial_answers_in

        again = partial_answers_in(store, filt, project, now, limits, given, *(() if handle is None else (handle,)))
    for i in ranked:
        if i not in kept:
            out[i] = None
            continue
        p = again[i] if again is not None and i in missing else _take(key, i, store, pop=True)
        if p is None or p.values is None:
            out[i] = None
            continue
        values = np.asarray(p.values, dtype=np.float64)
        local = kept[i]
        have = local >= 0
        cells = np.zeros((len(local), values.shape[1]), dtype=np.float64)
        cells[have] = values[local[have]]
        out[i] = (cells, values.sum(axis=0) - cells.sum(axis=0))  # integers: exact
    return out


def _take(key: Any, i: int, store: EventStore, pop: bool = False) -> Partial | None:
    with _KEPT_LOCK:
        hit = _KEPT.pop((key, i, id(store)), None) if pop else _KEPT.get((key, i, id(store)))
    if hit is None or hit[0] is not store:
        return None
    return hit[1]


# --- the coordinator ------------------------------------------------------------------------------


@attrs.frozen
class Ranked:
    """One ranked query after phase 1: the kept values in display order, whether any value is
    folded into Other, and per partition (of those with the series) its group of each kept value."""

    values: tuple[Any, ...]
    has_other: bool
    local: list[np.ndarray]
    present: list[int]


def rank_totals(ctx: Any, partials: Sequence[Partial]) -> Ranked | None:
    """Phase 1's merge of one query: the totals added by value and ranked by the engine's
    ``rank`` (None: the series exists in no partition)."""
    from ..engine.grouping import Grouping
    from ..engine.trends import rank_groups

    present = [j for j, p in enumerate(partials) if p.values is not None]
    if not present:
        return None
    joined = join_groups([partials[j].groups or () for j in present], [partials[j].kinds for j in present])
    totals = np.zeros(len(joined.values), dtype=np.float64)
    for j, gmap in zip(present, joined.maps):
        totals[gmap] += partials[j].values  # each value once per partition
    grouping = Grouping(codes=None, fine_to_final=np.arange(len(joined.values)), values=joined.values,
                        kinds=joined.kinds)
    keep, other = rank_groups(ctx, grouping, totals)
    keep_a = np.asarray(keep, dtype=np.int64)
    local = []
    for gmap in joined.maps:
        where = np.full(len(joined.values), -1, dtype=np.int64)
        where[gmap] = np.arange(len(gmap))
        local.append(where[keep_a])
    return Ranked(tuple(joined.values[g] for g in keep), len(other) > 0, local, present)


def finish(ctx: Any, q: Any, ranked: Ranked | None, cells: Sequence[dict[int, Any]], i: int,
           n_real: int) -> list[SeriesResult]:
    """Phase 2's merge of query ``i``: the kept values' cells and Other added over the
    partitions, shaped by the engine (``grouped_series``)."""
    from ..engine.math import effective_series, math_type
    from ..engine.trends import grouped_series

    if ranked is None:
        return []
    series = effective_series(q.series, ctx.filter.interval)
    if series is not q.series:
        q = attrs.evolve(q, series=series)
    kept = np.zeros((len(ranked.values), q.axis.n_buckets), dtype=np.float64)
    other = np.zeros(q.axis.n_buckets, dtype=np.float64)
    for j in ranked.present:
        got = cells[j].get(i)
        if got is not None:
            kept += got[0]
            other += got[1]
    pairs = [(value, kept[g]) for g, value in enumerate(ranked.values)]
    return grouped_series(ctx, q, math_type(series.math), pairs, other if ranked.has_other else None, n_real)


def second_phase_args(ranked: dict[int, Ranked | None], n_partitions: int, rows: tuple[Any, ...] | None
                      ) -> tuple[tuple[Any, dict[int, np.ndarray]], ...]:
    """Per partition, phase 2's own argument: (its RowsHandle, per ranked query its group of each
    kept value)."""
    out = []
    for p in range(n_partitions):
        mine: dict[int, np.ndarray] = {}
        for i, r in ranked.items():
            if r is not None and p in r.present:
                mine[i] = r.local[r.present.index(p)]
        out.append((None if rows is None else rows[p], mine))
    return tuple(out)


__all__ = ["finish", "kept_cells_in", "rank_totals", "second_phase_args", "totals_in", "two_phase_queries"]
