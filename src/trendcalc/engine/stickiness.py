"""The stickiness pipeline: plan (series × period) → select and mask rows → actor × interval key
pairs → qualifying intervals per actor → histogram (spec stickiness-lifecycle.md §2–3).

Selection, filters (test accounts, global and series properties, cohorts, actions, group keys),
sampling, the date range, the lower bound and the calendar buckets are the Trends engine's own
pieces (``engine/trends.py``, ``engine/timeaxis.py``, ``engine/compare.py``); this module only
plans the queries and shapes the answer. Everything after selection is array work: one
``np.unique`` over actor × interval pairs, one over the qualifying actors, one ``bincount``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, cast

import attrs
import numpy as np

from ..errors import ValidationError
from ..limits import Limits
from ..project import Project
from ..query.displays import DISPLAYS
from ..query.model import Series
from ..query.stickiness import StickinessQuery
from ..results import SeriesResult
from ..stickiness_result import StickinessResult, StickinessSeries, interval_labels
from ..store import EventStore
from ..timeutil import UTC, datetime_to_us, us_to_datetime
from .context import QueryContext
from .cost import check_cost
from .localtime import utc_offsets
from .plan import Query, make_axis
from .shared_filters import register_plan
from .timeaxis import DateRange, TimeAxis, resolve_range
from .trends import SeriesSource

# "all": the team's earliest event after this instant (posthog.queries.util EARLIEST_TIMESTAMP),
# or one week before now when there is none (DEFAULT_EARLIEST_TIME_DELTA).
EARLIEST_TIMESTAMP = dt.datetime(2015, 1, 1, tzinfo=UTC)
US = 1_000_000
DAY_US = 86_400 * US


@attrs.frozen
class StickinessPlan:
    """The queries of one stickiness call, in result order, and the current period's range."""

    queries: tuple[Query, ...]
    current: DateRange


@attrs.frozen
class Histogram:
    """One query's answer before shaping: the interval counts and the actors behind them."""

    n_intervals: int
    actors: np.ndarray  # actor ids (ascending) with at least one qualifying interval
    intervals: np.ndarray  # qualifying intervals per actor (aligned with ``actors``)


def stickiness_context(store: EventStore, q: StickinessQuery, project: Project, now: dt.datetime,
                       limits: Limits) -> QueryContext:
    """The Trends QueryContext the shared selection and filter code reads (after checking that
    this engine computes everything the query asks for)."""
    check_stickiness_supported(q)
    return QueryContext(store, q.base, project, now, limits, DISPLAYS["ActionsLineGraph"])


def check_stickiness_supported(q: StickinessQuery) -> None:
    """UnsupportedError for what the engine does not compute: the filters ``check_supported``
    refuses for Trends. A series math other than unique_group only names the actor (persons, or
    for math 'hogql' the expression's value), so it is not checked as a Trends math."""
    from .supported import check_supported

    series = []
    for s in q.base.series:
        if s.math != "unique_group":
            s = attrs.evolve(s, math="dau", math_property=None, math_property_type=None)
        series.append(s)
    check_supported(attrs.evolve(q.base, series=tuple(series)))


def run_stickiness(store: EventStore, q: StickinessQuery, project: Project, now: dt.datetime,
                   limits: Limits) -> StickinessResult:
    """Answer a validated stickiness query (``api.stickiness`` checks the inputs)."""
    ctx = stickiness_context(store, q, project, now, limits)
    plan = plan_stickiness(ctx)
    out: list[SeriesResult] = []
    for query in plan.queries:
        hist = histogram(ctx, q, query, plan.current)
        if hist is not None:
            out.append(shape(ctx, q, query, hist))
    return StickinessResult(out, timezone=project.timezone, interval=q.base.interval)


