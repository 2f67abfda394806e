"""The trends pipeline: plan queries → select rows → mask → bucket → group → math → shape.

One *query* is one series in one period (and, for cohort breakdowns that PostHog splits, one
cohort). Every query is computed independently, exactly as PostHog runs one SQL query each.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import numpy as np

from ..errors import ValidationError
from ..formatting import numbers
from ..limits import Limits
from ..project import Project
from ..query.displays import DISPLAYS
from ..query.maths import MATH_SPECS
from ..query.model import PropertyGroup, Series, TrendsFilter
from ..recent import Recent
from ..results import SeriesResult, TrendsResult
from ..store import EventStore
from ..timeutil import UTC, us_to_datetime
from . import blockwise, sampling, topn
from . import breakdown as bd
from .context import Frame, QueryContext
from .cost import check_cost, shared_group
from .echo import action_dict, filter_dict
from .exactsum import column_sums
from .math import effective_series, first_seen, math_type
from .plan import (
    Query,
    current_range,
    make_axis,
)
from .post import cumulative, smooth
from .predicates.properties import mask_rows
from .sampling import sample_mask
from .select import Rows, event_selection
from .shared_filters import PLAN_KEY, register_plan, shared_filters
from .timeaxis import TimeAxis


def run_trends(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits) -> TrendsResult:
    display = DISPLAYS[filt.display]
    ctx = QueryContext(store, filt, project, now, limits, display)
    queries = plan_queries(ctx)
    if len(queries) > limits.max_series:
        raise ValidationError(_series_path(filt), f"{len(queries)} series queries exceed max_series={limits.max_series}")
    check_cost(ctx, queries)  # before any row is read (engine/cost.py); the count below is a backstop
    register_plan(ctx, queries)
    n_real = len(queries)
    if filt.compare:
        n_real = (n_real + 1) // 2
    per_query = []
    cells = 0
    for q in queries:
        rows = run_query(ctx, q, n_real)
        cells += sum(len(r.data or ()) or 1 for r in rows)
        if cells > limits.max_cells:
            raise ValidationError(_series_path(filt), f"the answer has more than max_cells={limits.max_cells} numbers (series × breakdown values × buckets); narrow the query")
        per_query.append(rows)
    if filt.formulas:
        from .formulas import apply_formulas

        results = apply_formulas(ctx, queries, per_query)
    else:
        results = [r for rows in per_query for r in rows]
    if filt.breakdown is not None and filt.breakdown.hide_other:
        results = [r for r in results if not _is_other(r.breakdown_value)]
    return TrendsResult(results, timezone=project.timezone, interval=filt.interval, total_value=display.total_value)


def _series_path(filt: TrendsFilter) -> tuple[str]:
    return ("series",) if filt.source == "query" else ("events",)


def _is_other(v: Any) -> bool:
    if isinstance(v, tuple):
        return any(x == bd.BREAKDOWN_OTHER for x in v)
    return v == bd.BREAKDOWN_OTHER


# --- planning ---------------------------------------------------------------------------------


def plan_queries(ctx: QueryContext) -> list[Query]:
    """Series (cohort-expanded) for the current period, then the previous period with compare."""
    filt = ctx.filter
    if not filt.series:  # nothing asked, nothing answered: the runner's [] (newer API layers refuse it)
        return []
    r = current_range(ctx, filt.series)
    axis = make_axis(ctx, r)
    period = "current" if filt.compare else None
    current = [Query(s, axis, period) for s in filt.series]
    b = filt.breakdown
    if b is not None and b.items[0].type == "cohort":
        from .cohort_breakdown import split_per_cohort

        if split_per_cohort(b.items[0]):  # cohort-major: for cohort in list, for series in series
            current = [Query(s, axis, period, cohort=c) for c in b.items[0].property for s in filt.series]
    if filt.compare:
        from .compare import previous_queries

        return current + previous_queries(ctx, current)
    return current


# --- one query --------------------------------------------------------------------------------


def select_rows(ctx: QueryContext, q: Query, lo_us: int, hi_us: int) -> Rows | None:
    """Candidate rows of a series in [lo, hi) as time-ordered blocks; None when the series does
    not exist (dropped)."""
    s = q.series
    if s.kind == "events":
        return event_selection(ctx.store, [s.id], lo_us, hi_us)
    if s.kind == "group":
        from .predicates.groups import group_rows

        return Rows.from_index(ctx.store, group_rows(ctx, s.id, lo_us, hi_us))
    from .predicates.actions import action_rows

    rows = action_rows(ctx, s.id, lo_us, hi_us)
    return None if rows is None else Rows.from_index(ctx.store, rows)


def series_mask(ctx: QueryContext, q: Query, rows: np.ndarray, window: tuple[int, int] | None = None) -> np.ndarray:
    """AND of test-account filters, global properties, series properties and group-math filter.

    The filters every series shares are evaluated once per row per query run
    (engine/shared_filters.py); ``window`` is the [lo, hi) the rows were selected from."""
    s = q.series
    planned = ctx.cache.get(PLAN_KEY)
    if planned is not None and len(planned) <= 1:
        # one query: nothing to share; one AND group, so that person leaves of the shared and the
        # series' filters are combined per person first and gathered once
        groups = [g for g in (shared_group(ctx), s.properties) if g]
        mask = mask_rows(ctx, PropertyGroup("AND", tuple(groups)), rows) if groups else np.ones(len(rows), dtype=bool)
        return _row_restrictions(ctx, q, rows, mask)
    # the shared filters first, as above: of two leaves whose constants the property's type
    # cannot take, the same one raises whichever path runs (found by a long hypothesis run: a
    # partition's lifecycle, planned without PLAN_KEY, named the other leaf than the single store)
    shared = shared_filters(ctx)
    mask = shared.mask(q, rows, window) if shared is not None else np.ones(len(rows), dtype=bool)
    if s.properties:
        mask = mask & mask_rows(ctx, PropertyGroup("AND", (s.properties,)), rows)
    return _row_restrictions(ctx, q, rows, mask)


def _row_restrictions(ctx: QueryContext, q: Query, rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``mask`` AND the rows' group keys (group maths, group aggregation) AND the query's cohort."""
    filt, s = ctx.filter, q.series
    gti = s.math_group_type_index if MATH_SPECS[s.math].counts_groups else None
    for idx in {i for i in (gti, filt.aggregation_group_type_index) if i is not None}:
        mask = mask & group_key_set(ctx, idx, rows)
    if q.cohort is not None:
        from .cohort_breakdown import cohort_row_mask

        mask = mask & cohort_row_mask(ctx, q.cohort, rows)
    return mask


