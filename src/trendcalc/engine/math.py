"""The math registry: one entry per math type, owning its row selection and its cell rule.

``frame`` picks and buckets the rows (engine/frames.py); ``compute(frame)`` returns a
(n_groups, n_buckets) float array. Total-value displays run the same pair over a single
whole-range bucket, so an entry's aggregated value is its own whole-range rule (a distinct
count over the range, a percentile over all values, ...), never a sum of per-bucket values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import attrs
import numpy as np

from ..query.maths import QUANTILES
from ..query.model import Series
from ..recent import Recent
from ..store.columns import PropertyColumn, render_text
from ..store.virtual import person_column
from ..timeutil import datetime_to_us
from . import cells
from .active_slots import active_by_day_slots
from .context import Frame, QueryContext
from .frames import FrameBuilder, date_range, first_event, look_back, raw_date_from
from .localtime import shift_days, truncate
from .timeaxis import TimeAxis, bucket_starts

INTERVAL_ORDER = {"minute": 0, "hour": 1, "day": 2, "week": 3, "month": 4}


@attrs.frozen
class MathType:
    """One math: how its rows are selected (``frame``) and reduced per cell (``compute``)."""

    name: str
    compute: Callable[[Frame], np.ndarray]
    frame: FrameBuilder = date_range
    integer: bool = True  # results are counts (rendered as ints)
    new_actors_cumulative: bool = False  # cumulative display counts each actor once (§5.2)
    sampling_corrected: bool = True  # round(value / sampling_factor) applies (§10.1)
    dau_from: str | None = None  # converted to dau at this interval and longer (§4.3)
    # The actors behind a data point (engine/actors.py): how their rows are picked in the data
    # point's window, and how many days before it an active-users window looks back.
    actors_frame: FrameBuilder = date_range
    actors_lookback_days: int = 0


def _shape(frame: Frame, flat: np.ndarray) -> np.ndarray:
    return np.asarray(flat, dtype=np.float64).reshape(frame.n_groups, frame.n_buckets)


def total(frame: Frame) -> np.ndarray:
    """count(): events per cell."""
    return _shape(frame, frame.count_per_cell())


def distinct_actors(frame: Frame) -> np.ndarray:
    """Distinct actors per cell (persons, distinct_ids, or group keys for group maths)."""
    actors, n = frame.actors()
    return _shape(frame, frame.distinct_per_cell(actors, n))


def first_seen(frame: Frame) -> np.ndarray:
    """New actors per cell: each (group, actor) counted once, in the bucket of its first row.

    Cumulative display of dau/unique_group accumulates these (spec §5.2)."""
    actors, n = frame.actors()
    if len(actors) == 0:
        return _shape(frame, np.zeros(frame.n_cells))
    key = frame.group.astype(np.int64) * n + actors
    order = np.lexsort((frame.bucket, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    rows = order[first]
    cell = frame.group[rows].astype(np.int64) * frame.n_buckets + frame.bucket[rows]
    return _shape(frame, cells.count(cell, frame.n_cells))


def session_keys(frame: Frame) -> tuple[np.ndarray, int]:
    """``$session_id`` per row as an int id; rows without one share the id of ``''``."""
    col = frame.store.column("$session_id")
    if col is None:
        return np.zeros(frame.n_rows, np.int64), 1

    def build() -> np.ndarray:
        texts = [render_text(v) for v in col.dictionary.values] + [""]
        _, ids = np.unique(np.array(texts, dtype=object), return_inverse=True)
        return ids.astype(np.int64).reshape(-1)

    lut = col.dictionary.cached("session_key_ids", build)
    return lut[frame.take(col.codes)], int(lut.max()) + 1


def unique_session(frame: Frame) -> np.ndarray:
    """count(DISTINCT $session_id); session-less events form the one session ``''``."""
    keys, n = session_keys(frame)
    return _shape(frame, frame.distinct_per_cell(keys, n))


# --- property maths ---------------------------------------------------------------------------

Reducer = Callable[[np.ndarray, np.ndarray, int], np.ndarray]
REDUCERS: dict[str, Reducer] = {
    "sum": cells.sum_,
    "avg": cells.mean,
    "min": cells.minimum,
    "max": cells.maximum,
    **{name: (lambda level: lambda c, v, n: cells.quantile(c, v, n, level))(q) for name, q in QUANTILES.items()},
}


# Where a property math reads ``math_property`` from, by ``math_property_type``: "event" (the
# event's own properties) or "person" (the event's person's properties). From PostHog's Trends
# query runner (hogql_queries/insights/trends/aggregation_operations.py,
# AggregationOperations._get_math_chain): "person_properties" reads person.properties.<p>; every
# other value, "group_properties" included, falls through to the event's properties.<p> — no
# group type is consulted (math_group_type_index only picks the actor of unique_group and the
# active-users maths) and nothing requires one. The legacy engine (queries/trends/util.py,
# process_math) reads the event property whatever the type. advice.py warns on group_properties.
# PostHog's UI (ActionFilterRow) sends "numerical_event_properties" for an event property.
PROPERTY_READS: dict[str | None, str] = {
    None: "event",
    "event_properties": "event",
    "numerical_event_properties": "event",
    "group_properties": "event",
    "person_properties": "person",
}


def reads_person(series: Series) -> bool:
    """True when the series' property math reads the person's property, not the event's."""
    return PROPERTY_READS.get(series.math_property_type) == "person"


