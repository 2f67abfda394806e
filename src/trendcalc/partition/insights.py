"""Stickiness and Lifecycle over a PartitionedStore: both count persons, and every event of a
person lives in one partition, so each partition's per-bucket counts add up to the single
store's.

- Stickiness: per query, a partition reports how many of its actors qualify on exactly 1, 2, ...
  intervals (a bincount of ``engine/stickiness.histogram``); the coordinator adds the counts and
  shapes with the engine's ``shape`` (cumulative mode, labels, compare).
- Lifecycle: a partition reports the statuses' counts per bucket before sampling's scaling
  (``engine/lifecycle.unscaled_counts``); the coordinator adds them, scales once and shapes.

``date_from: "all"`` comes from a first phase (``phases.py``). Groups span partitions: for
stickiness' ``unique_group`` a partition reports its (group key, interval, events) triples, and
the coordinator adds the events per (group, interval) before the criteria; for lifecycle's
``aggregation_group_type_index`` its active (group key, bucket) pairs, whose union the
coordinator classifies (``engine/lifecycle.Statuses.of_pairs``). Session filters and
breakdowns read the facts of sessions spanning partitions (``session_facts``) from the store of
their events saved with the partitions, or, for a store written before it, from their events
gathered once (``PartitionedStore.shared_session_events``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from ..engine.cost import QueryFacts, check_estimate, estimate, query_facts
from ..errors import ValidationError
from ..lifecycle_result import LifecycleResult
from ..limits import Limits
from ..project import Project
from ..query.displays import DISPLAYS
from ..query.lifecycle import STATUSES, LifecycleQuery
from ..query.stickiness import StickinessQuery
from ..results import SeriesResult
from ..stickiness_result import StickinessResult
from ..store import EventStore
from .cost import combine, fits_at_full_size
from .phases import earliest_us_of, min_or_none
from .tasks import Map, Task


def _empty() -> EventStore:
    """An empty store: the coordinator's plans and shaping read no rows."""
    from .partials import empty_store

    return empty_store()


# --- stickiness -----------------------------------------------------------------------------------


def stickiness_partitioned(run: Map, q: StickinessQuery, project: Project, now: dt.datetime,
                           limits: Limits, rows: tuple[Any, ...] | None = None, *,
                           n_events: int | None = None, shared_sessions: Gather | None = None) -> StickinessResult:
    """The single store's stickiness answer from the partitions' per-query interval counts
    (persons) or (group, interval) event counts (groups). ``shared_sessions``: gives the events
    of the sessions in more than one partition (``session_facts``; None: gathered here)."""
    from ..engine.stickiness import Histogram, plan_stickiness, shape, stickiness_context

    ctx = stickiness_context(_empty(), q, project, now, limits)  # checks; shaping reads no rows
    given = session_facts(run, q.base, project, shared_sessions)
    if q.base.date_from == "all":
        given["first_event_us"] = min_or_none(run(Task(first_event_us_of)))
    check_insight_cost(run, "stickiness", q, project, now, limits,  # before any partition computes
                       {k: v for k, v in given.items() if k != "shared_sessions"}, n_events)
    ctx.given.update(given)
    plan = plan_stickiness(ctx)
    per_partition = run(Task(stickiness_counts, (q, project, now, limits, given), each=rows))
    out: list[SeriesResult] = []
    for i, query in enumerate(plan.queries):
        present = [p[i] for p in per_partition if p[i] is not None]
        if not present:  # the series' action does not exist: left out (§3.8)
            continue
        n_intervals = present[0][1]
        if present[0][0] == "groups":
            per = group_interval_counts(q, present)
        else:
            per = add_padded([p[2] for p in present])
        intervals = np.repeat(np.arange(len(per), dtype=np.int64), per)  # one entry per actor, as the engine has
        out.append(shape(ctx, q, query, Histogram(n_intervals, np.arange(len(intervals)), intervals)))
    return StickinessResult(out, timezone=project.timezone, interval=q.base.interval)


def group_interval_counts(q: StickinessQuery, present: list[Any]) -> np.ndarray:
    """Groups per number of qualifying intervals, from every partition's (group key, interval,
    events) triples (``group_qualifying``)."""
    _, m = group_qualifying(q, present)
    return np.bincount(m).astype(np.int64)


