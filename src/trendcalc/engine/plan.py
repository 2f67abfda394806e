"""The plan's record types and the pieces both the trends pipeline and its neighbours (compare,
formulas, actors) read: one query per series × period, its date range and its time axis."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from ..errors import ValidationError
from ..query.model import Series
from ..timeutil import UTC, us_to_datetime
from .context import QueryContext
from .series_parts import event_names
from .timeaxis import DateRange, TimeAxis, build_axis, resolve_range

EARLIEST_FLOOR = dt.datetime(1980, 1, 1, tzinfo=UTC)


@attrs.frozen
class Query:
    """One series in one period: what a single upstream SQL query computes."""

    series: Series
    axis: TimeAxis
    period: str | None = None  # "current" / "previous" with compare, else None
    cohort: Any = None  # for cohort breakdowns split per cohort


def current_range(ctx: QueryContext, series: tuple[Series, ...]) -> DateRange:
    """The query's [date_from, date_to]; a range that ends before it starts is an error (PostHog
    answers zero buckets)."""
    filt = ctx.filter
    interval = "day" if ctx.display.total_value else filt.interval
    r = resolve_range(
        filt.date_from,
        filt.date_to,
        interval=interval,
        now=ctx.now,
        tz=ctx.project.tz,
        explicit=filt.explicit_date,
        exact=ctx.display.exact_timerange,
        earliest=lambda: earliest_timestamp(ctx, series),
    )
    if r.date_from > r.date_to and filt.date_from != "all":
        path = ("dateRange", "date_from") if filt.source == "query" else ("date_from",)
        raise ValidationError(path, f"date_from {r.date_from.isoformat()} is after date_to {r.date_to.isoformat()} "
                                    f"(from {filt.date_from!r}, {filt.date_to!r} at now={ctx.now.isoformat()})")
    return r


def make_axis(ctx: QueryContext, r: DateRange, label_range: DateRange | None = None) -> TimeAxis:
    return build_axis(
        r,
        ctx.project.week_start_day,
        max_buckets=ctx.limits.max_buckets,
        label_range=label_range,
        single_bucket=ctx.display.total_value,
    )


def earliest_timestamp(ctx: QueryContext, series: tuple[Series, ...]) -> dt.datetime:
    """date_from="all": the earliest event of any series' events, floored at 1980-01-01 (over
    the whole data set when a partitioned run's first phase gave it: ``ctx.given``)."""
    best = ctx.given["earliest_us"] if "earliest_us" in ctx.given else earliest_event_us(ctx, series)
    if best is None:
        return EARLIEST_FLOOR
    return max(us_to_datetime(best), EARLIEST_FLOOR)


def earliest_event_us(ctx: QueryContext, series: tuple[Series, ...]) -> int | None:
    """The earliest timestamp (UTC µs) of any series' event names in this store, unfiltered
    (None: none of them occurs). The minimum over partitions is the minimum over their union."""
    store = ctx.store
    best: int | None = None
    for s in series:
        for name in series_event_names(ctx, s):
            codes = range(len(store.event_names)) if name is None else [store.event_code(name)]
            for c in codes:
                if c is None or store.offsets[c] == store.offsets[c + 1]:
                    continue
                first = int(store.ts[store.offsets[c]])
                best = first if best is None else min(best, first)
    return best


def series_event_names(ctx: QueryContext, s: Series) -> list[str | None]:
    return event_names(ctx.project, s)
