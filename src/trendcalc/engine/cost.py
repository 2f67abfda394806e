"""A query's cost, estimated from its plan before any row is read, and checked against the limits.

Why up front: the limits on the answer's size (``max_cells``) and on a breakdown's matrix
(``max_breakdown_cells``) used to be counted as the work happened, so a query over them was
refused only after it had computed every series before the one that crossed the line (200
monthly-active series hourly with a breakdown: half a minute and most of a gigabyte). Everything
the estimate needs is known once the queries are planned and costs no row reads:

- the rows of a series: per event name, the length of its time-sorted slice in the window
  (two binary searches per event name, memoised per window);
- the breakdown values of a series: for each breakdown dimension at most the distinct values its
  dictionary holds (plus the missing value), and never more than the series' rows; a multiple
  breakdown is the product of its dimensions, again at most the rows;
- buckets: the planned time axis.

Every bound is an upper bound: a query whose estimate is within the limits may still be refused by
the checks made while it runs (they stay, as a backstop), but a query the estimate refuses would
have exceeded the limit or come within the slack of these bounds (a breakdown by a property with 5
values over 30 buckets is estimated at 6 × 30 cells, not rows × buckets).

``work`` counts *row visits*: a selected row read once, once more per filter leaf evaluated on it,
plus each breakdown matrix cell, plus a fixed ``LEAF_OVERHEAD`` per leaf evaluation (its look-up
table and call cost, which dominate on small stores). Filters every series shares (test accounts,
the global ``properties``) are evaluated once per query run over the union of the series' rows
(``engine/shared_filters.py``) and are counted so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np

from ..errors import ValidationError
from ..query.model import BreakdownItem, PropertyFilter, PropertyGroup, Series
from .block_positions import block_positions, rows_between
from .context import QueryContext
from .math import MATHS, effective_series
from .plan import Query, series_event_names
from .series_parts import selection_groups

DAY_US = 86_400_000_000
LOOKBACK_US = 31 * DAY_US
"""How far before its axis a math may read rows: monthly active users look back 30 days (+1 for a
DST shift and the floor of date_from)."""
LEAF_OVERHEAD = 50_000
"""Row visits one leaf evaluation costs whatever its rows: its look-up table over the dictionary
(a pattern compiled, values compared) and the NumPy calls, up to about a millisecond."""
BUCKET_COST = 100
"""Row visits per (series × bucket): the per-bucket work of a series' math and shaping (labels,
dates, numbers), a few microseconds."""
ROLLING_BUCKET_COST = 2_000
"""Row visits per (series × bucket) of the rolling-window maths (weekly/monthly active users),
whose windows are computed per bucket (tens of microseconds)."""
EARLIEST_US = int(np.iinfo(np.int64).min)


@attrs.frozen
class QueryCost:
    """Upper bounds of one query run's cost (see the module docstring for the units)."""

    cells: int  # numbers in the answer (series × kept breakdown values and Other × buckets)
    breakdown_cells: int  # breakdown values × buckets one series evaluates before the top-N cut (the most of any)
    work: int  # row visits
    rows: int  # selected rows, summed over the series


# --- rows ---------------------------------------------------------------------------------------


def _rows_of_codes(ctx: QueryContext, codes: np.ndarray, lo_us: int, hi_us: int) -> int:
    """Rows of the given event codes with lo <= ts < hi: two binary searches per event name,
    each name's count memoised per window."""
    n_names = len(ctx.store.event_names)
    if len(codes) == n_names and n_names > 1:  # "All events": the index's totals (engine/block_positions.py)
        return rows_between(ctx.store, codes, lo_us, hi_us)
    counts = ctx.memo(("cost_rows_per_code", lo_us, hi_us), lambda: np.full(n_names, -1, np.int64))
    todo = codes[counts[codes] < 0]
    if len(todo) > 2:  # many event names in one look-up (engine/block_positions.py)
        pos = block_positions(ctx.store, todo, np.array([lo_us, hi_us], dtype=np.int64))
        counts[todo] = np.maximum(pos[:, 1] - pos[:, 0], 0)
    else:
        for c in todo.tolist():  # one or two names: their binary searches
            s = ctx.store.event_slice(c, lo_us, hi_us)
            counts[c] = s.stop - s.start
    return int(counts[codes].sum())


