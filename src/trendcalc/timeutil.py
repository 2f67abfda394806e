"""Timestamp parsing shared by ingest and query inputs: everything becomes int64 µs since epoch UTC."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from dateutil import parser as _du_parser

from .errors import ValidationError, brief

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
MIN_YEAR, MAX_YEAR = 1900, 2299  # the range of ClickHouse DateTime64 that PostHog stores
US = 1_000_000


def datetime_to_us(d: dt.datetime) -> int:
    """Exact µs since epoch of an aware datetime."""
    delta = d - EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def us_to_datetime(us: int, tz: dt.tzinfo = UTC) -> dt.datetime:
    return (EPOCH + dt.timedelta(microseconds=int(us))).astimezone(tz)


def parse_iso(text: str, default_tz: dt.tzinfo = UTC) -> dt.datetime:
    """Parse ISO-8601 text; naive values are taken in ``default_tz``. Raises ValueError."""
    s = text.strip()
    if not s or len(s) > 64:
        raise ValueError("empty or overlong timestamp")
    try:
        d = dt.datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        d = _du_parser.isoparse(s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=default_tz)
    return d


def to_us(value: Any, path: tuple, *, default_tz: dt.tzinfo = UTC) -> int:
    """A timestamp (ISO string, datetime, or epoch seconds) as µs UTC, or ValidationError at path."""
    if isinstance(value, bool):
        raise ValidationError(path, "expected an ISO-8601 timestamp, datetime or epoch seconds, got a bool")
    if isinstance(value, dt.datetime):
        d = value if value.tzinfo is not None else value.replace(tzinfo=default_tz)
    elif isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):  # (isfinite(10**400) overflows)
            raise ValidationError(path, f"expected finite epoch seconds, got {value!r}")
        if not -2_208_988_800 <= value <= 10_413_792_000:
            raise ValidationError(path, f"epoch seconds {brief(value)} outside years {MIN_YEAR}..{MAX_YEAR}")
        return int(round(value * US))
    elif isinstance(value, str):
        try:
            d = parse_iso(value, default_tz)
        except (ValueError, OverflowError) as exc:
            raise ValidationError(path, f"unparsable timestamp {value[:80]!r}: expected ISO-8601") from exc
    else:
        raise ValidationError(path, f"expected an ISO-8601 timestamp, datetime or epoch seconds, got {type(value).__name__}")
    try:
        d_utc = d.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValidationError(path, f"timestamp {value!r} out of range") from exc
    if not MIN_YEAR <= d_utc.year <= MAX_YEAR:
        raise ValidationError(path, f"timestamp {value!r} outside years {MIN_YEAR}..{MAX_YEAR}")
    return datetime_to_us(d_utc)
