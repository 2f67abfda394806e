"""PostHog's ingestion-time property type detection (what a property definition's type becomes
the first time a property is seen), as a pure function of (key, JSON value, "now").

The rules are those of PostHog's current detector, ``detect_property_type`` in
PostHog/posthog ``rust/property-defs-rs/src/types.rs`` (read at 003fd01f; it replaced the
plugin-server's ``detectPropertyDefinitionTypes`` in
``plugin-server/src/worker/ingestion/property-definitions-auto-discovery.ts``, whose rules
differ in the details listed in the spec note ``property-types.md`` §6). First match wins; the
key is lower-cased for matching only:

1. key starts with ``utm_`` or ``$initial_utm_`` → String;
2. key starts with ``$feature/``, equals ``$feature_flag_response`` or starts with
   ``$survey_response`` → String;
3. key contains ``time``, ``date``, ``_at``, ``-at``, ``createdat`` or ``updatedat`` and the
   value is a date-like string, or a JSON integer ≥ 0 that is at least "now" minus 15,768,000
   seconds (``SIX_MONTHS_AGO_SECS``) → DateTime;
4. a string: trimmed, exactly ``true``/``false``/``TRUE``/``FALSE`` → Boolean; date-like →
   DateTime; else String;
5. a JSON number → Numeric; a JSON boolean → Boolean; null, a list or an object → no type.

"Date-like": parses as RFC 3339 or RFC 2822, or matches ``DATE_PREFIX`` (a ``YYYY-MM-DD`` or
``MM-DD-YYYY`` date with ``-``/``/`` separators, optionally followed by `` ``/``T`` and
``HH:MM:SS`` and anything).

"Now" is a parameter: upstream it is the wall clock at ingestion; trendcalc passes the time of
the event the value was first seen on, so the same data always gets the same types.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from typing import Any

SIX_MONTHS_AGO_SECS = 15_768_000
_U64 = 2**64
_DATETIME_KEYWORDS = ("time", "date", "_at", "-at", "createdat", "updatedat")
_STRING_PREFIXES = ("utm_", "$initial_utm_", "$feature/", "$survey_response")
DATE_PREFIX = re.compile(
    r"^(([0-9]{4}[/-][0-2][0-9][/-][0-3][0-9])|([0-2][0-9][/-][0-3][0-9][/-][0-9]{4}))"
    r"([ T][0-2][0-9]:[0-6][0-9]:[0-6][0-9].*)?$",
    re.DOTALL,
)
# RFC 3339 date-time (chrono's parse_from_rfc3339: T, t or space; fraction; Z or ±hh:mm)
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_RFC2822_TAIL = re.compile(r"(\d{1,2}:\d{2}(:\d{2})?)\s+([+-]\d{4}|[A-Z]{1,5})\s*(\([^)]*\))?\s*$")


def has_datetime_keyword(key: str) -> bool:
    """Rule 3's key test (on the lower-cased key)."""
    low = key.lower()
    return any(k in low for k in _DATETIME_KEYWORDS)


def _valid_rfc3339(s: str) -> bool:
    if not _RFC3339.match(s):
        return False
    try:
        dt.datetime.fromisoformat(s[:10] + "T" + s[11:].replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _valid_rfc2822(s: str) -> bool:
    if not _RFC2822_TAIL.search(s):
        return False
    try:
        return email.utils.parsedate_tz(s) is not None
    except (TypeError, ValueError, IndexError):
        return False


def is_date_like(s: str) -> bool:
    """PostHog's ``is_likely_date_string``."""
    return _valid_rfc3339(s) or _valid_rfc2822(s) or bool(DATE_PREFIX.match(s))


def is_likely_epoch(v: Any, now_s: float) -> bool:
    """Rule 3's number test: a non-negative JSON integer (u64) at least six months before now."""
    return type(v) is int and 0 <= v < _U64 and v >= int(now_s) - SIX_MONTHS_AGO_SECS


def detect(key: str, value: Any, now_s: float) -> str | None:
    """The type PostHog's ingestion gives property ``key`` seen first with ``value`` at
    ``now_s`` (epoch seconds); None for no type (null, list, object)."""
    low = key.lower()
    if low.startswith(_STRING_PREFIXES) or low == "$feature_flag_response":
        return "String"
    t = type(value)
    if t is str:
        if has_datetime_keyword(low) and is_date_like(value):
            return "DateTime"
        s = value.strip()
        if s in ("true", "false", "TRUE", "FALSE"):
            return "Boolean"
        return "DateTime" if is_date_like(s) else "String"
    if t is bool:
        return "Boolean"
    if t is int or t is float:
        if has_datetime_keyword(low) and is_likely_epoch(value, now_s):
            return "DateTime"
        return "Numeric"
    return None


__all__ = ["DATE_PREFIX", "SIX_MONTHS_AGO_SECS", "detect", "has_datetime_keyword", "is_date_like", "is_likely_epoch"]