def series_codes(ctx: QueryContext, s: Series) -> np.ndarray:
    """The event codes a series reads (every code for "All events" or a step without an event)."""

    def build() -> np.ndarray:
        names = series_event_names(ctx, s)
        store = ctx.store
        if any(n is None for n in names):
            return np.arange(len(store.event_names), dtype=np.int64)
        codes = {store.event_code(n) for n in names if n is not None}
        return np.array(sorted(c for c in codes if c is not None), dtype=np.int64)

    return ctx.memo(("cost_series_codes", s.kind, s.id), build)


def _reads_history(math: str) -> bool:
    """Whether a math reads every earlier event of its series (the first-time maths)."""
    frame = MATHS[math].frame if math in MATHS else None
    return frame is not None and frame in {MATHS["first_time_for_user"].frame, MATHS["first_matching_event_for_user"].frame}


def query_rows(ctx: QueryContext, q: Query, *, touched: bool = False) -> int:
    """Rows of ``q``'s series in its window: the axis plus the longest look-back (``touched``:
    from the first event for the maths that read every earlier event)."""
    codes = series_codes(ctx, q.series)
    if not len(codes):
        return 0
    lo = EARLIEST_US if touched and _reads_history(q.series.math) else q.axis.lo_us - LOOKBACK_US
    return _rows_of_codes(ctx, codes, lo, q.axis.hi_us)


# --- breakdown values ---------------------------------------------------------------------------


def _with_missing(ctx: QueryContext, scope: str, key: str, codes: np.ndarray, n: int) -> int:
    """Dictionary values plus the missing value when some row lacks the property (one vectorised
    pass over the column's codes, cached with the store)."""
    missing = ctx.store.cached(("cost_has_missing", scope, key), lambda: bool((codes < 0).any()))
    return n + int(missing)


def _event_values(ctx: QueryContext, item: BreakdownItem) -> int | None:
    col = ctx.store.column(item.property)
    return _with_missing(ctx, "event", item.property, col.codes, len(col.dictionary)) if col is not None else 1


def _person_values(ctx: QueryContext, item: BreakdownItem) -> int | None:
    from ..store.virtual import person_column

    col = person_column(ctx.store, item.property)
    return _with_missing(ctx, "person", item.property, col.codes, len(col.dictionary)) if col is not None else 1


def _group_values(ctx: QueryContext, item: BreakdownItem) -> int | None:
    gti = item.group_type_index
    table = ctx.store.groups.get(gti) if gti is not None else None
    col = table.column(item.property) if table is not None else None
    return len(col.dictionary) + 1 if col is not None else 1  # + an event without that group


def _metadata_values(ctx: QueryContext, item: BreakdownItem) -> int | None:
    store = ctx.store
    fixed = {"distinct_id": len(store.distinct_ids), "event": len(store.event_names), "person_id": len(store.persons)}
    return fixed[item.property] if item.property in fixed else _event_values(ctx, item)


def _cohort_values(ctx: QueryContext, item: BreakdownItem) -> int | None:
    ids = item.property if isinstance(item.property, (list, tuple)) else (item.property,)
    return len(ids) + 1


VALUE_BOUNDS: dict[str, Callable[[QueryContext, BreakdownItem], int | None]] = {
    "event": _event_values,
    "person": _person_values,
    "group": _group_values,
    "event_metadata": _metadata_values,
    "cohort": _cohort_values,
}
"""Per breakdown type: at most how many distinct values it can give (None: only the rows bound
it, e.g. session properties and HogQL expressions)."""


def _item_bounds(ctx: QueryContext, item: BreakdownItem, rows: int, known: tuple[int | None] | None = None) -> tuple[int, int]:
    """(fine values: what the math groups by, final values: what the answer shows) of one item
    (``known``: its value bound when already known — a partitioned run's, combined over partitions)."""
    if known is None:
        bound = VALUE_BOUNDS.get(item.type)
        n = bound(ctx, item) if bound is not None else None
    else:
        n = known[0]
    fine = rows if n is None else min(n, rows)  # each row has one value
    final = fine if item.histogram_bin_count is None else min(fine, item.histogram_bin_count + 1)
    return max(fine, 1), max(final, 1)


