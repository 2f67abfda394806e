"""Compare: the previous-period queries (spec §8).

With ``compare`` every (cohort-expanded) series query is run a second time over an earlier
range. That range is computed from the *current* one exactly as PostHog's baseline
QueryPreviousPeriodDateRange / get_compare_period_dates do (§8.2) — including the "-7d is 8 days"
kludge that makes a day-interval ``-7d`` previous period overlap the current one by a day — or,
with ``compare_to``, as QueryCompareToDateRange does (§8.3). Date arithmetic is wall-clock
arithmetic in the project timezone, like Python's on same-tzinfo datetimes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs

from ..errors import ValidationError
from .context import QueryContext
from .plan import Query, earliest_timestamp, make_axis
from .timeaxis import DateRange, parse_absolute, parse_relative, resolve_range


def previous_queries(ctx: QueryContext, current_queries: list[Query]) -> list[Query]:
    """One previous-period query per current query, in the same order (spec §8.1)."""
    if not current_queries:
        return []
    prev = previous_range(ctx)
    label_range = current_queries[0].axis.range
    axis = make_axis(ctx, prev, label_range=label_range)
    return [Query(q.series, axis, "previous", q.cohort) for q in current_queries]


def previous_range(ctx: QueryContext, earliest: Callable[[], dt.datetime] | None = None) -> DateRange:
    """The previous period's resolved range.

    The current F and T are recomputed with the query's own interval: for total-value displays
    the current period's range uses ``day`` but the previous one keeps the interval (§8.1).
    ``earliest``: what ``date_from: "all"`` starts at (default: the series' first event)."""
    filt = ctx.filter
    cur = resolve_range(
        filt.date_from,
        filt.date_to,
        interval=filt.interval,
        now=ctx.now,
        tz=ctx.project.tz,
        explicit=filt.explicit_date,
        exact=ctx.display.exact_timerange,
        earliest=earliest or (lambda: earliest_timestamp(ctx, filt.series)),
    )
    if filt.compare_to is not None:
        start, end = compare_to_dates(cur, filt.compare_to, human_friendly=ctx.project.human_friendly_comparison_periods)
    else:
        # The baseline reports no delta mapping for "all" and for a missing date_from (§8.2, §13.3).
        from_mapping = None if filt.date_from in (None, "all") else cur.from_mapping
        start, end = previous_period_dates(cur.date_from, cur.date_to, from_mapping, cur.to_mapping, filt.interval)
    for d, name in ((start, "start"), (end, "end")):
        if not 1900 <= d.year <= 2299:
            field = "compare_to" if filt.compare_to is not None else "compare"
            path = ("compareFilter", field) if filt.source == "query" else (field,)
            raise ValidationError(path, f"the previous period's {name} {d:%Y-%m-%d} is outside years 1900..2299")
    return attrs.evolve(cur, date_from=start, date_to=end)


def previous_period_dates(
    date_from: dt.datetime, date_to: dt.datetime, from_mapping: dict | None, to_mapping: dict | None, interval: str
) -> tuple[dt.datetime, dt.datetime]:
    """get_compare_period_dates: (F′, T′) of the period before [F, T] (spec §8.2)."""
    tz = date_from.tzinfo
    f = date_from.replace(tzinfo=None)
    t = date_to.astimezone(tz).replace(tzinfo=None)
    length = t - f
    if interval == "minute":
        return _local(f - length, tz), _local(f, tz)
    start = _with_time(f - length, f, hour=True)
    if interval == "hour":
        end = _with_time(start + length, t, hour=False)
        return _local(start, tz), _local(end, tz)
    days = (from_mapping or {}).get("days")
    if interval == "day" and days and days % 7 == 0 and not to_mapping:
        # PostHog's kludge: "-7d" is really 8 days, so shift the previous period a day later.
        start += dt.timedelta(days=1)
    end = _with_time(start + length, t, hour=True)
    return _local(start, tz), _local(end, tz)


def compare_to_dates(current: DateRange, compare_to: str, *, human_friendly: bool = False) -> tuple[dt.datetime, dt.datetime]:
    """QueryCompareToDateRange: F′ = compare_to relative to F (not truncated), T′ = F′ + (T − F)."""
    f = current.date_from
    tz = current.tz
    start = parse_absolute(compare_to, tz)
    if start is None:
        try:
            start, _ = parse_relative(compare_to, f, human_friendly=human_friendly)
        except (OverflowError, ValueError) as exc:
            raise ValidationError(("compare_to",), f"compare_to {compare_to!r} is out of range") from exc
    length = current.date_to.astimezone(tz).replace(tzinfo=None) - f.replace(tzinfo=None)
    try:
        end = start.replace(tzinfo=None) + length
    except OverflowError as exc:
        raise ValidationError(("compare_to",), f"compare_to {compare_to!r} is out of range") from exc
    return _local(start.replace(tzinfo=None), tz), _local(end, tz)


def _with_time(d: dt.datetime, src: dt.datetime, *, hour: bool) -> dt.datetime:
    """``d`` with the time of day of ``src`` (from the hour, or from the minute when not ``hour``)."""
    if hour:
        return d.replace(hour=src.hour, minute=src.minute, second=src.second, microsecond=src.microsecond)
    return d.replace(minute=src.minute, second=src.second, microsecond=src.microsecond)


def _local(naive: dt.datetime, tz: dt.tzinfo | None) -> dt.datetime:
    """A wall-clock time in ``tz``; a time skipped by DST moves forward, as ClickHouse reads it."""
    from ..timeutil import UTC

    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
