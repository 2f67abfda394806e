"""The data point's window and breakdown value: which rows of a series are the point's."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from typing import Any

import attrs
import numpy as np
from dateutil import parser as du_parser
from dateutil.relativedelta import relativedelta

from ...errors import TrendcalcWarning, UnsupportedError, ValidationError, brief, format_path
from ...query.actors_request import ActorsRequest
from ...query.displays import DISPLAYS
from ...query.model import Breakdown, BreakdownItem, TrendsFilter
from ...store.columns import BREAKDOWN_NULL, BREAKDOWN_OTHER
from ...store.report import user_stacklevel
from ...timeutil import MAX_YEAR, MIN_YEAR, UTC, datetime_to_us
from .. import breakdown as bd
from ..context import QueryContext
from ..localtime import shift_days
from ..math import MathType
from ..plan import earliest_timestamp
from ..timeaxis import STEP, DateRange, TimeAxis, resolve_range

HISTOGRAM_ALL_VALUES = '["",""]'  # PostHog's placeholder for "every bin"
# what PostHog filters on when a lone value is given for multiple breakdowns (breakdown_mask)
LONE_VALUE_ITEM = BreakdownItem("None")


# --- the point's window ------------------------------------------------------------------------


@attrs.frozen
class Window:
    """Events with ``lo_us <= ts < hi_us`` belong to the data point; ``range`` is the period's
    resolved date range (current or previous)."""

    lo_us: int
    hi_us: int
    start: dt.datetime
    range: DateRange
    period: str | None


def point_window(ctx: QueryContext, math: MathType, req: ActorsRequest) -> Window:
    """The data point's event window (see the module docstring)."""
    filt, tz = ctx.filter, ctx.project.tz
    total_value = DISPLAYS[filt.display].total_value
    current = resolve_range(
        filt.date_from, filt.date_to, interval=filt.interval, now=ctx.now, tz=tz,
        explicit=filt.explicit_date, earliest=lambda: earliest_timestamp(ctx, filt.series),
    )
    previous = filt.compare and req.compare == "previous"
    if previous:
        from ..compare import previous_range

        rng = previous_range(ctx)  # ctx.display has no exact_timerange here (see run_actors)
    else:
        rng = current
    query_from, query_to = rng.date_from, rng.date_to
    inclusive = False
    if total_value:
        if req.day is not None:
            raise ValidationError(req.path("day"), f"a day is not allowed with the total-value display {filt.display}: its data point is the whole date range")
        lo, hi, inclusive = query_from, query_to, True
    else:
        if req.day is None:
            raise ValidationError(req.path("day"), "a day is required for a time-series display: the `days` value of the data point")
        frame = parse_day(req.day, ctx, req.path("day"))
        try:
            if previous:
                delta = None if filt.compare_to is not None else _from_delta(filt, current)
                if delta is None:  # compare_to, an absolute or "all" range: shift by the periods' gap
                    frame = query_from + (frame - current.date_from)
                else:
                    frame = frame - relativedelta(**delta)
                    if filt.interval != "hour":
                        frame = frame.replace(hour=0, minute=0, second=0, microsecond=0)
            lo, hi = frame, frame + STEP[filt.interval]
        except (OverflowError, ValueError) as exc:
            raise ValidationError(req.path("day"), f"day {brief(req.day)} is out of range for this query") from exc
        if filt.explicit_date and not math.actors_lookback_days:
            lo = max(lo, query_from)
            if query_to < hi:
                hi, inclusive = query_to, True
    if math.actors_lookback_days:
        if total_value:
            lo = hi
        try:
            lo = shift_days(lo.astimezone(tz), -math.actors_lookback_days)
        except (OverflowError, ValueError) as exc:
            raise ValidationError(req.path("day"), "the data point's look-back window is out of range") from exc
        if filt.explicit_date:
            lo, hi = max(lo, query_from), min(hi, query_to)
    for d in (lo, hi):
        try:
            year = d.astimezone(UTC).year
        except (OverflowError, ValueError):
            year = 0
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValidationError(req.path("day"), f"the data point's window reaches outside years {MIN_YEAR}..{MAX_YEAR}")
    lo_us = datetime_to_us(lo.astimezone(UTC))
    hi_us = datetime_to_us(hi.astimezone(UTC)) + (1 if inclusive else 0)
    return Window(lo_us, max(hi_us, lo_us), lo, rng, "previous" if previous else ("current" if filt.compare else None))


def _from_delta(filt: TrendsFilter, current: DateRange) -> dict | None:
    """QueryPreviousPeriodDateRange.date_from_delta_mappings: the relative delta of date_from
    (None for "all" and absolute dates; a missing date_from is the default -7d)."""
    if filt.date_from == "all":
        return None
    return current.from_mapping


def parse_day(day: Any, ctx: QueryContext, path: tuple) -> dt.datetime:
    """The data point's ``day``: ISO text (or any date dateutil reads), a datetime or a date;
    naive values are in the project timezone (PostHog's ``parse(day)`` then team tz)."""
    tz = ctx.project.tz
    if isinstance(day, dt.datetime):
        d = day
    elif isinstance(day, dt.date):
        d = dt.datetime(day.year, day.month, day.day)
    else:
        if not isinstance(day, str):  # an interval number is a stickiness data point
            raise ValidationError(path, f"expected a date string like '2024-03-01' (the result's `days` value), got {brief(day)}")
        try:
            d = du_parser.isoparse(day)
        except (ValueError, OverflowError):
            default = ctx.now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
            try:
                d = du_parser.parse(day, default=default)
            except (ValueError, OverflowError, TypeError) as exc:
                raise ValidationError(path, f"unparsable day {brief(day)}: expected a date like '2024-03-01' or a datetime") from exc
    if d.tzinfo is None:
        d = d.replace(tzinfo=tz)
    try:
        year = d.astimezone(UTC).year
    except (OverflowError, ValueError) as exc:
        raise ValidationError(path, f"day {brief(day)} is out of range") from exc
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(path, f"day {brief(day)} is outside years {MIN_YEAR}..{MAX_YEAR}")
    return d


