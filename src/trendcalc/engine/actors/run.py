"""run_actors: the ActorsQuery over one data point, from plan to page of rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from ...errors import ValidationError
from ...limits import Limits
from ...project import Project
from ...query.actors_request import ActorsRequest
from ...query.displays import DISPLAYS
from ...query.maths import MATH_SPECS
from ...query.model import Series, TrendsFilter
from ...results import ActorsResult
from ...store import EventStore
from ..context import QueryContext
from ..frames import date_range
from ..math import effective_series, math_type
from ..plan import Query
from ..trends import SeriesSource
from .actor_set import ActorSet, group_key_ids
from .columns import COLUMNS, Column, OrderTerm, order_actors, parse_order, resolve_column
from .window import breakdown_mask, point_window, window_axis

# --- the query ---------------------------------------------------------------------------------


def actor_strategy(series: Series, filt: TrendsFilter) -> tuple[str, int | None]:
    """("group", N) when the series counts groups of type N (dau, unique_group, weekly/monthly
    active with a group type index, or the query's aggregation_group_type_index), else persons."""
    gti = series.math_group_type_index
    if gti is None:
        gti = filt.aggregation_group_type_index
    if gti is not None and MATH_SPECS[series.math].counts_groups:
        return "group", gti
    return "person", None


def run_actors(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits,
               req: ActorsRequest, hooks: ActorHooks | None = None) -> ActorsResult:
    """The actors behind one data point, one page of them (see the module docstring)."""
    display = attrs.evolve(DISPLAYS[filt.display], exact_timerange=False)  # actors use plain date ranges
    ctx = QueryContext(store, filt, project, now, limits, display)
    if hooks is not None:
        hooks.apply(ctx)
    if not filt.series:
        raise ValidationError(("series",) if filt.source == "query" else ("events",), "Trends insights require at least one series.")
    if req.series >= len(filt.series):
        raise ValidationError(req.path("series"), f"series {req.series} does not exist: the query has {len(filt.series)} series (0..{len(filt.series) - 1})")
    series = effective_series(filt.series[req.series], filt.interval)
    math = math_type(series.math)
    strategy, gti = actor_strategy(series, filt)

    first_time = math.actors_frame is not date_range  # first-time maths select no timestamps
    columns, names, terms = plan_columns(req, strategy, first_time, series.math)
    if req.breakdown is not None and filt.breakdown is None:
        raise ValidationError(req.path("breakdown"), "the query has no breakdown")

    window = point_window(ctx, math, req)
    axis = window_axis(window, filt.interval, project.week_start_day)
    frame = math.actors_frame(SeriesSource(ctx, Query(series, axis, window.period)))
    if frame is None:  # the series' action does not exist: no events
        rows = np.zeros(0, dtype=np.int64)
        breakdown_rows = rows
    else:
        rows = frame.rows
        breakdown_rows = frame.breakdown_rows if frame.breakdown_rows is not None else rows
    if req.breakdown is not None and filt.breakdown is not None:
        mask = breakdown_mask(ctx, filt.breakdown, req.breakdown, breakdown_rows, req.path("breakdown"))
        if mask is not None:
            rows = rows[mask]

    return page_of_actors(ctx, strategy, gti, rows, req, columns, names, terms, hooks)


def plan_columns(req: ActorsRequest, strategy: str, first_time: bool, math_name: str) -> tuple[list[Column], list[str], list[OrderTerm]]:
    """(columns, their names, the order terms) of the request, checked before any data is read."""
    names = list(req.select or (("person", "id", "person.$delete", "event_distinct_ids") if strategy == "person" else ("group",)))
    select_path = req.path("select")
    columns = [resolve_column(n, strategy, select_path + (i,)) for i, n in enumerate(names)]
    for i, c in enumerate(columns):
        if c.name == "matched_recordings" and not req.include_recordings:
            raise ValidationError(select_path + (i,), "matched_recordings needs include_recordings: true")
        if c.name == "last_seen" and first_time:
            raise ValidationError(select_path + (i,), f"last_seen does not exist for the math {math_name!r}")
    if strategy == "person" and not any(c.name == "event_distinct_ids" for c in columns):
        columns.append(COLUMNS["event_distinct_ids"])  # PostHog appends it to trends actors
        names.append("event_distinct_ids")
    terms = parse_order(req, strategy, columns)
    if any(t.column == "last_seen" for t in terms) and first_time:
        raise ValidationError(req.path("order_by"), f"last_seen does not exist for the math {math_name!r}")
    return columns, names, terms


@attrs.frozen
class ActorHooks:
    """How a caller other than ``tc.actors`` takes the actors of a data point (a partitioned run,
    ``partition/actors.py``): ``given`` facts for the QueryContext (``QueryContext.given``), and
    ``page`` replacing the ordering and paging of the ActorSet (``page_of_actor_set``'s
    signature; it may return what its caller merges instead of an ActorsResult)."""

    given: Mapping[Any, Any] = attrs.Factory(dict)
    page: Callable[..., Any] | None = None

    def apply(self, ctx: QueryContext) -> None:
        ctx.given.update(self.given)


def page_of_actors(ctx: QueryContext, strategy: str, gti: int | None, rows: np.ndarray, req: ActorsRequest,
                   columns: list[Column], names: list[str], terms: list[OrderTerm], hooks: ActorHooks | None = None) -> Any:
    """One page of the actors of ``rows`` (persons, or groups of type ``gti``), ordered and paged
    (shared with the stickiness actors)."""
    store = ctx.store
    if strategy == "person":
        key = store.person[rows].astype(np.int64)
    else:
        assert gti is not None  # the group strategy always has its type index
        lut, _ = group_key_ids(store, gti)
        col = store.column(f"$group_{gti}")
        key = lut[col.codes[rows]] if col is not None else np.zeros(0, np.int64)
        rows, key = rows[key >= 0], key[key >= 0]
    page = hooks.page if hooks is not None and hooks.page is not None else page_of_actor_set
    return page(ActorSet(ctx, strategy, gti, rows, key), req, columns, names, terms)


def page_of_actor_set(actors: ActorSet, req: ActorsRequest, columns: list[Column], names: list[str],
                      terms: list[OrderTerm]) -> ActorsResult:
    """The ActorsQuery's rows: actors without a table row dropped when a column reads the table,
    ordered by ``terms``, the page ``[offset, offset + limit)`` and whether more follow."""
    joined = any(c.table for c in columns) or any(t.table for t in terms)
    if joined:
        actors.keep(actors.has_row())

    order = order_actors(actors, terms)
    page = order[req.offset:req.offset + req.limit + 1]
    has_more = len(page) > req.limit
    page = page[: req.limit]
    values = [c.value(actors, page) for c in columns]
    out_rows = [list(r) for r in zip(*values)] if columns else []
    missing = None if joined else int(np.count_nonzero(~actors.has_row()[page]))
    return ActorsResult(
        columns=tuple(names), rows=out_rows, has_more=has_more, limit=req.limit,
        offset=req.offset, missing_actors_count=missing,
    )


__all__ = ["COLUMNS", "ActorHooks", "page_of_actor_set", "page_of_actors", "plan_columns", "run_actors"]