def group_key_set(ctx: QueryContext, gti: int, rows: np.ndarray) -> np.ndarray:
    """``$group_N != ''``: rows that carry a non-empty group key."""
    col = ctx.store.column(f"$group_{gti}")
    if col is None:
        return np.zeros(len(rows), dtype=bool)
    lut = col.dictionary.view("nonempty", lambda v: v != "", bool, False)
    return lut[col.codes[rows]]


@attrs.define
class SeriesSource:
    """The RowSource of one query: its series' rows (sampled) and its filter mask."""

    ctx: QueryContext
    query: Query

    @property
    def series(self) -> Series:
        return self.query.series

    @property
    def axis(self) -> TimeAxis:
        return self.query.axis

    window: tuple[int, int] | None = None  # the [lo, hi) last selected from

    def rows(self, lo_us: int, hi_us: int) -> np.ndarray | None:
        sel = self.selection(lo_us, hi_us)
        return None if sel is None else sel.index()

    def selection(self, lo_us: int, hi_us: int) -> Rows | None:
        self.window = (lo_us, hi_us)
        sel = select_rows(self.ctx, self.query, lo_us, hi_us)
        if sel is None:
            return None
        if self.ctx.filter.sampling_factor is None:
            return sel
        keep = sample_mask(self.ctx.store, sel.key, self.ctx.filter.sampling_factor)
        return sel if keep is None else sel.restrict(keep)

    def mask(self, rows: np.ndarray) -> np.ndarray:
        return series_mask(self.ctx, self.query, rows, self.window)

    def needs_mask(self) -> bool:
        ctx, q = self.ctx, self.query
        filt, s = ctx.filter, q.series
        return bool(
            (filt.filter_test_accounts and ctx.project.test_accounts)
            or filt.properties
            or s.properties
            or q.cohort is not None
            or filt.aggregation_group_type_index is not None
            or (s.math_group_type_index is not None and MATH_SPECS[s.math].counts_groups)
        )


def build_frame(ctx: QueryContext, q: Query) -> Frame | None:
    """The rows of one query as its math selects and buckets them (None: series dropped)."""
    return math_type(q.series.math).frame(SeriesSource(ctx, q))


