"""Raw temporal values (a count of some unit since the epoch) to int64 µs, range-checked *before*
the conversion: multiplying first can overflow int64 and wrap an out-of-range instant back into
range (``2**62`` seconds became 1970-01-01). Used by the Arrow reader for timestamp, date and
epoch-second columns, and by the DataFrame readers for datetime columns."""

from __future__ import annotations

import datetime as dt

import numpy as np

from ..errors import ValidationError
from ..timeutil import MAX_YEAR, MIN_YEAR, datetime_to_us

LO_US = datetime_to_us(dt.datetime(MIN_YEAR, 1, 1, tzinfo=dt.timezone.utc))
HI_US = datetime_to_us(dt.datetime(MAX_YEAR + 1, 1, 1, tzinfo=dt.timezone.utc))  # exclusive
_INT64 = np.iinfo(np.int64)
# µs per unit; "ns" divides (floor), the others multiply
US_PER = {"W": 604_800_000_000, "D": 86_400_000_000, "h": 3_600_000_000, "m": 60_000_000, "s": 1_000_000, "ms": 1_000,
          "us": 1}


OUT_OF_RANGE = f"expected a JSON value: a datetime within years {MIN_YEAR}..{MAX_YEAR}"
"""What a temporal property cell outside the years an instant may have is told (every reader)."""


class OutOfRangeTime:
    """A DataFrame's temporal cell outside years 1900..2299, on the row-by-row path: the row is
    rejected with ``OUT_OF_RANGE``, as the Arrow path rejects it (``ingest.check_json_value``)."""

    def __repr__(self) -> str:
        return "OutOfRangeTime"


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def raw_bounds(unit: str) -> tuple[int, int]:
    """(lo, hi) in ``unit``: a raw value r is within years 1900..2299 iff lo <= r <= hi; both
    clamped to int64."""
    if unit == "ns":
        lo, hi = LO_US * 1000, HI_US * 1000 - 1
    else:
        f = US_PER[unit]
        lo, hi = _ceil_div(LO_US, f), _ceil_div(HI_US, f) - 1
    return max(lo, int(_INT64.min)), min(hi, int(_INT64.max))


def checked_us(raw: np.ndarray, unit: str, where: tuple, what: str = "timestamp") -> np.ndarray:
    """int64 µs of integer ``raw`` values in ``unit`` (``"D"``, ``"s"``, ``"ms"``, ``"us"``, ``"ns"``);
    ValidationError at ``where`` + (first bad row, ...) when one is outside years 1900..2299.

    ``where`` is ``(what_table, column)``; the row is inserted between them, as the Arrow reader
    reports rows (``events[12].timestamp``)."""
    raw = np.asarray(raw)
    lo, hi = raw_bounds(unit)
    if len(raw) and (int(raw.min()) < lo or int(raw.max()) > hi):
        bad = int(np.flatnonzero((raw < lo) | (raw > hi))[0])
        table, column = where
        raise ValidationError((table, bad, column), f"{what} outside years {MIN_YEAR}..{MAX_YEAR}")
    raw = raw.astype(np.int64, copy=False)
    if unit == "ns":
        return raw // 1000
    f = US_PER[unit]
    return raw * f if f != 1 else raw


def us_or(raw: np.ndarray, unit: str, bad: int) -> np.ndarray:
    """Like ``checked_us`` but per row: a value outside years 1900..2299 becomes ``bad`` (for
    readers that report bad rows one by one). Never wraps."""
    raw = np.asarray(raw).astype(np.int64, copy=False)
    lo, hi = raw_bounds(unit)
    out = (raw < lo) | (raw > hi)
    safe = np.where(out, 0, raw)
    us = safe // 1000 if unit == "ns" else safe * US_PER[unit]
    us[out] = bad
    return us


def outside(raw: np.ndarray, unit: str) -> np.ndarray:
    """Mask of raw values in ``unit`` outside years 1900..2299."""
    lo, hi = raw_bounds(unit)
    raw = np.asarray(raw)
    return (raw < lo) | (raw > hi)
