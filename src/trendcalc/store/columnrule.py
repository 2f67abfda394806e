"""The one column rule every events reader follows (records, JSON lines, CSV, DataFrames, Arrow,
Parquet, the command line).

==============================  ==============================================================
``event``, ``distinct_id``,     required
``timestamp``
``uuid``, ``person_id``         recognised
``properties``                  an object per row: a dict, JSON text of one, or a struct column
``person_properties``           an object per row (with ``person_id``): the person's properties
``properties.<key>``            event property ``<key>``
``person_properties.<key>``     person property ``<key>`` (with ``person_id``)
any other column                an event property named like the column (``$browser``, ``plan``)
==============================  ==============================================================

``rename={"yours": "theirs"}`` maps input column names onto these first (``{"session_id":
"$session_id"}`` makes a column the session id PostHog's session maths read). Nothing is
dropped: a column that cannot be used is a ValidationError naming it, the input kind and the
columns found, with the nearest name when a required column is missing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import zoneinfo
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError, brief
from ..timeutil import UTC

REQUIRED = ("event", "distinct_id", "timestamp")
FIXED = ("event", "distinct_id", "timestamp", "uuid", "person_id")
OBJECTS = ("properties", "person_properties")
RECOGNISED = FIXED + OBJECTS
PREFIX = "properties."
PERSON_PREFIX = "person_properties."

# Common export spellings of the required columns, offered before a spelling match.
_ALIASES = {
    "event": ("event_name", "name", "action", "event_type", "type"),
    "distinct_id": ("user_id", "userid", "user", "anonymous_id", "anonymousid", "visitor_id", "device_id", "uid", "id"),
    "timestamp": ("time", "ts", "datetime", "date", "event_time", "created_at", "sent_at", "occurred_at", "timestamp_utc"),
}

_WHAT = {"event": "the event name", "distinct_id": "the user's id", "timestamp": "when the event happened"}


def check_rename(rename: Any) -> dict[str, str]:
    """``rename`` as a dict of str → str (None: empty), or ValidationError at ``rename``."""
    if rename is None:
        return {}
    if not isinstance(rename, Mapping) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in rename.items()):
        raise ValidationError(("rename",), f"expected a mapping of column name to (non-empty) column name, got {brief(rename)}")
    return dict(rename)


def role(name: str) -> tuple[str, str]:
    """What a (renamed) column is: ("fixed", name), ("properties", ""), ("person_properties", ""),
    ("event", key) or ("person", key)."""
    if name in OBJECTS:
        return (name, "")
    if name in FIXED:
        return ("fixed", name)
    if name.startswith(PERSON_PREFIX):
        return ("person", name[len(PERSON_PREFIX):])
    if name.startswith(PREFIX):
        return ("event", name[len(PREFIX):])
    return ("event", name)


def nearest(missing: str, found: list[str]) -> str | None:
    """The column of ``found`` most likely meant as ``missing`` (None: no good candidate)."""
    lowered = {c.lower(): c for c in found if isinstance(c, str) and c not in RECOGNISED}
    for alias in _ALIASES.get(missing, ()):
        if alias in lowered:
            return lowered[alias]
    close = difflib.get_close_matches(missing, list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def missing_columns_error(kind: str, missing: list[str], found: list[str]) -> ValidationError:
    """The error for required columns an input lacks: names the input kind, what is missing,
    the columns found, and how to map the nearest one."""
    shown = ", ".join(repr(c) for c in found[:40]) + (", ..." if len(found) > 40 else "")
    guess = nearest(missing[0], found)
    hint = (f"; did you mean {guess!r}? pass rename={{{guess!r}: {missing[0]!r}}} (command line: --rename {guess}={missing[0]})"
            if guess else f"; map yours with rename={{'your_column': {missing[0]!r}}} (command line: --rename your_column={missing[0]})")
    return ValidationError(
        (missing[0],),
        f"the {kind} has no {', '.join(map(repr, missing))} column ({_WHAT.get(missing[0], 'required')}; columns found: {shown or 'none'}){hint}",
    )


def layout(header: list[Any], rename: Mapping[str, str] | None, kind: str) -> list[tuple[str, str]]:
    """The role of each column of ``header`` after ``rename`` (see ``role``), checking that the
    required columns are there and that no role is given twice. Errors name the input kind."""
    rename = check_rename(rename)
    unknown = [k for k in rename if k not in header]
    if unknown:
        raise ValidationError(
            ("rename", unknown[0]),
            f"the {kind} has no column {unknown[0]!r} to rename (columns found: {', '.join(map(repr, header[:40]))})")
    out: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], Any] = {}
    for i, raw in enumerate(header):
        if not isinstance(raw, str):
            raise ValidationError((i,), f"the {kind}'s column names must be strings, got {brief(raw)}")
        name = rename.get(raw, raw)
        if not name:
            raise ValidationError((i,), f"the {kind} has an empty column name")
        r = role(name)
        if r in seen:
            raise ValidationError((raw,), f"the {kind}'s column {raw!r} repeats column {seen[r]!r}")
        seen[r] = raw
        out.append(r)
    fixed = {k for kind_, k in out if kind_ == "fixed"}
    missing = [c for c in REQUIRED if c not in fixed]
    if missing:
        raise missing_columns_error(kind, missing, [str(c) for c in header])
    return out


def zone(timezone: Any) -> dt.tzinfo:
    """``timezone=``: None/"UTC" → UTC, an IANA name or a tzinfo; else ValidationError."""
    if timezone is None:
        return UTC
    if isinstance(timezone, dt.tzinfo):
        return timezone
    if not isinstance(timezone, str) or not timezone or len(timezone) > 64:
        raise ValidationError(("timezone",), f"expected an IANA timezone name, got {brief(timezone)}")
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValidationError(("timezone",), f"unknown timezone {timezone!r}") from exc


__all__ = ["FIXED", "OBJECTS", "PREFIX", "RECOGNISED", "REQUIRED", "check_rename", "layout", "missing_columns_error", "nearest", "role", "zone"]
