"""A plain, row-at-a-time reference for Stickiness (spec stickiness-lifecycle.md §2–3).

Loops over event dicts with zoneinfo datetimes, one short function per rule. It shares the parsed
query model (``query.stickiness``) and the Trends reference's date, bucket and filter rules
(``testing.reference``) — never the vectorised engine — so a disagreement with
``trendcalc.stickiness`` is a bug in one of them.

    from trendcalc.testing.reference_stickiness import reference_stickiness
    expected = reference_stickiness(events, persons, groups, query=q, project=p, now=now)
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..limits import DEFAULT_LIMITS, Limits
from ..project import Project
from ..query.model import Series, TrendsFilter
from ..query.stickiness import StickinessQuery, parse_stickiness
from . import reference as ref
from .reference import actions, compare, properties, rows, sampling, timeaxis
from .reference import world as ref_world
from .reference.world import as_project

UTC = dt.timezone.utc
EARLIEST_TIMESTAMP = dt.datetime(2015, 1, 1, tzinfo=UTC)


def earliest_event(world: ref.World, now: dt.datetime) -> dt.datetime:
    """§3.9: the first event of any name after 2015-01-01, else one week before now."""
    times = [e["ts"] for e in world.events if e["ts"] > EARLIEST_TIMESTAMP]
    return min(times) if times else now - dt.timedelta(weeks=1)


def current_range(world: ref.World, filt: TrendsFilter, project: Project, now: dt.datetime) -> timeaxis.DateRange:
    """§2.1: date_from() and date_to() in the project timezone."""
    tz = project.tz
    now_local = now.astimezone(tz)
    start, mapping = timeaxis.date_from_value(filt.date_from, filt.interval, now_local, tz, filt.explicit_date, False,
                                         earliest_event(world, now))
    end = timeaxis.date_to_value(filt.date_to, filt.interval, now_local, tz, filt.explicit_date, False)
    return timeaxis.DateRange(start, end, mapping, filt.interval, filt.explicit_date, False)


def previous_range(filt: TrendsFilter, project: Project, current: timeaxis.DateRange) -> timeaxis.DateRange:
    """§3.7: the period before the current one (or at ``compare_to`` before it)."""
    f, t = current.date_from, current.date_to
    if filt.compare_to is not None:
        start, end = compare.compare_to_period(f, t, filt.compare_to, project.human_friendly_comparison_periods)
    else:
        to_mapping = None
        if filt.date_to is not None:
            to_mapping = timeaxis.parse_date(filt.date_to, f, project.tz)[1]
        mapping = None if filt.date_from in (None, "all") else current.from_mapping
        start, end = compare.previous_period(f, t, mapping, to_mapping, filt.interval)
    return timeaxis.DateRange(start, end, current.from_mapping, filt.interval, filt.explicit_date, False)


def event_passes(world: ref.World, filt: TrendsFilter, series: Series, project: Project, event: dict[str, Any]) -> bool:
    """§3.2 step 1: the series' event or action, test accounts, global and series properties,
    the sample, and ``$group_N != ''`` for unique_group."""
    if not actions.series_matches(world, series, project, event) or not sampling.sampled(event, filt.sampling_factor):
        return False
    if filt.filter_test_accounts and project.test_account_filters:
        from ..query.properties import parse_test_account_filters

        if not properties.group_holds(world, project, parse_test_account_filters(project.test_account_filters, DEFAULT_LIMITS), event):
            return False
    if not properties.group_holds(world, project, filt.properties, event):
        return False
    if not properties.group_holds(world, project, series.properties, event):
        return False
    if series.math == "unique_group" and series.math_group_type_index is not None:
        return rows.group_key_present(event, series.math_group_type_index)
    return True


def actor(series: Series, project: Project, event: dict[str, Any]) -> Any:
    """§3.2 step 2: the group key for unique_group, else the person (or distinct_id)."""
    if series.math == "unique_group" and series.math_group_type_index is not None:
        return json.dumps(event["properties"].get(f"$group_{series.math_group_type_index}"))
    if project.aggregate_users_by_distinct_id:
        return event["distinct_id"]
    return event["person"]


def age(ts: dt.datetime, end: dt.datetime, interval: str, tz: Any) -> int:
    """§3.4: whole intervals from ``ts`` to ``end``."""
    if interval in ("hour", "minute"):
        return int((end - ts).total_seconds() // (3600 if interval == "hour" else 60))
    a, b = ts.astimezone(tz), end.astimezone(tz)
    a_naive, b_naive = a.replace(tzinfo=None), b.replace(tzinfo=None)
    if interval in ("day", "week"):
        days = (b_naive.date() - a_naive.date()).days - (1 if b_naive.time() < a_naive.time() else 0)
        return days if interval == "day" else days // 7
    months = (b_naive.year - a_naive.year) * 12 + b_naive.month - a_naive.month
    later_in_month = (b_naive.day, b_naive.time()) < (a_naive.day, a_naive.time())
    return months - (1 if later_in_month else 0)


def interval_key(q: StickinessQuery, project: Project, starts: list[dt.datetime], end: dt.datetime,
                 event: dict[str, Any]) -> int | None:
    """§3.2 step 3: the calendar bucket, or the block counted back from the current date_to."""
    interval = q.base.interval
    if q.interval_count is None:
        return timeaxis.bucket_index(event["ts"], starts, interval, project.week_start_day)
    return age(event["ts"], end, interval, project.tz) // q.interval_count


def qualifies(q: StickinessQuery, n_events: int) -> bool:
    """§3.2 step 4: the criteria on one interval's event count."""
    c = q.criteria
    if c is None:
        return n_events > 0
    return {"gte": n_events >= c.value, "lte": n_events <= c.value, "exact": n_events == c.value}[c.operator]


