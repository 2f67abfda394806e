"""The entry point: one Trends query, row at a time — ranges, one query per series (× cohort,
× period), rows → cells → maths → rank and Other → result dicts, then formulas; and
``comparable``, the shape tests compare results in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from ...errors import ValidationError
from ...limits import DEFAULT_LIMITS, Limits
from ...project import Project
from ...query.model import TrendsFilter
from ...query.parse import parse_filter
from .breakdown import (
    breakdown_label,
    cumulative_order,
    fold_fine,
    grouped,
    is_other,
    other_value,
    rank,
)
from .cohorts import cohort_label, cohort_members, query_cohorts, split_per_cohort
from .compare import previous_range
from .formulas import apply_formulas
from .maths import (
    FIRST_TIME_MATHS,
    PER_ACTOR_MATHS,
    active_values,
    bucketed_values,
    effective_math,
    exact_sum,
    shift_days,
)
from .properties import check_group
from .results import series_dict
from .rows import first_time_rows, query_filter_groups, series_rows
from .supported import (
    CUMULATIVE_DISPLAY,
    FIXED_BREAKDOWN_LIMIT,
    TOTAL_VALUE_DISPLAYS,
    check_supported,
)
from .timeaxis import Query, bucket_index, bucket_starts, current_range, lower_bound, whole_second
from .world import World, as_project, load_world, resolve_now


def query_values(world: World, filt: TrendsFilter, project: Project, q: Query) -> dict[Any, list[float]]:
    """Per breakdown value (None without a breakdown): the series' per-bucket values."""
    total_value = filt.display in TOTAL_VALUE_DISPLAYS
    series = q.series
    math_name = effective_math(series.math, filt.interval)
    lo = whole_second(lower_bound(q.range, project.week_start_day))
    hi = whole_second(q.range.date_to)
    if math_name in FIRST_TIME_MATHS:
        pairs = first_time_rows(world, filt, project, series, q, math_name == "first_matching_event_for_user")
    else:
        if math_name in ("weekly_active", "monthly_active"):
            anchor = q.range.date_to if total_value else q.range.date_from
            lo = whole_second(shift_days(anchor, -7 if math_name == "weekly_active" else -30))
        elif math_name in PER_ACTOR_MATHS:
            lo = max(lo, whole_second(q.range.date_from))  # §4.2: per-actor maths start at the raw date_from
        pairs = [(e, e) for e in series_rows(world, filt, project, series, lo, hi, q.cohort)]
    if math_name in ("weekly_active", "monthly_active"):
        if total_value:
            bucket_starts(q.range, project.week_start_day, q.max_buckets)  # the days it spans are capped, rows or not
    elif not total_value:
        # §2.2: a row whose bucket key is not in the list is dropped, and gives no breakdown value
        # (only a 30-minute DST shift leaves such rows in range; upstream's SQL would keep a zero
        # row for the value and rank it by the dropped rows — §2.4 is UNCONFIRMED there)
        pairs = [(row, src) for row, src in pairs if bucket_index(row["ts"], q.starts, q.range.interval,
                                                                   project.week_start_day) is not None]
    if q.cohort is not None:  # a query per cohort: its rows are the cohort's
        rows_by_fine, final_of = ({q.cohort: [row for row, _ in pairs]}, {q.cohort: q.cohort}) if pairs else ({}, {})
    else:
        rows_by_fine, final_of = grouped(world, filt, project, pairs)
    out = {}
    for fine, rows in rows_by_fine.items():
        if math_name in ("weekly_active", "monthly_active"):
            days = 7 if math_name == "weekly_active" else 30
            out[fine] = active_values(filt, series, project, q, rows, days, total_value)
        else:
            out[fine] = bucketed_values(world, math_name, filt, series, project, q, rows, total_value)
    return fold_fine(out, final_of)


