"""Partial → merge → finalize for a Trends query over a PartitionedStore.

Values the plan needs from the whole data set first (the earliest event of ``date_from: "all"``,
histogram bin edges) come from first phases (``phases.py``); a count broken down by one property
is ranked first on every value's total, and the partitions then return only the kept values'
cells and Other's (``topn.py``). Each partition then runs the engine's own pipeline up to the
per-cell values of every query (series × period), without ranking, top-N or Other
(``partials.py``). The coordinator adds the cells per (query, breakdown
value) — ``merge.py`` says which maths may — and hands the merged values to the engine's
``shape_query``, which ranks, folds Other, applies cumulative/smoothing and labels exactly as
for one store; formulas then run on the merged series (``engine/formulas.apply_formulas``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from ..errors import ValidationError
from ..limits import DEFAULT_LIMITS, Limits
from ..project import Project
from ..query.model import TrendsFilter
from ..results import SeriesResult, TrendsResult
from ..store import EventStore
from . import topn
from .merge import check_partitionable, merge_of
from .partials import Partial, context
from .phases import Given, partial_answers_in, prepare
from .store import PartitionedStore
from .tasks import Map, Task, on_stores

# --- the coordinator ------------------------------------------------------------------------------


def run_partitioned(parts: PartitionedStore, filt: TrendsFilter, project: Project, now: dt.datetime,
                    limits: Limits, executor: Any = None) -> TrendsResult:
    """The single-store answer, from the partitions' Partials merged exactly (or
    UnsupportedError before any partition runs)."""
    from .executors import partition_map

    check_partitionable(filt, project)
    with partition_map(executor, parts) as run:
        return run_map(run, filt, project, now, limits, parts.person_rows_handles())


def run_stores(stores: Sequence[EventStore], filt: TrendsFilter, project: Project, now: dt.datetime,
               limits: Limits = DEFAULT_LIMITS, person_rows: Sequence[np.ndarray] | None = None) -> TrendsResult:
    """``run_partitioned`` over partitions already in memory (each an EventStore holding whole
    persons, e.g. from ``split.subset``): the same partial and merge code, no files.
    ``person_rows``: each partition's persons' rows in the whole store (``split.subset`` keeps
    them in order: ``np.flatnonzero(part == p)``), which name persons without an id."""
    check_partitionable(filt, project)
    return run_map(on_stores(stores), filt, project, now, limits, None if person_rows is None else tuple(person_rows))


def run_map(run: Map, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
            rows: tuple[Any, ...] | None = None) -> TrendsResult:
    """First phases (``phases.prepare``: global values the plan needs), then every partition's
    Partials, merged. ``rows``: per partition a ``tasks.RowsHandle`` (None: not known)."""
    given = topn.ranked(filt, project, now, limits, prepare(filt, project, now, limits, run), run, rows)
    ctx, queries = _plan(filt, project, now, limits, given)
    return merge_partials(ctx, queries, run(Task(partial_answers_in, (filt, project, now, limits, given), each=rows)))


def _plan(filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits, given: Given) -> tuple[Any, list[Any]]:
    from ..engine.trends import _series_path, plan_queries

    ctx = context(EventStore.from_records([]), filt, project, now, limits)  # shaping reads no rows
    given.apply(ctx)  # date_from 'all': the earliest event over all partitions
    queries = plan_queries(ctx)
    if len(queries) > limits.max_series:
        raise ValidationError(_series_path(filt), f"{len(queries)} series queries exceed max_series={limits.max_series}")
    return ctx, queries


def merge_partials(ctx: Any, queries: list[Any], per_partition: list[list[Partial]]) -> TrendsResult:
    """The result of ``queries`` from every partition's Partials (partition-major)."""
    from ..engine.trends import _is_other, _series_path

    filt, limits, project = ctx.filter, ctx.limits, ctx.project
    if any(len(p) != len(queries) for p in per_partition):
        raise AssertionError("partitions planned different queries")  # planning reads no rows
    n_real = (len(queries) + 1) // 2 if filt.compare else len(queries)
    per_query: list[list[SeriesResult]] = []
    cells = 0
    for i, q in enumerate(queries):
        rows = merge_query(ctx, q, [p[i] for p in per_partition], n_real)
        cells += sum(len(r.data or ()) or 1 for r in rows)
        if cells > limits.max_cells:
            raise ValidationError(_series_path(filt), f"the answer has more than max_cells={limits.max_cells} numbers "
                                                      "(series × breakdown values × buckets); narrow the query")
        per_query.append(rows)
    if filt.formulas:  # on the merged series, exactly as the engine applies them to its own
        from ..engine.formulas import apply_formulas

        results = apply_formulas(ctx, queries, per_query)
    else:
        results = [r for rows in per_query for r in rows]
    if filt.breakdown is not None and filt.breakdown.hide_other:
        results = [r for r in results if not _is_other(r.breakdown_value)]
    return TrendsResult(results, timezone=project.timezone, interval=filt.interval, total_value=ctx.display.total_value)


def merge_query(ctx: Any, q: Any, partials: list[Partial], n_real: int) -> list[SeriesResult]:
    """One query's result series from its Partials: states merged by the math's registry entry
    (``merge.py``), then the engine's shaping."""
    from ..engine.grouping import Grouping
    from ..engine.math import effective_series, math_type
    from ..engine.trends import shape_query

    series = effective_series(q.series, ctx.filter.interval)
    if series is not q.series:
        q = attrs.evolve(q, series=series)
    math = math_type(series.math)
    entry = merge_of(series, ctx.filter, ctx.display.cumulative and math.new_actors_cumulative)
    assert entry is not None  # check_partitionable refused the rest
    present = [p for p in partials if p.values is not None]
    if not present:
        return []
    if present[0].top_n:  # a count ranked over all partitions first: the kept values' cells
        return topn.merged(ctx, q, math, present, n_real)
    has_rows = any(p.has_rows for p in present)
    n_buckets = q.axis.n_buckets
    if present[0].groups is None:
        maps = [np.zeros(1, dtype=np.int64)] * len(present)
        values = entry.finalize(entry.merge([p.values for p in present], maps, 1, n_buckets), 1,
                                n_buckets, ctx, q)
        return shape_query(ctx, q, math, values, None, n_real, has_rows=has_rows)
    index: dict[Any, int] = {}
    kinds: list[int] = []
    for p in present:
        for value, kind in zip(p.groups or (), np.asarray(p.kinds).tolist()):
            if value not in index:
                index[value] = len(index)
                kinds.append(kind)
    maps = [np.array([index[v] for v in p.groups or ()], dtype=np.int64) for p in present]
    merged = entry.finalize(entry.merge([p.values for p in present], maps, len(index), n_buckets),
                            len(index), n_buckets, ctx, q)
    grouping = Grouping(codes=None, fine_to_final=np.arange(len(index)), values=tuple(index),
                        kinds=np.asarray(kinds, dtype=present[0].kinds.dtype if present[0].kinds is not None else np.int8))
    return shape_query(ctx, q, math, merged, grouping, n_real, has_rows=has_rows)