def series_label(project: Project, series: Series) -> str:
    if series.kind == "events":
        return series.label
    name = (project.action_source(series.id) or {}).get("name")
    return name if isinstance(name, str) else series.label


def one_series(world: ref.World, q: StickinessQuery, project: Project, series: Series, r: timeaxis.DateRange,
               current: timeaxis.DateRange, period: str | None, max_buckets: int) -> dict[str, Any]:
    """§3.2–3.5 for one series in one period."""
    filt = q.base
    for group in rows.query_filter_groups(filt, project, series):
        properties.check_group(world, project, group)  # a constant its property cannot take fails the query
    starts = timeaxis.bucket_starts(r, project.week_start_day, max_buckets)
    end = timeaxis.whole_second(current.date_to)
    per_actor: dict[Any, dict[int, int]] = {}
    for e in world.events:
        if not timeaxis.in_range(e["ts"], r, project.week_start_day) or not event_passes(world, filt, series, project, e):
            continue
        key = interval_key(q, project, starts, end, e)
        if key is None or key < 0:
            continue
        keys = per_actor.setdefault(actor(series, project, e), {})
        keys[key] = keys.get(key, 0) + 1
    n = len(starts) if q.interval_count is None else math.ceil(len(starts) / q.interval_count)
    histogram: dict[int, int] = {}
    for keys in per_actor.values():
        m = sum(1 for c in keys.values() if qualifies(q, c))
        if m > 0:
            histogram[m] = histogram.get(m, 0) + 1
    days = sorted(set(range(1, n + 1)) | set(histogram))
    data = [histogram.get(d, 0) for d in days]
    count = sum(data)
    if q.cumulative:
        data = [sum(data[i:]) for i in range(len(data))]
    suffix = " or more" if q.cumulative else ""
    out: dict[str, Any] = {
        "count": count,
        "data": data,
        "days": days,
        "labels": [f"{d} {filt.interval}{'' if d == 1 else 's'}{suffix}" for d in days],
        "label": series_label(project, series),
    }
    if period is not None:
        out["compare"] = True
        out["compare_label"] = period
    return out


def reference_stickiness(
    events: Iterable[Mapping[str, Any]],
    persons: Iterable[Mapping[str, Any]] | None = None,
    groups: Iterable[Mapping[str, Any]] | None = None,
    *,
    query: Mapping[str, Any] | StickinessQuery,
    project: Project | Mapping[str, Any] | None = None,
    now: Any = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[dict[str, Any]]:
    """The series dicts ``stickiness(...).to_dicts()`` returns, without ``action``."""
    project = as_project(project)
    q = parse_stickiness(query, limits=limits)
    filt = q.base
    if any(s.math == "hogql" for s in filt.series):
        raise ref.ReferenceUnsupported("math 'hogql' in stickiness")
    world = ref.load_world(events, persons, groups)
    clock = ref_world.resolve_now(now)
    world.now = clock
    current = current_range(world, filt, project, clock)
    periods: list[tuple[str | None, timeaxis.DateRange]] = [("current" if filt.compare else None, current)]
    if filt.compare:
        periods.append(("previous", previous_range(filt, project, current)))
    # the range's buckets are bounded whatever its series (a query of only missing actions too),
    # as the engine checks the range before it reads a series
    timeaxis.bucket_starts(current, project.week_start_day, limits.max_buckets)
    out = []
    for s in filt.series:
        if s.kind == "actions" and project.action_source(s.id) is None:
            continue  # §3.8: a missing action's series is left out
        for period, r in periods:
            out.append(one_series(world, q, project, s, r, current, period, limits.max_buckets))
    return out


__all__ = ["reference_stickiness"]