def item_value_bounds(ctx: QueryContext, q: Query) -> tuple[int | None, ...]:
    """Per breakdown item of ``q``, at most how many values it can give in this store (None: only
    the rows bound it); () without a breakdown."""
    b = ctx.filter.breakdown
    if b is None or q.cohort is not None:
        return ()
    out = []
    for item in b.items:
        bound = VALUE_BOUNDS.get(item.type)
        out.append(bound(ctx, item) if bound is not None else None)
    return tuple(out)


def breakdown_values(ctx: QueryContext, q: Query, rows: int,
                     bounds: Sequence[int | None] | None = None) -> tuple[int, int]:
    """(fine, final) breakdown values of one query, at most; (1, 1) without a breakdown.
    ``bounds``: the items' value bounds (``item_value_bounds``), when already known."""
    b = ctx.filter.breakdown
    if b is None or q.cohort is not None:
        return 1, 1
    fine, final = 1, 1
    for i, item in enumerate(b.items):
        f, v = _item_bounds(ctx, item, rows, None if bounds is None else (bounds[i],))
        fine, final = fine * f, final * v
    return max(min(fine, rows), 1), max(min(final, rows), 1)


# --- filters ------------------------------------------------------------------------------------


def count_leaves(group: PropertyGroup | None) -> int:
    """Leaves of a property group tree (iterative: depth is bounded, but so is the stack)."""
    if group is None:
        return 0
    n, todo = 0, [group]
    while todo:
        g = todo.pop()
        for node in g.values:
            if isinstance(node, PropertyGroup):
                todo.append(node)
            elif isinstance(node, PropertyFilter):
                n += 1
    return n


def shared_group(ctx: QueryContext) -> PropertyGroup | None:
    """The filters every series of the query shares: test accounts (when filtered) and the global
    ``properties``, as one AND group (None when there are none)."""
    filt = ctx.filter
    groups = []
    if filt.filter_test_accounts and ctx.project.test_accounts:
        groups.append(ctx.project.test_accounts)
    if filt.properties:
        groups.append(filt.properties)
    return PropertyGroup("AND", tuple(groups)) if groups else None


def _action_leaves(ctx: QueryContext, s: Series) -> int:
    """Leaves of the conditions that choose the series' events (action steps, GroupNode members)."""
    return sum(count_leaves(g) for g in selection_groups(ctx.project, s))


# --- the estimate and the check -----------------------------------------------------------------


def _bucket_cost(ctx: QueryContext, s: Series) -> int:
    m = MATHS.get(effective_series(s, ctx.filter.interval).math)
    return ROLLING_BUCKET_COST if m is not None and m.actors_lookback_days > 0 else BUCKET_COST


@attrs.frozen
class QueryFacts:
    """What the estimate reads from the store for one planned query: its rows in the window, the
    rows it touches (with the first-time maths' history), per breakdown item its value bound,
    and whether its rows count for the shared filters (its first (window, events) pair)."""

    rows: int
    touched: int
    bounds: tuple[int | None, ...]
    shared: bool


def query_facts(ctx: QueryContext, queries: Sequence[Query], *, breakdown: bool = True) -> list[QueryFacts]:
    """The store's facts of every planned query (binary searches and dictionary sizes, no row
    read); a partitioned run gathers them per partition and adds them up (``partition/cost.py``)."""
    b = ctx.filter.breakdown if breakdown else None
    seen: set[tuple[int, int, bytes]] = set()
    out = []
    for q in queries:
        key = (q.axis.lo_us, q.axis.hi_us, series_codes(ctx, q.series).tobytes())
        first = key not in seen
        seen.add(key)
        rows = query_rows(ctx, q)
        touched = query_rows(ctx, q, touched=True) if _reads_history(q.series.math) else rows  # same window
        out.append(QueryFacts(rows=rows, touched=touched,
                              bounds=item_value_bounds(ctx, q) if b is not None else (), shared=first))
    return out