def stickiness_advice(store: EventStore, q: StickinessQuery, project: Project, now: dt.datetime,
                      limits: Limits, outline: Any = None) -> list[Any]:
    """The Trends warnings that apply (unknown events, actions and property keys; a range that
    holds none of the store's events), for the query's current period.

    ``outline``: what to advise from instead of ``store`` (a partitioned store's, from its
    manifest; ``store`` is then an empty stand-in that only plans the range, so a ``date_from:
    "all"`` range, which starts at the first event, is not checked)."""
    from .advice import advise, range_advice

    about = store if outline is None else outline
    # stickiness counts actors and never reads a math property (as PostHog): nothing to warn about it
    series = tuple(attrs.evolve(s, math_property=None, math_property_type=None) for s in q.base.series)
    out = advise(about, attrs.evolve(q.base, series=series), project)
    if outline is None or q.base.date_from != "all":
        r = current_range(stickiness_context(store, q, project, now, limits))
        out += range_advice(about, q.base, r.date_from.isoformat(), r.date_to.isoformat(), now)
    return out


# --- planning ---------------------------------------------------------------------------------


def earliest_event(ctx: QueryContext) -> dt.datetime:
    """``date_from: "all"``: the first event of any name after 2015-01-01, else now − 1 week (§3.9)
    (over the whole data set when a partitioned run's first phase gave it: ``ctx.given``)."""
    best = ctx.given["first_event_us"] if "first_event_us" in ctx.given else first_event_us(ctx.store)
    if best is None:
        return ctx.now - dt.timedelta(weeks=1)
    return us_to_datetime(best)


def first_event_us(store: EventStore) -> int | None:
    """The first timestamp (UTC µs) of any event after 2015-01-01 in ``store`` (None: none).

    The store is ordered by (event, ts), so this is one binary search per event name."""
    floor_us = datetime_to_us(EARLIEST_TIMESTAMP)
    best: int | None = None
    offsets = store.offsets
    for c in range(len(store.event_names)):
        a, b = int(offsets[c]), int(offsets[c + 1])
        i = a + int(np.searchsorted(store.ts[a:b], floor_us, "right"))
        if i < b:
            t = int(store.ts[i])
            best = t if best is None else min(best, t)
    return best


def current_range(ctx: QueryContext) -> DateRange:
    filt = ctx.filter
    return resolve_range(filt.date_from, filt.date_to, interval=filt.interval, now=ctx.now, tz=ctx.project.tz,
                         explicit=filt.explicit_date, earliest=lambda: earliest_event(ctx))


def plan_stickiness(ctx: QueryContext) -> StickinessPlan:
    """Each series, then (with compare) the same series over the previous period, in place:
    [s0 current, s0 previous, s1 current, ...] (§3.7)."""
    filt = ctx.filter
    cur = current_range(ctx)
    axis = make_axis(ctx, cur)
    periods: list[tuple[str | None, TimeAxis]] = [("current" if filt.compare else None, axis)]
    if filt.compare:
        from .compare import previous_range

        previous = previous_range(ctx, earliest=lambda: earliest_event(ctx))
        periods.append(("previous", make_axis(ctx, previous, label_range=cur)))
    queries = tuple(Query(actor_series(s), ax, period) for s in filt.series for period, ax in periods)
    if len(queries) > ctx.limits.max_series:
        path = ("series",) if filt.source == "query" else ("events",)
        raise ValidationError(path, f"{len(queries)} series queries exceed max_series={ctx.limits.max_series}")
    check_cost(ctx, queries, breakdown=False)  # before any row is read (engine/cost.py)
    register_plan(ctx, queries)
    return StickinessPlan(queries, cur)


def actor_series(s: Series) -> Series:
    """The series as the stickiness runner reads it: only ``unique_group`` aggregates groups (and
    requires ``$group_N != ''``); every other math counts persons (§3.2 step 2)."""
    if s.math != "unique_group" and s.math_group_type_index is not None:
        return attrs.evolve(s, math_group_type_index=None)
    return s


# --- one query --------------------------------------------------------------------------------


def selected_rows(ctx: QueryContext, query: Query) -> np.ndarray | None:
    """The query's rows in [L, T] that pass every filter and the sample (None: missing action)."""
    src = SeriesSource(ctx, query)
    axis = query.axis
    sel = src.selection(axis.lo_us, axis.hi_us)
    if sel is None:
        return None
    if src.needs_mask():
        rows = sel.index()
        sel = sel.restrict(src.mask(rows))
    return sel.index()


