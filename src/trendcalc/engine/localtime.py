"""Vectorised local-time truncation of UTC µs timestamps (ClickHouse toStartOfMinute/Hour/Day).

UTC offsets are looked up per day (a loop over calendar days, never over rows); a day whose
offset changes is bisected to the minute to find the transition.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np

from ..timeutil import UTC, datetime_to_us

US = 1_000_000
DAY_US = 86_400 * US
STEP_US = {"minute": 60 * US, "hour": 3600 * US}


def floor_second_us(d: dt.datetime) -> int:
    """A datetime rendered to whole seconds (how PostHog prints bounds), as UTC µs."""
    return datetime_to_us(d.astimezone(UTC).replace(microsecond=0))


def _offset_us(t_us: int, tz: dt.tzinfo) -> int:
    d = dt.datetime.fromtimestamp(t_us / US, UTC).astimezone(tz)
    off = d.utcoffset() or dt.timedelta(0)
    return int(off.total_seconds() * US)


def offset_table(lo_us: int, hi_us: int, tz: dt.tzinfo) -> tuple[np.ndarray, np.ndarray]:
    """(points, offsets): the UTC offset in µs that applies from each point on, covering [lo, hi]."""
    start = lo_us - lo_us % DAY_US - DAY_US
    points, offsets = [start], [_offset_us(start, tz)]
    t = start
    while t <= hi_us + DAY_US:
        nxt = t + DAY_US
        o = _offset_us(nxt, tz)
        if o != offsets[-1]:
            a, b = t, nxt  # offset(a) == previous, offset(b) == o: bisect to the minute
            while b - a > 60 * US:
                m = (a + b) // 2
                if _offset_us(m, tz) == o:
                    b = m
                else:
                    a = m
            points.append(b - b % (60 * US))
            offsets.append(o)
        t = nxt
    return np.asarray(points, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


def utc_offsets(ts: np.ndarray, tz: dt.tzinfo) -> np.ndarray:
    """UTC offset (µs) in ``tz`` of each timestamp."""
    if len(ts) == 0 or tz is UTC or getattr(tz, "key", None) == "UTC":
        return np.zeros(len(ts), dtype=np.int64)
    points, offsets = offset_table(int(ts.min()), int(ts.max()), tz)
    return offsets[np.searchsorted(points, ts, "right") - 1]


def local_midnights(lo_us: int, hi_us: int, tz: dt.tzinfo) -> np.ndarray:
    """UTC µs of every local midnight from the day before ``lo``'s to the day after ``hi``'s
    (read-only: memoised by those days, as every partition of a query and every repeat of it
    asks for the same ones; a day's Python calendar arithmetic, ~3 µs, times the days)."""
    first = dt.datetime.fromtimestamp(lo_us / US, UTC).astimezone(tz).date() - dt.timedelta(days=1)
    last = dt.datetime.fromtimestamp(hi_us / US, UTC).astimezone(tz).date() + dt.timedelta(days=1)
    return _midnights(first, last, tz)


@functools.lru_cache(maxsize=256)
def _midnights(first: dt.date, last: dt.date, tz: dt.tzinfo) -> np.ndarray:
    out = []
    d = first
    while d <= last:
        local = dt.datetime(d.year, d.month, d.day, tzinfo=tz)
        out.append(datetime_to_us(local.astimezone(UTC).astimezone(tz).astimezone(UTC)))
        d += dt.timedelta(days=1)
    midnights = np.asarray(out, dtype=np.int64)
    midnights.flags.writeable = False
    return midnights


def truncate(ts: np.ndarray, unit: str, tz: dt.tzinfo) -> np.ndarray:
    """Start of the local minute/hour/day of each timestamp, as UTC µs."""
    ts = np.asarray(ts, dtype=np.int64)
    if len(ts) == 0:
        return ts.copy()
    if unit in STEP_US:
        local = ts + utc_offsets(ts, tz)
        return ts - np.mod(local, STEP_US[unit])
    if unit != "day":
        raise ValueError(f"cannot truncate to {unit!r}")
    bounds = local_midnights(int(ts.min()), int(ts.max()), tz)
    return bounds[np.searchsorted(bounds, ts, "right") - 1]


def shift_days(d: dt.datetime, days: int) -> dt.datetime:
    """``d`` moved by whole calendar days in its own timezone (wall clock kept)."""
    tz = d.tzinfo
    naive = d.replace(tzinfo=None) + dt.timedelta(days=days)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
