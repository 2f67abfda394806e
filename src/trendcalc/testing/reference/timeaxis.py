"""The time axis (time-math-breakdown.md §1 dates and ranges, §2 intervals, buckets and labels).

Relative and absolute date strings resolve in the project zone with dateutil; a query's
period is a ``DateRange``; buckets are the interval starts inside it, labelled as PostHog
labels them. ``Query`` is one series over one such period.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from dateutil import parser as du_parser
from dateutil.relativedelta import relativedelta

from ...errors import ValidationError
from ...limits import DEFAULT_LIMITS
from ...project import Project
from ...query.model import Series, TrendsFilter
from .supported import TOTAL_VALUE_DISPLAYS
from .world import UTC, World

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EN_DASH = "\u2013"
EARLIEST_FLOOR = dt.datetime(1980, 1, 1, tzinfo=UTC)

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


def parse_absolute(text: str, tz: dt.tzinfo) -> dt.datetime | None:
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
    if relative and (r.interval in ("hour", "minute") or (r.interval == "day" and "hours" in (r.from_mapping or {}))):
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


def earliest_timestamp(world: World, filt: TrendsFilter, project: Project) -> dt.datetime:
    """§1.7: the first event of any series' event names (action steps, a GroupNode's nodes' events
    and steps; None = any), floored at 1980-01-01; 1980-01-01 when there is none. Property
    filters are not applied."""
    names: list[Any] = []
    for s in filt.series:
        entities = [(m.kind, m.id) for m in s.id.members] if s.kind == "group" else [(s.kind, s.id)]
        for kind, ident in entities:
            if kind == "events":
                names.append(ident)
            else:
                action = project.action_source(ident)
                names += [step.get("event") for step in (action or {}).get("steps") or []]
    times = [e["ts"] for e in world.events if any(n is None or n == e["event"] for n in names)]
    return max(min(times), EARLIEST_FLOOR) if times else EARLIEST_FLOOR


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
    if start > end and filt.date_from != "all":  # trendcalc's strictness (PostHog: zero buckets)
        path = ("dateRange", "date_from") if filt.source == "query" else ("date_from",)
        raise ValidationError(path, f"date_from {start.isoformat()} is after date_to {end.isoformat()}")
    return DateRange(start, end, mapping, interval, filt.explicit_date, exact)
