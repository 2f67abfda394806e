"""The actors behind one lifecycle data point (a status on a day): PostHog's persons modal for
Lifecycle (``LifecycleQueryRunner.to_actors_query``: the distinct actors whose status in the
bucket starting at ``day`` is ``status``).

The statuses are the lifecycle engine's (``engine/lifecycle.Statuses``); the columns, ordering
and paging are the Trends actors' (``engine/actors``). ``day`` is truncated to its interval start
in the project timezone, as upstream does; ``event_count`` counts the actor's matching events in
that bucket (for dormant actors: in the bucket before, their last activity).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..errors import ValidationError, brief
from ..limits import Limits
from ..project import Project
from ..query.actors_request import ActorsRequest
from ..query.displays import DISPLAYS
from ..query.lifecycle import STATUSES, LifecycleQuery
from ..query.suggest import suggest
from ..results import ActorsResult
from ..store import EventStore
from ..timeutil import UTC, datetime_to_us
from .actors.actor_set import ActorSet, group_key_ids
from .actors.columns import parse_order, resolve_column
from .actors.run import ActorHooks, page_of_actor_set
from .actors.window import parse_day
from .context import QueryContext
from .lifecycle import LifecyclePlan, Statuses


def run_lifecycle_actors(store: EventStore, lq: LifecycleQuery, project: Project, now: dt.datetime, limits: Limits,
                         req: ActorsRequest, status: object, status_path: tuple, hooks: ActorHooks | None = None) -> ActorsResult:
    """One page of the actors with ``status`` in the bucket of ``req.day``."""
    if status not in STATUSES:
        raise ValidationError(status_path, f"expected a lifecycle status, one of {list(STATUSES)}, got {brief(status)}"
                                           f"{suggest(str(status), STATUSES)}")
    if req.day is None:
        raise ValidationError(req.path("day"), "the actors of a lifecycle data point need its `day` (a `days` value of the result)")
    for name, given in (("breakdown", req.breakdown is not None), ("compare", req.compare is not None),
                        ("series", req.series != 0)):
        if given:
            raise ValidationError(req.path(name), f"a lifecycle data point has no {name}")
    filt = lq.base
    if not filt.series:
        raise ValidationError(("series",) if filt.source == "query" else ("events",), "a lifecycle needs at least one series")
    ctx = QueryContext(store, filt, project, now, limits, DISPLAYS["ActionsLineGraph"])
    if hooks is not None:
        hooks.apply(ctx)
    week_start = lq.week_start_day if lq.week_start_day is not None else project.week_start_day
    plan = LifecyclePlan(ctx, lq, week_start)
    gti = filt.aggregation_group_type_index
    strategy = "person" if gti is None else "group"

    names = list(req.select or (("person", "id", "person.$delete", "event_distinct_ids") if strategy == "person" else ("group",)))
    columns = [resolve_column(n, strategy, req.path("select") + (i,)) for i, n in enumerate(names)]
    for i, c in enumerate(columns):
        if c.name == "matched_recordings" and not req.include_recordings:
            raise ValidationError(req.path("select") + (i,), "matched_recordings needs include_recordings: true")
    terms = parse_order(req, strategy, columns)

    day = parse_day(req.day, ctx, req.path("day"))
    rows = np.zeros(0, dtype=np.int64)
    key = np.zeros(0, dtype=np.int64)
    if plan.n_buckets:
        ext = int(plan.bucket_of(np.array([datetime_to_us(day.astimezone(UTC))], dtype=np.int64))[0])
        if ext >= 0:  # a day outside the window (and its look-back bucket) has no actors
            st = Statuses(plan)
            actors = st.actors_at(status, ext)
            source_bucket = ext - 1 if status == "dormant" else ext
            pick = np.isin(st.row_actor, actors) & (st.row_bucket == source_bucket)
            rows, key = st.rows[pick], st.row_actor[pick]
    if gti is not None and len(rows):
        lut, _ = group_key_ids(store, gti)
        key = lut[key]
        rows, key = rows[key >= 0], key[key >= 0]
    page = hooks.page if hooks is not None and hooks.page is not None else page_of_actor_set
    return page(ActorSet(ctx, strategy, gti, rows, key), req, columns, names, terms)


__all__ = ["run_lifecycle_actors"]
