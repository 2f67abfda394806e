"""The actors behind one stickiness data point: PostHog's persons modal for Stickiness (spec
stickiness-lifecycle.md §3.10) — the actors whose number of qualifying intervals is exactly
``day`` (cumulative mode: at least ``day``), in one series and period.

The rows, actors and intervals are the stickiness engine's own (``engine/stickiness.py``); the
columns, order and paging are the Trends actors' (``engine/actors.py``). ``event_count`` counts
the actor's selected events in the period.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..errors import UnsupportedError, ValidationError
from ..limits import Limits
from ..project import Project
from ..query.actors_request import ActorsRequest
from ..query.stickiness import StickinessQuery
from ..results import ActorsResult
from ..store import EventStore
from .actors.run import ActorHooks, page_of_actors, plan_columns
from .stickiness import actor_intervals, plan_stickiness, selected_rows, stickiness_context


def run_stickiness_actors(store: EventStore, q: StickinessQuery, project: Project, now: dt.datetime, limits: Limits,
                          req: ActorsRequest, hooks: ActorHooks | None = None) -> ActorsResult:
    """One page of the actors active on ``req.day`` intervals of series ``req.series``."""
    ctx = stickiness_context(store, q, project, now, limits)
    if hooks is not None:
        hooks.apply(ctx)
    filt = q.base
    if not filt.series:
        raise ValidationError(("series",) if filt.source == "query" else ("events",), "Stickiness insights require at least one series.")
    if req.series >= len(filt.series):
        raise ValidationError(req.path("series"), f"series {req.series} does not exist: the query has {len(filt.series)} series (0..{len(filt.series) - 1})")
    day = req.day
    if day is None:
        raise ValidationError(req.path("day"), "a stickiness data point needs `day`: the number of intervals (a value of the result's `days`)")
    if isinstance(day, str) and day.strip().isascii() and day.strip().isdigit():
        day = int(day.strip())
    if isinstance(day, bool) or not isinstance(day, int) or day < 1:
        raise ValidationError(req.path("day"), f"expected a number of intervals >= 1 (a value of the result's `days`), got {day!r}")
    if req.breakdown is not None:
        raise ValidationError(req.path("breakdown"), "a stickiness query has no breakdown")
    if req.compare == "previous" and not filt.compare:
        raise ValidationError(req.path("compare"), "the query does not compare with a previous period")

    plan = plan_stickiness(ctx)
    per_series = 2 if filt.compare else 1
    query = plan.queries[req.series * per_series + (1 if req.compare == "previous" else 0)]
    series = query.series
    if series.math == "hogql":  # (the runner's actors are then the expression's values: no persons or groups to list)
        raise UnsupportedError(req.path("series"), "the actors of a stickiness series with math 'hogql' (its actors are "
                                                   "the expression's values, not persons or groups) are not supported")
    group = series.math == "unique_group" and series.math_group_type_index is not None
    strategy, gti = ("group", series.math_group_type_index) if group else ("person", None)
    columns, names, terms = plan_columns(req, strategy, False, series.math)

    rows = selected_rows(ctx, query)
    if rows is None:  # the series' action does not exist: no actors
        rows = np.zeros(0, dtype=np.int64)
    a = actor_intervals(ctx, q, query, plan.current, rows)
    chosen = a.actors[a.intervals >= day] if q.cumulative else a.actors[a.intervals == day]
    keep = np.isin(a.row_actor, chosen)
    return page_of_actors(ctx, strategy, gti, rows[keep], req, columns, names, terms, hooks)


__all__ = ["run_stickiness_actors"]
