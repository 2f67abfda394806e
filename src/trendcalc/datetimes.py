"""Best-effort datetime parsing of property text, as ClickHouse ``parseDateTime64BestEffortOrNull``.

PostHog reads a DateTime-typed property (and both sides of the ``is_date_*`` operators) through
this function (filters.md §0.3, §3.2). The supported subset covers what real payloads carry:

- ISO 8601 / SQL text: ``YYYY-MM-DD``, ``YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]``, ``/`` as date
  separator, optional ``Z`` / ``UTC`` / ``±HH[:MM]`` suffix; naive text is read in the given zone;
- ``YYYYMMDD`` and ``YYYYMMDDhhmmss``;
- unix timestamps of 9 or 10 digits, optionally with a fraction;
- RFC 2822 (``Sat, 01 Jan 2020 10:00:00 GMT``).

Anything else, or an instant outside years 1900..2299 (DateTime64's range), is NULL.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

from .timeutil import UTC, datetime_to_us

NULL_TIME = -(2**63)  # the NULL slot of a datetime view

# ASCII classes and \Z: Python's \d takes non-ASCII digits ("２０２４-03-10"), which ClickHouse
# does not parse (found by tests/property).
_ISO = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\Z",
    re.IGNORECASE | re.ASCII,
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?\Z", re.ASCII)
_UNIX = re.compile(r"^(\d{9,10})(?:\.(\d{1,9}))?\Z", re.ASCII)
_MIN_US = datetime_to_us(dt.datetime(1900, 1, 1, tzinfo=UTC))
_MAX_US = datetime_to_us(dt.datetime(2300, 1, 1, tzinfo=UTC))


def _offset(text: str | None, tz: dt.tzinfo) -> dt.tzinfo:
    if text is None:
        return tz
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def _local(d: dt.datetime, zone: dt.tzinfo) -> int:
    return datetime_to_us(d.replace(tzinfo=zone))


def parse_best_effort(text: str, tz: dt.tzinfo) -> int | None:
    """µs since epoch UTC of ``text`` (naive = wall clock in ``tz``), or None when unparsable."""
    s = text.strip()
    if not s or len(s) > 64 or not s.isascii():
        return None
    us: int | None = None
    try:
        if m := _ISO.match(s):
            y, mo, d, h, mi, sec, frac, off = m.groups()
            micro = int((frac or "0")[:6].ljust(6, "0"))
            d0 = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0), micro)
            us = _local(d0, _offset(off, tz))
        elif m := _UNIX.match(s):
            frac = (m[2] or "0")[:6].ljust(6, "0")
            us = int(m[1]) * 1_000_000 + int(frac)
        elif m := _COMPACT.match(s):
            y, mo, d, h, mi, sec = m.groups()
            us = _local(dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0)), tz)
        else:
            parsed = email.utils.parsedate_tz(s)
            if parsed is None:
                return None
            year, month, day, hour, minute, second = parsed[:6]
            offset = parsed[9]
            d0 = dt.datetime(year, month, day, hour, minute, second)
            zone = tz if offset is None else dt.timezone(dt.timedelta(seconds=offset))
            us = _local(d0, zone)
    except (ValueError, OverflowError):
        return None
    if us is None or not _MIN_US <= us < _MAX_US:
        return None
    return us


def datetime_text(us: int, tz: dt.tzinfo) -> str:
    """ClickHouse ``toString(DateTime64(6, tz))``: ``YYYY-MM-DD HH:MM:SS.ffffff`` in ``tz``."""
    d = (dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(microseconds=us)).astimezone(tz)
    return d.strftime("%Y-%m-%d %H:%M:%S.") + f"{d.microsecond:06d}"
