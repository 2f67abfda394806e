"""The lifecycle pipeline: plan the window → select and mask rows → (actor, bucket) pairs →
statuses → counts per bucket (spec stickiness-lifecycle §5, §6).

Built from the Trends engine's pieces: the date range and buckets come from ``timeaxis``, rows
from the series' event slices or action matches (``trends.SeriesSource``), the filters from
``trends.series_mask`` (test accounts, global and series properties, cohorts, non-empty group
key), so a lifecycle reads exactly the rows a Trends series over the same window would.

The statuses are computed on the sorted unique (actor, bucket) pairs of the selected rows, with
one look-back bucket before the first one, all vectorised:

- the first active bucket of an actor is **new** when it is the actor's creation bucket
  (person ``created_at``, or the group's for group aggregation), else **resurrecting**;
- a later active bucket is **returning** when the actor was active in the bucket before it,
  else **resurrecting**;
- every active bucket not followed by activity in the next one gives **dormant** in the next
  bucket (negated in the answer).

Only buckets of the range are kept; the look-back bucket only decides the first one's status.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..lifecycle_result import LifecycleResult, LifecycleSeries
from ..limits import Limits
from ..project import Project
from ..query.displays import DISPLAYS
from ..query.lifecycle import STATUSES, LifecycleQuery
from ..query.model import PropertyFilter, PropertyGroup, Series
from ..results import SeriesResult
from ..store import EventStore
from ..store.tables import NO_TIME
from ..timeutil import UTC, datetime_to_us
from .context import QueryContext
from .cost import check_cost
from .plan import Query, earliest_timestamp
from .predicates.properties import mask_rows
from .shared_filters import register_plan
from .timeaxis import MONTHS, STEP, TimeAxis, _resolve_local, build_axis, resolve_range
from .trends import SeriesSource, series_mask

PERSONLESS = PropertyFilter(key="$process_person_profile", operator="is_not", value="false", type="event")
STEP_US = {"hour": 3_600_000_000, "minute": 60_000_000}


class LifecyclePlan:
    """The window of one lifecycle query: the range's buckets plus one look-back bucket.

    ``edges_us`` has ``n_buckets + 2`` edges: the look-back bucket's start, every bucket start,
    and the end of the last bucket. Extended bucket ``k`` is ``[edges_us[k], edges_us[k+1])``;
    ``k = 0`` is the look-back bucket, ``k = 1..n`` the range's buckets.
    """

    def __init__(self, ctx: QueryContext, lq: LifecycleQuery, week_start_day: int):
        filt = ctx.filter
        self.ctx = ctx
        self.query = lq
        self.week_start_day = week_start_day
        r = resolve_range(filt.date_from, filt.date_to, interval=filt.interval, now=ctx.now, tz=ctx.project.tz,
                          explicit=filt.explicit_date, earliest=lambda: earliest_timestamp(ctx, filt.series))
        if r.date_from > r.date_to and filt.date_from != "all":  # as Trends (PostHog: zero buckets)
            path = ("dateRange", "date_from") if filt.source == "query" else ("date_from",)
            raise ValidationError(path, f"date_from {r.date_from.isoformat()} is after date_to {r.date_to.isoformat()}")
        self.axis: TimeAxis = build_axis(r, week_start_day, max_buckets=ctx.limits.max_buckets)
        # explicitDate (exact_timerange): the runner keeps only buckets starting at or after the
        # exact date_from, so an off-boundary first bucket is dropped (its events still count as
        # look-back activity)
        self.skip = 0
        if (lq.engine == "runner" and filt.explicit_date and self.axis.starts
                and self.axis.starts[0].astimezone(UTC) < r.date_from.astimezone(UTC)):
            self.skip = 1
        n = self.axis.n_buckets
        if n == 0:
            self.edges_us = np.zeros(0, dtype=np.int64)
        else:
            self.edges_us = np.concatenate([[self._lookback_us()], self.axis.edges_us]).astype(np.int64)

    @property
    def n_buckets(self) -> int:
        return self.axis.n_buckets

    def _lookback_us(self) -> int:
        interval = self.axis.interval
        first = self.axis.starts[0]
        if interval in STEP_US:
            return int(self.axis.edges_us[0]) - STEP_US[interval]
        tz = first.tzinfo
        assert tz is not None  # bucket starts are local times in the project zone
        local = (first.replace(tzinfo=None) - STEP[interval]).replace(tzinfo=tz)
        return datetime_to_us(_resolve_local(local, tz).astimezone(UTC))

    def bucket_of(self, us: np.ndarray) -> np.ndarray:
        """Extended bucket per timestamp: 0 = look-back, 1..n = range buckets, -1 = outside."""
        b = np.searchsorted(self.edges_us, us, "right") - 1
        b[(b < 0) | (b > self.n_buckets)] = -1
        return b


def run_lifecycle(store: EventStore, lq: LifecycleQuery, project: Project, now: dt.datetime, limits: Limits) -> LifecycleResult:
    """Answer a parsed lifecycle query: four series (new, returning, resurrecting, dormant) per
    labelled series."""
    filt = lq.base
    if not filt.series:
        path = ("series",) if filt.source == "query" else ("events",)
        raise ValidationError(path, "a lifecycle needs at least one series")
    ctx = QueryContext(store, filt, project, now, limits, DISPLAYS["ActionsLineGraph"])
    week_start = lq.week_start_day if lq.week_start_day is not None else project.week_start_day
    plan = LifecyclePlan(ctx, lq, week_start)
    queries = [Query(s, plan.axis) for s in filt.series]
    check_cost(ctx, queries, len(STATUSES), breakdown=False)  # before any row is read (engine/cost.py)
    register_plan(ctx, queries)
    counts = status_counts(plan)
    return shape(plan, counts)


# --- rows and actors ----------------------------------------------------------------------------


def selected_rows(plan: LifecyclePlan) -> np.ndarray:
    """Sorted rows that count as activity: in the window, matching every series' event/action and
    properties (the runner ANDs all series; the legacy engine reads the first entity only), the
    global filters and test accounts, and not personless (runner) / with a person (legacy)."""
    ctx, lq = plan.ctx, plan.query
    filt = ctx.filter
    if plan.n_buckets == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(plan.edges_us[0]), int(plan.edges_us[-1])
    series = filt.series if lq.engine == "runner" else filt.series[:1]
    out: np.ndarray | None = None
    for s in series:
        q = Query(s, plan.axis)
        sel = SeriesSource(ctx, q).selection(lo, hi)
        if sel is None:
            path = ("series", s.index, "id") if filt.source == "query" else ("actions",)
            raise ValidationError(path, f"Action ID {s.id} does not exist!")
        rows = sel.index()
        rows = np.sort(rows[series_mask(ctx, q, rows, (lo, hi))])
        out = rows if out is None else np.intersect1d(out, rows, assume_unique=True)
    assert out is not None
    if len(out) and lq.exclude_personless:
        out = out[mask_rows(ctx, PropertyGroup("AND", (PERSONLESS,)), out)]
    elif len(out):
        out = out[~ctx.store.persons.synthetic[ctx.store.person[out]]]
    return out


def actors_of(plan: LifecyclePlan, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(actor id per row, created_at in UTC µs per actor id; NO_TIME when unknown).

    Persons by default; with ``aggregation_group_type_index`` N the key of ``$group_N`` (its
    dictionary code) and the group's own ``created_at``."""
    store = plan.ctx.store
    gti = plan.ctx.filter.aggregation_group_type_index
    if gti is None:
        return store.person[rows].astype(np.int64), store.persons.created_at
    col = store.column(f"$group_{gti}")
    if col is None:  # no event carries the key: series_mask already dropped every row
        return np.zeros(len(rows), dtype=np.int64), np.full(1, NO_TIME, dtype=np.int64)
    table = store.groups.get(gti)

    def created(key: Any) -> int:
        if table is None or not isinstance(key, str) or key not in table.index:
            return int(NO_TIME)
        return int(table.created_at[table.index[key]])

    created_at = col.dictionary.view(("group_created_at", gti), created, np.int64, NO_TIME)
    return col.codes[rows].astype(np.int64), created_at


