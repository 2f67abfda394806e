"""Math types (time-math-breakdown.md §4): the value of one (breakdown value, bucket) cell,
the actor an event counts for, and the weekly/monthly active windows (§4.3)."""

from __future__ import annotations

import datetime as dt
import json
import math
import zoneinfo
from typing import Any

from ...project import Project
from ...query.model import Series, TrendsFilter
from .sessions import session_value
from .supported import CUMULATIVE_DISPLAY
from .timeaxis import Query, bucket_index, bucket_starts
from .values import NUMBER, render_text, to_float
from .world import UTC, ReferenceUnsupported, World, to_utc

ACTOR_MATHS = ("dau", "unique_group", "weekly_active", "monthly_active")  # group actors with a gti


def actor_of(filt: TrendsFilter, series: Series, project: Project, event: dict[str, Any]) -> Any:
    """§4.1: the group key for group-aggregated maths, else the distinct_id (team setting) or person."""
    gti = series.math_group_type_index
    if gti is None:
        gti = filt.aggregation_group_type_index
    if gti is not None and series.math in ACTOR_MATHS:
        return json.dumps(event["properties"].get(f"$group_{gti}"))
    if project.aggregate_users_by_distinct_id:
        return event["distinct_id"]
    return event["person"]


QUANTILES = {"median": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99}
PROPERTY_MATHS = ("sum", "avg", "min", "max", *QUANTILES)
PER_ACTOR_MATHS = tuple(f"{m}_count_per_actor" for m in ("avg", "min", "max", *QUANTILES))
FIRST_TIME_MATHS = ("first_time_for_user", "first_matching_event_for_user")
COUNTING_MATHS = ("total", "dau", "unique_group", "unique_session", "weekly_active", "monthly_active",
                  *FIRST_TIME_MATHS)
NEW_ACTORS_CUMULATIVE = ("dau", "unique_group")  # §5.2: cumulative counts each actor once
INTERVAL_RANK = {"minute": 0, "hour": 1, "day": 2, "week": 3, "month": 4}


def effective_math(math_name: str, interval: str) -> str:
    """§4.3: WAU at a week or month interval and MAU at month are plain dau (the query's own
    interval decides, even when a total-value display resolves its dates by day)."""
    if math_name == "weekly_active" and INTERVAL_RANK[interval] >= INTERVAL_RANK["week"]:
        return "dau"
    if math_name == "monthly_active" and interval == "month":
        return "dau"
    return math_name


def quantile(values: list[float], level: float) -> float:
    """ClickHouse quantile: linear interpolation at index level·(n−1) of the sorted values."""
    v = sorted(values)
    index = level * (len(v) - 1)
    i = int(index)
    if i + 1 >= len(v):
        return v[i]
    return v[i] * (i + 1 - index) + v[i + 1] * (index - i)


def reduce_values(name: str, values: list[float]) -> float:
    """sum / avg / min / max / quantiles of the non-NULL values; none → 0."""
    if not values:
        return 0.0
    if name == "sum":
        return float(sum(values))
    if name == "avg":
        return sum(values) / len(values)
    if name == "min":
        return float(min(values))
    if name == "max":
        return float(max(values))
    return quantile(values, QUANTILES[name])


def session_key(event: dict[str, Any]) -> str:
    """§4.2 unique_session: R($session_id); events without one share the session ''."""
    v = event["properties"].get("$session_id")
    return "" if v is None else render_text(v)


def session_durations(world: World, rows: list[dict[str, Any]]) -> list[float]:
    """§4.2 ``$session_duration``: one value per distinct ``$session_id`` text of the cell (the
    events query groups by it), the duration of that session — 0 for the session-less ``''``
    and for ids that are no UUIDv7 (the sessions join's default)."""
    first: dict[str, dict[str, Any]] = {}
    for e in rows:
        first.setdefault(session_key(e), e)
    return [float(session_value(world, "$session_duration", e)) for e in first.values()]


