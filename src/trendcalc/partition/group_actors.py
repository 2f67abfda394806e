"""The group actors of a stickiness or lifecycle data point over a PartitionedStore.

A group's events may lie in several partitions, so no partition alone knows whether a group
belongs to the point. Two phases:

1. **Which groups** (``point_groups``, on the coordinator): the partitions report the per-key
   states the partitioned insights already merge exactly (``insights.py``) — stickiness'
   (group, interval, events) triples of the point's query, lifecycle's active (group, bucket)
   pairs — and the coordinator decides as the engine does: a group whose number of qualifying
   intervals (after ``stickinessCriteria`` on the merged events) is exactly ``day`` (at least,
   cumulative), or whose status in the point's bucket is ``status`` (``Statuses.of_pairs``).
2. **Their rows** (``point_candidates``, per partition): the engine's own selection of the
   point's rows (``engine/stickiness_actors.py``, ``engine/lifecycle_actors.py``) with the
   chosen groups, as group actors; every partition returns all of its groups of the point
   (``actors._group_candidates``), which ``actors.merge_groups`` merges by key — event counts
   added, last events the latest — and orders and pages as one store does.

Groups are matched between the phases by their key as JSON text (``insights.key_texts``), rows
without the key as ``null`` — which is how the engine's own stickiness treats them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from ..limits import Limits
from ..project import Project
from ..store import EventStore
from .tasks import Map, Task


@attrs.frozen
class Point:
    """The groups of one stickiness or lifecycle data point (their keys as JSON text) and where
    their rows are: the stickiness query's index in the plan, or the lifecycle bucket (extended
    index) whose rows count."""

    kind: str
    chosen: tuple[str, ...]
    query_index: int = 0
    bucket: int = -1


def point_groups(run: Map, plan: Any, project: Project, now: dt.datetime, limits: Limits, given: dict[str, Any],
                 handles: tuple[Any, ...]) -> Point:
    """Phase 1: the groups of the point (``plan``: an engine ActorsPlan of a stickiness or
    lifecycle point, already checked on an empty store)."""
    if plan.kind == "stickiness":
        return _stickiness_groups(run, plan, project, now, limits, given, handles)
    local = {k: v for k, v in given.items() if k != "shared_sessions"}
    return _lifecycle_groups(run, plan, project, now, limits, given, local, handles)


def _stickiness_groups(run: Map, plan: Any, project: Project, now: dt.datetime, limits: Limits, given: dict[str, Any],
                       handles: tuple[Any, ...]) -> Point:
    from .insights import group_qualifying, stickiness_counts

    q, req = plan.query, plan.request
    index = req.series * (2 if q.base.compare else 1) + (1 if req.compare == "previous" else 0)
    per_partition = run(Task(stickiness_counts, (q, project, now, limits, given), each=tuple(handles)))
    present = [p[index] for p in per_partition if p[index] is not None]
    day = int(str(req.day).strip())  # (checked by the engine: an int >= 1, or its digits)
    if not present:
        return Point("stickiness", (), index)
    texts, intervals = group_qualifying(q, present)
    chosen = texts[intervals >= day] if q.cumulative else texts[intervals == day]
    return Point("stickiness", tuple(chosen.tolist()), index)


def _lifecycle_groups(run: Map, plan: Any, project: Project, now: dt.datetime, limits: Limits, given: dict[str, Any],
                      local: dict[str, Any], handles: tuple[Any, ...]) -> Point:
    from ..engine.actors.window import parse_day
    from ..engine.lifecycle import Statuses
    from ..timeutil import UTC, datetime_to_us
    from .insights import _lifecycle_plan, group_statuses, lifecycle_counts

    lq, req = plan.query, plan.request
    shaped = _lifecycle_plan(EventStore.from_records([]), lq, project, now, limits, local)  # reads no rows
    if not shaped.n_buckets:
        return Point("lifecycle", ())
    day = parse_day(req.day, shaped.ctx, req.path("day"))
    ext = int(shaped.bucket_of(np.array([datetime_to_us(day.astimezone(UTC))], dtype=np.int64))[0])
    if ext < 0:  # a day outside the window (and its look-back bucket) has no actors
        return Point("lifecycle", ())
    per_partition = run(Task(lifecycle_counts, (lq, project, now, limits, given), each=tuple(handles)))
    statuses = group_statuses(shaped, per_partition, Statuses)
    keys = [p[0] for p in per_partition]
    texts = np.unique(np.concatenate(keys).astype(object)) if keys else np.zeros(0, object)
    chosen = texts[statuses.actors_at(plan.status, ext)] if len(texts) else texts
    return Point("lifecycle", tuple(chosen.tolist()), bucket=ext - 1 if plan.status == "dormant" else ext)


def point_candidates(store: EventStore, plan: Any, project: Project, now: dt.datetime, limits: Limits,
                     given: dict[str, Any], point: Point, page: Callable[..., Any]) -> Any:
    """Phase 2 on one partition (``given`` already this partition's, ``insights.with_rows``):
    the ActorSet of the point's rows of the chosen groups, handed to ``page``."""
    from ..engine.actors.run import plan_columns

    columns, names, terms = plan_columns(plan.request, "group", False, "")  # (the engine's columns of group actors)
    chosen = np.asarray(point.chosen, dtype=object)
    rows_of = _stickiness_rows if point.kind == "stickiness" else _lifecycle_rows
    actors = rows_of(store, plan, project, now, limits, given, point, chosen)
    return page(actors, plan.request, columns, names, terms)


def _stickiness_rows(store: EventStore, plan: Any, project: Project, now: dt.datetime, limits: Limits,
                     given: dict[str, Any], point: Point, chosen: np.ndarray) -> Any:
    """The group ActorSet of ``engine/stickiness_actors.py``: the query's selected rows whose
    group is chosen."""
    from ..engine.stickiness import (
        actor_interval_pairs,
        plan_stickiness,
        selected_rows,
        stickiness_context,
    )
    from .insights import key_texts

    q = plan.query
    ctx = stickiness_context(store, q, project, now, limits)
    ctx.given.update(given)
    splan = plan_stickiness(ctx)
    query = splan.queries[point.query_index]
    gti = query.series.math_group_type_index
    assert gti is not None  # (a group point of stickiness: unique_group of a group type)
    rows = selected_rows(ctx, query)
    col = store.column(f"$group_{gti}")
    if rows is None or col is None:  # no action, or no row here has the key (the engine drops keyless rows)
        rows = np.zeros(0, dtype=np.int64)
    _, row_actor, _, _, _ = actor_interval_pairs(ctx, q, query, splan.current, rows)
    member = np.isin(key_texts(col), chosen)  # per dictionary code, and the missing slot (-1) last
    keep = member[row_actor] if len(rows) else np.zeros(0, dtype=bool)
    return _group_set(ctx, gti, rows[keep], col.codes[rows[keep]] if col is not None else np.zeros(0, np.int64))


def _lifecycle_rows(store: EventStore, plan: Any, project: Project, now: dt.datetime, limits: Limits,
                    given: dict[str, Any], point: Point, chosen: np.ndarray) -> Any:
    """The group ActorSet of ``engine/lifecycle_actors.py``: the rows of the chosen groups in the
    point's bucket (the bucket before, for dormant groups)."""
    from ..engine.lifecycle import Statuses
    from .insights import _lifecycle_plan, key_texts

    lplan = _lifecycle_plan(store, plan.query, project, now, limits, given)
    gti = plan.query.base.aggregation_group_type_index
    assert gti is not None  # (a group point of lifecycle: aggregation_group_type_index)
    rows = codes = np.zeros(0, dtype=np.int64)
    if lplan.n_buckets and len(chosen):
        st = Statuses(lplan)
        if len(st.rows):
            member = np.isin(key_texts(store.column(f"$group_{gti}")), chosen)
            pick = member[st.row_actor] & (st.row_bucket == point.bucket)
            rows, codes = st.rows[pick], st.row_actor[pick]
    return _group_set(lplan.ctx, gti, rows, codes)


def _group_set(ctx: Any, gti: int, rows: np.ndarray, codes: np.ndarray) -> Any:
    """The ActorSet of groups of type ``gti`` of ``rows`` (``codes``: their ``$group_N``
    dictionary codes), rows without a key dropped — as ``engine.actors.run.page_of_actors``."""
    from ..engine.actors.actor_set import ActorSet, group_key_ids

    key = np.zeros(0, dtype=np.int64)
    if len(rows):
        lut, _ = group_key_ids(ctx.store, gti)
        key = lut[codes]
        rows, key = rows[key >= 0], key[key >= 0]
    return ActorSet(ctx, "group", gti, rows, key)


__all__ = ["Point", "point_candidates", "point_groups"]