def property_codes(frame: Frame) -> tuple[PropertyColumn | None, np.ndarray | None]:
    """The math property's column and its dictionary code per row of the frame: an event
    property, or (``math_property_type: person_properties``) the row's person's property."""
    prop = frame.series.math_property
    if not prop:
        return None, None
    if reads_person(frame.series):
        col = person_column(frame.store, prop)
        return (col, col.codes[frame.take(frame.store.person)]) if col is not None else (None, None)
    col = frame.store.column(prop)
    return (col, frame.take(col.codes)) if col is not None else (None, None)


def property_values(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """(cell, value) pairs the property math aggregates: toFloat(property) per row (NaN = NULL).

    ``$session_duration`` is collapsed to one value per (cell, session) first (§4.2) and
    ``$time`` reads toUnixTimestamp of the property."""
    prop = frame.series.math_property
    cell = frame.cell()
    person = reads_person(frame.series)
    reader = None if person else SPECIAL_PROPERTIES.get(prop or "")
    if reader is not None:
        return reader(frame, cell)
    return cell, row_floats(frame)


def row_floats(frame: Frame) -> np.ndarray:
    """toFloat(property) per row of the frame (NaN = NULL), for a property that is not one of
    ``SPECIAL_PROPERTIES`` (those read their own rows)."""
    prop = frame.series.math_property
    key = frame.row_key
    if not reads_person(frame.series) and prop and isinstance(key, slice):  # the same rows' values serve every series
        found = frame.store.column(prop)
        if found is None:
            return np.full(frame.n_rows, np.nan)
        return frame.ctx.memo(("property floats", prop, key.start, key.stop),
                              lambda: found.dictionary.floats()[found.codes[key]])
    col, codes = property_codes(frame)
    if col is None or codes is None:
        return np.full(frame.n_rows, np.nan)
    return col.dictionary.floats()[codes]


def _session_duration(frame: Frame, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keys, n = session_keys(frame)
    c, _, first = cells.distinct_pairs(cell, keys, n)
    table = frame.ctx.sessions()
    return c, table.duration_of_rows(frame.rows[first])


def _unix_time(frame: Frame, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    col = frame.store.column("$time")
    if col is None:
        return cell, np.full(len(cell), np.nan)
    lut = col.dictionary.view("unix_timestamp", _to_unix_timestamp, np.float64, np.nan)
    return cell, lut[frame.take(col.codes)]


def _to_unix_timestamp(v: object) -> float:
    """toUnixTimestamp of a property: whole seconds of a number or an ISO datetime string; NULL
    (NaN) for anything else, including infinite numbers (``"1e400"``)."""
    if isinstance(v, bool):
        return np.nan
    if isinstance(v, (int, float)):
        return float(int(v)) if np.isfinite(v) else np.nan
    if isinstance(v, str):
        try:
            d = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            try:
                f = float(v)
            except ValueError:
                return np.nan
            return float(int(f)) if np.isfinite(f) else np.nan
        if d.tzinfo is None:
            d = d.replace(tzinfo=dt.timezone.utc)
        return float(int(d.timestamp()))
    return np.nan


SPECIAL_PROPERTIES: dict[str, Callable[[Frame, np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "$session_duration": _session_duration,
    "$time": _unix_time,
}


def property_math(reduce: Reducer, level: float | None = None) -> Callable[[Frame], np.ndarray]:
    """agg(toFloat(property)) per cell; NULL (no numeric value) becomes 0. A quantile
    (``level``) of a stored column sorts the ranks of its dictionary's values, not floats."""

    def compute(frame: Frame) -> np.ndarray:
        prop = frame.series.math_property
        special = prop in SPECIAL_PROPERTIES and not reads_person(frame.series)
        col, codes = property_codes(frame) if level is not None and not special else (None, None)
        bounds = None if special else frame.cell_bounds()  # one time-ordered block: cells are its runs
        if col is not None and codes is not None and level is not None:
            rank, ordered = col.dictionary.float_ranks()
            flat = cells.quantile_of_ranks(None if bounds is not None else frame.cell(), rank[codes], ordered,
                                           frame.n_cells, level, bounds=bounds)
        elif bounds is not None and reduce is cells.sum_:
            flat = cells.sum_(None, row_floats(frame), frame.n_cells, bounds=bounds)
        else:
            cell, values = property_values(frame)
            flat = reduce(cell, values, frame.n_cells)
        return _shape(frame, np.nan_to_num(flat, nan=0.0))

    return compute


def per_actor(reduce: Reducer) -> Callable[[Frame], np.ndarray]:
    """Events per actor in the cell, then agg over the cell's actors (0 for an empty cell)."""

    def compute(frame: Frame) -> np.ndarray:
        actors, n = frame.person_actors()
        cell = frame.cell()
        if len(cell) == 0:
            return _shape(frame, np.zeros(frame.n_cells))
        key = cell * n + actors
        uniq, counts = np.unique(key, return_counts=True)
        return _shape(frame, np.nan_to_num(reduce(uniq // n, counts.astype(np.float64), frame.n_cells), nan=0.0))

    return compute


# --- weekly / monthly active ------------------------------------------------------------------


def active_actors(days: int) -> Callable[[Frame], np.ndarray]:
    """Distinct actors active in the ``days`` ending at each bucket start (§4.3).

    Rows are truncated to their hour (hour interval), minute, or local day; bucket B counts the
    actors with a truncated time t in (B - days, B]. On total-value displays the buckets are the
    range's days and the value is the distinct actors of their union."""

    def compute(frame: Frame) -> np.ndarray:
        ctx, axis = frame.ctx, frame.axis
        if axis.interval not in ("hour", "minute") and not ctx.display.total_value:
            starts_us, window_us = _windows(list(axis.starts), days)
            fast = active_by_day_slots(frame, starts_us, window_us)  # rows binned by local day, slid
            if fast is not None:
                return fast.reshape(1, -1)
        actors, _ = frame.actors()
        return active_counts(frame.ctx, frame.axis, activity_times(frame), actors, frame.group, frame.n_groups, days)

    return compute


def activity_times(frame: Frame) -> np.ndarray:
    """Each row's time truncated to its hour (hour interval), minute, or local day (§4.3)."""
    axis = frame.axis
    unit = axis.interval if axis.interval in ("hour", "minute") else "day"
    return truncate(frame.ts(), unit, frame.ctx.project.tz)


def active_counts(ctx: QueryContext, axis: TimeAxis, t: np.ndarray, actors: np.ndarray, group: np.ndarray,
                  n_groups: int, days: int) -> np.ndarray:
    """The (n_groups, n_buckets) active-actor counts of rows with activity times ``t``, actor
    ids ``actors`` and groups ``group``: what ``active_actors`` computes, from any such rows
    (a partitioned store's merged rows too)."""
    total_value = ctx.display.total_value
    starts = (
        bucket_starts(axis.range, ctx.project.week_start_day, ctx.limits.max_buckets)
        if total_value
        else list(axis.starts)
    )
    starts_us, window_us = _windows(starts, days)
    grid = cells.rolling_distinct(actors, group, t, starts_us, window_us, n_groups)
    if not total_value:
        return grid
    lo = np.searchsorted(starts_us, t, "left")
    hi = np.searchsorted(window_us, t, "left") - 1
    ok = lo <= hi
    n = int(actors.max()) + 1 if len(actors) else 1
    flat = cells.count_distinct(group[ok].astype(np.int64), actors[ok], n, n_groups)
    return flat.reshape(n_groups, 1)


# at most 1,000,000 buckets' windows held in all (16 MB)
_WINDOWS: Recent[tuple[np.ndarray, np.ndarray]] = Recent(256, max_weight=1_000_000, weight=lambda w: len(w[0]))


def _windows(starts: list[dt.datetime], days: int) -> tuple[np.ndarray, np.ndarray]:
    """Each bucket's start and the start of its ``days``-day look-back window, in µs (read-only),
    memoised: every partition of a partitioned query, and every repeat of a query, has the same
    buckets, and the calendar arithmetic (a timezone conversion or three per bucket) cost
    ~0.45 ms a query — an eighth of a partition's weekly actors."""
    key = (tuple(starts), days, starts[0].tzinfo if starts else None)
    # (``tz`` in the key: aware datetimes compare and hash by instant, and the look-back keeps
    # the wall clock of the starts' own zone)
    return _WINDOWS.get(key, lambda: _windows_of(starts, days))


def _windows_of(starts: list[dt.datetime], days: int) -> tuple[np.ndarray, np.ndarray]:
    starts_us = np.array([datetime_to_us(s) for s in starts], dtype=np.int64)
    window_us = np.array([datetime_to_us(shift_days(s, -days)) for s in starts], dtype=np.int64)
    starts_us.flags.writeable = window_us.flags.writeable = False
    return starts_us, window_us


def _registry() -> dict[str, MathType]:
    entries = [
        MathType("total", total),
        MathType("dau", distinct_actors, new_actors_cumulative=True),
        MathType("unique_group", distinct_actors, new_actors_cumulative=True),
        MathType("unique_session", unique_session),
        MathType("weekly_active", active_actors(7), frame=look_back(7), dau_from="week", actors_lookback_days=6),
        MathType("monthly_active", active_actors(30), frame=look_back(30), dau_from="month", actors_lookback_days=29),
        MathType("first_time_for_user", total, frame=first_event(matching=False), actors_frame=first_event(matching=False)),
        MathType("first_matching_event_for_user", total, frame=first_event(matching=True),
                 actors_frame=first_event(matching=True)),
    ]
    for name, reduce in REDUCERS.items():
        entries.append(MathType(name, property_math(reduce, QUANTILES.get(name)), integer=False,
                                sampling_corrected=name == "sum"))
        if name != "sum":
            entries.append(
                MathType(f"{name}_count_per_actor", per_actor(reduce), frame=raw_date_from, integer=False,
                         sampling_corrected=False)
            )
    return {m.name: m for m in entries}


MATHS: dict[str, MathType] = _registry()


def _hogql_math(frame: Frame) -> np.ndarray:
    from .hogql import hogql_math

    return hogql_math(frame)


# Maths over a user expression (``math_hogql``): a registry of their own, beside the fixed maths
# that the test kit's reference mirrors one for one.
EXPRESSION_MATHS: dict[str, MathType] = {
    "hogql": MathType("hogql", _hogql_math, integer=False, sampling_corrected=False),
}


def math_type(name: str) -> MathType:
    """The registry entry of a math name (fixed maths first, then expression maths)."""
    m = MATHS.get(name)
    return m if m is not None else EXPRESSION_MATHS[name]


def effective_series(series: Series, interval: str) -> Series:
    """WAU at week/month intervals and MAU at month become dau (PostHog rewrites the query)."""
    m = MATHS.get(series.math)
    if m is not None and m.dau_from is not None and INTERVAL_ORDER[interval] >= INTERVAL_ORDER[m.dau_from]:
        return attrs.evolve(series, math="dau")
    return series