def estimate(ctx: QueryContext, queries: Sequence[Query], outputs_per_bucket: int = 1, *,
             breakdown: bool = True, facts: Sequence[QueryFacts] | None = None) -> QueryCost:
    """Upper bounds of the cost of running ``queries`` (the plan) in ``ctx``; each query answers
    ``outputs_per_bucket`` numbers per bucket and breakdown value (a lifecycle: its 4 statuses);
    ``breakdown=False`` for insights that do not break down (stickiness, lifecycle). ``facts``:
    the queries' store facts (``query_facts``), when gathered elsewhere (over partitions)."""
    if facts is None:
        facts = query_facts(ctx, queries, breakdown=breakdown)
    b = ctx.filter.breakdown if breakdown else None
    limit = (ctx.display.breakdown_limit or b.limit) if b is not None else 0
    shared = count_leaves(shared_group(ctx))
    cells = breakdown_cells = work = total_rows = shared_rows = 0
    for q, f in zip(queries, facts):
        rows, touched = f.rows, f.touched
        fine, final = breakdown_values(ctx, q, rows, f.bounds if q.cohort is None else None) if b is not None else (1, 1)
        buckets = max(q.axis.n_buckets, 1)
        shown = final if b is None or final <= limit else limit + 1
        cells += shown * buckets * outputs_per_bucket
        matrix = fine * buckets if b is not None else 0
        breakdown_cells = max(breakdown_cells, matrix)
        leaves = count_leaves(q.series.properties) + _action_leaves(ctx, q.series)
        dims = len(b.items) if b is not None else 0
        work += (touched * (1 + leaves + dims) + leaves * LEAF_OVERHEAD + matrix
                 + buckets * _bucket_cost(ctx, q.series))
        total_rows += touched
        if shared and f.shared:  # shared filters: once per distinct (window, events)
            shared_rows += touched
    work += shared_rows * shared + shared * LEAF_OVERHEAD
    return QueryCost(cells=cells, breakdown_cells=breakdown_cells, work=work, rows=total_rows)


def _series_path(ctx: QueryContext) -> tuple[str]:
    return ("series",) if ctx.filter.source == "query" else ("events",)


def _breakdown_path(ctx: QueryContext) -> tuple[str, ...]:
    return ("breakdownFilter",) if ctx.filter.source == "query" else ("breakdown",)


def check_cost(ctx: QueryContext, queries: Sequence[Query], outputs_per_bucket: int = 1, *,
               breakdown: bool = True) -> QueryCost:
    """Raise ``ValidationError`` when the estimate exceeds ``max_breakdown_cells``, ``max_cells``
    or ``max_work`` — before any row is read — naming the limit, the estimate and how to narrow
    the query. Returns the estimate."""
    return check_estimate(ctx, estimate(ctx, queries, outputs_per_bucket, breakdown=breakdown), len(queries))


def check_estimate(ctx: QueryContext, cost: QueryCost, n_queries: int) -> QueryCost:
    """``check_cost``'s refusal of an estimate already made (``n_queries``: the planned queries)."""
    lim = ctx.limits
    if cost.breakdown_cells > lim.max_breakdown_cells:
        raise ValidationError(_breakdown_path(ctx), (
            f"a series' breakdown would evaluate up to {cost.breakdown_cells:,} (value × bucket) cells, above "
            f"max_breakdown_cells={lim.max_breakdown_cells}; break down by a property with fewer values, or use "
            "a coarser interval or a shorter range"))
    if cost.cells > lim.max_cells:
        raise ValidationError(_series_path(ctx), (
            f"the answer would hold up to {cost.cells:,} numbers (series × breakdown values × buckets), above "
            f"max_cells={lim.max_cells}; use fewer series, a coarser interval, a shorter range or a lower "
            "breakdown_limit"))
    if cost.work > lim.max_work:
        raise ValidationError(_series_path(ctx), (
            f"the query would make up to {cost.work:,} row visits ({cost.rows:,} rows selected over "
            f"{n_queries} series queries, each filter leaf once per row, breakdown cells, buckets), above "
            f"max_work={lim.max_work}; use fewer series or filters, a shorter range, a coarser interval or a "
            "narrower event"))
    return cost


__all__ = ["LEAF_OVERHEAD", "QueryCost", "QueryFacts", "check_cost", "check_estimate", "estimate", "query_facts"]
