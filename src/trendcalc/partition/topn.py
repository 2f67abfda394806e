"""Top-N count breakdowns over partitions in two phases: every value's total, then the cells of
the kept values and Other.

A count broken down by a property of thousands of values (URLs) answers 25 values and Other.
Shipping every partition's (value × bucket) matrix to the coordinator to rank it there moves
thousands of series of which 26 are shown. Counts add, so the ranking needs only each value's
total: phase one returns per partition its values and their totals (no buckets), the coordinator
adds them by value and ranks them as one store would (``breakdown.rank_query``); phase two gives
every partition the kept values, and each returns only their cells and Other's (every other
row: ``partials.py``, a Partial flagged ``top_n``), which add up exactly (integers) to one
store's. ``run.merge_query`` shapes them with the engine's ``count_series``.

Which queries: what ``engine/topn.applies`` takes on one store (a count by one property over
bucket runs); the others of the filter keep the one-phase path.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import numpy as np

from ..limits import Limits
from ..project import Project
from ..query.model import TrendsFilter
from ..store import EventStore
from .phases import Given
from .tasks import Map, Task

KEY = "topn_kept"
"""``ctx.given`` key of a query's kept values: (kept values in display order, whether Other has
values), or None when the query is not ranked this way. ``partials.py`` reads it."""


def candidate(filt: TrendsFilter) -> bool:
    """Whether a filter may have count queries by one property (the partitions then say which)."""
    b = filt.breakdown
    if b is None or b.multi or len(b.items) != 1:
        return False
    item = b.items[0]
    return item.type != "cohort" and item.histogram_bin_count is None and any(s.math == "total" for s in filt.series)


def ranked(filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits, given: Given, run: Map,
           rows: tuple[Any, ...] | None = None) -> Given:
    """``given`` with, per planned query, its kept values (``KEY``): phase one over the
    partitions, the ranking on the coordinator. Unchanged when no query can be ranked so."""
    if not candidate(filt) or given.per_query is not None:  # (histogram breakdowns: never candidates)
        return given
    from ..engine import breakdown as bd
    from .partials import context

    found = run(Task(value_totals_in, (filt, project, now, limits, given), each=rows))
    if not found or all(t is None for p in found for t in p):
        return given
    ctx = context(EventStore.from_records([]), filt, project, now, limits)  # ranking reads no rows
    given.apply(ctx)
    per_query: list[dict[str, Any]] = []
    for i in range(len(found[0])):
        parts = [p[i] for p in found if p[i] is not None]
        if not parts:
            per_query.append({KEY: None})
            continue
        index: dict[str, int] = {}
        kinds: list[int] = []
        for values, k, _ in parts:
            for v, kind in zip(values, k.tolist()):
                if v not in index:
                    index[v] = len(index)
                    kinds.append(kind)
        totals = np.zeros(len(index), dtype=np.int64)
        for values, _, t in parts:
            totals[np.array([index[v] for v in values], dtype=np.intp)] += t
        names = list(index)
        keep, other = bd.rank_query(ctx, names, np.array(kinds, dtype=np.int8), totals.astype(np.float64))
        per_query.append({KEY: (tuple(names[g] for g in keep), bool(len(other)))})
    return attrs.evolve(given, per_query=tuple(per_query))


# --- the worker side ------------------------------------------------------------------------------


def value_totals_in(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
                    given: Given, *rows: Any) -> list[tuple[tuple[str, ...], np.ndarray, np.ndarray] | None]:
    """Per planned query over one partition: (breakdown values with rows, their kinds, their rows)
    when ``engine/topn`` ranks it, else None."""
    from ..engine import topn
    from ..engine.math import effective_series, math_type
    from ..engine.trends import build_frame, plan_queries
    from .partials import context

    ctx = context(store, filt, project, now, limits)
    given = given.for_store(store)
    (given.with_rows(rows[0]) if rows else given).apply(ctx)
    out: list[tuple[tuple[str, ...], np.ndarray, np.ndarray] | None] = []
    for q in plan_queries(ctx):
        series = effective_series(q.series, filt.interval)
        if series is not q.series:
            q = attrs.evolve(q, series=series)
        math = math_type(series.math)
        frame = build_frame(ctx, q)
        if frame is None or not topn.applies(ctx, q, frame, math):
            out.append(None)
            continue
        out.append(topn.value_totals(ctx, frame))
    return out


def merged(ctx: Any, q: Any, math: Any, partials: list[Any], n_real: int) -> list[Any]:
    """The result series of a ranked query from its partitions' ``kept_partial``s."""
    from ..engine import breakdown as bd
    from ..engine.topn import TopN
    from ..engine.trends import count_series

    b = ctx.filter.breakdown
    cells = partials[0].values.copy()
    for p in partials[1:]:
        cells += p.values
    values: list[Any] = list(partials[0].groups or ())
    has_other = len(cells) > len(values)
    if has_other:
        values.append(bd.other_value(b.multi, len(b.items)))
    return count_series(ctx, q, math, TopN(values, cells, has_other), n_real)
