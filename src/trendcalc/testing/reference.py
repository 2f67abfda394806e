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
import email.utils
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
from ..limits import DEFAULT_LIMITS, Limits
from ..project import Project
from ..query.model import (
    Breakdown,
    BreakdownItem,
    PropertyFilter,
    PropertyGroup,
    Series,
    TrendsFilter,
)

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
MATHS = (
    "total", "dau", "unique_group", "unique_session", "weekly_active", "monthly_active",
    "sum", "avg", "min", "max", "median", "p75", "p90", "p95", "p99",
    "avg_count_per_actor", "min_count_per_actor", "max_count_per_actor", "median_count_per_actor",
    "p75_count_per_actor", "p90_count_per_actor", "p95_count_per_actor", "p99_count_per_actor",
    "first_time_for_user", "first_matching_event_for_user",
)  # fmt: skip
BREAKDOWN_TYPES = ("event", "person", "group", "cohort", "event_metadata", "session")
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
    person_ids: dict[Any, Any] = field(default_factory=dict)  # a person row's "id" (None when not given)
    person_of: dict[str, Any] = field(default_factory=dict)  # distinct_id → its person row
    now: dt.datetime | None = None  # the query's clock (relative is_date values)
    memo: dict[Any, Any] = field(default_factory=dict)  # sessions and cohort members, computed once


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
    person_ids: dict[Any, Any] = {}
    for i, p in enumerate(persons or ()):
        for did in p["distinct_ids"]:
            person_of[str(did)] = ("person", i)
        person_properties[("person", i)] = properties_of(p)
        person_ids[("person", i)] = p.get("id", p.get("uuid"))
    group_properties = {}
    for g in groups or ():
        group_properties[(g["group_type_index"], str(g["group_key"]))] = properties_of(g)
    out = []
    for i, e in enumerate(events):
        did = str(e["distinct_id"])
        out.append({
            "index": i,
            "event": e["event"],
            "distinct_id": did,
            "person": person_of.get(did, ("distinct_id", did)),
            "ts": to_utc(e["timestamp"]),
            "properties": properties_of(e),
        })
    return World(out, person_properties, group_properties, person_ids, person_of)


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


# --- filters.md: property filters --------------------------------------------------------------

NULL_RESULT = {  # filters.md §0.5/§3.1: a leaf's value when the (typed) property is NULL
    "exact": False, "is_not": True, "in": False, "not_in": True, "icontains": False, "not_icontains": True,
    "icontains_multi": False, "not_icontains_multi": False, "regex": False, "not_regex": True,
    "gt": False, "gte": False, "lt": False, "lte": False, "min": False, "max": False,
    "between": False, "not_between": False, "is_set": False, "is_not_set": True,
    "is_date_exact": False, "is_date_before": False, "is_date_after": False, "is_cleaned_path_exact": False,
    "semver_eq": False, "semver_neq": False, "semver_gt": False, "semver_gte": False, "semver_lt": False,
    "semver_lte": False, "semver_tilde": False, "semver_caret": False, "semver_wildcard": False,
    "flag_evaluates_to": True,
}  # fmt: skip
OWN_LIST_OPERATORS = ("icontains", "not_icontains", "between", "not_between")
IN_LIST_OPERATORS = {"exact": "in", "in": "in", "is_not": "not_in", "not_in": "not_in"}
NEGATIVE_OPERATORS = ("is_not", "not_icontains", "not_regex")  # element lists: none of the members
DATE_OPERATORS = ("is_date_exact", "is_date_before", "is_date_after")
SEMVER_OPERATORS = ("semver_eq", "semver_neq", "semver_gt", "semver_gte", "semver_lt", "semver_lte")
SEMVER_RANGE_OPERATORS = ("semver_tilde", "semver_caret", "semver_wildcard")
OPERATORS = tuple(NULL_RESULT)
PROPERTY_SOURCES = ("event", "feature", "person", "group", "cohort", "element", "event_metadata", "session")
AI_STRING_KEYS = ("$ai_trace_id", "$ai_session_id", "$ai_parent_id", "$ai_span_id", "$ai_generation_id",
                  "$ai_experiment_id")  # fmt: skip


def leaf_operand(world: World, project: Project, leaf: PropertyFilter, event: dict[str, Any]) -> tuple[str, Any]:
    """§2: what a leaf compares, as (kind, x) after the §0.3 cast (x None = NULL), by its source:
    event (and feature) properties, the event's person, its group, an event column, its session."""
    tz = project.tz
    if leaf.type in ("event", "feature"):
        if leaf.key == "$elements_chain":  # §2: the elements_chain column, "" without elements
            return "string", element_chain(event)
        ptype = "String" if leaf.key in AI_STRING_KEYS else project.property_type(leaf.key, "event")
        return typed_value(event["properties"].get(leaf.key), ptype, tz)
    if leaf.type == "person":
        if leaf.key == "distinct_id":  # §2 [version drift]: the event's own distinct_id
            return "string", event["distinct_id"]
        if leaf.key in VIRTUAL_PERSON_PROPERTIES:
            return "string", virtual_person_property(world, leaf.key, event["person"])
        raw = world.person_properties.get(event["person"], {}).get(leaf.key)
        return typed_value(raw, project.property_type(leaf.key, "person"), tz)
    if leaf.type == "group":
        raw = group_property(world, leaf.group_type_index, leaf.key, event)
        return typed_value(raw, project.property_type(leaf.key, "group", leaf.group_type_index), tz)
    if leaf.type == "event_metadata":
        return "string", event_column(world, leaf.key, event)
    if leaf.type == "session":
        return session_field(world, leaf.key, event)
    raise ReferenceUnsupported(f"{leaf.type} property filters")


def leaf_kind(project: Project, leaf: PropertyFilter) -> str:
    """The kind a leaf's values have whatever the data (constants are checked against it)."""
    if leaf.type == "session":
        return SESSION_KINDS.get(SESSION_ALIASES.get(leaf.key, leaf.key), "string")
    if leaf.type in ("event_metadata", "element") or (leaf.type in ("event", "feature") and leaf.key == "$elements_chain"):
        return "string"
    if leaf.type == "person" and (leaf.key == "distinct_id" or leaf.key in VIRTUAL_PERSON_PROPERTIES):
        return "string"
    if leaf.type == "person":
        return typed_value(None, project.property_type(leaf.key, "person"), project.tz)[0]
    if leaf.type == "group":
        return typed_value(None, project.property_type(leaf.key, "group", leaf.group_type_index), project.tz)[0]
    ptype = "String" if leaf.key in AI_STRING_KEYS else project.property_type(leaf.key, "event")
    return typed_value(None, ptype, project.tz)[0]


def group_property(world: World, gti: int, key: str, event: dict[str, Any]) -> Any:
    """A property of the event's ``$group_N`` group (its key as text)."""
    group_key = event["properties"].get(f"$group_{gti}")
    if group_key is None:
        return None
    group_key = group_key if isinstance(group_key, str) else json.dumps(group_key)
    return world.group_properties.get((gti, group_key), {}).get(key)


def typed_value(v: Any, prop_type: str | None, tz: dt.tzinfo = UTC) -> tuple[str, Any]:
    """§0.3: (kind, x): R for untyped/String, toFloat for Numeric, 1/0 for Boolean, the best-effort
    parsed instant (naive text in the project zone) for DateTime; x None = NULL."""
    if prop_type == "Numeric":
        return "float", None if v is None else to_float(v)
    if prop_type == "Boolean":
        text = None if v is None else render_text(v)
        return "bool", {"true": 1.0, "false": 0.0}.get(text)
    if prop_type == "DateTime":
        return "datetime", None if v is None else best_effort_datetime(render_text(v), tz)
    return "string", None if v is None else render_text(v)


# §0.3/§3.2: ClickHouse's parseDateTime64BestEffortOrNull on the forms payloads carry (ASCII only).
UNIX_SECONDS = re.compile(r"[0-9]{9,10}(\.[0-9]{1,9})?")
DATE_TIME_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y%m%d%H%M%S")
CLOCK_FORMATS = ("%H:%M", "%H:%M:%S")
ZONE_SUFFIX = re.compile(r"(?P<body>.*?[0-9]:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?)\s*"
                         r"(?P<zone>Z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)?", re.IGNORECASE)
FIRST_YEAR, LAST_YEAR = 1900, 2299


