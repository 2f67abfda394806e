"""Partial → merge → finalize for a Trends query over a PartitionedStore.

Values the plan needs from the whole data set first (the earliest event of ``date_from: "all"``,
histogram bin edges) come from first phases (``phases.py``). Each partition then runs the
engine's own pipeline up to the per-cell values of every query (series × period), without
ranking, top-N or Other (``partials.py``). The coordinator adds the cells per (query, breakdown
value) — ``merge.py`` says which maths may — and hands the merged values to the engine's
``shape_query``, which ranks, folds Other, applies cumulative/smoothing and labels exactly as
for one store; formulas then run on the merged series (``engine/formulas.apply_formulas``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from ..engine import breakdown as bd
from ..engine.grouping import Grouping
from ..engine.math import effective_series, math_type
from ..engine.supported import check_project
from ..engine.trends import _is_other, _series_path, plan_queries, shape_query
from ..errors import ValidationError
from ..limits import DEFAULT_LIMITS, Limits
from ..project import Project
from ..query.model import TrendsFilter
from ..recent import Recent
from ..results import SeriesResult, TrendsResult
from ..store import EventStore
from ..store.columns import BREAKDOWN_NULL
from . import topn
from .cost import ValueBounds, check_partitioned_cost, dictionaries_of, fits_at_full_size
from .executors import partition_map
from .join import join_groups
from .merge import check_partitionable, folds_numbers, merge_of, needs_sessions
from .partials import Partial, context, empty_store
from .phases import Given, partial_answers_in, prepare
from .store import PartitionedStore
from .tasks import Map, Task, on_stores

# --- the coordinator ------------------------------------------------------------------------------


def run_partitioned(parts: PartitionedStore, filt: TrendsFilter, project: Project, now: dt.datetime,
                    limits: Limits, executor: Any = None) -> TrendsResult:
    """The single-store answer, from the partitions' Partials merged exactly (or
    UnsupportedError before any partition runs)."""
    check_partitionable(filt, project)
    known: dict[str, Any] = {}
    if any(s.math == "unique_session" for s in filt.series):
        texts = parts.shared_session_texts()
        if texts is not None:  # (sessions in one partition then count there: only these merge by key)
            known["shared_session_texts"] = texts
    with partition_map(executor, parts) as run:
        if needs_sessions(filt, project):  # (their events, gathered once per opened store)
            known["shared_session_events"] = lambda: parts.shared_session_events(run)
        shared, bounds = parts.kept("dictionaries", lambda: dictionaries_of(parts.manifest))
        return run_map(run, filt, project, now, limits, parts.person_rows_handles(), lambda: parts.memo("cost"),
                       shared=shared, value_bounds=bounds, n_events=len(parts), known=known)


def run_stores(stores: Sequence[EventStore], filt: TrendsFilter, project: Project, now: dt.datetime,
               limits: Limits = DEFAULT_LIMITS, person_rows: Sequence[np.ndarray] | None = None) -> TrendsResult:
    """``run_partitioned`` over partitions already in memory (each an EventStore holding whole
    persons, e.g. from ``split.subset``): the same partial and merge code, no files.
    ``person_rows``: each partition's persons' rows in the whole store (``split.subset`` keeps
    them in order: ``np.flatnonzero(part == p)``), which name persons without an id (``person_id``
    in breakdowns, filters and HogQL); without them, a query that names a person without an id
    raises UnsupportedError rather than name it by its row in its partition. The project is
    checked against the query as ``tc.trends`` checks it (``supported.check_project``): invalid
    test-account filters raise ValidationError here as there."""
    check_project(filt, project, limits)
    check_partitionable(filt, project)
    rows = (None,) * len(stores) if person_rows is None else tuple(person_rows)
    return run_map(on_stores(stores), filt, project, now, limits, rows, shared=_shares_dictionaries(stores),
                   n_events=sum(len(s) for s in stores))


def _shares_dictionaries(stores: Sequence[EventStore]) -> bool:
    """Whether partitions in memory hold the same property dictionaries (``split.subset``)."""
    if len(stores) < 2:
        return True
    first = stores[0].properties
    return all(s.properties.keys() == first.keys()
               and all(s.properties[k].dictionary is c.dictionary for k, c in first.items()) for s in stores[1:])


def run_map(run: Map, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
            rows: tuple[Any, ...] | None = None, memo: Callable[[], Recent[Any]] | None = None, *, shared: bool = False,
            value_bounds: ValueBounds | None = None, n_events: int | None = None,
            known: Mapping[str, Any] | None = None) -> TrendsResult:
    """First phases (``phases.prepare``: global values the plan needs, and the up-front cost
    check over all partitions, ``cost.py``), then every partition's Partials, merged.

    ``rows``: per partition a ``tasks.RowsHandle`` (None: not known); ``memo``: gives the opened
    store's memo of cost facts (called only when the facts are asked); ``shared``: the partitions
    share the whole store's dictionaries (or, with ``value_bounds``, the whole store's value
    bounds of the properties they hold in compact dictionaries: ``cost.dictionaries_of``);
    ``n_events``: how many events the partitions hold (None: unknown), which spares most
    queries the facts phase (``cost.fits_at_full_size``); ``known``:
    facts of the whole store from its manifest every partition is given (the session keys in more
    than one partition)."""

    found: list[Any] = []

    def check(common: Mapping[Any, Any]) -> None:
        earliest = {k: v for k, v in common.items() if k == "earliest_us"}
        ctx, queries = _plan(filt, project, now, limits, Given(earliest))
        if not topn.reads_facts(ctx) and _fits(ctx, queries, n_events):
            return  # within the limits whatever the facts, and nothing else reads them
        found.append(check_partitioned_cost(ctx, queries, run, filt, project, now, limits, earliest, shared,
                                            memo() if memo is not None else None, value_bounds))

    given = prepare(filt, project, now, limits, run, check, known)
    ctx, queries = _plan(filt, project, now, limits, given)
    ranked = topn.two_phase_queries(ctx, queries, found[0] if found else None)
    if not ranked:
        return merge_partials(ctx, queries, run(Task(partial_answers_in, (filt, project, now, limits, given), each=rows)))
    key, top = topn.token(), topn.top_of(ctx)  # phase 2 finds phase 1's cells under key (topn.py)
    per_partition = run(Task(topn.totals_in, (filt, project, now, limits, given, ranked, key, top), each=rows))
    pools = {i: topn.pool_of([p[i] for p in per_partition]) for i in ranked}
    cells = run(Task(topn.kept_cells_in, (filt, project, now, limits, given, ranked, key, top),
                     each=topn.second_phase_args(pools, len(per_partition), rows)))
    n_real = (len(queries) + 1) // 2 if filt.compare else len(queries)
    finished = {i: topn.finish(ctx, queries[i], pools[i], cells, i, n_real) for i in ranked}
    done = {i: v for i, v in finished.items() if v is not None}
    if len(done) < len(finished):  # kept values not certain from the candidates: every value
        again = run(Task(partial_answers_in, (filt, project, now, limits, given), each=rows))
        for i in finished.keys() - done.keys():
            done[i] = merge_query(ctx, queries[i], [p[i] for p in again], n_real)
    return merge_partials(ctx, queries, per_partition, done)


_FITS: Recent[tuple[Any, bool]] = Recent(64)
def _fits(ctx: Any, queries: list[Any], n_events: int | None) -> bool:
    """``cost.fits_at_full_size``, memoised with the plan (``_plan`` returns the same list for
    the same query, clock and limits)."""
    key = (id(queries), n_events)
    hit = _FITS.find(key)
    if hit is not None and hit[0] is queries:
        return hit[1]
    fits = fits_at_full_size(ctx, queries, n_events)
    _FITS.put(key, (queries, fits))
    return fits


_PLANS: Recent[tuple[Any, ...]] = Recent(64)
def _plan(filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits, given: Given) -> tuple[Any, list[Any]]:
    """The coordinator's QueryContext and planned queries — memoised: a dashboard asks the same
    query again and again, and the plan reads no rows, only the query, the clock and (``date_from:
    "all"``) the earliest event. Keyed by the very filter and project objects (``parse_filter``
    returns the same object for the same JSON), held by the entry so the key stays theirs."""
    earliest = given.common.get("earliest_us")
    key = (id(filt), id(project), now, limits, earliest)
    hit = _PLANS.find(key)
    if hit is not None and hit[0] is filt and hit[1] is project:
        return hit[2], hit[3]
    ctx = context(empty_store(), filt, project, now, limits)
    if "earliest_us" in given.common:
        ctx.given["earliest_us"] = earliest  # date_from 'all': the earliest event over all partitions
    queries = plan_queries(ctx)
    if len(queries) > limits.max_series:
        raise ValidationError(_series_path(filt), f"{len(queries)} series queries exceed max_series={limits.max_series}")
    _PLANS.put(key, (filt, project, ctx, queries))
    return ctx, queries


def merge_partials(ctx: Any, queries: list[Any], per_partition: list[list[Partial]],
                   done: Mapping[int, list[SeriesResult]] | None = None) -> TrendsResult:
    """The result of ``queries`` from every partition's Partials (partition-major); ``done``:
    the result series of the queries already merged (in two phases, ``topn.py``)."""
    filt, limits, project = ctx.filter, ctx.limits, ctx.project
    if any(len(p) != len(queries) for p in per_partition):
        raise AssertionError("partitions planned different queries")  # planning reads no rows
    n_real = (len(queries) + 1) // 2 if filt.compare else len(queries)
    per_query: list[list[SeriesResult]] = []
    cells = 0
    for i, q in enumerate(queries):
        rows = done[i] if done and i in done else merge_query(ctx, q, [p[i] for p in per_partition], n_real)
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
    series = effective_series(q.series, ctx.filter.interval)
    if series is not q.series:
        q = attrs.evolve(q, series=series)
    math = math_type(series.math)
    entry = merge_of(series, ctx.filter, ctx.display.cumulative and math.new_actors_cumulative)
    assert entry is not None  # check_partitionable refused the rest
    present = [p for p in partials if p.values is not None]
    if not present:
        return []
    has_rows = any(p.has_rows for p in present)
    n_buckets = q.axis.n_buckets
    if present[0].groups is None:
        maps = [np.zeros(1, dtype=np.int64)] * len(present)
        values = entry.finalize(entry.merge([p.values for p in present], maps, 1, n_buckets), 1,
                                n_buckets, ctx, q)
        return shape_query(ctx, q, math, values, None, n_real, has_rows=has_rows)
    joined = join_groups([p.groups or () for p in present], [p.kinds for p in present])
    n = len(joined.values)
    merged = entry.finalize(entry.merge([p.values for p in present], joined.maps, n, n_buckets), n, n_buckets, ctx, q)
    if entry.partial is not None and folds_numbers(ctx.filter):
        merged, grouping = fold_histogram(ctx.filter.breakdown, joined.values, merged)
    else:
        grouping = Grouping(codes=None, fine_to_final=np.arange(n), values=joined.values, kinds=joined.kinds)
    return shape_query(ctx, q, math, merged, grouping, n_real, has_rows=has_rows)


def fold_histogram(breakdown: Any, keys: tuple[Any, ...], values: np.ndarray) -> tuple[np.ndarray, Grouping]:
    """A non-additive math's values per fine group (``partials.fine_group_keys``: a number, None
    where not a number, or per item a number or a label) folded into the histograms' bins as the
    engine folds them: each histogram's bins on the min and max of its numbers — the query's
    rows' numeric bounds over all partitions —, and each final group the sum of its fine
    groups' values in the engine's order, ascending by the histograms' numbers in item order
    (the null marker's last; ``Grouping.fold``), so even float sums are the single store's."""
    items = breakdown.items
    one = len(items) == 1 and not breakdown.multi
    columns = [keys] if one else list(zip(*keys)) if keys else [() for _ in items]
    ranks, labels = [], []
    for item, column in zip(items, columns):
        if item.histogram_bin_count is None:
            labels.append(np.asarray(column, dtype=object))
            continue
        numbers = np.array([np.nan if x is None else float(x) for x in column], dtype=np.float64)
        uniq, rank = np.unique(numbers, return_inverse=True)  # (ascending, one NaN last)
        bin_of, bin_labels = bd.histogram_bins(uniq, item.histogram_bin_count)
        ranks.append(rank.reshape(-1))
        labels.append(np.asarray(bin_labels, dtype=object)[bin_of[rank.reshape(-1)]])
    order = np.lexsort(ranks[::-1])  # (lexsort's last key is the first)
    finals = list(zip(*(c[order].tolist() for c in labels)))
    position: dict[Any, int] = {}
    fine_to_final = np.fromiter((position.setdefault(f, len(position)) for f in finals), dtype=np.int64, count=len(finals))
    kinds = np.array([bd.NULL if BREAKDOWN_NULL in f else bd.NORMAL for f in position], dtype=np.int8)
    final = tuple(position) if breakdown.multi else tuple(f[0] for f in position)
    folded = Grouping(codes=None, fine_to_final=fine_to_final, values=final, kinds=kinds)
    return folded.fold(values[order]), Grouping(codes=None, fine_to_final=np.arange(len(final)), values=final,
                                                kinds=kinds)