def run_query(world: World, filt: TrendsFilter, project: Project, q: Query, n_queries: int) -> list[dict[str, Any]]:
    """One series: rows → (breakdown value, bucket) cells → math → rank/Other → post-process."""
    if q.series.kind == "actions" and project.action_source(q.series.id) is None:
        return []  # §11: a missing action's series is dropped
    for group in query_filter_groups(filt, project, q.series):
        check_group(world, project, group)
    for cohort_id in query_cohorts(filt, q):
        cohort_members(world, project, cohort_id)  # an unknown or invalid cohort fails the query
    values = query_values(world, filt, project, q)
    if filt.breakdown is None:
        return [series_dict(filt, project, q, values[None], label_text=q.series.label, forward_fill=True)]
    if q.cohort is not None:  # §6.7: one value, whatever the limit; no rows, no result
        if not values:
            return []
        text = cohort_label(project, q.cohort)
        return [series_dict(filt, project, q, values[q.cohort], breakdown=q.cohort, has_breakdown=True,
                            label_text=f"{q.series.label} - {text}" if n_queries > 1 else text, forward_fill=False)]
    limit = FIXED_BREAKDOWN_LIMIT.get(filt.display) or filt.breakdown.limit
    totals = {v: sum(vals) for v, vals in values.items()}
    kept, folded = rank(totals, limit, total_value=filt.display in TOTAL_VALUE_DISPLAYS)
    if filt.display == CUMULATIVE_DISPLAY:
        kept = cumulative_order(kept, values)
    if folded and filt.breakdown.items[0].type == "cohort":
        raise ValidationError(("breakdown_limit",), "more cohorts than breakdown_limit: upstream fails reading "
                                                    "the Other row as a cohort id")
    out = []
    for v in kept + ([other_value(filt.breakdown)] if folded else []):
        if v in values:
            vals = values[v]
        else:  # §6.3 Other: per-bucket sums of the folded values, whatever the math
            vals = [exact_sum([values[f][i] for f in folded]) for i in range(len(values[folded[0]]))]
        text = cohort_label(project, v) if filt.breakdown.items[0].type == "cohort" else breakdown_label(v)
        label_text = f"{q.series.label} - {text}" if n_queries > 1 else text
        out.append(series_dict(filt, project, q, vals, label_text=label_text, breakdown=v, has_breakdown=True,
                               forward_fill=False))
    return out


def reference_trends(
    events: Iterable[Mapping[str, Any]],
    persons: Iterable[Mapping[str, Any]] | None = None,
    groups: Iterable[Mapping[str, Any]] | None = None,
    *,
    query: Mapping[str, Any] | TrendsFilter,
    project: Project | Mapping[str, Any] | None = None,
    now: Any = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[dict[str, Any]]:
    """The series dicts ``trends(...).to_dicts()`` returns, without ``filter`` and ``action``."""
    project = as_project(project)
    filt = parse_filter(query, limits=limits)
    check_supported(filt)
    if not filt.series:
        return []  # no series: an empty answer, as the runner gives
    world = load_world(events, persons, groups)
    world.now = resolve_now(now)
    r = current_range(world, filt, project, resolve_now(now))
    total_value = filt.display in TOTAL_VALUE_DISPLAYS
    starts = [] if total_value else bucket_starts(r, project.week_start_day, limits.max_buckets)
    b = filt.breakdown
    cohorts = b.items[0].property if b is not None and split_per_cohort(filt) else (None,)
    queries = [Query(s, r, starts, "current" if filt.compare else None, max_buckets=limits.max_buckets, cohort=c)
               for c in cohorts for s in filt.series]  # cohort-major (§6.7)
    if filt.compare:
        prev = previous_range(world, filt, project, resolve_now(now))
        prev_starts = [] if total_value else bucket_starts(prev, project.week_start_day, limits.max_buckets)
        queries += [Query(q.series, prev, prev_starts, "previous", label_range=r, max_buckets=limits.max_buckets,
                          cohort=q.cohort) for q in list(queries)]
    n_real = (len(queries) + 1) // 2 if filt.compare else len(queries)
    per_query = [run_query(world, filt, project, q, n_real) for q in queries]
    if filt.formulas:
        out = apply_formulas(filt, per_query)
    else:
        out = [d for rows in per_query for d in rows]
    if filt.breakdown is not None and filt.breakdown.hide_other:
        out = [d for d in out if not is_other(d.get("breakdown_value"))]
    return out


def event_bounds(events: Iterable[Mapping[str, Any]], *, query: Mapping[str, Any] | TrendsFilter,
                 project: Project | None = None, now: Any = None) -> tuple[dt.datetime, dt.datetime]:
    """[lo, hi]: the UTC instants an event of the current period must lie within to count."""
    project = project or Project()
    filt = parse_filter(query)
    r = current_range(load_world(events), filt, project, resolve_now(now))
    return whole_second(lower_bound(r, project.week_start_day)), whole_second(r.date_to)


COMPARED_KEYS = ("data", "labels", "days", "count", "aggregated_value", "breakdown_value", "label", "order",
                 "compare", "compare_label")


def comparable(results: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Series dicts reduced to the compared keys, numbers tagged with their type (int/float)."""

    def tag(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, (int, float)):
            return (type(v).__name__, v)
        if isinstance(v, (list, tuple)):
            return [tag(x) for x in v]
        return v

    return [{k: tag(r[k]) for k in COMPARED_KEYS if k in r} for r in results]
