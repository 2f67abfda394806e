"""Compare (time-math-breakdown.md §8): the previous period, and ``compare_to`` periods."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil.relativedelta import relativedelta

from ...project import Project
from ...query.model import TrendsFilter
from .timeaxis import (
    EARLIEST_FLOOR,
    RELATIVE,
    DateRange,
    date_from_value,
    date_to_value,
    delta_mapping,
    earliest_timestamp,
    parse_absolute,
    parse_date,
)
from .world import UTC, World


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
    assert tz is not None  # date_from_value gives an aware datetime in the project zone
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