def group_qualifying(q: StickinessQuery, present: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(key texts, qualifying intervals) of every group with at least one qualifying interval,
    from every partition's (group key, interval, events) triples: a group's events in an
    interval add up over the partitions before the criteria decide whether it qualifies."""
    keys = np.concatenate([p[2] for p in present]).astype(object)
    intervals = np.concatenate([p[3] for p in present]).astype(np.int64)
    events = np.concatenate([p[4] for p in present]).astype(np.int64)
    if not len(keys):
        return np.zeros(0, object), np.zeros(0, np.int64)
    texts, group = np.unique(keys, return_inverse=True)
    width = int(intervals.max()) + 1
    pairs, inverse = np.unique(group.reshape(-1).astype(np.int64) * width + intervals, return_inverse=True)
    per_pair = np.bincount(inverse.reshape(-1), weights=events).astype(np.int64)
    actor = pairs // width
    if q.criteria is not None:
        actor = actor[q.criteria.holds(per_pair)]
    actors, m = np.unique(actor, return_counts=True)
    return texts[actors], m.astype(np.int64)


def first_event_us_of(store: EventStore) -> int | None:
    """This partition's first event after 2015 (stickiness' ``date_from: "all"``)."""
    from ..engine.stickiness import first_event_us

    return first_event_us(store)


def stickiness_counts(store: EventStore, q: StickinessQuery, project: Project, now: dt.datetime, limits: Limits,
                      given: dict[str, Any], *rows: Any) -> list[tuple[Any, ...] | None]:
    """Per planned query (None when the series' action does not exist): for persons ("persons",
    N intervals, actors per number of qualifying intervals) — a person's events are all here;
    for groups ("groups", N, group key, interval key, events) per (group, interval) pair before
    the criteria — a group's events may be in several partitions (so may a math 'hogql' value's:
    its JSON text is the key). ``rows``: see ``with_rows``."""
    from ..engine.stickiness import (
        actor_interval_pairs,
        histogram,
        hogql_actors,
        plan_stickiness,
        selected_rows,
        stickiness_context,
    )

    ctx = stickiness_context(store, q, project, now, limits)
    ctx.given.update(with_rows(given, rows, store))
    plan = plan_stickiness(ctx)
    out: list[tuple[Any, ...] | None] = []
    for query in plan.queries:
        s = query.series
        if s.math == "unique_group" and s.math_group_type_index is not None:
            selected = selected_rows(ctx, query)
            if selected is None:
                out.append(None)
                continue
            n, _, actor, key, events = actor_interval_pairs(ctx, q, query, plan.current, selected)
            col = store.column(f"$group_{s.math_group_type_index}")
            # the key as JSON text: distinct dictionary values stay distinct, and texts compare
            values = key_texts(col)
            out.append(("groups", n, values[actor], key, events))
            continue
        if s.math == "hogql":  # an expression's value is the actor: its events may be in several partitions too
            selected = selected_rows(ctx, query)
            if selected is None:
                out.append(None)
                continue
            n, _, actor, key, events = actor_interval_pairs(ctx, q, query, plan.current, selected)
            texts = np.asarray([json.dumps(v) for v in hogql_actors(ctx, s, selected)[1]], dtype=object)
            out.append(("groups", n, texts[actor], key, events))
            continue
        h = histogram(ctx, q, query, plan.current)
        out.append(None if h is None else ("persons", h.n_intervals, np.bincount(h.intervals).astype(np.int64)))
    return out


def key_texts(col: Any) -> np.ndarray:
    """Per dictionary code of a ``$group_N`` column (and the missing slot last), the key as JSON
    text: distinct values stay distinct and texts compare across partitions (cached)."""
    if col is None:  # (no row of this partition has the key: every row is the missing slot)
        return np.asarray(["null"], dtype=object)
    values = col.dictionary.values

    def build() -> np.ndarray:
        return np.asarray([json.dumps(v, sort_keys=True) for v in values] + ["null"], dtype=object)

    return col.dictionary.cached("json_texts", build)


def add_padded(arrays: list[np.ndarray]) -> np.ndarray:
    """The element-wise sum of integer arrays of different lengths (missing tails are zero)."""
    out = np.zeros(max((len(a) for a in arrays), default=0), dtype=np.int64)
    for a in arrays:
        out[: len(a)] += a
    return out


# --- lifecycle ------------------------------------------------------------------------------------


def lifecycle_partitioned(run: Map, lq: LifecycleQuery, project: Project, now: dt.datetime,
                          limits: Limits, rows: tuple[Any, ...] | None = None, *,
                          n_events: int | None = None, shared_sessions: Gather | None = None) -> LifecycleResult:
    """The single store's lifecycle answer from the partitions' status counts per bucket
    (persons) or active (group, bucket) pairs (groups). ``shared_sessions``: as for
    ``stickiness_partitioned``."""
    from ..engine.lifecycle import Statuses, scaled_counts, shape, unscaled_counts

    filt = lq.base
    if not filt.series:
        raise ValidationError(("series",) if filt.source == "query" else ("events",), "a lifecycle needs at least one series")
    given = session_facts(run, filt, project, shared_sessions)
    if filt.date_from == "all":
        given["earliest_us"] = min_or_none(run(Task(earliest_us_of, (filt, project, now, limits))))
    planning = {k: v for k, v in given.items() if k != "shared_sessions"}
    check_insight_cost(run, "lifecycle", lq, project, now, limits, planning, n_events)  # before any partition computes
    plan = _lifecycle_plan(_empty(), lq, project, now, limits, planning)  # shaping reads no rows
    per_partition = run(Task(lifecycle_counts, (lq, project, now, limits, given), each=rows))
    if filt.aggregation_group_type_index is not None:
        counts = unscaled_counts(plan, group_statuses(plan, per_partition, Statuses))
    else:
        counts = {s: np.zeros(plan.n_buckets, dtype=np.float64) for s in STATUSES}
        for part in per_partition:
            for s in STATUSES:
                counts[s] += part[s]  # integers: the order of additions cannot matter
    return shape(plan, scaled_counts(plan, counts))


def group_statuses(plan: Any, per_partition: list[Any], statuses: Any) -> Any:
    """The statuses of the union of every partition's active (group key, bucket) pairs: a group
    is active in a bucket when it is in any partition; its creation comes from the group table
    (a copy of which every partition holds)."""
    keys = np.concatenate([p[0] for p in per_partition]).astype(object)
    buckets = np.concatenate([p[1] for p in per_partition]).astype(np.int64)
    created = np.concatenate([p[2] for p in per_partition]).astype(np.int64)
    if not len(keys):
        empty = np.zeros(0, np.int64)
        return statuses.of_pairs(empty, empty, empty)
    texts, group = np.unique(keys, return_inverse=True)
    group = group.reshape(-1).astype(np.int64)
    created_at = np.zeros(len(texts), np.int64)
    created_at[group] = created  # the same group table in every partition
    width = plan.n_buckets + 2
    pairs = np.unique(group * width + buckets)
    a, b = pairs // width, pairs % width
    return statuses.of_pairs(a, b, plan.bucket_of(created_at[a]))


def _lifecycle_plan(store: EventStore, lq: LifecycleQuery, project: Project, now: dt.datetime, limits: Limits,
                    given: dict[str, Any]) -> Any:
    from ..engine.context import QueryContext
    from ..engine.lifecycle import LifecyclePlan

    ctx = QueryContext(store, lq.base, project, now, limits, DISPLAYS["ActionsLineGraph"])
    ctx.given.update(given)
    week_start = lq.week_start_day if lq.week_start_day is not None else project.week_start_day
    return LifecyclePlan(ctx, lq, week_start)


def lifecycle_counts(store: EventStore, lq: LifecycleQuery, project: Project, now: dt.datetime, limits: Limits,
                     given: dict[str, Any], *rows: Any) -> Any:
    """Persons: this partition's actors per (status, bucket), dormant negated, not scaled by
    sampling. Groups: its active (group key as JSON text, extended bucket) pairs and each
    pair's group's created_at (µs)."""
    from ..engine.lifecycle import Statuses, actors_of, unscaled_counts

    plan = _lifecycle_plan(store, lq, project, now, limits, with_rows(given, rows, store))
    gti = lq.base.aggregation_group_type_index
    if gti is None:
        return unscaled_counts(plan)
    if plan.n_buckets == 0:
        return np.zeros(0, object), np.zeros(0, np.int64), np.zeros(0, np.int64)
    st = Statuses(plan)
    _, created_at = actors_of(plan, st.rows[:0])
    col = store.column(f"$group_{gti}")
    texts = key_texts(col)
    return texts[st.actor], st.bucket, created_at[st.actor]


Gather = Callable[[Map], "list[dict[str, Any]] | str"]
"""Gives the events of the sessions in more than one partition, with a Map if it must gather
them: the path of their saved store or the records (``PartitionedStore.shared_session_events``)."""


def session_facts(run: Map, filt: Any, project: Project, gather: Gather | None = None) -> dict[str, Any]:
    """``{"shared_sessions": events}`` when the query reads session facts and some session
    spans partitions (``sessions.shared_sessions``), else ``{}``. ``gather``: gives those events
    (called only when the query reads session facts; None: found and gathered here)."""
    from .merge import needs_sessions
    from .sessions import shared_sessions

    if not needs_sessions(filt, project):
        return {}
    records = gather(run) if gather is not None else shared_sessions(run)
    return {"shared_sessions": records} if records else {}


def with_rows(given: dict[str, Any], rows: tuple[Any, ...], store: EventStore | None = None) -> dict[str, Any]:
    """``given`` for one partition: when the caller passed a ``tasks.RowsHandle``, its persons'
    rows in the whole store (``QueryContext.person_ids``); the events of sessions spanning
    partitions turned into its session table (``sessions.spliced_sessions``)."""
    from .sessions import spliced_sessions
    from .tasks import load_rows

    out = {**given, "person_rows": load_rows(rows[0])} if rows else dict(given)
    if "shared_sessions" in out and store is not None:
        out["sessions"] = spliced_sessions(store, out.pop("shared_sessions"))
    return out


# --- the up-front cost check -------------------------------------------------------------------------

UNCHECKED = {"max_work": 2**62, "max_cells": 2**62, "max_breakdown_cells": 2**62}
"""Limits a partition plans a stickiness or lifecycle with when it only reports facts: the
engine's planning checks its own (partial) estimate, and the refusal belongs to the whole."""