BITMAP_MAX = 1 << 26  # distinct keys below this many possible values are found with a bitmap


def unique_keys(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """The sorted distinct values of ``keys`` (0 <= key < n_keys): a bitmap when the key space
    is small enough (linear, no sort), else a sort."""
    if n_keys <= max(BITMAP_MAX, 4 * len(keys)):
        seen = np.zeros(n_keys, dtype=bool)
        seen[keys] = True
        return np.flatnonzero(seen)
    ordered = np.sort(keys)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


class Statuses:
    """The statuses of one query, per (actor, extended bucket) pair, vectorised.

    ``actor``/``bucket``/``status`` (index into STATUSES) hold every active pair's status;
    ``dormant_actor``/``dormant_bucket`` the dormant pairs (the bucket after an active bucket
    not followed by activity). Buckets are extended indexes (0 = look-back, n + 1 = after the
    range). ``rows``/``row_actor``/``row_bucket`` are the selected rows behind them.
    """

    def __init__(self, plan: LifecyclePlan):
        n = plan.n_buckets
        self.rows = selected_rows(plan)
        store = plan.ctx.store
        bucket = plan.bucket_of(store.ts[self.rows]) if len(self.rows) else np.zeros(0, dtype=np.int64)
        actor, created_at = actors_of(plan, self.rows)
        keep = bucket >= 0
        self.rows, self.row_actor, self.row_bucket = self.rows[keep], actor[keep], bucket[keep]
        width = n + 2
        n_actors = int(self.row_actor.max()) + 1 if len(self.row_actor) else 0
        pairs = unique_keys(self.row_actor * width + self.row_bucket, n_actors * width)
        a, b = pairs // width, pairs % width
        created_b = plan.bucket_of(created_at[a]) if len(a) else np.zeros(0, dtype=np.int64)
        first = np.ones(len(pairs), dtype=bool)
        first[1:] = a[1:] != a[:-1]
        last = np.ones(len(pairs), dtype=bool)
        last[:-1] = first[1:]
        prev_b = np.full_like(b, -2)
        prev_b[1:] = b[:-1]
        next_b = np.full_like(b, -2)
        next_b[:-1] = b[1:]
        new = first & (created_b == b)
        returning = ~first & (prev_b == b - 1)
        self.actor, self.bucket = a, b
        self.status = np.where(new, 0, np.where(returning, 1, 2))
        gone = last | (next_b != b + 1)
        self.dormant_actor, self.dormant_bucket = a[gone], b[gone] + 1

    def actors_at(self, status: str, ext_bucket: int) -> np.ndarray:
        """Sorted actor ids with ``status`` in extended bucket ``ext_bucket``."""
        if status == "dormant":
            return np.unique(self.dormant_actor[self.dormant_bucket == ext_bucket])
        return np.unique(self.actor[(self.status == STATUSES.index(status)) & (self.bucket == ext_bucket)])


def status_counts(plan: LifecyclePlan) -> dict[str, np.ndarray]:
    """Distinct actors per (status, bucket), float64 arrays of ``n_buckets``; dormant negated;
    sampled counts scaled by 1/f for the runner."""
    n = plan.n_buckets
    if n == 0:
        return {s: np.zeros(0, dtype=np.float64) for s in STATUSES}
    st = Statuses(plan)

    def per_bucket(ext: np.ndarray) -> np.ndarray:
        ext = ext[(ext >= 1) & (ext <= n)]
        return np.bincount(ext - 1, minlength=n).astype(np.float64)

    out = {s: per_bucket(st.bucket[st.status == i]) for i, s in enumerate(STATUSES[:3])}
    out["dormant"] = 0.0 - per_bucket(st.dormant_bucket)  # no -0.0
    f = plan.ctx.filter.sampling_factor
    if f is not None and f != 1 and plan.query.scale_sampled_counts:
        out = {k: np.round(v * (1.0 / f)) + 0.0 for k, v in out.items()}
    return out


# --- result -------------------------------------------------------------------------------------


def legacy_labels(axis: TimeAxis) -> list[str]:
    """The legacy engine's labels: ``%-d-%b-%Y`` for every interval (+ `` %H:%M`` hourly)."""
    hourly = axis.interval in ("hour", "minute")
    return [f"{d.day}-{MONTHS[d.month - 1]}-{d.year}" + (f" {d:%H:%M}" if hourly else "") for d in axis.starts]


def action_dict(ctx: QueryContext, s: Series) -> dict[str, Any]:
    """The series' ``action`` object: events {id, name, type, order, math}, actions the same with
    the id as a string and the action's name; ``custom_name`` only when set."""
    if s.kind == "events":
        d: dict[str, Any] = {"id": s.id, "name": s.label, "type": "events", "order": 0, "math": "total"}
    else:
        d = {"id": str(s.id), "name": series_name(ctx, s), "type": "actions", "order": 0, "math": "total"}
    if s.custom_name is not None:
        d["custom_name"] = s.custom_name
    return d


def series_name(ctx: QueryContext, s: Series) -> str:
    """Event name / "All events", or the action's name (from the project when not given)."""
    if s.kind == "actions" and s.name is None:
        action = ctx.project.action(s.id)
        if action is not None and action.name is not None:
            return action.name
    return s.label


def shape(plan: LifecyclePlan, counts: dict[str, np.ndarray]) -> LifecycleResult:
    """Four series per labelled series in the fixed status order (the runner labels from its
    first series; the legacy engine gives every entity its four, all read from the first)."""
    ctx, lq, axis = plan.ctx, plan.query, plan.axis
    filt = ctx.filter
    labelled = filt.series[:1] if lq.engine == "runner" else filt.series
    k = plan.skip
    # the runner formats days with the time for hour buckets only (minute buckets: the date)
    days = [d[:10] for d in axis.days()] if axis.interval == "minute" else axis.days()
    days, labels = days[k:], (legacy_labels(axis) if lq.engine == "legacy" else axis.labels())[k:]
    out: list[SeriesResult] = []
    for s in labelled:
        name = series_name(ctx, s)
        for status in STATUSES:
            data = counts[status][k:].tolist()
            out.append(LifecycleSeries(
                label=f"{name} - {status}",
                order=s.index,
                action=action_dict(ctx, s),
                filter={},
                data=data,
                labels=list(labels),
                days=list(days),
                count=float(sum(data)),
                status=status,
            ))
    return LifecycleResult(out, timezone=ctx.project.timezone, interval=filt.interval, toggled=lq.toggled)


__all__ = ["LifecyclePlan", "Statuses", "run_lifecycle", "status_counts"]
