"""A deliberately plain, row-at-a-time reference implementation of trendcalc's Trends semantics.

This module is the *living specification*: one short function per rule, written next to the
spec (``shared/spec/time-math-breakdown.md``, section numbers in the docstrings) with zoneinfo,
dateutil and plain loops over event dicts. It shares only the parsed filter model
(``trendcalc.parse_filter`` → ``TrendsFilter``) with the vectorised engine, so a disagreement
between the two is a bug in one of them.

    from trendcalc.testing.reference import reference_trends, comparable
    expected = reference_trends(events, persons, groups, query=q, project=p, now=now)
    assert comparable(tc.trends(store, q, project=p, now=now).to_dicts()) == comparable(expected)

Only features the reference implements are accepted; anything else raises
``ReferenceUnsupported`` (the strategies in ``trendcalc.testing.strategies`` never generate
those). Speed is a non-goal.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dateutil import parser as du_parser
from dateutil.relativedelta import relativedelta

from ..errors import ValidationError
from ..filters.model import Breakdown, BreakdownItem, Series, TrendsFilter
from ..limits import DEFAULT_LIMITS, Limits
from ..project import Project

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
NULL = "$$_posthog_breakdown_null_$$"
OTHER = "$$_posthog_breakdown_other_$$"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EN_DASH = "\u2013"
EARLIEST_FLOOR = dt.datetime(1980, 1, 1, tzinfo=UTC)

# §5: displays. Total-value displays give one aggregated_value; BoldNumber uses the exact range.
TOTAL_VALUE_DISPLAYS = ("ActionsTable", "ActionsPie", "ActionsBarValue", "WorldMap", "BoldNumber")
LINE_DISPLAYS = ("ActionsLineGraph", "ActionsBar", "ActionsStackedBar", "ActionsUnstackedBar", "ActionsAreaGraph")
CUMULATIVE_DISPLAY = "ActionsLineGraphCumulative"
DISPLAYS = LINE_DISPLAYS + (CUMULATIVE_DISPLAY,) + TOTAL_VALUE_DISPLAYS
FIXED_BREAKDOWN_LIMIT = {"WorldMap": 250}

# What this reference implements; everything else raises ReferenceUnsupported.
MATHS = ("total", "dau")
BREAKDOWN_TYPES = ("event", "person", "group")
OPERATORS: tuple[str, ...] = ()  # property filter operators (none in the engine yet)
ACTOR_MATHS = ("dau", "unique_group", "weekly_active", "monthly_active")  # group actors with a gti


class ReferenceUnsupported(NotImplementedError):
    """The query uses a feature the reference does not implement (yet)."""


# --- the world: records as plain dicts -------------------------------------------------------


@dataclass
class World:
    """Events (with resolved UTC datetimes and persons), person and group properties."""

    events: list[dict[str, Any]]
    person_properties: dict[Any, dict[str, Any]]
    group_properties: dict[tuple[int, str], dict[str, Any]]


def to_utc(value: Any) -> dt.datetime:
    """A record timestamp (ISO string, naive = UTC; datetime; epoch seconds) as an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        d = value
    elif isinstance(value, (int, float)):
        return EPOCH + dt.timedelta(microseconds=round(value * 1_000_000))
    else:
        text = value.strip()
        try:
            d = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            d = du_parser.isoparse(text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.astimezone(UTC)


def properties_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's properties (a dict or JSON text); a JSON null value is the same as absent."""
    props = record.get("properties") or {}
    if isinstance(props, str):
        props = json.loads(props)
    return {k: v for k, v in props.items() if v is not None}


def load_world(events: Iterable[Mapping], persons: Iterable[Mapping] | None = None,
               groups: Iterable[Mapping] | None = None) -> World:
    """Resolve each event's person: the person row listing its distinct_id, else its own person."""
    person_of: dict[str, Any] = {}
    person_properties: dict[Any, dict[str, Any]] = {}
    for i, p in enumerate(persons or ()):
        for did in p["distinct_ids"]:
            person_of[str(did)] = ("person", i)
        person_properties[("person", i)] = properties_of(p)
    group_properties = {}
    for g in groups or ():
        group_properties[(g["group_type_index"], str(g["group_key"]))] = properties_of(g)
    out = []
    for e in events:
        did = str(e["distinct_id"])
        out.append({
            "event": e["event"],
            "distinct_id": did,
            "person": person_of.get(did, ("distinct_id", did)),
            "ts": to_utc(e["timestamp"]),
            "properties": properties_of(e),
        })
    return World(out, person_properties, group_properties)


# --- §1: dates -------------------------------------------------------------------------------

RELATIVE = re.compile(r"-?(?P<number>[0-9]+)?(?P<kind>[hdwmqysHDWMQY])(?P<position>Start|End)?")


def delta_mapping(kind: str, number: str | None, position: str | None) -> dict[str, int]:
    """§1.3: the relativedelta arguments of one relative token (upper-case kinds: none)."""
    n = int(number) if number else 0
    m: dict[str, int] = {}
    if kind == "h":
        if n:
            m["hours"] = n
        if position == "Start":
            m.update(minute=0, second=0, microsecond=0)
        if position == "End":
            m.update(minute=59, second=59, microsecond=999999)
    elif kind == "d":
        if n:
            m["days"] = n
        if position == "Start":
            m.update(hour=0, minute=0, second=0, microsecond=0)
        if position == "End":
            m.update(hour=23, minute=59, second=59, microsecond=999999)
    elif kind == "w" and n:
        m["weeks"] = n
    elif kind == "m":
        if n:
            m["months"] = n
        if position == "Start":
            m["day"] = 1
        if position == "End":
            m["day"] = 31
    elif kind == "q" and n:
        m["weeks"] = 13 * n
    elif kind == "y":
        if n:
            m["years"] = n
        if position == "Start":
            m.update(month=1, day=1)
        if position == "End":
            m["day"] = 31
    elif kind == "M" and n:
        m["minutes"] = n
    elif kind == "s" and n:
        m["seconds"] = n
    return m


def parse_absolute(text: str, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """§1.2: isoparse, else %Y-%m-%d; naive values are local, offsets are converted."""
    try:
        d = du_parser.isoparse(text)
    except (ValueError, OverflowError):
        try:
            d = dt.datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            return None
    return d.replace(tzinfo=tz) if d.tzinfo is None else d.astimezone(tz)


def parse_date(text: str, now_local: dt.datetime, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dict | None]:
    """(value, mapping): mapping None = absolute; a string with no relative token = now, {}."""
    absolute = parse_absolute(text, tz)
    if absolute is not None:
        return absolute, None
    match = RELATIVE.search(text)
    if match is None:
        return now_local, {}
    mapping = delta_mapping(match["kind"], match["number"], match["position"])
    return now_local - relativedelta(**mapping), mapping


@dataclass
class DateRange:
    """date_from() / date_to() of one query period, in the project timezone (§1.4–1.9)."""

    date_from: dt.datetime
    date_to: dt.datetime
    from_mapping: dict | None
    interval: str
    explicit: bool
    exact: bool


def midnight(d: dt.datetime) -> dt.datetime:
    return d.replace(hour=0, minute=0, second=0, microsecond=0)


def date_from_value(text: str | None, interval: str, now_local: dt.datetime, tz: zoneinfo.ZoneInfo,
                    explicit: bool, exact: bool, earliest: dt.datetime) -> tuple[dt.datetime, dict | None]:
    """§1.4: "all" → the earliest event (§1.7); relative values truncate to the hour (mapping has
    hours) or to midnight, except for minute intervals, BoldNumber and explicit dates."""
    if text == "all":
        return earliest.astimezone(tz), {}
    if text is None:
        return midnight(now_local) - relativedelta(days=7), {"days": 7}
    value, mapping = parse_date(text, now_local, tz)
    if mapping is not None and interval != "minute" and not exact and not explicit:
        if "hours" in mapping:
            value = value.replace(minute=0, second=0, microsecond=0)
        else:
            value = midnight(value)
    return value, mapping


def date_to_value(text: str | None, interval: str, now_local: dt.datetime, tz: zoneinfo.ZoneInfo,
                  explicit: bool, exact: bool) -> dt.datetime:
    """§1.5: now when missing; extended to 23:59:59.999999 (day/week/month), to the end of the
    hour/minute for relative or missing values of hour/minute intervals; explicit: as given."""
    if text is None:
        value, relative = now_local, True
        if exact:
            return value
    else:
        value, mapping = parse_date(text, now_local, tz)
        relative = mapping is not None
    if explicit:
        return value
    if interval not in ("hour", "minute"):
        return value.replace(hour=23, minute=59, second=59, microsecond=999999)
    if relative and interval == "hour":
        return value.replace(minute=59, second=59, microsecond=999999)
    if relative:
        return value.replace(second=59, microsecond=999999)
    return value


def lower_bound(r: DateRange, week_start_day: int) -> dt.datetime:
    """§1.6: exact date_from for explicit/exact ranges, relative hour/minute ranges and relative
    ``-Nh`` day ranges; else the start of date_from's interval — but the *day* for weeks."""
    relative = r.from_mapping is not None
    if r.explicit or r.exact:
        return r.date_from
    if relative and (r.interval in ("hour", "minute") or (r.interval == "day" and "hours" in r.from_mapping)):
        return r.date_from
    if r.interval == "week":
        return midnight(r.date_from)
    return start_of_interval(r.date_from, r.interval, week_start_day)


def whole_second(d: dt.datetime) -> dt.datetime:
    """Bounds are rendered to whole seconds (the sub-second part is dropped)."""
    return d.astimezone(UTC).replace(microsecond=0)


def in_range(ts: dt.datetime, r: DateRange, week_start_day: int) -> bool:
    """§1.6: whole_second(L) <= ts <= whole_second(date_to)."""
    return whole_second(lower_bound(r, week_start_day)) <= ts <= whole_second(r.date_to)


# --- §2: buckets ------------------------------------------------------------------------------


def start_of_interval(d: dt.datetime, interval: str, week_start_day: int) -> dt.datetime:
    """§2.2: local wall-clock start of the minute/hour/day/week/month containing ``d``."""
    if interval == "minute":
        return d.replace(second=0, microsecond=0)
    if interval == "hour":
        return d.replace(minute=0, second=0, microsecond=0)
    if interval == "day":
        return midnight(d)
    if interval == "week":
        return midnight(d) - dt.timedelta(days=days_since_week_start(d.date(), week_start_day))
    return midnight(d).replace(day=1)


def days_since_week_start(day: dt.date, week_start_day: int) -> int:
    """Weeks start on Sunday (0) or Monday (1)."""
    return day.weekday() if week_start_day == 1 else (day.weekday() + 1) % 7


def step_of(interval: str) -> relativedelta:
    return {"minute": relativedelta(minutes=1), "hour": relativedelta(hours=1), "day": relativedelta(days=1),
            "week": relativedelta(weeks=1), "month": relativedelta(months=1)}[interval]


def bucket_starts(r: DateRange, week_start_day: int, max_buckets: int) -> list[dt.datetime]:
    """§2.3: from date_from's interval start to date_to's, inclusive. Day/week/month starts are
    local midnights (calendar steps); hour/minute starts are consecutive *absolute* steps from
    the local start of date_from's hour/minute (so a fall-back night has two 01:00 buckets)."""
    tz = r.date_from.tzinfo
    first = start_of_interval(r.date_from, r.interval, week_start_day)
    last = start_of_interval(r.date_to.astimezone(tz), r.interval, week_start_day)
    out: list[dt.datetime] = []
    if r.interval in ("hour", "minute"):
        step = dt.timedelta(hours=1) if r.interval == "hour" else dt.timedelta(minutes=1)
        cur, end = first.astimezone(UTC), last.astimezone(UTC)
        while cur <= end:
            out.append(cur.astimezone(tz))
            check_bucket_count(len(out), max_buckets)
            cur += step
        return out
    k = 0
    while True:
        d = first.replace(tzinfo=None) + step_of(r.interval) * k
        if d.date() > last.date():
            return out
        out.append(d.replace(tzinfo=tz).astimezone(UTC).astimezone(tz))  # a skipped midnight moves forward
        check_bucket_count(len(out), max_buckets)
        k += 1


def check_bucket_count(n: int, max_buckets: int) -> None:
    if n > max_buckets:
        raise ValidationError(("interval",), f"more than max_buckets={max_buckets} buckets")


def bucket_index(ts: dt.datetime, starts: list[dt.datetime], interval: str, week_start_day: int) -> int | None:
    """§2.2: the bucket of an event. Day/week/month: exact match of the local bucket key (the
    local date of the day/week/month start); hour/minute: the absolute step containing ts."""
    if not starts:
        return None
    tz = starts[0].tzinfo
    if interval in ("hour", "minute"):
        step = dt.timedelta(hours=1) if interval == "hour" else dt.timedelta(minutes=1)
        k = (ts - starts[0]) // step
        return k if 0 <= k < len(starts) else None
    key = start_of_interval(ts.astimezone(tz), interval, week_start_day).date()
    for i, s in enumerate(starts):
        if s.date() == key:
            return i
    return None


def day_string(start: dt.datetime, interval: str) -> str:
    """§2.5: ``days`` entries."""
    return start.strftime("%Y-%m-%d %H:%M:%S" if interval in ("hour", "minute") else "%Y-%m-%d")


def label(start: dt.datetime, interval: str, label_range: DateRange, week_start_day: int) -> str:
    """§2.6: PostHog's format_label_date."""
    if interval == "day":
        return f"{start.day}-{MONTHS[start.month - 1]}-{start.year}"
    if interval in ("hour", "minute"):
        return f"{start.day}-{MONTHS[start.month - 1]} {start:%H:%M}"
    if interval == "month":
        return f"{MONTHS[start.month - 1]} {start.year}"
    return week_label(start.date(), label_range, week_start_day)


def week_label(day: dt.date, r: DateRange, week_start_day: int) -> str:
    """The calendar week of ``day`` clamped to [date_from's date, date_to's date]."""
    week_start = day - dt.timedelta(days=days_since_week_start(day, week_start_day))
    first = max(week_start, r.date_from.date())
    last = max(min(week_start + dt.timedelta(days=6), r.date_to.astimezone(r.date_from.tzinfo).date()), first)

    def dmy(d: dt.date) -> str:
        return f"{d.day}-{MONTHS[d.month - 1]}-{d.year}"

    if first == last:
        return dmy(first)
    if first.year != last.year:
        return f"{dmy(first)} {EN_DASH} {dmy(last)}"
    if first.month != last.month:
        return f"{first.day}-{MONTHS[first.month - 1]} {EN_DASH} {last.day}-{MONTHS[last.month - 1]}"
    return f"{first.day}{EN_DASH}{last.day} {MONTHS[first.month - 1]}"


# --- §4.1: which events a series reads ---------------------------------------------------------


def step_matches(step: Mapping[str, Any], event: dict[str, Any]) -> bool:
    """An action step: its event name (none = any event); conditions are not implemented here."""
    if step.get("properties") or any(step.get(k) for k in ("url", "selector", "tag_name", "text", "href")):
        raise ReferenceUnsupported("action step conditions")
    return step.get("event") is None or step.get("event") == event["event"]


def series_matches(series: Series, project: Project, event: dict[str, Any]) -> bool:
    """Event name (None = all events), or any step of the action."""
    if series.kind == "events":
        return series.id is None or series.id == event["event"]
    action = project.action(series.id)
    return any(step_matches(step, event) for step in action.get("steps") or [])


def group_key_present(event: dict[str, Any], gti: int) -> bool:
    """``$group_N != ''``: the event carries a non-empty group key."""
    v = event["properties"].get(f"$group_{gti}")
    return v is not None and v != ""


def row_filters_pass(filt: TrendsFilter, series: Series, project: Project, event: dict[str, Any]) -> bool:
    """§4.1 / §0.5: property filters (none implemented here) and the groups-math key filter."""
    if filt.properties or series.properties or (filt.filter_test_accounts and project.test_account_filters):
        raise ReferenceUnsupported("property filters")
    gti = series.math_group_type_index if series.math in ACTOR_MATHS else None
    for idx in {gti, filt.aggregation_group_type_index} - {None}:
        if not group_key_present(event, idx):
            return False
    return True


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


def earliest_timestamp(world: World, filt: TrendsFilter, project: Project) -> dt.datetime:
    """§1.7: the first event of any series' event names (action steps; None = any), floored at
    1980-01-01; 1980-01-01 when there is none. Property filters are not applied."""
    names: list[Any] = []
    for s in filt.series:
        if s.kind == "events":
            names.append(s.id)
        else:
            action = project.action(s.id)
            names += [step.get("event") for step in (action or {}).get("steps") or []]
    times = [e["ts"] for e in world.events if any(n is None or n == e["event"] for n in names)]
    return max(min(times), EARLIEST_FLOOR) if times else EARLIEST_FLOOR


# --- §6: breakdown values ----------------------------------------------------------------------

NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def render_text(v: Any) -> str:
    """R(v): the text PostHog reads from the JSON blob: strings keep JSON escapes, numbers their
    JSON spelling, booleans true/false, containers compact JSON."""
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)[1:-1]
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def to_float(v: Any) -> float | None:
    """toFloat(R): numbers, and strings spelling a number (or inf); None otherwise."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        s = render_text(v)
        if NUMBER.match(s):
            return float(s)
        low = s.lower().replace("infinity", "inf")
        if low in ("inf", "+inf", "-inf"):
            return float(low)
    return None


def float_text(f: float) -> str:
    """ClickHouse's toString(Float64): integral values without ``.0``."""
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e16:
        return str(int(f))
    return repr(f).replace("e+", "e")


def normalize_url(s: str) -> str:
    """§6.5: trimRight(v, '/?#'); empty → '/'."""
    return s.rstrip("/?#") or "/"


def render_breakdown_value(v: Any, prop_type: str | None, normalize: bool) -> str:
    """§6.2: typed rendering (Numeric, Boolean), else R(v); empty/NULL → the null marker."""
    if v is None:
        return NULL
    if prop_type == "Numeric":
        f = to_float(v)
        text = "" if f is None else float_text(f)
    elif prop_type == "Boolean":
        text = render_text(v)
        text = text if text in ("true", "false") else ""
    else:
        text = render_text(v)
        if normalize:
            text = normalize_url(text)
    return text or NULL


def raw_breakdown_value(world: World, item: BreakdownItem, event: dict[str, Any]) -> Any:
    """§6.1: where an item reads its value: the event, the event's person, or its group."""
    if item.type == "event":
        return event["properties"].get(item.property)
    if item.type == "person":
        return world.person_properties.get(event["person"], {}).get(item.property)
    if item.type == "group":
        key = event["properties"].get(f"$group_{item.group_type_index}")
        if key is None:
            return None
        key = key if isinstance(key, str) else json.dumps(key)
        return world.group_properties.get((item.group_type_index, key), {}).get(item.property)
    raise ReferenceUnsupported(f"{item.type} breakdowns")


def breakdown_value(world: World, breakdown: Breakdown, project: Project, event: dict[str, Any]) -> Any:
    """The rendered value (a tuple of strings for ``breakdowns``)."""
    parts = []
    for item in breakdown.items:
        if item.type not in BREAKDOWN_TYPES or item.histogram_bin_count is not None:
            raise ReferenceUnsupported(f"{item.type} / histogram breakdowns")
        ptype = project.property_type(item.property, item.type, item.group_type_index)
        parts.append(render_breakdown_value(raw_breakdown_value(world, item, event), ptype, item.normalize_url))
    return tuple(parts) if breakdown.multi else parts[0]


def value_class(value: Any) -> int:
    """§6.3: 0 normal, 1 contains the null marker (ranked after every normal value)."""
    parts = value if isinstance(value, tuple) else (value,)
    return 1 if NULL in parts else 0


def rank(totals: dict[Any, float], limit: int) -> tuple[list[Any], list[Any]]:
    """§6.3/§6.9: (kept values in order, values folded into Other): by class, total desc, value asc."""
    ordered = sorted(totals, key=lambda v: (value_class(v), -totals[v], v))
    if len(ordered) <= limit:
        return ordered, []
    cut = max(limit, 0)
    return ordered[:cut], ordered[cut:]


def breakdown_label(value: Any) -> str:
    """§6.8: the value, items joined with ``::``; markers verbatim."""
    return "::".join(value) if isinstance(value, tuple) else value


# --- §4: maths per cell -------------------------------------------------------------------------


def cell_value(math_name: str, rows: list[dict[str, Any]], actors: list[Any]) -> int:
    """§4.2: total = event count; dau = distinct actors."""
    if math_name == "total":
        return len(rows)
    return len(set(actors))


# --- §5, §9: post-processing --------------------------------------------------------------------


def cumulative_forward_filled(values: list[float], present: list[bool]) -> list[float]:
    """§5.2 without a breakdown: running total over buckets with rows, zeros elsewhere; then
    every bucket after the first whose value is <= 0 takes the previous bucket's value."""
    out, running = [], 0
    for v, p in zip(values, present):
        running += v
        out.append(running if p else 0)
    for i in range(1, len(out)):
        if out[i] <= 0:
            out[i] = out[i - 1]
    return out


def running_sum(values: list[float]) -> list[float]:
    """§5.2 with a breakdown: an exact running sum."""
    out, total = [], 0
    for v in values:
        total += v
        out.append(total)
    return out


def smooth(values: list[float], n: int) -> list[int]:
    """§9.1: floor of the mean of the last min(i+1, n) values."""
    out = []
    for i in range(len(values)):
        window = values[max(0, i + 1 - n): i + 1]
        out.append(math.floor(sum(window) / len(window)))
    return out


# --- one query --------------------------------------------------------------------------------


@dataclass
class Query:
    """One series over one period."""

    series: Series
    range: DateRange
    starts: list[dt.datetime]
    period: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


def current_range(world: World, filt: TrendsFilter, project: Project, now: dt.datetime) -> DateRange:
    """§1: the current period. Total-value displays resolve their dates with the day interval."""
    tz = project.tz
    total_value = filt.display in TOTAL_VALUE_DISPLAYS
    interval = "day" if total_value else filt.interval
    exact = filt.display == "BoldNumber"
    now_local = now.astimezone(tz)
    start, mapping = date_from_value(filt.date_from, interval, now_local, tz, filt.explicit_date, exact,
                                     earliest_timestamp(world, filt, project) if filt.date_from == "all" else EARLIEST_FLOOR)
    end = date_to_value(filt.date_to, interval, now_local, tz, filt.explicit_date, exact)
    return DateRange(start, end, mapping, interval, filt.explicit_date, exact)


def query_rows(world: World, filt: TrendsFilter, project: Project, q: Query) -> list[dict[str, Any]]:
    """The events of one series inside the range that pass the filters."""
    return [
        e for e in world.events
        if series_matches(q.series, project, e)
        and in_range(e["ts"], q.range, project.week_start_day)
        and row_filters_pass(filt, q.series, project, e)
    ]


def bucket_values(filt: TrendsFilter, project: Project, q: Query, rows: list[dict[str, Any]],
                  total_value: bool) -> tuple[list[int], list[bool]]:
    """Per bucket (one bucket for total-value displays): the math's value and whether any row is
    in it. Cumulative dau counts each actor once, in the bucket of its first event (§5.2)."""
    n = 1 if total_value else len(q.starts)
    cells: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for e in rows:
        k = 0 if total_value else bucket_index(e["ts"], q.starts, q.range.interval, project.week_start_day)
        if k is not None:
            cells[k].append(e)
    present = [bool(c) for c in cells]
    math_name = q.series.math
    if filt.display == CUMULATIVE_DISPLAY and math_name == "dau":
        seen: set[Any] = set()
        values = []
        for c in cells:
            actors = {actor_of(filt, q.series, project, e) for e in sorted(c, key=lambda e: e["ts"])} - seen
            seen |= actors
            values.append(len(actors))
        return values, present
    return [cell_value(math_name, c, [actor_of(filt, q.series, project, e) for e in c]) for c in cells], present


def series_dict(filt: TrendsFilter, project: Project, q: Query, values: list[float], present: list[bool], *,
                label_text: str, breakdown: Any = None, has_breakdown: bool = False,
                forward_fill: bool) -> dict[str, Any]:
    """§3.1/§3.2: one result dict (without ``filter`` and ``action``)."""
    d: dict[str, Any] = {"label": label_text, "order": q.series.index}
    if filt.display in TOTAL_VALUE_DISPLAYS:
        d.update(data=[], days=[], count=0, aggregated_value=int(values[0]) if values else 0)
    else:
        data = list(values)
        if filt.display == CUMULATIVE_DISPLAY:
            data = cumulative_forward_filled(data, present) if forward_fill else running_sum(data)
        if filt.smoothing_intervals > 1 and not has_breakdown:
            data = smooth(data, filt.smoothing_intervals)
        data = [int(v) for v in data]
        d.update(
            data=data,
            days=[day_string(s, q.range.interval) for s in q.starts],
            labels=[label(s, q.range.interval, q.range, project.week_start_day) for s in q.starts],
            count=(data[-1] if data else 0) if filt.display == CUMULATIVE_DISPLAY else float(sum(data)),
        )
    if has_breakdown:
        d["breakdown_value"] = list(breakdown) if isinstance(breakdown, tuple) else breakdown
    if q.period is not None:
        d.update(compare=True, compare_label=q.period)
    return d


def run_query(world: World, filt: TrendsFilter, project: Project, q: Query, n_queries: int) -> list[dict[str, Any]]:
    """One series: rows → (breakdown value, bucket) cells → math → rank/Other → post-process."""
    if q.series.kind == "actions" and project.action(q.series.id) is None:
        return []  # §11: a missing action's series is dropped
    total_value = filt.display in TOTAL_VALUE_DISPLAYS
    rows = query_rows(world, filt, project, q)
    if filt.breakdown is None:
        values, present = bucket_values(filt, project, q, rows, total_value)
        return [series_dict(filt, project, q, values, present, label_text=q.series.label, forward_fill=True)]
    by_value: dict[Any, list[dict[str, Any]]] = {}
    for e in rows:
        by_value.setdefault(breakdown_value(world, filt.breakdown, project, e), []).append(e)
    cells = {v: bucket_values(filt, project, q, vrows, total_value) for v, vrows in by_value.items()}
    limit = FIXED_BREAKDOWN_LIMIT.get(filt.display) or filt.breakdown.limit
    kept, folded = rank({v: sum(vals) for v, (vals, _) in cells.items()}, limit)
    out = []
    for v in kept + ([other_value(filt.breakdown)] if folded else []):
        if v in cells:
            values, present = cells[v]
        else:  # Other: per-bucket sums of the folded values
            values = [sum(cells[f][0][i] for f in folded) for i in range(len(cells[folded[0]][0]))]
            present = [any(cells[f][1][i] for f in folded) for i in range(len(values))]
        text = breakdown_label(v)
        label_text = f"{q.series.label} - {text}" if n_queries > 1 else text
        out.append(series_dict(filt, project, q, values, present, label_text=label_text, breakdown=v,
                               has_breakdown=True, forward_fill=False))
    return out


def other_value(breakdown: Breakdown) -> Any:
    return (OTHER,) * len(breakdown.items) if breakdown.multi else OTHER


def is_other(value: Any) -> bool:
    return OTHER in (value if isinstance(value, list) else [value])


def check_supported(filt: TrendsFilter) -> None:
    """Reject what the reference does not implement (the strategies never generate it)."""
    for s in filt.series:
        if s.math not in MATHS:
            raise ReferenceUnsupported(f"math {s.math!r}")
    if filt.display not in DISPLAYS:
        raise ReferenceUnsupported(f"display {filt.display!r}")
    if filt.formulas:
        raise ReferenceUnsupported("formulas")
    if filt.compare or filt.compare_to:
        raise ReferenceUnsupported("compare")
    if filt.sampling_factor is not None:
        raise ReferenceUnsupported("sampling")


# --- entry point --------------------------------------------------------------------------------


def resolve_now(now: Any) -> dt.datetime:
    return dt.datetime.now(UTC) if now is None else to_utc(now)


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
    from ..api import parse_filter

    if project is None:
        project = Project()
    elif isinstance(project, Mapping):
        project = Project.from_dict(project)
    filt = parse_filter(query, limits=limits)
    check_supported(filt)
    if not filt.series:
        raise ValidationError(("events",), "Trends insights require at least one series.")
    world = load_world(events, persons, groups)
    r = current_range(world, filt, project, resolve_now(now))
    starts = [] if filt.display in TOTAL_VALUE_DISPLAYS else bucket_starts(r, project.week_start_day, limits.max_buckets)
    queries = [Query(s, r, starts) for s in filt.series]
    out = [d for q in queries for d in run_query(world, filt, project, q, len(queries))]
    if filt.breakdown is not None and filt.breakdown.hide_other:
        out = [d for d in out if not is_other(d.get("breakdown_value"))]
    return out


def event_bounds(events: Iterable[Mapping[str, Any]], *, query: Mapping[str, Any] | TrendsFilter,
                 project: Project | None = None, now: Any = None) -> tuple[dt.datetime, dt.datetime]:
    """[lo, hi]: the UTC instants an event of the current period must lie within to count."""
    from ..api import parse_filter

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


__all__ = [
    "BREAKDOWN_TYPES",
    "DISPLAYS",
    "MATHS",
    "OPERATORS",
    "ReferenceUnsupported",
    "check_supported",
    "World",
    "comparable",
    "event_bounds",
    "load_world",
    "reference_trends",
]