def run_query(ctx: QueryContext, q: Query, n_real_series: int) -> list[SeriesResult]:
    """One series in one period: frame → breakdown groups → math → ranked result series."""
    series = effective_series(q.series, ctx.filter.interval)
    if series is not q.series:
        q = attrs.evolve(q, series=series)
    math = math_type(series.math)
    frame = build_frame(ctx, q)
    if frame is None:
        return []
    if topn.applies(ctx, q, frame, math):  # a count by one property: no (value × bucket) matrix
        return count_series(ctx, q, math, topn.top_n_counts(ctx, frame), n_real_series)
    breakdown = ctx.filter.breakdown
    grouping = None
    if breakdown is not None and q.cohort is None:
        if frame.breakdown_rows is None:
            grouping = bd.group_rows(ctx, breakdown, frame.row_key, frame.runs)
        else:
            grouping = bd.group_rows(ctx, breakdown, frame.breakdown_rows)
        if grouping.take is not None:  # a row in several cohorts counts in each
            frame.repeat_rows(grouping.take)
        frame.set_grouping(grouping)
    compute = first_seen if ctx.display.cumulative and math.new_actors_cumulative else math.compute
    if grouping is not None and blockwise.needed(ctx, frame):
        keep, kept_values, other_values = blockwise.evaluate(
            ctx, frame, compute, grouping.fine_to_final, len(grouping.values),
            lambda totals: rank_groups(ctx, grouping, totals))
        kept = [(grouping.values[g], kept_values[i]) for i, g in enumerate(keep)]
        return grouped_series(ctx, q, math, kept, other_values, n_real_series)
    values = compute(frame)
    if grouping is not None:
        values = grouping.fold(values)
    return shape_query(ctx, q, math, values, grouping, n_real_series, has_rows=frame.n_rows > 0)


def shape_query(ctx, q, math, values, grouping, n_real_series, *, has_rows: bool = True) -> list[SeriesResult]:
    """Rank breakdown values, fold Other, apply cumulative/smoothing, build result series."""
    if grouping is None:
        if q.cohort is not None:
            from .cohort_breakdown import cohort_breakdown_value

            if not has_rows:  # a breakdown query without rows has no breakdown value
                return []

            value, label_value = cohort_breakdown_value(ctx, q.cohort)
            label = f"{q.series.label} - {label_value}" if n_real_series > 1 else label_value
            # a breakdown query upstream: its cumulative sum is exact (no forward fill, §5.2)
            return [make_series(ctx, q, values[0], math, label=label, breakdown_value=value, has_breakdown=True, forward_fill=False)]
        return [make_series(ctx, q, values[0], math, label=q.series.label, forward_fill=True)]
    keep, other = rank_groups(ctx, grouping, values.sum(axis=1))
    kept = [(grouping.values[g], values[g]) for g in keep]
    return grouped_series(ctx, q, math, kept, other_sums(values[other], math.integer) if len(other) else None, n_real_series)


def other_sums(folded: np.ndarray, integer: bool) -> np.ndarray:
    """Other's value per bucket: the folded groups' values added. Counts add exactly in any
    order; other maths' floats are summed exactly (engine/exactsum.py), so Other does not
    depend on the order of the groups (blocks, partitions)."""
    if integer:
        return folded.sum(axis=0)
    return column_sums(folded)


def rank_groups(ctx: QueryContext, grouping: bd.Grouping, totals: np.ndarray) -> tuple[list[int], np.ndarray]:
    """(kept groups in display order, groups folded into Other) by their totals over the buckets."""
    return bd.rank_query(ctx, grouping.values, grouping.kinds, totals)


def grouped_series(ctx, q, math, kept, other_values, n_real_series) -> list[SeriesResult]:
    """Result series of the kept (breakdown value, values) pairs, then Other when it has groups."""
    if ctx.display.cumulative and not ctx.display.total_value:
        kept = bd.cumulative_order(kept)
    out = [make_group_series(ctx, q, vals, math, value, n_real_series) for value, vals in kept]
    if other_values is not None:
        b = ctx.filter.breakdown
        out.append(make_group_series(ctx, q, other_values, math, bd.other_value(b.multi, len(b.items)), n_real_series))
    return out


def count_series(ctx: QueryContext, q: Query, math: Any, top: topn.TopN, n_real_series: int) -> list[SeriesResult]:
    """Result series of a count breakdown's kept values (then Other) from their counts per bucket
    (engine/topn.py). A plain time series display is shaped from the whole matrix at once — what
    ``make_series`` gives integral values: ints, ``count`` their float sum —; other displays
    (total value, cumulative, sampling) go through ``grouped_series``."""
    display, factor = ctx.display, ctx.filter.sampling_factor
    values, cells = top.values, top.cells
    if display.total_value or display.cumulative or (factor and factor != 1) or not len(values):
        floats = cells.astype(np.float64)
        n = len(values) - int(top.has_other)
        kept = [(values[i], floats[i]) for i in range(n)]
        return grouped_series(ctx, q, math, kept, floats[n] if top.has_other else None, n_real_series)
    axis, prefix = q.axis, (f"{q.series.label} - " if n_real_series > 1 else "")
    days, labels, filt = axis.days(), axis.labels(), filter_dict(ctx, q)
    action = action_dict(ctx, q)  # one echo for the query's series, as ``filt`` (to_dict copies both)
    counts = cells.sum(axis=1).tolist()
    items = ctx.filter.breakdown.items if ctx.filter.breakdown is not None else ()
    plain = len(items) == 1 and items[0].type in ("event", "person", "group")  # a string labels itself
    order, period = q.series.index, q.period
    # positional, in SeriesResult's field order (label, order, action, filter, data, labels, days,
    # count, aggregated_value, breakdown_value, has_breakdown, compare_label, total_value):
    # keyword arguments cost more than the rest of a series here (26 per query)
    return [SeriesResult(prefix + (v if plain and type(v) is str and v not in ("1", "0") else breakdown_label(ctx, v)),
                         order, action, filt, data, labels, days, float(c), None, v, True, period, False)
            for v, data, c in zip(values, cells.tolist(), counts)]