def actor_ids(ctx: QueryContext, series: Series, rows: np.ndarray) -> np.ndarray:
    """Actor per row: the ``$group_N`` key code for unique_group, the id of the expression's
    value for math 'hogql' (-1: NULL, no actor), else the person (or the distinct_id when the
    project aggregates users by distinct_id)."""
    store = ctx.store
    if series.math == "hogql" and series.math_expr is not None:
        return hogql_actors(ctx, series, rows)[0]
    if series.math == "unique_group" and series.math_group_type_index is not None:
        col = store.column(f"$group_{series.math_group_type_index}")
        if col is None:
            return np.zeros(len(rows), np.int64)
        return col.codes[rows].astype(np.int64)
    if ctx.project.aggregate_users_by_distinct_id:
        return store.distinct_id[rows].astype(np.int64)
    return store.person[rows].astype(np.int64)


def interval_keys(ctx: QueryContext, q: StickinessQuery, query: Query, current: DateRange,
                  ts: np.ndarray) -> tuple[np.ndarray, int]:
    """(interval key per row, number of intervals N).

    Without intervalCount the key is the calendar bucket (team week start, project timezone);
    with it, ``age(interval, ts, T) // count`` with T the *current* period's date_to (§3.4, §3.7)."""
    axis = query.axis
    if q.interval_count is None:
        return axis.bucket_of(ts).astype(np.int64), axis.n_buckets
    c = q.interval_count
    t = current.date_to.astimezone(UTC).replace(microsecond=0)
    k = age(ts, t, axis.interval, ctx.project.tz)
    return k // c, math.ceil(axis.n_buckets / c)


def age(ts: np.ndarray, end: dt.datetime, interval: str, tz: Any) -> np.ndarray:
    """ClickHouse ``age(unit, ts, end)``: whole units elapsed from each timestamp to ``end``
    (day and month by local calendar, minus one when ``end``'s time of day — or day of month — is
    earlier than the row's; weeks are whole 7-day spans of that; hours and minutes are absolute)."""
    end_us = datetime_to_us(end)
    if interval in ("hour", "minute"):
        unit = 3600 * US if interval == "hour" else 60 * US
        return (end_us - ts) // unit
    local = ts + utc_offsets(ts, tz)
    end_local = end_us + int(utc_offsets(np.array([end_us], np.int64), tz)[0])
    if interval in ("day", "week"):
        days = end_local // DAY_US - local // DAY_US
        days -= (end_local % DAY_US < local % DAY_US).astype(np.int64)
        return days if interval == "day" else days // 7
    moments = local.astype("datetime64[us]")
    months = moments.astype("datetime64[M]")
    end_moment = np.datetime64(end_local, "us")
    end_month = end_moment.astype("datetime64[M]")
    n = (end_month - months).astype(np.int64)
    into = (moments - months.astype("datetime64[us]")).astype(np.int64)  # µs since the row's month start
    end_into = int((end_moment - end_month.astype("datetime64[us]")).astype(np.int64))
    return n - (end_into < into).astype(np.int64)