def best_effort_datetime(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    """The instant ``text`` names (naive = wall clock in ``tz``), or None: ``YYYY-MM-DD`` (or
    ``/``) with an optional ``[T ]HH:MM[:SS[.f]]`` and ``Z``/``UTC``/``±hh[:mm]``, ``YYYYMMDD[hhmmss]``,
    unix seconds (9–10 digits), RFC 2822; instants outside years 1900–2299 are NULL."""
    s = text.strip()
    if not s or not s.isascii() or len(s) > 64:
        return None
    try:
        if UNIX_SECONDS.fullmatch(s):
            whole, _, frac = s.partition(".")
            d = EPOCH + dt.timedelta(seconds=int(whole), microseconds=int(frac[:6].ljust(6, "0")))
        elif s[0].isalpha():
            parts = email.utils.parsedate_tz(s)
            if parts is None:
                return None
            zone = tz if parts[9] is None else dt.timezone(dt.timedelta(seconds=parts[9]))
            d = dt.datetime(*parts[:6], tzinfo=zone)
        else:
            d = naive_datetime(s, tz)
    except (ValueError, OverflowError):
        return None
    if d is None or not FIRST_YEAR <= d.astimezone(UTC).year <= LAST_YEAR:
        return None
    return d.astimezone(UTC)


def naive_datetime(s: str, tz: dt.tzinfo) -> dt.datetime | None:
    """Date and optional clock; a zone suffix only after a clock (``2024-03-10`` has none)."""
    zone: dt.tzinfo = tz
    m = ZONE_SUFFIX.fullmatch(s)
    if m and m["zone"]:
        s, z = m["body"], m["zone"].upper()
        if z in ("Z", "UTC", "GMT"):
            zone = UTC
        else:
            digits = z[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            zone = dt.timezone(-offset if z[0] == "-" else offset)
    micro = 0
    frac = re.search(r"[.,]([0-9]{1,9})$", s)
    if frac and ":" in s:
        micro, s = int(frac[1][:6].ljust(6, "0")), s[: frac.start()]
    for date_format in DATE_TIME_FORMATS:
        clocks = ("",) if date_format.startswith("%Y%m%d") else ("",) + tuple(sep + c for sep in "T " for c in CLOCK_FORMATS)
        for clock in clocks:
            try:
                d = dt.datetime.strptime(s, date_format + clock)
            except ValueError:
                continue
            return d.replace(microsecond=micro, tzinfo=zone)
    return None


def datetime_text(d: dt.datetime, tz: dt.tzinfo) -> str:
    """toString(DateTime64(6, tz)): ``YYYY-MM-DD HH:MM:SS.ffffff`` on the project's wall clock."""
    return d.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S.%f")


SQL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)?")


def constant(kind: str, c: Any, member: bool = False, tz: dt.tzinfo = UTC) -> Any:
    """§0.4: a filter constant against a typed value; where upstream fails, a ValidationError."""
    if kind == "string":
        if isinstance(c, str):
            return c
        if isinstance(c, bool):
            return "true" if c else "false"
        if member:
            return float_text(float(c))
        raise ValidationError(("properties",), f"comparing a String property with the number {c!r}")
    if kind == "datetime":  # §0.4: 'YYYY-MM-DD[ HH:MM:SS]' in the project zone, or epoch seconds
        if isinstance(c, (int, float)) and not isinstance(c, bool):
            return EPOCH + dt.timedelta(microseconds=round(c * 1_000_000))
        parsed = best_effort_datetime(c, tz) if isinstance(c, str) and SQL_DATETIME.fullmatch(c) else None
        if parsed is None:
            raise ValidationError(("properties",), f"cannot compare a DateTime property with {c!r}")
        return parsed
    if isinstance(c, bool):
        return 1.0 if c else 0.0
    if isinstance(c, (int, float)):
        return float(c)
    if kind == "float" and isinstance(c, str) and NUMBER.match(c):
        return float(c)
    if kind == "bool" and c in ("true", "false"):
        return 1.0 if c == "true" else 0.0
    raise ValidationError(("properties",), f"cannot compare a {kind} property with {c!r}")


def like_pattern(needle: str, case_sensitive: bool = False) -> re.Pattern:
    """ILIKE (LIKE) '%needle%': ``%`` any run, ``_`` any character, ``\\`` escapes."""
    out, i = [], 0
    while i < len(needle):
        ch = needle[i]
        if ch == "\\" and i + 1 < len(needle):
            out.append(re.escape(needle[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL | (0 if case_sensitive else re.IGNORECASE))


def as_text(kind: str, x: Any, tz: dt.tzinfo = UTC) -> str:
    """toString of a typed value."""
    if kind == "float":
        return float_text(x)
    if kind == "bool":
        return "true" if x == 1.0 else "false"
    if kind == "datetime":
        return datetime_text(x, tz)
    return x


def ascii_lower(s: str) -> str:
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in s)


def relative_date_value(c: str, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """§3.2: ``-7d``/``-10m``/``-3h``… is now minus that in the project zone, untruncated, rendered
    as a whole-second wall clock and read back in the zone (upper-case kinds add nothing)."""
    match = RELATIVE.search(c)
    local = now.astimezone(tz) - relativedelta(**delta_mapping(match["kind"], match["number"], match["position"]))
    return local.replace(tzinfo=None, microsecond=0).replace(tzinfo=tz).astimezone(UTC)


RELATIVE_DATE_VALUE = re.compile(r"-?[0-9]+[hdwmqysHDWMQY]")


def date_operand(c: Any, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """§3.2: the instant an ``is_date_*`` value names (relative, else best-effort parsed)."""
    if not isinstance(c, str):
        raise ValidationError(("properties",), f"is_date operators need a date string, got {c!r}")
    if RELATIVE_DATE_VALUE.match(c):
        return relative_date_value(c, tz, now)
    parsed = best_effort_datetime(c, tz)
    if parsed is None:
        raise ValidationError(("properties",), f"unparsable date {c!r}")
    return parsed


def clean_path(text: str, rules: Iterable[Mapping[str, Any]]) -> str:
    """§3.2 is_cleaned_path_exact: each ``{regex, alias}`` rule as ClickHouse's replaceRegexpAll
    (``\\0``–``\\9`` in the alias are the match and its groups), in order."""

    def alias_of(alias: str) -> Any:
        def replace(m: re.Match) -> str:
            return re.sub(r"\\([0-9])", lambda g: m.group(int(g[1])) or "", alias)

        return replace

    for rule in rules:
        text = re.sub(rule["regex"], alias_of(rule.get("alias", "")), text, flags=re.DOTALL)
    return text


STRICT_SEMVER = re.compile(r"[ \t\n\f\r]*v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:[-+][^ \t\n\f\r]*)?[ \t\n\f\r]*")


def sortable_semver(text: str) -> tuple[int, int, int] | None:
    """§3.2: (major, minor, patch) of a strict semver string (RE2 classes: ASCII); else NULL."""
    m = STRICT_SEMVER.fullmatch(text)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def semver_parts(value: str) -> tuple[str, str, str, int]:
    """Upstream's bound parse: drop ``-pre``, missing parts are "0"; the parts stay text."""
    parts = value.split("-")[0].split(".")
    if not parts[0]:
        raise ValueError(value)
    major, minor, patch = (parts + ["0", "0"])[:3]
    int(major), int(minor), int(patch)
    return major, minor, patch, len(parts)


def semver_bounds(op: str, value: str) -> tuple[str, str]:
    """§3.2: the [lower, upper) version strings of tilde/caret/wildcard, built as upstream
    builds them (the parts as written, so ``01.2.3`` gives a bound that is not strict semver)."""
    if op == "semver_tilde":
        major, minor, patch, n = semver_parts(value)
        if n < 2:
            return f"{major}.0.0", f"{int(major) + 1}.0.0"
        return f"{major}.{minor}.{patch}", f"{major}.{int(minor) + 1}.0"
    if op == "semver_caret":
        major, minor, patch, _ = semver_parts(value)
        if int(major) > 0:
            return f"{major}.{minor}.{patch}", f"{int(major) + 1}.0.0"
        if int(minor) > 0:
            return f"{major}.{minor}.{patch}", f"0.{int(minor) + 1}.0"
        return f"{major}.{minor}.{patch}", f"0.0.{int(patch) + 1}"
    base = value.rstrip(".*")
    parts = base.split("-")[0].split(".")
    if not base:
        raise ValueError(value)
    if len(parts) == 1:
        int(parts[0])
        return f"{parts[0]}.0.0", f"{int(parts[0]) + 1}.0.0"
    if len(parts) == 2:
        int(parts[0]), int(parts[1])
        return f"{parts[0]}.{parts[1]}.0", f"{parts[0]}.{int(parts[1]) + 1}.0"
    int(parts[0]), int(parts[1]), int(parts[2])
    return f"{parts[0]}.{parts[1]}.{parts[2]}.0", f"{parts[0]}.{parts[1]}.{int(parts[2]) + 1}.0"


def semver_holds(op: str, text: str, c: Any) -> bool:
    """§3.2: both sides through sortableSemver; a NULL side (not strict semver) is FALSE."""
    x = sortable_semver(text)
    if op in SEMVER_RANGE_OPERATORS:
        lo, hi = (sortable_semver(b) for b in semver_bounds(op, c))
        return x is not None and lo is not None and hi is not None and lo <= x < hi
    k = sortable_semver(c)
    if x is None or k is None:
        return False
    return {"semver_eq": x == k, "semver_neq": x != k, "semver_gt": x > k, "semver_gte": x >= k,
            "semver_lt": x < k, "semver_lte": x <= k}[op]


def operator_holds(op: str, kind: str, x: Any, c: Any, project: Project, now: dt.datetime) -> bool:
    """§3.1: one operator on a non-NULL typed value ``x`` and a scalar (or own-list) constant."""
    tz = project.tz
    if op in ("exact", "is_not"):
        if isinstance(c, bool):
            c = "true" if c else "false"
        if kind == "bool" and c in ("true", "false"):
            c = c == "true"
        equal = x == constant(kind, c, tz=tz)
        return equal if op == "exact" else not equal
    if op in ("is_set", "is_not_set"):
        return op == "is_set"
    if op in ("icontains", "not_icontains"):
        needle = str(list(c)) if isinstance(c, tuple) else str(c)
        found = like_pattern(needle).search(as_text(kind, x, tz)) is not None
        return found if op == "icontains" else not found
    if op in ("icontains_multi", "not_icontains_multi"):
        needles = [ascii_lower(str(m)) for m in (c if isinstance(c, tuple) else (c,))]
        found = any(n in ascii_lower(as_text(kind, x, tz)) for n in needles)
        return found if op == "icontains_multi" else not found
    if op in ("regex", "not_regex"):
        found = re.search(c, as_text(kind, x, tz), re.DOTALL) is not None
        return found if op == "regex" else not found
    if op in ("gt", "gte", "lt", "lte", "min", "max"):
        k = constant(kind, c, tz=tz)
        return {"gt": x > k, "gte": x >= k, "lt": x < k, "lte": x <= k, "min": x >= k, "max": x <= k}[op]
    if op in ("between", "not_between"):
        lo, hi = constant(kind, c[0], tz=tz), constant(kind, c[1], tz=tz)
        return lo <= x <= hi if op == "between" else (x < lo or x > hi)
    if op in DATE_OPERATORS:  # §3.2: toDateTime(toString(x)) against the resolved value
        t = x if kind == "datetime" else best_effort_datetime(as_text(kind, x, tz), tz)
        k = date_operand(c, tz, now)
        return t is not None and {"is_date_exact": t == k, "is_date_before": t < k, "is_date_after": t > k}[op]
    if op == "is_cleaned_path_exact":
        rules = project.path_cleaning_filters
        return clean_path(as_text(kind, x, tz), rules) == clean_path(constant("string", c), rules)
    if op in SEMVER_OPERATORS + SEMVER_RANGE_OPERATORS:
        return semver_holds(op, as_text(kind, x, tz), c)
    if op == "flag_evaluates_to":
        return True
    raise ReferenceUnsupported(f"operator {op!r}")


def leaf_holds(world: World, project: Project, leaf: PropertyFilter, event: dict[str, Any]) -> bool:
    """One leaf on one event: cohort membership, element conditions, or an operator on a value."""
    if leaf.operator not in NULL_RESULT:
        raise ReferenceUnsupported(f"operator {leaf.operator!r}")
    if leaf.type == "cohort":
        return cohort_leaf_holds(world, project, leaf, event["person"])
    if leaf.type == "element":
        return element_leaf_holds(world, project, leaf, event)
    kind, x = leaf_operand(world, project, leaf, event)
    return value_holds(world, project, leaf.operator, leaf_value(leaf), kind, x)


def leaf_value(leaf: PropertyFilter) -> Any:
    """The constant a leaf compares; numbers for event_metadata ``$group_N`` are their text
    (newest upstream: numeric group keys)."""
    if leaf.type == "event_metadata" and str(leaf.key).startswith("$group_"):
        def text(v: Any) -> Any:
            return float_text(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

        return tuple(text(v) for v in leaf.value) if isinstance(leaf.value, tuple) else text(leaf.value)
    return leaf.value


def value_holds(world: World, project: Project, op: str, c: Any, kind: str, x: Any) -> bool:
    """§3.1 list handling first (``[]`` matches all, one member is unwrapped, IN/NOT IN,
    multi-search, OR over members — AND for not_regex), then NULL results, then the operator."""
    if isinstance(c, tuple) and op not in OWN_LIST_OPERATORS:
        if not c:
            return True
        if len(c) == 1:
            c = c[0]
        elif op in IN_LIST_OPERATORS:
            if x is None:
                return IN_LIST_OPERATORS[op] == "not_in"
            inside = x in {constant(kind, m, member=True, tz=project.tz) for m in c}
            return inside if IN_LIST_OPERATORS[op] == "in" else not inside
        else:
            results = [scalar_holds(world, project, op, kind, x, m) for m in c]
            return all(results) if op == "not_regex" else any(results)
    if op in ("icontains", "not_icontains") and isinstance(c, tuple) and len(c) >= 2:
        op = op + "_multi"
    elif op in ("icontains", "not_icontains") and isinstance(c, tuple) and len(c) == 1:
        c = c[0]
    return scalar_holds(world, project, op, kind, x, c)


def scalar_holds(world: World, project: Project, op: str, kind: str, x: Any, c: Any) -> bool:
    return NULL_RESULT[op] if x is None else operator_holds(op, kind, x, c, project, world.now or EPOCH)


def check_leaf(world: World, project: Project, leaf: PropertyFilter) -> None:
    """§0.4: a constant the property's type cannot take fails the whole query — upstream fails
    while compiling it, so whatever the data (even with no row to filter); so does an unknown
    cohort, and a cohort whose definition fails."""
    if leaf.type == "cohort":
        cohort_members(world, project, leaf.value)
        return
    if leaf.operator not in NULL_RESULT:
        return
    if leaf.type == "event_metadata" and leaf.key not in METADATA_KEYS:
        raise ValidationError(("properties",), f"unknown event_metadata key {leaf.key!r}")
    kind = leaf_kind(project, leaf)
    op, c = leaf.operator, leaf_value(leaf)
    if leaf.type == "element":
        for m in c if isinstance(c, tuple) else (c,):
            check_constant(op, kind, m, project, world.now or EPOCH)
        return
    if isinstance(c, tuple) and op not in OWN_LIST_OPERATORS:
        if len(c) >= 2 and op in IN_LIST_OPERATORS:
            for m in c:
                constant(kind, m, member=True, tz=project.tz)
            return
        for m in c:
            check_constant(op, kind, m, project, world.now or EPOCH)
        return
    check_constant(op, kind, c, project, world.now or EPOCH)


def check_constant(op: str, kind: str, c: Any, project: Project, now: dt.datetime) -> None:
    tz = project.tz
    if op in ("exact", "is_not"):
        if isinstance(c, bool):
            c = "true" if c else "false"
        constant(kind, (c == "true") if kind == "bool" and c in ("true", "false") else c, tz=tz)
    elif op in ("gt", "gte", "lt", "lte", "min", "max"):
        constant(kind, c, tz=tz)
    elif op in ("between", "not_between"):
        constant(kind, c[0], tz=tz)
        constant(kind, c[1], tz=tz)
    elif op == "is_cleaned_path_exact":
        constant("string", c)
    elif op in DATE_OPERATORS:
        date_operand(c, tz, now)


def check_group(world: World, project: Project, group: PropertyGroup) -> None:
    for node in group.values:
        if isinstance(node, PropertyGroup):
            check_group(world, project, node)
        else:
            check_leaf(world, project, node)


def group_holds(world: World, project: Project, group: PropertyGroup, event: dict[str, Any]) -> bool:
    """§1.3: AND/OR over leaves and groups; an empty group is TRUE."""
    results = (group_holds(world, project, n, event) if isinstance(n, PropertyGroup)
               else leaf_holds(world, project, n, event) for n in group.values)
    if not group.values:
        return True
    return all(results) if group.type == "AND" else any(results)


# --- filters.md §2, §4: persons (current properties, distinct_id, virtual properties) -----------

VIRTUAL_PERSON_PROPERTIES = ("$virt_initial_channel_type", "$virt_initial_referring_domain_type")


def virtual_person_property(world: World, key: str, person: Any) -> str | None:
    """§2: ``$virt_*`` person fields: the channel type of the person's ``$initial_*`` attribution,
    and the kind of its initial referring domain (``$direct`` stays ``$direct``)."""
    props = world.person_properties.get(person, {})

    def text(k: str) -> str | None:  # toString(properties.k): R, NULL when absent
        v = props.get(k)
        return None if v is None else render_text(v)

    referrer = text("$initial_referring_domain")
    if key == "$virt_initial_referring_domain_type":
        if referrer is None:
            return None
        return "$direct" if referrer == "$direct" else source_kind(referrer)
    return channel_type(text("$initial_utm_source"), text("$initial_utm_medium"), text("$initial_utm_campaign"),
                        referrer, null_if_empty(text("$initial_gclid")) is not None,
                        null_if_empty(text("$initial_fbclid")) is not None, null_if_empty(text("$initial_gad_source")))


# §9: PostHog's default channel rules over a small excerpt of its channel definitions (the
# strategies only generate sources and mediums listed here, or ones that are in no list).
SOURCE_KINDS = {
    "google": "Search", "google.com": "Search", "bing.com": "Search", "duckduckgo.com": "Search",
    "facebook": "Social", "facebook.com": "Social", "t.co": "Social", "youtube.com": "Video",
    "amazon.com": "Shopping", "gmail.com": "Email",
}  # fmt: skip
KIND_TYPES = {"Search": ("Paid Search", "Organic Search"), "Social": ("Paid Social", "Organic Social"),
              "Video": ("Paid Video", "Organic Video"), "Shopping": ("Paid Shopping", "Organic Shopping"),
              "Email": (None, "Email")}  # fmt: skip
MEDIUM_TYPES = {"email": (None, "Email"), "social": ("Paid Social", "Organic Social"), "referral": (None, "Referral"),
                "cpm": ("Display", "Display"), "push": (None, "Push"), "affiliate": (None, "Affiliate"),
                "video": ("Paid Video", "Organic Video")}  # fmt: skip
SECOND_LEVEL = ("co", "com", "org", "net", "ac")


def null_if_empty(v: str | None) -> str | None:
    return None if v in (None, "", "null") else v


def first_significant_subdomain(value: str) -> str:
    """cutToFirstSignificantSubdomain: ``https://www.google.co.uk/x`` → ``google.co.uk``."""
    host = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", value).split("/")[0].split("?")[0].split(":")[0]
    parts = [p for p in host.split(".") if p]
    if len(parts) < 2:
        return ""
    keep = 3 if len(parts) >= 3 and parts[-2] in SECOND_LEVEL else 2
    return ".".join(parts[-keep:])


def source_kind(value: str | None) -> str | None:
    """A source (or referring domain) looked up as written, then by its first significant subdomain."""
    value = value or ""
    return SOURCE_KINDS.get(value) or SOURCE_KINDS.get(first_significant_subdomain(value))


def source_type(value: str | None, paid: bool) -> str | None:
    kind = source_kind(value)
    return None if kind is None else KIND_TYPES[kind][0 if paid else 1]


def channel_type(source: str | None, medium: str | None, campaign: str | None, referring_domain: str | None,
                 has_gclid: bool, has_fbclid: bool, gad_source: str | None) -> str:
    """§9 ``$channel_type``: PostHog's default rule cascade (utm values lower-cased, '' and
    'null' are NULL; the referring domain as given)."""
    source, medium, campaign = (None if v is None else null_if_empty(v) and v.lower() for v in (source, medium, campaign))
    shop = campaign is not None and re.fullmatch(r"(.*(([^a-df-z]|^)shop|shopping).*)", campaign, re.DOTALL)
    video = campaign is not None and re.fullmatch(r"(.*video.*)", campaign, re.DOTALL)
    if campaign is not None and "cross-network" in campaign:
        return "Cross Network"
    if (medium is not None and (medium in ("cpc", "cpm", "cpv", "cpa", "ppc", "retargeting") or medium.startswith("paid"))
            or has_gclid or gad_source is not None):
        return (source_type(source, True) or ("Paid Shopping" if shop else None)
                or MEDIUM_TYPES.get(medium or "", (None, None))[0] or source_type(referring_domain, True)
                or ("Paid Search" if gad_source == "1" else "Paid Video" if video else
                    "Paid Social" if has_fbclid else "Paid Unknown"))
    if (referring_domain == "$direct" and medium is None and source in (None, "(direct)", "direct", "$direct")
            and not has_fbclid):
        return "Direct"
    found = (source_type(source, False) or ("Organic Shopping" if shop else None)
             or MEDIUM_TYPES.get(medium or "", (None, None))[1] or source_type(referring_domain, False))
    if found:
        return found
    if video:
        return "Organic Video"
    if medium is not None and medium.endswith("push"):
        return "Push"
    if has_fbclid:
        return "Organic Social"
    if referring_domain == "$direct":
        return "Direct"
    return "Referral" if referring_domain is not None else "Unknown"


# --- filters.md §6: cohorts ----------------------------------------------------------------------


def find_cohort(project: Project, cohort_id: Any) -> Mapping[str, Any]:
    """§6.1: the project's cohort; an unknown or deleted id fails the query."""
    for c in project.cohorts:
        if c.get("id") == cohort_id or str(c.get("id")) == str(cohort_id):
            if c.get("deleted"):
                raise ValidationError(("cohort",), f"cohort {cohort_id!r} is deleted")
            return c
    raise ValidationError(("cohort",), f"cohort {cohort_id!r} does not exist")


def real_persons(world: World) -> list[Any]:
    """Persons with a person row (distinct_ids without one are never cohort members)."""
    return list(world.person_ids)


def cohort_members(world: World, project: Project, cohort_id: Any) -> set[Any]:
    """§6.2–6.3: the members of a cohort at the query's clock: the listed persons of a static
    cohort, or the persons whose current properties pass a dynamic cohort's definition."""
    cohort = find_cohort(project, cohort_id)
    key = ("cohort", str(cohort.get("id")))
    if key in world.memo:
        if world.memo[key] is None:
            raise ValidationError(("cohort",), f"cohort {cohort_id!r} refers to itself")
        return world.memo[key]
    world.memo[key] = None
    try:
        if cohort.get("is_static"):
            members = static_members(world, cohort)
        else:
            definition = cohort_definition(cohort)
            check_definition(world, project, definition)
            members = {p for p in real_persons(world) if person_group_holds(world, project, definition, p)}
    except BaseException:
        del world.memo[key]
        raise
    world.memo[key] = members
    return members


def static_members(world: World, cohort: Mapping[str, Any]) -> set[Any]:
    """A static cohort: the persons of its ``distinct_ids`` and those with one of its ``person_ids``."""
    dids = {str(d) for d in cohort.get("distinct_ids") or ()}
    pids = {str(p) for p in cohort.get("person_ids") or cohort.get("persons") or ()}
    return {p for p in real_persons(world)
            if str(world.person_ids[p]) in pids and world.person_ids[p] is not None
            or any(world.person_of.get(d) == p for d in dids)}


def cohort_definition(cohort: Mapping[str, Any]) -> PropertyGroup:
    """§6.3: ``filters.properties`` (a nested group), or the legacy ``groups`` OR-ed, each an AND
    of its properties, leaves without a type (or typed ``event``) being person properties."""
    from ..query.properties import parse_group, parse_leaf

    filters = cohort.get("filters")
    if isinstance(filters, Mapping) and filters.get("properties") is not None:
        props = filters["properties"]
        if not props.get("values"):
            return PropertyGroup("AND", ())
        return parse_group(props, ("cohort",), DEFAULT_LIMITS, raw=True)
    groups = []
    for g in cohort.get("groups") or ():
        if g.get("action_id") is not None or g.get("event_id") is not None:
            raise ReferenceUnsupported("behavioural cohorts")
        props = g.get("properties") or []
        if isinstance(props, Mapping):
            props = [{"key": k, "value": v, "type": "person"} for k, v in props.items()]
        leaves = []
        for p in props:
            p = {**p, "type": "person"} if p.get("type") in (None, "event", "events") else p
            leaf = parse_leaf(p, ("cohort",), DEFAULT_LIMITS, raw=True)
            if leaf is not None:
                leaves.append(leaf)
        groups.append(PropertyGroup("AND", tuple(leaves)))
    return PropertyGroup("OR", tuple(groups))


def check_definition(world: World, project: Project, group: PropertyGroup) -> None:
    """A cohort definition fails whatever the persons: a leaf that is not a person or cohort
    filter, or a constant its property cannot take."""
    for node in group.values:
        if isinstance(node, PropertyGroup):
            check_definition(world, project, node)
        elif node.type not in ("person", "cohort"):
            raise ValidationError(("cohort",), f"a {node.type!r} filter does not work on persons")
        else:
            check_leaf(world, project, node)


def person_group_holds(world: World, project: Project, group: PropertyGroup, person: Any) -> bool:
    """A cohort definition on one person: person-property leaves and nested cohort leaves."""
    results = []
    for node in group.values:
        if isinstance(node, PropertyGroup):
            results.append(person_group_holds(world, project, node, person))
        elif node.type == "cohort":
            results.append(cohort_leaf_holds(world, project, node, person))
        elif node.type == "person":
            if node.key == "distinct_id":
                raise ReferenceUnsupported("distinct_id in cohort definitions")
            if node.key in VIRTUAL_PERSON_PROPERTIES:
                kind, x = "string", virtual_person_property(world, node.key, person)
            else:
                raw = world.person_properties.get(person, {}).get(node.key)
                kind, x = typed_value(raw, project.property_type(node.key, "person"), project.tz)
            results.append(value_holds(world, project, node.operator, node.value, kind, x))
        else:
            raise ValidationError(("cohort",), f"a {node.type!r} filter does not work on persons")
    if not group.values:
        return True
    return all(results) if group.type == "AND" else any(results)


def cohort_leaf_holds(world: World, project: Project, leaf: PropertyFilter, person: Any) -> bool:
    """§6.1: the person is (``in``) or is not (``not_in``) a member of the cohort."""
    member = person in cohort_members(world, project, leaf.value)
    return not member if leaf.operator == "not_in" else member


# --- filters.md §5: the elements chain, element filters and selectors ------------------------------


def element_chain(event: dict[str, Any]) -> str:
    """§5.3: ``$elements_chain`` as given (a non-string is no chain), else the ``$elements`` list
    serialised; ``""`` without elements."""
    props = event["properties"]
    if "$elements_chain" in props:
        chain = props["$elements_chain"]
        return chain if isinstance(chain, str) else ""
    if "$elements" in props:
        return serialise_elements(props["$elements"])
    return ""


def escape_quotes(v: Any) -> str:
    return str(v).replace('"', '\\"')


def serialise_elements(elements: Any) -> str:
    """§5.3: each element is its tag, ``.class`` per sorted class (``"`` removed), ``:`` and its
    attributes ``key="value"`` sorted by key (nth-child/nth-of-type always; text, href, attr_id
    when set; every ``attr__*`` as sent)."""
    if not isinstance(elements, list):
        return ""
    out = []
    for el in elements:
        if not isinstance(el, Mapping):
            continue
        classes = el.get("attr__class") or []
        classes = classes.split(" ") if isinstance(classes, str) else [str(c) for c in classes]
        attributes: dict[str, Any] = {"nth-child": el.get("nth_child") or 0, "nth-of-type": el.get("nth_of_type") or 0}
        if el.get("$el_text"):
            attributes["text"] = str(el["$el_text"])[:400]
        if el.get("attr__href"):
            attributes["href"] = str(el["attr__href"])[:2048]
        if el.get("attr__id"):
            attributes["attr_id"] = el["attr__id"]
        attributes.update({k: " ".join(map(str, v)) if isinstance(v, list) else v
                           for k, v in el.items() if k.startswith("attr__")})
        head = str(el.get("tag_name") or "") + "".join("." + c.replace('"', "") for c in sorted(c for c in classes if c))
        body = "".join(f'{escape_quotes(k)}="{escape_quotes(v)}"' for k, v in sorted(attributes.items()))
        out.append(f"{head}:{body}")
    return ";".join(out)


def chain_href(chain: str) -> str:
    """§5.3 ``elements_chain_href``: the first ``href="…"`` of the chain, ``""`` without one."""
    m = re.search(r'(?::|")href="(.*?)"', chain, re.DOTALL)
    return m[1] if m else ""


def chain_texts(chain: str) -> list[str]:
    """§5.3 ``elements_chain_texts``: every ``text="…"`` of the chain."""
    return re.findall(r'(?::|")text="(.*?)"', chain, re.DOTALL)


def chain_elements(chain: str) -> list[tuple[str, set[str], dict[str, str]]]:
    """(tag, classes, attributes) per element of the chain, the clicked element first."""
    out = []
    for text in re.findall(r'(?:[^;"]|"(?:\\.|[^"\\])*")+', chain):
        head, _, attributes = text.partition(":")
        tag, *classes = head.split(".")
        pairs = re.findall(r'([\w\-]+)="((?:\\.|[^"\\])*)"', attributes)
        out.append((tag, set(classes) - {""}, {k: v.replace('\\"', '"') for k, v in pairs}))
    return out


def selector_parts(selector: str) -> list[tuple[bool, dict[str, Any]]]:
    """A CSS selector (tags, ``*``, ``.class``, ``#id``, ``[attr='v']``, ``:nth-child(n)``,
    ``:nth-of-type(n)``; descendant and ``>``) as parts, innermost first, each with whether it
    must be the direct parent of the part before it."""
    tokens = re.findall(r">|(?:\[[^\]]*\]|[^\s>\[])+", selector)
    parts, child = [], False
    for token in tokens:
        if token == ">":
            child = True
            continue
        tag = re.match(r"[A-Za-z*][\w-]*", token)
        need: dict[str, Any] = {"tag": None if tag is None or tag[0] == "*" else tag[0], "classes": set(), "attrs": {}}
        for cls, ident, key, value, nth, n in re.findall(
                r"\.([\w-]+)|#([\w-]+)|\[([\w-]+)=['\"]?([^'\"\]]*)['\"]?\]|:(nth-child|nth-of-type)\((\d+)\)", token):
            if cls:
                need["classes"].add(cls)
            elif ident:
                need["attrs"]["attr_id"] = ident
            elif key:
                plain = key in ("href", "text", "nth-child", "nth-of-type", "attr_id") or key.startswith("attr__")
                need["attrs"]["attr_id" if key == "id" else key if plain else f"attr__{key}"] = value
            else:
                need["attrs"][nth] = n
        parts.append((child, need))
        child = False
    # outermost first as written; reversed, each part's flag says "right outside the previous one"
    flags = [False] + [parts[i + 1][0] for i in range(len(parts) - 1)][::-1]
    return [(f, need) for f, (_, need) in zip(flags, parts[::-1])]


def element_fits(need: dict[str, Any], element: tuple[str, set[str], dict[str, str]]) -> bool:
    tag, classes, attributes = element
    return ((need["tag"] is None or need["tag"] == tag) and need["classes"] <= classes
            and all(attributes.get(k) == v for k, v in need["attrs"].items()))


def selector_matches(selector: str, chain: str) -> bool:
    """§5.4: some element matches the innermost part and the outer parts match elements further
    out (``>``: the very next one)."""
    parts, elements = selector_parts(selector), chain_elements(chain)

    def outward(k: int, at: int) -> bool:
        if k == len(parts):
            return True
        direct, need = parts[k]
        candidates = [at + 1] if direct else range(at + 1, len(elements))
        return any(i < len(elements) and element_fits(need, elements[i]) and outward(k + 1, i) for i in candidates)

    return any(element_fits(parts[0][1], el) and outward(1, i) for i, el in enumerate(elements))


def tag_name_matches(tag: str, chain: str) -> bool:
    """§5.2: the chain regex ``(^|;)<tag>(\\.|$|;|:)``, the tag inserted unescaped."""
    return re.search(rf"(^|;){tag}(\.|$|;|:)", chain, re.DOTALL) is not None


def element_leaf_holds(world: World, project: Project, leaf: PropertyFilter, event: dict[str, Any]) -> bool:
    """§5.4: a list is taken member by member (AND for negative operators, else OR);
    selector/tag_name match (is_not: do not match), ``href`` compares the chain's first href
    (never NULL), ``text`` holds when any element text satisfies the operator."""
    chain = element_chain(event)
    members = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
    results = []
    for m in members:
        if leaf.key in ("selector", "tag_name"):
            hit = selector_matches(str(m), chain) if leaf.key == "selector" else tag_name_matches(str(m), chain)
            results.append(hit if leaf.operator == "exact" else not hit)
        elif leaf.key == "href":
            results.append(value_holds(world, project, leaf.operator, m, "string", chain_href(chain)))
        else:
            results.append(any(value_holds(world, project, leaf.operator, m, "string", t) for t in chain_texts(chain)))
    return all(results) if leaf.operator in NEGATIVE_OPERATORS else any(results)


# --- filters.md §2, §8: event columns (event_metadata) --------------------------------------------

METADATA_KEYS = ("distinct_id", "event", "person_id", "elements_chain", "$session_id", "$window_id",
                 "$group_0", "$group_1", "$group_2", "$group_3", "$group_4")  # fmt: skip


def event_column(world: World, key: str, event: dict[str, Any]) -> str:
    """§2 ``event_metadata``: an event column, a non-NULL string: the distinct_id, the event name,
    the person's id (``""`` without one), the elements chain, or ``$group_N`` / ``$session_id`` /
    ``$window_id`` as the JSON text of the property with its quotes trimmed (``""`` when absent)."""
    if key == "distinct_id":
        return event["distinct_id"]
    if key == "event":
        return event["event"]
    if key == "person_id":
        pid = world.person_ids.get(event["person"])
        return "" if pid is None else str(pid)
    if key == "elements_chain":
        return element_chain(event)
    if key in METADATA_KEYS:
        v = event["properties"].get(key)
        return "" if v is None else render_text(v)
    raise ValidationError(("properties",), f"unknown event_metadata key {key!r}")


# --- filters.md §9: sessions --------------------------------------------------------------------------

SESSION_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SESSION_ALIASES = {"duration": "$session_duration", "$exit_current_url": "$end_current_url",
                   "$exit_pathname": "$end_pathname"}  # fmt: skip
SESSION_KINDS = {"$session_duration": "float", "$pageview_count": "float", "$autocapture_count": "float",
                 "$screen_count": "float", "$num_uniq_urls": "float", "$start_timestamp": "datetime",
                 "$end_timestamp": "datetime", "$is_bounce": "bool"}  # fmt: skip
SESSION_ENTRY_PROPERTIES = {
    "$entry_referring_domain": "$referring_domain", "$entry_utm_source": "utm_source",
    "$entry_utm_campaign": "utm_campaign", "$entry_utm_medium": "utm_medium", "$entry_utm_term": "utm_term",
    "$entry_utm_content": "utm_content", "$entry_gclid": "gclid", "$entry_gad_source": "gad_source",
    "$entry_fbclid": "fbclid",
}  # fmt: skip
BOUNCE_SECONDS = 10


def session_of(event: dict[str, Any]) -> str | None:
    """§9: the event's ``$session_id`` when it is a UUIDv7 (case-insensitive), else no session."""
    v = event["properties"].get("$session_id")
    return v.lower() if isinstance(v, str) and SESSION_ID.fullmatch(v) else None


def session_events(world: World, session: str) -> list[dict[str, Any]]:
    """Every event of a session (any name, any date), by time; ties by (event name, input order)
    — upstream's argMin/argMax pick one of them arbitrarily."""
    if "sessions" not in world.memo:
        by_session: dict[str, list[dict[str, Any]]] = {}
        for e in sorted(world.events, key=lambda e: (e["ts"], e["event"], e["index"])):
            s = session_of(e)
            if s is not None:
                by_session.setdefault(s, []).append(e)
        world.memo["sessions"] = by_session
    return world.memo["sessions"][session]


def json_string(event: dict[str, Any], key: str) -> str:
    """JSONExtractString(properties, key): the string, ``""`` for anything else."""
    v = event["properties"].get(key)
    return v if isinstance(v, str) else ""


def url_path(url: str) -> str:
    """ClickHouse ``path(url)``: from the slash after ``//host`` (or the first slash) to ``?``/``#``;
    ``""`` without one."""
    at = url.find("/")
    if at < 0:
        return ""
    if url[at + 1 : at + 2] == "/":
        at = url.find("/", at + 2)
        if at < 0:
            return ""
    return re.split(r"[?#]", url[at:])[0]


def url_domain(url: str) -> str:
    """ClickHouse ``domain(url)``: the host after ``scheme://`` (or of a bare ``host/path``), as
    written; ``""`` unless it has a dot with something after it."""
    m = re.match(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//", url)
    rest = url[m.end():] if m else url
    host = re.split(r"[/?#]", rest)[0].rpartition("@")[2].split(":")[0]
    if "." not in host or host.endswith(".") or host.startswith("."):
        return ""
    return host


def session_field(world: World, key: str, event: dict[str, Any]) -> tuple[str, Any]:
    """§9: a field of the event's session as (kind, x). Events without a session read the join's
    defaults: 0 for numeric fields, NULL otherwise (UNCONFIRMED upstream; trendcalc's choice)."""
    key = SESSION_ALIASES.get(key, key)
    kind = SESSION_KINDS.get(key, "string")
    session = session_of(event)
    if session is None:
        return kind, 0.0 if kind == "float" else None
    events = session_events(world, session)
    first, last = events[0], events[-1]
    duration = float((last["ts"] - EPOCH) // dt.timedelta(seconds=1) - (first["ts"] - EPOCH) // dt.timedelta(seconds=1))
    counts = {name: sum(e["event"] == name for e in events) for name in ("$pageview", "$autocapture", "$screen")}
    entry_url, end_url = null_if_empty(json_string(first, "$current_url")), null_if_empty(json_string(last, "$current_url"))
    if key == "$session_duration":
        return kind, duration
    if key in ("$start_timestamp", "$end_timestamp"):
        return kind, (first if key == "$start_timestamp" else last)["ts"]
    if key in ("$pageview_count", "$autocapture_count", "$screen_count"):
        return kind, float(counts[key[:-6]])
    if key == "$num_uniq_urls":
        return kind, float(len({json_string(e, "$current_url") for e in events} - {""}))
    if key == "$is_bounce":
        if not counts["$pageview"]:
            return kind, None
        bounce = not (counts["$pageview"] > 1 or counts["$autocapture"] > 0 or duration >= BOUNCE_SECONDS)
        return kind, 1.0 if bounce else 0.0
    if key in ("$entry_current_url", "$end_current_url"):
        return kind, entry_url if key == "$entry_current_url" else end_url
    if key in ("$entry_pathname", "$end_pathname", "$entry_hostname", "$end_hostname"):
        url = entry_url if key.startswith("$entry") else end_url
        return kind, None if url is None else (url_path(url) if key.endswith("pathname") else url_domain(url))
    if key in SESSION_ENTRY_PROPERTIES:
        return kind, null_if_empty(json_string(first, SESSION_ENTRY_PROPERTIES[key]))
    if key == "$last_external_click_url":
        return kind, null_if_empty(json_string(last, "$external_click_url"))
    if key == "$channel_type":
        entry = {k: null_if_empty(json_string(first, p)) for k, p in SESSION_ENTRY_PROPERTIES.items()}
        return kind, channel_type(entry["$entry_utm_source"], entry["$entry_utm_medium"], entry["$entry_utm_campaign"],
                                  entry["$entry_referring_domain"], entry["$entry_gclid"] is not None,
                                  entry["$entry_fbclid"] is not None, entry["$entry_gad_source"])
    raise ReferenceUnsupported(f"session property {key!r}")


# --- §4.1: which events a series reads ---------------------------------------------------------


def step_matches(world: World, project: Project, step: Mapping[str, Any], event: dict[str, Any]) -> bool:
    """filters.md §5.1–5.2: one action step, its conditions AND-ed: the event name (none = any
    event); on ``$autocapture`` steps the selector, tag_name, href and text; the url against
    ``$current_url`` (contains by default: a case-sensitive LIKE); the step's property filters."""
    if step.get("event") and step["event"] != event["event"]:
        return False
    if step.get("event") == "$autocapture":
        chain = element_chain(event)
        if step.get("selector") and not selector_matches(step["selector"], chain):
            return False
        if step.get("tag_name") is not None and not tag_name_matches(step["tag_name"], chain):
            return False
        if step.get("href") is not None and not text_matches(chain_href(chain), step["href"], step.get("href_matching")):
            return False
        if step.get("text") is not None and not any(text_matches(t, step["text"], step.get("text_matching"))
                                                    for t in chain_texts(chain)):
            return False
    if step.get("url"):
        kind, x = typed_value(event["properties"].get("$current_url"), project.property_type("$current_url"), project.tz)
        if x is None or not url_matches(as_text(kind, x, project.tz), step["url"], step.get("url_matching")):
            return False
    from ..query.properties import parse_entity_properties

    props = parse_entity_properties(step.get("properties"), ("steps",), DEFAULT_LIMITS, raw=True)
    return group_holds(world, project, props, event)


def text_matches(text: str, value: str, matching: str | None) -> bool:
    """§5.2 href/text: ``regex`` (RE2 search), ``contains`` (ILIKE '%value%'), else exact."""
    if matching == "regex":
        return re.search(value, text, re.DOTALL) is not None
    if matching == "contains":
        return like_pattern(value).search(text) is not None
    return text == value


def url_matches(url: str, value: str, matching: str | None) -> bool:
    """§5.2 url: ``exact``, ``regex``, else (the default) contains — LIKE, case-sensitive."""
    if matching == "exact":
        return url == value
    if matching == "regex":
        return re.search(value, url, re.DOTALL) is not None
    return like_pattern(value, case_sensitive=True).search(url) is not None


def series_matches(world: World, series: Series, project: Project, event: dict[str, Any]) -> bool:
    """Event name (None = all events), or any step of the action (an action without steps
    matches every event)."""
    if series.kind == "events":
        return series.id is None or series.id == event["event"]
    steps = project.action_source(series.id).get("steps") or []
    return not steps or any(step_matches(world, project, step, event) for step in steps)


def group_key_present(event: dict[str, Any], gti: int) -> bool:
    """``$group_N != ''``: the event carries a non-empty group key."""
    v = event["properties"].get(f"$group_{gti}")
    return v is not None and v != ""


def row_filters_pass(world: World, filt: TrendsFilter, series: Series, project: Project,
                     event: dict[str, Any]) -> bool:
    """§1.4: test-account filters (each an AND term), global and series properties, and the
    groups-math key filter (``$group_N != ''``)."""
    if filt.filter_test_accounts and project.test_account_filters:
        from ..query.properties import parse_test_account_filters

        if not group_holds(world, project, parse_test_account_filters(project.test_account_filters, DEFAULT_LIMITS), event):
            return False
    if not group_holds(world, project, filt.properties, event):
        return False
    if not group_holds(world, project, series.properties, event):
        return False
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
            action = project.action_source(s.id)
            names += [step.get("event") for step in (action or {}).get("steps") or []]
    times = [e["ts"] for e in world.events if any(n is None or n == e["event"] for n in names)]
    return max(min(times), EARLIEST_FLOOR) if times else EARLIEST_FLOOR


# --- §6: breakdown values ----------------------------------------------------------------------

NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")  # ASCII; no nested optional runs: linear


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
        if str(item.property).startswith("$virt_"):
            raise ReferenceUnsupported("virtual person properties")
        return world.person_properties.get(event["person"], {}).get(item.property)
    if item.type == "group":
        key = event["properties"].get(f"$group_{item.group_type_index}")
        if key is None:
            return None
        key = key if isinstance(key, str) else json.dumps(key)
        return world.group_properties.get((item.group_type_index, key), {}).get(item.property)
    if item.type == "event_metadata":
        return metadata_value(item.property, event)
    if item.type == "session":
        return session_value(world, item.property, event)
    raise ReferenceUnsupported(f"{item.type} breakdowns")


def metadata_value(key: str, event: dict[str, Any]) -> Any:
    """§6.1 event_metadata: an event column — ``distinct_id``, ``event``, or a column taken from
    the property of the same name (``$group_N``, ``$session_id``, ``$window_id``)."""
    if key in ("distinct_id", "event"):
        return event[key]
    if key in ("$session_id", "$window_id") or re.fullmatch(r"\$group_[0-4]", key):
        return event["properties"].get(key)
    raise ReferenceUnsupported(f"event_metadata breakdown on {key!r}")


def fine_value(world: World, breakdown: Breakdown, project: Project, event: dict[str, Any]) -> tuple[Any, ...]:
    """§6.4/§6.6: what the events query groups by, per item: a histogram item's number
    (toFloat; None when not numeric), any other item's rendered string. The maths run per fine
    value; the bins are applied one query up, which sums (trends_query_builder.py)."""
    parts: list[Any] = []
    for item in breakdown.items:
        if item.type not in BREAKDOWN_TYPES:
            raise ReferenceUnsupported(f"{item.type} breakdowns")
        raw = raw_breakdown_value(world, item, event)
        if item.histogram_bin_count is not None:
            f = to_float(raw)
            parts.append(None if f is None or f != f else f)
            continue
        typed = item.type in ("event", "person", "group")  # session fields and event columns are untyped
        ptype = project.property_type(item.property, item.type, item.group_type_index) if typed else None
        parts.append(render_breakdown_value(raw, ptype, item.normalize_url))
    return tuple(parts)


def final_value(breakdown: Breakdown, fine: tuple[Any, ...], bins: dict[int, list[tuple[float, float]]]) -> Any:
    """The breakdown value of a fine value: histogram numbers become their bin's label."""
    parts = [bin_label(v, bins[i]) if item.histogram_bin_count is not None else v
             for i, (item, v) in enumerate(zip(breakdown.items, fine))]
    return tuple(parts) if breakdown.multi else parts[0]


def histogram_bins(values: list[float], n: int) -> list[tuple[float, float]]:
    """§6.4: n equal bins from the min to the max of the query's numeric values; the last upper
    edge gets +0.01."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    width = hi - lo
    return [((width / n) * x + lo, (width / n) * (x + 1) + lo + (0.01 if x + 1 == n else 0.0)) for x in range(n)]


def bin_label(v: float | None, bins: list[tuple[float, float]]) -> str:
    """The first bin with lo <= v < hi, rendered ``[lo,hi]``; non-numeric values → the null marker."""
    if v is None or v != v:
        return NULL
    for lo, hi in bins:
        if lo <= v < hi:
            return f"[{float_text(lo)},{float_text(hi)}]"
    return NULL


def value_class(value: Any) -> int:
    """§6.3: 0 normal, 1 contains the null marker (ranked after every normal value)."""
    parts = value if isinstance(value, tuple) else (value,)
    return 1 if NULL in parts else 0


def rank(totals: dict[Any, float], limit: int, *, total_value: bool = False) -> tuple[list[Any], list[Any]]:
    """§6.3/§6.9: (kept values in display order, values folded into Other). Display order is
    class (normal, then null), total desc, value asc. Time series keep the first ``limit`` in
    that order (so the null value folds first); total-value displays keep the ``limit`` largest
    totals (ties by value) and show them in display order."""
    ordered = sorted(totals, key=lambda v: (value_class(v), -totals[v], value_text(v)))
    if len(ordered) <= limit:
        return ordered, []
    n = max(limit, 0)
    if total_value:
        chosen = set(sorted(totals, key=lambda v: (-totals[v], value_text(v)))[:n])
        return [v for v in ordered if v in chosen], [v for v in ordered if v not in chosen]
    return ordered[:n], ordered[n:]


def cumulative_order(kept: list[Any], values: dict[Any, list[float]]) -> list[Any]:
    """§5.2 (test_trends_breakdown_cumulative): a cumulative breakdown keeps the values ``rank``
    chose, shown by class, then the sum of their running totals desc, then value."""
    return sorted(kept, key=lambda v: (value_class(v), -sum(running_sum(values[v])), value_text(v)))


def value_text(value: Any) -> Any:
    """Values compare as strings (a cohort id as its digits)."""
    return value if isinstance(value, (str, tuple)) else str(value)


def breakdown_label(value: Any) -> str:
    """§6.8: the value, items joined with ``::``; markers verbatim."""
    return "::".join(value) if isinstance(value, tuple) else value


# --- filters.md §9: sessions as breakdown values and math properties (raw values) -------------------------------------------------------------------------

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
SESSION_VALUE_ALIASES = {"duration": "$session_duration", "$exit_current_url": "$end_current_url",
                   "$exit_pathname": "$end_pathname", "$exit_hostname": "$end_hostname"}
SESSION_NUMBERS = ("$session_duration", "$pageview_count", "$num_uniq_urls")  # a session-less event reads 0
ENTRY_FIELDS = {"$entry_utm_source": "utm_source", "$entry_utm_medium": "utm_medium",
                "$entry_utm_campaign": "utm_campaign", "$entry_referring_domain": "$referring_domain"}
SESSION_FIELDS = SESSION_NUMBERS + ("$entry_current_url", "$end_current_url", "$entry_pathname",
                                    "$entry_hostname", "$end_pathname", "$end_hostname", "$is_bounce",
                                    "$channel_type", *ENTRY_FIELDS)


def session_id(event: dict[str, Any]) -> str | None:
    """The event's session: its ``$session_id`` when that is a UUIDv7 (case-insensitive)."""
    v = event["properties"].get("$session_id")
    return v.lower() if isinstance(v, str) and UUID7.match(v) else None


def breakdown_session_events(world: World, sid: str) -> list[dict[str, Any]]:
    """Every event of the session (any name, any date), by (time, event name, input order)."""
    if "sessions" not in world.memo:
        by_id: dict[str, list[dict[str, Any]]] = {}
        for e in sorted(world.events, key=lambda e: (e["ts"], e["event"], e["index"])):
            if session_id(e) is not None:
                by_id.setdefault(session_id(e), []).append(e)
        world.memo["sessions"] = by_id
    return world.memo["sessions"][sid]


def whole_seconds(ts: dt.datetime) -> int:
    return (ts - EPOCH) // dt.timedelta(seconds=1)


def url_text(v: Any) -> str | None:
    """A session text field: ``nullIf(nullIf(JSONExtractString(properties, key), ''), 'null')``
    (a non-string property reads ``''``, so NULL)."""
    return v if isinstance(v, str) and v not in ("", "null") else None


def session_value(world: World, key: str, event: dict[str, Any]) -> Any:
    """A field of the event's session (filters.md §9); without a session, 0 for numbers, else NULL."""

    name = SESSION_VALUE_ALIASES.get(key, key)
    if name not in SESSION_FIELDS:
        raise ReferenceUnsupported(f"session field {key!r}")
    sid = session_id(event)
    if sid is None:
        return 0 if name in SESSION_NUMBERS else None
    events = breakdown_session_events(world, sid)
    duration = whole_seconds(events[-1]["ts"]) - whole_seconds(events[0]["ts"])  # second boundaries crossed
    pageviews = sum(1 for e in events if e["event"] == "$pageview")
    entry, end = url_text(events[0]["properties"].get("$current_url")), url_text(events[-1]["properties"].get("$current_url"))
    if name == "$session_duration":
        return duration
    if name == "$pageview_count":
        return pageviews
    if name == "$num_uniq_urls":
        return len({json_string(e, "$current_url") for e in events} - {""})  # "null" is a URL here
    if name == "$is_bounce":  # NULL without pageviews
        autocaptures = sum(1 for e in events if e["event"] == "$autocapture")
        return None if pageviews == 0 else not (pageviews > 1 or autocaptures > 0 or duration >= 10)
    if name in ENTRY_FIELDS:
        return url_text(events[0]["properties"].get(ENTRY_FIELDS[name]))
    if name == "$channel_type":
        return entry_channel_type(events[0]["properties"])
    url = entry if name.startswith("$entry") else end
    if name.endswith("_pathname"):  # ClickHouse path()/domain(), as the filters' cascade; "" is NULL here
        return None if url is None else url_path(url) or None
    if name.endswith("_hostname"):
        return None if url is None else url_domain(url) or None
    return url


def entry_channel_type(props: dict[str, Any]) -> str:
    """filters.md §9 ``$channel_type`` of a session: the default channel rules (``channel_type``)
    over its entry event's utm source/medium/campaign, referring domain, gclid/fbclid and
    gad_source, each read as a session URL field ('' and 'null' are NULL)."""
    text = {k: url_text(props.get(k)) for k in ("utm_source", "utm_medium", "utm_campaign", "$referring_domain",
                                                  "gclid", "fbclid", "gad_source")}
    return channel_type(text["utm_source"], text["utm_medium"], text["utm_campaign"], text["$referring_domain"],
                        text["gclid"] is not None, text["fbclid"] is not None, text["gad_source"])


# --- §6.7, filters.md §6: cohorts ----------------------------------------------------------------


def split_per_cohort(filt: TrendsFilter) -> bool:
    """§6.7: one cohort, or a list with "all", runs one query per cohort × series."""
    b = filt.breakdown
    return b is not None and b.items[0].type == "cohort" and (len(b.items[0].property) == 1 or "all" in b.items[0].property)


def query_cohorts(filt: TrendsFilter, q: Query) -> list[Any]:
    """The cohort ids a query reads (not "all")."""
    if q.cohort is not None:
        return [] if q.cohort == "all" else [q.cohort]
    b = filt.breakdown
    return list(b.items[0].property) if b is not None and b.items[0].type == "cohort" else []


def in_query_cohort(world: World, project: Project, cohort: Any, event: dict[str, Any]) -> bool:
    """A query per cohort keeps the events of its members ("all": every event)."""
    return cohort is None or cohort == "all" or event["person"] in cohort_members(world, project, cohort)


def cohort_grouped(world: World, project: Project, cohorts: tuple[Any, ...],
                   pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[dict[Any, list[dict[str, Any]]], dict[Any, Any]]:
    """Several cohorts in one query: an event counts in every cohort its person is in."""
    rows: dict[Any, list[dict[str, Any]]] = {}
    for row, source in pairs:
        for c in cohorts:
            if source["person"] in cohort_members(world, project, c):
                rows.setdefault(c, []).append(row)
    return rows, {c: c for c in rows}


def cohort_label(project: Project, cohort: Any) -> str:
    """"all users", or the cohort's name (its id without one)."""
    if cohort == "all":
        return "all users"
    name = find_cohort(project, cohort).get("name")
    return name if isinstance(name, str) else str(cohort)


# --- §4: maths ---------------------------------------------------------------------------------

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
            values = [to_float(e["properties"].get(series.math_property)) for e in rows]
        return reduce_values(math_name, [v for v in values if v is not None])
    if math_name in PER_ACTOR_MATHS:
        counts: dict[Any, int] = {}
        for e in rows:
            a = person_actor(project, e)
            counts[a] = counts.get(a, 0) + 1
        return reduce_values(math_name.removesuffix("_count_per_actor"), [float(c) for c in counts.values()])
    raise ReferenceUnsupported(f"math {math_name!r}")


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


# --- §5, §9: post-processing --------------------------------------------------------------------


def cumulative_forward_filled(values: list[float]) -> list[float]:
    """§5.2 without a breakdown: running total; then every bucket after the first whose value is
    <= 0 takes the previous bucket's value (PostHog's arrayFill)."""
    out = running_sum(values)
    for i in range(1, len(out)):
        if out[i] <= 0:
            out[i] = out[i - 1]
    return out


def running_sum(values: list[float]) -> list[float]:
    """§5.2 with a breakdown: an exact running sum."""
    out, total = [], 0.0
    for v in values:
        total += v
        out.append(total)
    return out


def smooth(values: list[float], n: int) -> list[float]:
    """§9.1: floor of the mean of the last min(i+1, n) values."""
    out = []
    for i in range(len(values)):
        window = values[max(0, i + 1 - n): i + 1]
        out.append(float(math.floor(math.fsum(window) / len(window))))  # the exact sum of the window
    return out


def render_numbers(values: list[float]) -> list[int | float]:
    """Integral series render as ints, any other as floats."""
    if all(v == int(v) for v in values):
        return [int(v) for v in values]
    return [float(v) for v in values]


# --- one query --------------------------------------------------------------------------------


@dataclass
class Query:
    """One series over one period."""

    series: Series
    range: DateRange
    starts: list[dt.datetime]
    period: str | None = None
    label_range: DateRange | None = None  # week labels clamp to the current range, even for "previous"
    max_buckets: int = DEFAULT_LIMITS.max_buckets  # also caps the days a total-value WAU/MAU spans
    cohort: Any = None  # §6.7: the cohort (id or "all") of a query per cohort


def current_range(world: World, filt: TrendsFilter, project: Project, now: dt.datetime) -> DateRange:
    """§1: the current period. Total-value displays resolve their dates with the day interval."""
    tz = project.tz
    total_value = filt.display in TOTAL_VALUE_DISPLAYS
    interval = "day" if total_value else filt.interval
    exact = filt.display == "BoldNumber"
    now_local = now.astimezone(tz)
    earliest = earliest_timestamp(world, filt, project) if filt.date_from == "all" else EARLIEST_FLOOR
    start, mapping = date_from_value(filt.date_from, interval, now_local, tz, filt.explicit_date, exact, earliest)
    end = date_to_value(filt.date_to, interval, now_local, tz, filt.explicit_date, exact)
    return DateRange(start, end, mapping, interval, filt.explicit_date, exact)


def series_rows(world: World, filt: TrendsFilter, project: Project, series: Series, lo: dt.datetime,
                hi: dt.datetime, cohort: Any = None) -> list[dict[str, Any]]:
    """The series' events with lo <= ts <= hi that pass every filter (§4.1), and the query's cohort."""
    return [
        e for e in world.events
        if series_matches(world, series, project, e) and lo <= e["ts"] <= hi and sampled(e, filt.sampling_factor)
        and row_filters_pass(world, filt, series, project, e) and in_query_cohort(world, project, cohort, e)
    ]


def first_time_rows(world: World, filt: TrendsFilter, project: Project, series: Series, q: Query,
                    matching: bool) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """§4.4: per person, (counted event, breakdown event). ``first`` is the person's earliest
    series event up to date_to (``matching``: earliest that passes the filters); the person
    counts when the earliest in-range filter-passing event has the same time. Ties are broken
    by (event name, input order); the breakdown value comes from the first event overall."""
    lo, hi = whole_second(lower_bound(q.range, project.week_start_day)), whole_second(q.range.date_to)
    by_person: dict[Any, list[dict[str, Any]]] = {}
    for e in sorted(world.events, key=lambda e: (e["ts"], e["event"], e["index"])):
        if series_matches(world, series, project, e) and e["ts"] <= hi and sampled(e, filt.sampling_factor):
            by_person.setdefault(e["person"], []).append(e)
    out = []
    for events in by_person.values():
        passing = [e for e in events if row_filters_pass(world, filt, series, project, e)
                   and in_query_cohort(world, project, q.cohort, e)]
        basis = passing[0] if matching and passing else (None if matching else events[0])
        in_range = [e for e in passing if e["ts"] >= lo]
        if basis is not None and in_range and in_range[0]["ts"] == basis["ts"]:
            out.append((basis, events[0]))
    return out


def grouped(world: World, filt: TrendsFilter, project: Project,
            pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[dict[Any, list[dict[str, Any]]], dict[Any, Any]]:
    """(rows by fine value, the breakdown value of each fine value), the value read from each
    pair's second event; one group (None) without a breakdown."""
    if filt.breakdown is None:
        return {None: [row for row, _ in pairs]}, {None: None}
    if filt.breakdown.items[0].type == "cohort":
        return cohort_grouped(world, project, filt.breakdown.items[0].property, pairs)
    bins = {}
    for i, item in enumerate(filt.breakdown.items):
        if item.histogram_bin_count is not None:  # bins span the values of this query's rows
            values = [to_float(raw_breakdown_value(world, item, source)) for _, source in pairs]
            bins[i] = histogram_bins([v for v in values if v is not None and v == v], item.histogram_bin_count)
    rows: dict[Any, list[dict[str, Any]]] = {}
    for row, source in pairs:
        rows.setdefault(fine_value(world, filt.breakdown, project, source), []).append(row)
    return rows, {fine: final_value(filt.breakdown, fine, bins) for fine in rows}


def fold_fine(values: dict[Any, list[float]], final_of: dict[Any, Any]) -> dict[Any, list[float]]:
    """Per breakdown value, the bucket-wise sum of its fine values' numbers (§6.4: a person
    with two values in one bin counts twice for dau)."""
    out: dict[Any, list[float]] = {}
    for fine, vals in values.items():
        key = final_of[fine]
        out[key] = [a + b for a, b in zip(out[key], vals)] if key in out else list(vals)
    return out


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


def query_values(world: World, filt: TrendsFilter, project: Project, q: Query) -> dict[Any, list[float]]:
    """Per breakdown value (None without a breakdown): the series' per-bucket values."""
    total_value = filt.display in TOTAL_VALUE_DISPLAYS
    series = q.series
    math_name = effective_math(series.math, filt.interval)
    lo = whole_second(lower_bound(q.range, project.week_start_day))
    hi = whole_second(q.range.date_to)
    if math_name in FIRST_TIME_MATHS:
        pairs = first_time_rows(world, filt, project, series, q, math_name == "first_matching_event_for_user")
    else:
        if math_name in ("weekly_active", "monthly_active"):
            anchor = q.range.date_to if total_value else q.range.date_from
            lo = whole_second(shift_days(anchor, -7 if math_name == "weekly_active" else -30))
        elif math_name in PER_ACTOR_MATHS:
            lo = max(lo, whole_second(q.range.date_from))  # §4.2: per-actor maths start at the raw date_from
        pairs = [(e, e) for e in series_rows(world, filt, project, series, lo, hi, q.cohort)]
    if math_name in ("weekly_active", "monthly_active"):
        if total_value:
            bucket_starts(q.range, project.week_start_day, q.max_buckets)  # the days it spans are capped, rows or not
    elif not total_value:
        # §2.2: a row whose bucket key is not in the list is dropped, and gives no breakdown value
        # (only a 30-minute DST shift leaves such rows in range; upstream's SQL would keep a zero
        # row for the value and rank it by the dropped rows — §2.4 is UNCONFIRMED there)
        pairs = [(row, src) for row, src in pairs if bucket_index(row["ts"], q.starts, q.range.interval,
                                                                   project.week_start_day) is not None]
    if q.cohort is not None:  # a query per cohort: its rows are the cohort's
        rows_by_fine, final_of = ({q.cohort: [row for row, _ in pairs]}, {q.cohort: q.cohort}) if pairs else ({}, {})
    else:
        rows_by_fine, final_of = grouped(world, filt, project, pairs)
    out = {}
    for fine, rows in rows_by_fine.items():
        if math_name in ("weekly_active", "monthly_active"):
            days = 7 if math_name == "weekly_active" else 30
            out[fine] = active_values(filt, series, project, q, rows, days, total_value)
        else:
            out[fine] = bucketed_values(world, math_name, filt, series, project, q, rows, total_value)
    return fold_fine(out, final_of)


def series_dict(filt: TrendsFilter, project: Project, q: Query, values: list[float], *, label_text: str,
                breakdown: Any = None, has_breakdown: bool = False, forward_fill: bool) -> dict[str, Any]:
    """§3.1/§3.2: one result dict (without ``filter`` and ``action``)."""
    d: dict[str, Any] = {"label": label_text, "order": q.series.index}
    if filt.display in TOTAL_VALUE_DISPLAYS:
        v = values[0] if values else 0.0
        counting = effective_math(q.series.math, filt.interval) in COUNTING_MATHS
        math_name = effective_math(q.series.math, filt.interval)
        aggregated = int(v) if counting else float(v)
        d.update(data=[], days=[], count=0, aggregated_value=correct_for_sampling(aggregated, filt.sampling_factor, math_name))
    else:
        data = list(values)
        if filt.display == CUMULATIVE_DISPLAY:
            data = cumulative_forward_filled(data) if forward_fill else running_sum(data)
        if filt.smoothing_intervals > 1 and not has_breakdown:
            data = smooth(data, filt.smoothing_intervals)
        rendered = render_numbers(data)
        count = (rendered[-1] if rendered else 0) if filt.display == CUMULATIVE_DISPLAY else float(sum(data))
        math_name = effective_math(q.series.math, filt.interval)
        d.update(
            data=[correct_for_sampling(v, filt.sampling_factor, math_name) for v in rendered],  # §10.1: per point
            days=[day_string(s, q.range.interval) for s in q.starts],
            labels=[label(s, q.range.interval, q.label_range or q.range, project.week_start_day) for s in q.starts],
            count=correct_for_sampling(count, filt.sampling_factor, math_name),
        )
    if has_breakdown:
        d["breakdown_value"] = list(breakdown) if isinstance(breakdown, tuple) else breakdown
    if q.period is not None:
        d.update(compare=True, compare_label=q.period)
    return d


def query_filter_groups(filt: TrendsFilter, project: Project, series: Series) -> list[PropertyGroup]:
    """Every property group one series query compiles: test accounts, global, series, steps."""
    from ..query.properties import parse_entity_properties, parse_test_account_filters

    groups = [filt.properties, series.properties]
    if filt.filter_test_accounts and project.test_account_filters:
        groups.append(parse_test_account_filters(project.test_account_filters, DEFAULT_LIMITS))
    if series.kind == "actions":
        for step in project.action_source(series.id).get("steps") or []:
            groups.append(parse_entity_properties(step.get("properties"), ("steps",), DEFAULT_LIMITS, raw=True))
    return groups


def run_query(world: World, filt: TrendsFilter, project: Project, q: Query, n_queries: int) -> list[dict[str, Any]]:
    """One series: rows → (breakdown value, bucket) cells → math → rank/Other → post-process."""
    if q.series.kind == "actions" and project.action_source(q.series.id) is None:
        return []  # §11: a missing action's series is dropped
    for group in query_filter_groups(filt, project, q.series):
        check_group(world, project, group)
    for cohort_id in query_cohorts(filt, q):
        cohort_members(world, project, cohort_id)  # an unknown or invalid cohort fails the query
    values = query_values(world, filt, project, q)
    if filt.breakdown is None:
        return [series_dict(filt, project, q, values[None], label_text=q.series.label, forward_fill=True)]
    if q.cohort is not None:  # §6.7: one value, whatever the limit; no rows, no result
        if not values:
            return []
        text = cohort_label(project, q.cohort)
        return [series_dict(filt, project, q, values[q.cohort], breakdown=q.cohort, has_breakdown=True,
                            label_text=f"{q.series.label} - {text}" if n_queries > 1 else text, forward_fill=False)]
    limit = FIXED_BREAKDOWN_LIMIT.get(filt.display) or filt.breakdown.limit
    totals = {v: sum(vals) for v, vals in values.items()}
    kept, folded = rank(totals, limit, total_value=filt.display in TOTAL_VALUE_DISPLAYS)
    if filt.display == CUMULATIVE_DISPLAY:
        kept = cumulative_order(kept, values)
    if folded and filt.breakdown.items[0].type == "cohort":
        raise ValidationError(("breakdown_limit",), "more cohorts than breakdown_limit: upstream fails reading "
                                                    "the Other row as a cohort id")
    out = []
    for v in kept + ([other_value(filt.breakdown)] if folded else []):
        if v in values:
            vals = values[v]
        else:  # §6.3 Other: per-bucket sums of the folded values, whatever the math
            vals = [sum(values[f][i] for f in folded) for i in range(len(values[folded[0]]))]
        text = cohort_label(project, v) if filt.breakdown.items[0].type == "cohort" else breakdown_label(v)
        label_text = f"{q.series.label} - {text}" if n_queries > 1 else text
        out.append(series_dict(filt, project, q, vals, label_text=label_text, breakdown=v, has_breakdown=True,
                               forward_fill=False))
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



# --- §10.1: sampling ------------------------------------------------------------------------------

SAMPLING_CORRECTED = COUNTING_MATHS + ("sum",)


def sampled(event: dict[str, Any], factor: float | None) -> bool:
    """``SAMPLE f`` on cityHash64(distinct_id): keep the distinct_ids whose hash is below f·2^64
    (f read as an exact decimal fraction). The hash itself is shared with the engine."""
    if factor is None:
        return True
    from fractions import Fraction

    from ..store.cityhash import cityhash64

    ratio = Fraction(repr(float(factor)))
    return ratio >= 1 or cityhash64(event["distinct_id"]) < int(ratio * (1 << 64))


def correct_for_sampling(value: Any, factor: float | None, math_name: str) -> Any:
    """round(value · 1/f) (half to even) for the counting maths and sum; others unchanged."""
    if not factor or factor == 1 or math_name not in SAMPLING_CORRECTED:
        return value
    return round(value * (1 / factor))


# --- §7: formulas --------------------------------------------------------------------------------


def formula_value(node: Any, point: list[float]) -> float:
    """§7.1: one point of a formula: + - * / % ** and unary ±; x/0 and x%0 are 0, 0**-n is 0."""
    from ..formula.ast import Number, SeriesRef, Unary

    if isinstance(node, Number):
        return node.value
    if isinstance(node, SeriesRef):
        return point[node.index]
    if isinstance(node, Unary):
        v = formula_value(node.operand, point)
        return -v if node.op == "-" else v
    a, b = formula_value(node.left, point), formula_value(node.right, point)
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op == "*":
        return a * b
    if node.op in ("/", "%"):
        if b == 0:
            return 0.0
        return a / b if node.op == "/" else a % b
    try:
        r = a**b
    except ZeroDivisionError:
        return 0.0
    return math.nan if isinstance(r, complex) else r


def formula_nodes(node: Any) -> list[Any]:
    from ..formula.ast import children

    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(children(n))
    return out


def formula_gives_ints(expr: Any, inputs: list[dict[str, Any]]) -> bool:
    """Python arithmetic keeps ints: int inputs, no ``/``, integral literals, ``**`` only with a
    non-negative literal exponent."""
    from ..formula.ast import Binary, Number, SeriesRef

    nodes = formula_nodes(expr)
    for n in nodes:
        if isinstance(n, Number) and not float(n.value).is_integer():
            return False
        if isinstance(n, Binary) and n.op == "/":
            return False
        if isinstance(n, Binary) and n.op == "**" and not (isinstance(n.right, Number) and n.right.value >= 0):
            return False
    used = {n.index for n in nodes if isinstance(n, SeriesRef)}
    return all(isinstance(x, int) for i in used for x in inputs[i]["data"])


def apply_formulas(filt: TrendsFilter, results: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """§7.3/§8.5: each formula in turn over the current half of the query results, then over the
    previous half (compare); within a half, over each cohort's block of queries when a cohort
    breakdown contains "all". Every result of formula i gets ``order`` i."""
    halves = [results[: len(results) // 2], results[len(results) // 2:]] if filt.compare else [results]
    out = []
    for index, formula in enumerate(filt.formulas):
        for half in halves:
            for block in cohort_blocks(filt, half):
                out += [{**d, "order": index} for d in formula_results(filt, formula, block)]
    return out


def cohort_blocks(filt: TrendsFilter, results: list[list[dict[str, Any]]]) -> list[list[list[dict[str, Any]]]]:
    """A cohort breakdown with "all" runs cohort-major queries: one block of series per cohort."""
    b = filt.breakdown
    if b is None or b.items[0].type != "cohort" or "all" not in b.items[0].property:
        return [results]
    size = len(results) // len(b.items[0].property)
    return [results[k * size:(k + 1) * size] for k in range(len(b.items[0].property))]


def formula_results(filt: TrendsFilter, formula: Any, results: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """§7.3: letters are the queries in order. Without breakdown or compare, each query's first
    row; else rows are matched by breakdown value (compare: by compare label), a query without
    the value gives a zero filler, and the results are sorted (§7.4; compare: count desc)."""
    from ..formula.ast import SeriesRef

    if not results:
        return []
    refs = [n.index for n in formula_nodes(formula.expr) if isinstance(n, SeriesRef)]
    if any(i >= len(results) for i in refs):
        raise ValidationError(("formula",), "the formula names a series that does not exist")
    if filt.breakdown is None and not filt.compare:
        if any(not rows for rows in results):
            raise ValidationError(("formula",), "a series has no result (its action does not exist)")
        return [formula_row(filt, formula, [dict(rows[0]) for rows in results])]

    def key(d: dict[str, Any]) -> Any:
        v = d.get("breakdown_value") if filt.breakdown is not None else d.get("compare_label")
        return tuple(v) if isinstance(v, list) else v

    computed = []
    for value in sorted({key(d) for rows in results for d in rows}, key=lambda v: (natural_key(v), repr(v))):
        matches = [next((d for d in rows if key(d) == value), None) for rows in results]
        present = next(d for d in matches if d is not None)
        # upstream sizes the filler by A's first row (failing when A has none); then by the row found
        length = len((results[0][0]["data"] if results[0] else None) or present["data"] or [])
        group = [dict(d) if d is not None else filler(present, length) for d in matches]
        computed.append(formula_row(filt, formula, group))
    if filt.compare:
        return sorted(computed, key=lambda d: -d["count"])
    return sorted(computed, key=formula_sort_key, reverse=True)


def filler(present: dict[str, Any], length: int) -> dict[str, Any]:
    """The zero row standing in for a query that lacks a breakdown value: no ``compare`` key,
    always ``breakdown_value``, ``compare_label``, ``labels`` and ``aggregated_value`` 0."""
    return {"data": [0] * length, "count": 0, "aggregated_value": 0, "breakdown_value": present.get("breakdown_value"),
            "compare_label": present.get("compare_label"), "days": present.get("days"), "labels": present.get("labels")}


def formula_row(filt: TrendsFilter, formula: Any, group: list[dict[str, Any]]) -> dict[str, Any]:
    """§3.3: the group's first row (A's, or a filler) with the formula's values and label."""
    out = dict(group[0], label=formula.custom_name or f"Formula ({formula.text})")
    if filt.display in TOTAL_VALUE_DISPLAYS:
        out.update(aggregated_value=float(formula_value(formula.expr, [float(r["aggregated_value"]) for r in group])),
                   data=None, count=0)
        return out
    n = min(len(r["data"]) for r in group)
    values = [formula_value(formula.expr, [float(r["data"][i]) for r in group]) for i in range(n)]
    integral = all(math.isfinite(v) and v == int(v) for v in values)
    out["data"] = [int(v) for v in values] if integral and formula_gives_ints(formula.expr, group) else values
    out["count"] = float(sum(values))
    return out


def formula_sort_key(d: dict[str, Any]) -> tuple:
    """§7.4 (sorted descending): class (normal, null, Other — a list value is always normal),
    aggregated_value (a filler's 0) else sum(data), count, data, repr(value)."""
    v = d.get("breakdown_value")
    cls = -1 if v == NULL else -2 if v == OTHER else 0
    return cls, d.get("aggregated_value", sum(d.get("data") or [])), d["count"], d["data"], repr(v)


def natural_key(v: Any) -> tuple:
    """natsort with IGNORECASE: NFD, case-folded, digit runs compared as numbers (a leading number
    sorts before text); tuples element-wise. Values natsort ties are taken by repr (upstream:
    set order)."""
    import unicodedata

    if isinstance(v, tuple):
        return tuple(natural_key(x) for x in v)
    if isinstance(v, int):
        return ("", v)
    text = unicodedata.normalize("NFD", str(v)).casefold()
    parts: list[Any] = [int(p) if p.isdecimal() else p for p in re.split(r"(\d+)", text) if p]
    return tuple(([""] if parts and isinstance(parts[0], int) else []) + parts)


# --- §8: compare -----------------------------------------------------------------------------------


def local_wall(naive: dt.datetime, tz: Any) -> dt.datetime:
    """A wall-clock time in ``tz``; a time skipped by DST moves forward."""
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def previous_period(f: dt.datetime, t: dt.datetime, from_mapping: dict | None, to_mapping: dict | None,
                    interval: str) -> tuple[dt.datetime, dt.datetime]:
    """§8.2: F′ = F − (T − F) keeping F's time of day (hour interval: keeping the hour too), and
    T′ = F′ + (T − F) keeping T's time; day ranges like ``-7d`` (days a multiple of 7, no date_to
    mapping) are shifted one day later, so they overlap the current period by a day."""
    tz = f.tzinfo
    fn, tn = f.replace(tzinfo=None), t.astimezone(tz).replace(tzinfo=None)
    length = tn - fn
    if interval == "minute":
        return local_wall(fn - length, tz), local_wall(fn, tz)
    start = (fn - length).replace(hour=fn.hour, minute=fn.minute, second=fn.second, microsecond=fn.microsecond)
    if interval == "hour":
        end = (start + length).replace(minute=tn.minute, second=tn.second, microsecond=tn.microsecond)
        return local_wall(start, tz), local_wall(end, tz)
    days = (from_mapping or {}).get("days")
    if interval == "day" and days and days % 7 == 0 and not to_mapping:
        start += dt.timedelta(days=1)
    end = (start + length).replace(hour=tn.hour, minute=tn.minute, second=tn.second, microsecond=tn.microsecond)
    return local_wall(start, tz), local_wall(end, tz)


def compare_to_period(f: dt.datetime, t: dt.datetime, compare_to: str, human_friendly: bool) -> tuple[dt.datetime, dt.datetime]:
    """§8.3: F′ = compare_to relative to F (not truncated); T′ = F′ + (T − F)."""
    tz = f.tzinfo
    start = parse_absolute(compare_to, tz)
    if start is None:
        match = RELATIVE.search(compare_to)
        mapping = {} if match is None else delta_mapping(match["kind"], match["number"], match["position"])
        if human_friendly and match is not None and match["number"]:
            if match["kind"] == "m":
                mapping = {**{k: v for k, v in mapping.items() if k != "months"}, "weeks": 4}
            if match["kind"] == "y":
                mapping = {**{k: v for k, v in mapping.items() if k != "years"}, "weeks": 52}
        start = f - relativedelta(**mapping)
    length = t.astimezone(tz).replace(tzinfo=None) - f.replace(tzinfo=None)
    return local_wall(start.replace(tzinfo=None), tz), local_wall(start.replace(tzinfo=None) + length, tz)


def previous_range(world: World, filt: TrendsFilter, project: Project, now: dt.datetime) -> DateRange:
    """The previous period, computed from the current one resolved with the query's own
    interval (total-value displays keep it for the previous period, §8.1)."""
    tz = project.tz
    exact = filt.display == "BoldNumber"
    now_local = now.astimezone(tz)
    earliest = earliest_timestamp(world, filt, project) if filt.date_from == "all" else EARLIEST_FLOOR
    f, mapping = date_from_value(filt.date_from, filt.interval, now_local, tz, filt.explicit_date, exact, earliest)
    t = date_to_value(filt.date_to, filt.interval, now_local, tz, filt.explicit_date, exact)
    to_mapping = None if filt.date_to is None else parse_date(filt.date_to, now_local, tz)[1]
    if filt.compare_to is not None:
        start, end = compare_to_period(f, t, filt.compare_to, project.human_friendly_comparison_periods)
    else:
        start, end = previous_period(f, t, None if filt.date_from in (None, "all") else mapping, to_mapping,
                                     filt.interval)
    return DateRange(start, end, mapping, filt.interval, filt.explicit_date, exact)


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
        return []  # no series: an empty answer, as the runner gives
    world = load_world(events, persons, groups)
    world.now = resolve_now(now)
    r = current_range(world, filt, project, resolve_now(now))
    total_value = filt.display in TOTAL_VALUE_DISPLAYS
    starts = [] if total_value else bucket_starts(r, project.week_start_day, limits.max_buckets)
    cohorts = filt.breakdown.items[0].property if split_per_cohort(filt) else (None,)
    queries = [Query(s, r, starts, "current" if filt.compare else None, max_buckets=limits.max_buckets, cohort=c)
               for c in cohorts for s in filt.series]  # cohort-major (§6.7)
    if filt.compare:
        prev = previous_range(world, filt, project, resolve_now(now))
        prev_starts = [] if total_value else bucket_starts(prev, project.week_start_day, limits.max_buckets)
        queries += [Query(q.series, prev, prev_starts, "previous", label_range=r, max_buckets=limits.max_buckets,
                          cohort=q.cohort) for q in list(queries)]
    n_real = (len(queries) + 1) // 2 if filt.compare else len(queries)
    per_query = [run_query(world, filt, project, q, n_real) for q in queries]
    if filt.formulas:
        out = apply_formulas(filt, per_query)
    else:
        out = [d for rows in per_query for d in rows]
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
    "PROPERTY_SOURCES",
    "ReferenceUnsupported",
    "check_supported",
    "World",
    "comparable",
    "event_bounds",
    "load_world",
    "reference_trends",
]