def unix_seconds(v: Any) -> float | None:
    """§4.2 ``$time``: toUnixTimestamp — whole seconds (truncated) of a number, a numeric string,
    or an ISO-8601 datetime string (naive = UTC); anything else, and non-finite numbers, NULL."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, str):
        try:
            return float(math.trunc(to_utc(v).timestamp())) if not NUMBER.match(v.strip()) else unix_seconds(float(v))
        except (ValueError, OverflowError):
            return None
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(math.trunc(v))
    return None


def cell_value(world: World, math_name: str, filt: TrendsFilter, series: Series, project: Project,
               rows: list[dict[str, Any]]) -> float:
    """§4.2: the math over the rows of one (breakdown value, bucket) cell."""
    if math_name in ("total", *FIRST_TIME_MATHS):
        return len(rows)
    if math_name in ("dau", "unique_group"):
        return len({actor_of(filt, series, project, e) for e in rows})
    if math_name == "unique_session":
        return len({session_key(e) for e in rows})
    if math_name in PROPERTY_MATHS:
        if series.math_property == "$session_duration":
            return reduce_values(math_name, session_durations(world, rows))
        if series.math_property == "$time":
            values = [unix_seconds(e["properties"].get("$time")) for e in rows]
        else:
            values = [to_float(math_property_value(world, series, e)) for e in rows]
        return reduce_values(math_name, [v for v in values if v is not None])
    if math_name in PER_ACTOR_MATHS:
        counts: dict[Any, int] = {}
        for e in rows:
            a = person_actor(project, e)
            counts[a] = counts.get(a, 0) + 1
        return reduce_values(math_name.removesuffix("_count_per_actor"), [float(c) for c in counts.values()])
    raise ReferenceUnsupported(f"math {math_name!r}")


def math_property_value(world: World, series: Series, event: dict[str, Any]) -> Any:
    """§4.2 where a property math reads ``math_property``: the event's person's properties for
    ``math_property_type: person_properties``; the event's own properties for every other type,
    ``group_properties`` included (PostHog's query runner falls through to ``properties.<key>``;
    no group is looked up)."""
    key = str(series.math_property)
    if series.math_property_type == "person_properties":
        return world.person_properties.get(event["person"], {}).get(key)
    return event["properties"].get(key)


def person_actor(project: Project, event: dict[str, Any]) -> Any:
    """Per-actor maths count persons (distinct_ids with aggregate_users_by_distinct_id)."""
    return event["distinct_id"] if project.aggregate_users_by_distinct_id else event["person"]


def shift_days(d: dt.datetime, days: int) -> dt.datetime:
    """``d`` moved by whole calendar days on the wall clock (a skipped time moves forward)."""
    naive = d.replace(tzinfo=None) + dt.timedelta(days=days)
    return naive.replace(tzinfo=d.tzinfo).astimezone(UTC).astimezone(d.tzinfo)


def activity_time(ts: dt.datetime, interval: str, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """§4.3: an event's time for the active-users windows: the start of its local hour (hour
    interval), minute (minute interval) or day (first instant of the local date)."""
    local = ts.astimezone(tz)
    if interval == "hour":
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    if interval == "minute":
        return local.replace(second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    return dt.datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def active_in_window(t: dt.datetime, bucket_start: dt.datetime, days: int) -> bool:
    """§4.3: bucket B counts actors active at some t with B − days < t <= B."""
    return shift_days(bucket_start, -days).astimezone(UTC) < t <= bucket_start.astimezone(UTC)


def active_values(filt: TrendsFilter, series: Series, project: Project, q: Query, rows: list[dict[str, Any]],
                  days: int, total_value: bool) -> list[float]:
    """Weekly/monthly active actors per bucket; total value: actors active in any window of
    the range's days."""
    tz = project.tz
    starts = bucket_starts(q.range, project.week_start_day, q.max_buckets) if total_value else q.starts
    unit = q.range.interval
    activity = [(actor_of(filt, series, project, e), activity_time(e["ts"], unit, tz)) for e in rows]
    per_bucket = [{a for a, t in activity if active_in_window(t, b, days)} for b in starts]
    if total_value:
        return [len(set().union(*per_bucket))]
    return [len(s) for s in per_bucket]


def bucketed_values(world: World, math_name: str, filt: TrendsFilter, series: Series, project: Project, q: Query,
                    rows: list[dict[str, Any]], total_value: bool) -> list[float]:
    """The math per bucket (one bucket for total-value displays); cumulative dau and
    unique_group count each actor once, in the bucket of its first event (§5.2)."""
    n = 1 if total_value else len(q.starts)
    cells: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for e in rows:
        k = 0 if total_value else bucket_index(e["ts"], q.starts, q.range.interval, project.week_start_day)
        if k is not None:
            cells[k].append(e)
    if filt.display == CUMULATIVE_DISPLAY and math_name in NEW_ACTORS_CUMULATIVE:
        seen: set[Any] = set()
        values = []
        for c in cells:
            actors = {actor_of(filt, series, project, e) for e in c} - seen
            seen |= actors
            values.append(float(len(actors)))
        return values
    return [float(cell_value(world, math_name, filt, series, project, c)) for c in cells]