def hogql_actors(ctx: QueryContext, series: Series, rows: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """Math 'hogql': (per row the id of its ``math_hogql`` value, -1 for NULL; the value of each
    id). The runner groups by the value and counts it with count(DISTINCT), so equal values are
    one actor (1 and 1.0 too) and NULL is none."""
    from .hogql import row_results

    inverse, results = row_results(ctx, series.math_expr, rows)
    index: dict[Any, int] = {}
    lut = [-1 if r is None else index.setdefault(_value_key(r), len(index)) for r in results]
    return np.asarray(lut, dtype=np.int64)[inverse], list(index)


def _value_key(v: Any) -> Any:
    """A value as one GROUP BY key: numbers by value (bools as 0/1, all NaNs alike), text itself."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        return ("nan",) if v != v else int(v) if v.is_integer() else v
    return v


@attrs.frozen
class ActorIntervals:
    """Per row of one query: its actor (-1: outside every interval); per actor with at least one
    qualifying interval: the actor id and how many intervals qualify."""

    n_intervals: int
    row_actor: np.ndarray
    actors: np.ndarray
    intervals: np.ndarray


def actor_intervals(ctx: QueryContext, q: StickinessQuery, query: Query, current: DateRange,
                    rows: np.ndarray) -> ActorIntervals:
    """§3.2 steps 2–4 over the selected rows: (actor, interval key) pairs, their event counts,
    the criteria on each pair, and the qualifying pairs per actor."""
    n, row_actor, actor, _key, per_pair = actor_interval_pairs(ctx, q, query, current, rows)
    if q.criteria is not None:
        actor = actor[q.criteria.holds(per_pair)]
    actors, m = np.unique(actor, return_counts=True)
    return ActorIntervals(n, row_actor, actors.astype(np.int64), m.astype(np.int64))


def actor_interval_pairs(ctx: QueryContext, q: StickinessQuery, query: Query, current: DateRange,
                         rows: np.ndarray) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(N intervals, actor per row (-1: outside every interval), and per distinct (actor,
    interval key) pair — sorted — its actor, its interval key and its number of events)."""
    ts = ctx.store.ts[rows]
    key, n = interval_keys(ctx, q, query, current, ts)
    row_actor = actor_ids(ctx, query.series, rows)
    row_actor[key < 0] = -1
    inside = row_actor >= 0  # in an interval, with an actor (a NULL math_hogql value is none)
    actor, key = row_actor[inside], key[inside]
    if len(key) == 0:
        empty = np.zeros(0, np.int64)
        return n, row_actor, empty, empty, empty
    width = int(key.max()) + 1
    pairs, per_pair = np.unique(actor * width + key, return_counts=True)
    return n, row_actor, pairs // width, pairs % width, per_pair.astype(np.int64)


def histogram(ctx: QueryContext, q: StickinessQuery, query: Query, current: DateRange) -> Histogram | None:
    """Qualifying intervals per actor of one query; None when its action does not exist (the
    runner leaves such a series out, §3.8)."""
    rows = selected_rows(ctx, query)
    if rows is None:
        return None
    a = actor_intervals(ctx, q, query, current, rows)
    return Histogram(a.n_intervals, a.actors, a.intervals)


def counts(hist: Histogram) -> tuple[list[int], list[int]]:
    """(days, data): days 1..N plus any larger count that occurs; data = actors per count."""
    top = max(hist.n_intervals, int(hist.intervals.max()) if len(hist.intervals) else 0)
    per = np.bincount(hist.intervals, minlength=top + 1)
    days = [d for d in range(1, top + 1) if d <= hist.n_intervals or per[d]]
    return days, [int(per[d]) for d in days]


def shape(ctx: QueryContext, q: StickinessQuery, query: Query, hist: Histogram) -> StickinessSeries:
    """The runner's series dict for one query (§3.5)."""
    days, data = counts(hist)
    count = sum(data)
    if q.cumulative:
        data = np.cumsum(np.asarray(data[::-1], dtype=np.int64))[::-1].tolist()
    s = query.series
    label = series_label(ctx, s)
    return StickinessSeries(
        label=label,
        order=s.index,
        action={"order": s.index, "type": "events", "name": label,
                "id": s.id if s.kind == "events" else label, "custom_name": s.custom_name},
        filter={"insight": "STICKINESS", "display": "ActionsUnstackedBar"},
        data=data,
        labels=interval_labels(days, ctx.filter.interval, q.cumulative),
        days=cast(Any, days),  # ints 1..N: a stickiness axis counts intervals, it has no dates
        count=count,
        compare_label=query.period,
    )


def series_label(ctx: QueryContext, s: Series) -> str:
    """The event name ("All events" for null), or the action's name as the project defines it."""
    if s.kind == "events":
        return s.label
    action = ctx.project.action(s.id)
    name = action.name if action is not None else None
    return name if isinstance(name, str) else s.label


__all__ = ["ActorIntervals", "Histogram", "actor_intervals", "age", "histogram", "plan_stickiness", "run_stickiness", "stickiness_context"]