def breakdown_label(ctx: QueryContext, value: Any) -> str:
    assert ctx.filter.breakdown is not None  # only breakdown values are labelled
    items = ctx.filter.breakdown.items
    parts = value if isinstance(value, tuple) else (value,)
    rendered = []
    for item, v in zip(items, parts):
        if item.type == "cohort":
            from .cohort_breakdown import cohort_label

            if v == bd.BREAKDOWN_OTHER:  # upstream looks the Other row up as a cohort id and fails
                raise ValidationError(("breakdown_limit",), "more cohorts than breakdown_limit: the Other row of a "
                                                            "cohort breakdown has no cohort (PostHog fails here too)")
            v = cohort_label(ctx, v)
        if item.type in ("event", "person", "group") and v in ("1", "0"):
            kind = item.type
            if ctx.project.property_type(item.property, kind, item.group_type_index) == "Boolean":
                v = "true" if v == "1" else "false"
        rendered.append(str(v))
    return "::".join(rendered)


def make_group_series(ctx, q, vals, math, value, n_real_series) -> SeriesResult:
    label_value = breakdown_label(ctx, value)
    label = f"{q.series.label} - {label_value}" if n_real_series > 1 else label_value
    return make_series(ctx, q, vals, math, label=label, breakdown_value=value, has_breakdown=True, forward_fill=False)


def make_series(ctx, q, vals, math, *, label, breakdown_value=None, has_breakdown=False, forward_fill) -> SeriesResult:
    """One result series, built once (results are frozen): the values post-processed (cumulative,
    smoothing, sampling), rendered as PostHog's numbers, with the query echoed (engine/echo.py)."""
    display, filt = ctx.display, ctx.filter
    axis = q.axis
    factor = filt.sampling_factor
    common = {
        "label": label, "order": q.series.index, "action": action_dict(ctx, q), "filter": filter_dict(ctx, q),
        "breakdown_value": breakdown_value, "has_breakdown": has_breakdown, "compare_label": q.period,
        "total_value": display.total_value,
    }  # fmt: skip
    if display.total_value:
        v = float(vals[0]) if len(vals) else 0.0
        aggregated = sampling.correct(numbers([v], math.integer)[0], factor, math.sampling_corrected)
        return SeriesResult(**common, aggregated_value=aggregated, data=[], days=[], count=0)
    data = np.asarray(vals, dtype=np.float64)
    if display.cumulative:
        data = cumulative(data, forward_fill=forward_fill)
    if filt.smoothing_intervals > 1 and not has_breakdown:
        data = smooth(data, filt.smoothing_intervals)
    # Integral series render as ints whatever the math (the conformance cases transcribe
    # upstream's float series such as median session durations as ints); aggregated values of
    # float maths stay floats.
    integral = bool((data == data.round()).all())  # (array methods: no dispatch cost on short series)
    if integral and len(data) and bool((abs(data) < 2.0**62).all()):
        rendered = data.astype(np.int64).tolist()  # = [int(v) ...], at C speed
    else:
        rendered = numbers(data, integral)
    values = ([sampling.correct(v, factor, math.sampling_corrected) for v in rendered]  # per bucket, not per row
              if factor and factor != 1 and math.sampling_corrected else rendered)
    # PostHog's float(sum(total)): a left-to-right sum (NumPy's pairwise sum can differ in the last bit)
    count = (rendered[-1] if rendered else 0) if display.cumulative else float(sum(data.tolist()))
    return SeriesResult(**common, data=values, days=axis.days(), labels=axis.labels(),
                        count=sampling.correct(count, factor, math.sampling_corrected))


def resolve_now(now: Any) -> dt.datetime:
    """The frozen clock: str (ISO, naive = UTC), datetime, or None for the current time."""
    if now is None:
        return dt.datetime.now(UTC)
    from ..timeutil import to_us

    if type(now) is str:  # the same frozen clock again and again (tests, dashboards): parsed once
        return _CLOCKS.get(now, lambda: us_to_datetime(to_us(now, ("now",))))
    return us_to_datetime(to_us(now, ("now",)))


_CLOCKS: Recent[dt.datetime] = Recent(64)


__all__ = ["Query", "resolve_now", "run_trends"]