def insight_plan(store: EventStore, kind: str, q: Any, project: Project, now: dt.datetime, limits: Limits,
                 given: dict[str, Any]) -> tuple[Any, list[Any], int]:
    """(QueryContext, planned queries, numbers per bucket) of a stickiness or lifecycle query
    over ``store``, as the engine plans it before its cost check."""
    from ..engine.plan import Query

    if kind == "stickiness":
        from ..engine.stickiness import plan_stickiness, stickiness_context

        ctx = stickiness_context(store, q, project, now, limits)
        ctx.given.update(given)
        return ctx, list(plan_stickiness(ctx).queries), 1
    from ..engine.lifecycle import STATUSES
    plan = _lifecycle_plan(store, q, project, now, limits, given)
    return plan.ctx, [Query(s, plan.axis) for s in q.base.series], len(STATUSES)


def insight_facts_of(store: EventStore, kind: str, q: Any, project: Project, now: dt.datetime, limits: Limits,
                     given: dict[str, Any]) -> list[QueryFacts]:
    """This partition's facts of every planned query of a stickiness or lifecycle query."""
    import attrs

    ctx, queries, _ = insight_plan(store, kind, q, project, now, attrs.evolve(limits, **UNCHECKED), given)
    return query_facts(ctx, queries, breakdown=False)


def check_insight_cost(run: Map, kind: str, q: Any, project: Project, now: dt.datetime, limits: Limits,
                       given: dict[str, Any], n_events: int | None = None) -> None:
    """The single store's up-front refusal of a stickiness (``kind``) or lifecycle query over all
    partitions (``given``: the facts its plan needs, e.g. the first event of ``date_from: "all"``;
    ``n_events``: the partitions' events, when known: a query within the limits whatever the
    facts asks the partitions for none, ``cost.fits_at_full_size``)."""
    ctx, queries, outputs = insight_plan(_empty(), kind, q, project, now, limits, given)
    if fits_at_full_size(ctx, queries, n_events, outputs, breakdown=False):
        return
    # (no breakdown, so no value bound to combine: the dictionaries' layout does not matter here)
    facts = combine(q.base, run(Task(insight_facts_of, (kind, q, project, now, limits, given))), True)
    check_estimate(ctx, estimate(ctx, queries, outputs, breakdown=False, facts=facts), len(queries))