def window_axis(window: Window, interval: str, week_start_day: int) -> TimeAxis:
    """A one-bucket axis over the window, so the math's frame builders select exactly it."""
    edges = np.array([window.lo_us, window.hi_us], dtype=np.int64)
    edges.flags.writeable = False
    return TimeAxis(window.range, interval, week_start_day, window.lo_us, window.hi_us, (window.start,), edges, window.range)


# --- breakdown value -----------------------------------------------------------------------------


def breakdown_mask(ctx: QueryContext, breakdown: Breakdown, lookup: Any, rows: np.ndarray, path: tuple) -> np.ndarray | None:
    """Rows carrying breakdown value ``lookup`` (None: no condition), as PostHog's
    Breakdown.get_actors_query_where_filter: "Other" keeps every row; the null marker matches
    NULL and ''; histogram bins ``[lo,hi]`` match lo <= value < hi; cohorts match members
    (``"all"`` everyone)."""
    items = breakdown.items
    if items[0].type == "cohort":
        return _cohort_mask(ctx, lookup, rows, path)
    if breakdown.multi and not isinstance(lookup, tuple):
        # PostHog reads a lone value over `breakdowns` with its single-breakdown filter, whose
        # property is str(breakdownFilter.breakdown) = "None": the null marker (and "Other")
        # keep every row, any other value keeps the rows whose event property "None" has it
        # (upstream test_trends_math_first_time_for_user_numeric_breakdowns)
        keeps = "every actor of the point" if lookup in (BREAKDOWN_NULL, BREAKDOWN_OTHER) else "the actors whose events have it"
        warnings.warn(TrendcalcWarning(
            f"{format_path(path)}: one value for a query with {len(items)} breakdowns; PostHog matches it against an event "
            f"property named 'None' ({keeps}); pass a list of {len(items)} values, the result's breakdown_value"),
            stacklevel=user_stacklevel())
        return item_mask(ctx, LONE_VALUE_ITEM, _lookup_text(lookup), rows, path)
    if breakdown.multi:
        if len(lookup) != len(items):
            raise ValidationError(path, f"expected a list of {len(items)} values, one per breakdown (the result's `breakdown_value`), got {brief(_jsonish(lookup))}")
        parts = list(zip(items, lookup, (path + (i,) for i in range(len(items)))))
    else:
        if isinstance(lookup, tuple):
            raise ValidationError(path, f"expected one value (the query has a single breakdown), got a list {brief(_jsonish(lookup))}")
        parts = [(items[0], lookup, path)]
    mask: np.ndarray | None = None
    for item, value, where in parts:
        m = item_mask(ctx, item, _lookup_text(value), rows, where)
        if m is not None:
            mask = m if mask is None else mask & m
    return mask


def _jsonish(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _lookup_text(v: Any) -> str:
    """A lookup value as text, like PostHog's ``str(value)`` (so 20 is "20", 20.5 "20.5")."""
    return v if isinstance(v, str) else str(v)


def item_mask(ctx: QueryContext, item: BreakdownItem, value: str, rows: np.ndarray, path: tuple) -> np.ndarray | None:
    """One breakdown dimension equal to ``value`` over ``rows`` (None: no condition)."""
    if value == BREAKDOWN_OTHER:
        return None
    source = bd.source_of(item.type)
    if source is None:
        raise UnsupportedError(("breakdown",), f"{item.type} breakdowns are not implemented yet")
    raw = source(ctx, item, rows)
    if item.histogram_bin_count is not None:
        if value == BREAKDOWN_NULL:
            return raw.codes < 0
        if value == HISTOGRAM_ALL_VALUES:
            return None
        lo, hi = _bin(value, path)
        floats = raw.dictionary.floats()[raw.codes]
        with np.errstate(invalid="ignore"):
            return (floats >= lo) & (floats < hi)
    if value == BREAKDOWN_NULL:  # NULL or '' (no URL normalisation on this side, as upstream)
        lut, labels = bd.label_table(raw, False)
    else:
        lut, labels = bd.label_table(raw, item.normalize_url)
    return (labels == value)[lut][raw.codes]


def _bin(value: str, path: tuple) -> tuple[float, float]:
    try:
        bounds = json.loads(value)
    except ValueError:
        bounds = None
    ok = isinstance(bounds, list) and len(bounds) == 2 and all(
        isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds
    )
    if not ok:
        raise ValidationError(path, f"a histogram breakdown value is a bin like '[10.0,20.0]' (or the null marker), got {brief(value)}")
    return float(bounds[0]), float(bounds[1])


def _cohort_mask(ctx: QueryContext, lookup: Any, rows: np.ndarray, path: tuple) -> np.ndarray | None:
    from ..predicates.cohorts import ALL, membership

    values = list(lookup) if isinstance(lookup, tuple) else [lookup]
    if lookup == ALL or not [v for v in values if v != ALL]:
        return None
    persons = ctx.store.person[rows]
    mask = np.zeros(len(rows), dtype=bool)
    for i, v in enumerate(values):
        if v != ALL:
            mask |= membership(ctx, v, path + ((i,) if isinstance(lookup, tuple) else ()))[persons]
    return mask


