"""The actors request: which data point of a Trends result, which columns, which page.

Parsed and validated once, at the edge, from keyword arguments or PostHog's InsightActorsQuery /
ActorsQuery dicts (``posthog/schema.py``); the engine (engine/actors.py) only sees an
``ActorsRequest``. Errors name the JSON path of the bad field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from ..errors import UnsupportedError, ValidationError, brief, format_path
from ..jsonvalue import check_number, check_text, clean_json, text_or_none
from ..limits import Limits
from .suggest import suggest

DEFAULT_LIMIT = 100  # HogQL's DEFAULT_RETURNED_ROWS
MAX_LIMIT = 50_000  # HogQL's MAX_SELECT_RETURNED_ROWS
COMPARE_VALUES = ("current", "previous")
REQUEST_FIELDS = ("series", "day", "breakdown", "compare", "include_recordings", "select", "order_by", "limit", "offset")
INSIGHT_ACTORS_KEYS = (
    "kind", "source", "series", "day", "breakdown", "compare", "includeRecordings", "interval", "status",
    "modifiers", "response", "version",
)
ACTORS_QUERY_KEYS = (
    "kind", "source", "select", "orderBy", "limit", "offset", "search", "properties", "fixedProperties",
    "modifiers", "response", "tags", "version",
)
INSIGHT_FIELD_NAMES = {"series": "series", "day": "day", "breakdown": "breakdown", "compare": "compare",
                       "includeRecordings": "include_recordings"}
ACTORS_FIELD_NAMES = {"select": "select", "orderBy": "order_by", "limit": "limit", "offset": "offset"}


# --- the request -------------------------------------------------------------------------------


@attrs.frozen
class ActorsRequest:
    """Which data point, which columns, which page. ``paths`` says where each field was written
    (for errors): ``("actors_request", name)`` for keyword arguments, the JSON path inside an
    InsightActorsQuery / ActorsQuery dict otherwise."""

    series: int = 0
    day: Any = None  # str | datetime | date; parsed against the project timezone at run time
    breakdown: Any = None  # str | int | float | list of them
    compare: str | None = None  # "current" | "previous"
    include_recordings: bool = False
    select: tuple[str, ...] | None = None
    order_by: tuple[str, ...] | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    paths: Mapping[str, tuple] = attrs.field(factory=dict, eq=False, repr=False)

    def path(self, name: str) -> tuple:
        return self.paths.get(name, ("actors_request", name))


def split_actors_query(query: Any, overrides: Mapping[str, Any], limits: Limits) -> tuple[Any, ActorsRequest]:
    """(the trends query, the validated request) from ``query`` — a trends query (legacy filter
    dict, TrendsQuery dict, TrendsFilter), an InsightActorsQuery dict or an ActorsQuery dict — and
    keyword ``overrides`` (None = not given). A field given twice is an error."""
    raw: dict[str, Any] = {}
    paths: dict[str, tuple] = {}
    source = query
    # (raw input: its structure is read as text and sizes only — an array's ``==`` answers an
    # array — and every field taken is checked as a JSON value, ``clean_json``, before ``==``, ``in`` or ``if``)
    kind = text_or_none(query.get("kind")) if isinstance(query, Mapping) else None
    insight: Mapping | None = None
    prefix: tuple = ()
    if kind == "ActorsQuery":
        _check_keys(query, ACTORS_QUERY_KEYS, ())
        for key in ("search",):
            if clean_json(query.get(key), (key,), limits) not in (None, ""):
                raise UnsupportedError((key,), "searching actors is not supported")
        for key in ("properties", "fixedProperties"):
            if clean_json(query.get(key), (key,), limits):
                raise UnsupportedError((key,), "filtering actors by their properties is not supported")
        for key, name in ACTORS_FIELD_NAMES.items():
            if query.get(key) is not None:
                raw[name], paths[name] = clean_json(query[key], (key,), limits), (key,)
        insight = query.get("source")
        if isinstance(insight, Mapping):
            clean_json(insight.get("kind"), ("source", "kind"), limits)
        if not isinstance(insight, Mapping) or text_or_none(insight.get("kind")) != "InsightActorsQuery":
            got = insight.get("kind") if isinstance(insight, Mapping) else insight
            raise UnsupportedError(("source", "kind"), f"an ActorsQuery over {brief(got)}: trendcalc answers ActorsQuery over an InsightActorsQuery of a Trends query only")
        prefix = ("source",)
    elif kind == "InsightActorsQuery":
        insight = query
    if insight is not None:
        _check_keys(insight, INSIGHT_ACTORS_KEYS, prefix)
        for key, name in INSIGHT_FIELD_NAMES.items():
            if insight.get(key) is not None:
                raw[name], paths[name] = clean_json(insight[key], prefix + (key,), limits), prefix + (key,)
        source = insight.get("source")
        if source is None:
            raise ValidationError(prefix + ("source",), "an InsightActorsQuery needs the Trends query as its source")
    for name, value in overrides.items():
        if value is None:
            continue
        if name in raw:
            raise ValidationError(("actors_request", name), f"{name} is given both in the query ({format_path(paths[name])}) and as an argument")
        raw[name], paths[name] = clean_json(value, ("actors_request", name), limits), ("actors_request", name)
    return source, _validate(raw, paths, limits)


def _check_keys(d: Mapping, allowed: tuple[str, ...], path: tuple) -> None:
    for k in d:
        if k not in allowed:
            raise ValidationError(path + (k,), f"unknown field{suggest(k, allowed)}")


def _validate(raw: Mapping[str, Any], paths: dict[str, tuple], limits: Limits) -> ActorsRequest:
    def path(name: str) -> tuple:
        return paths.get(name, ("actors_request", name))

    out: dict[str, Any] = {}
    if "series" in raw:
        out["series"] = _int(raw["series"], path("series"), lo=0)
    if "day" in raw:
        day = raw["day"]
        if isinstance(day, str):
            check_text(day, path("day"), 64, "day")
        elif isinstance(day, bool) or not isinstance(day, (dt.datetime, dt.date, int)):  # int: a stickiness day
            raise ValidationError(path("day"), f"expected a date string like '2024-03-01' (the result's `days` value), got {brief(day)}")
        out["day"] = day
    if "breakdown" in raw:
        out["breakdown"] = _breakdown_value(raw["breakdown"], path("breakdown"), limits)
    if "compare" in raw:
        c = raw["compare"]
        if c not in COMPARE_VALUES:
            raise ValidationError(path("compare"), f"expected 'current' or 'previous', got {brief(c)}{suggest(c, COMPARE_VALUES)}")
        out["compare"] = c
    if "include_recordings" in raw:
        if not isinstance(raw["include_recordings"], bool):
            raise ValidationError(path("include_recordings"), f"expected true or false, got {brief(raw['include_recordings'])}")
        out["include_recordings"] = raw["include_recordings"]
    for name in ("select", "order_by"):
        if name in raw:
            out[name] = _strings(raw[name], path(name), limits) or None  # [] means the default
    if "limit" in raw:
        n = _int(raw["limit"], path("limit"))
        out["limit"] = DEFAULT_LIMIT if n <= 0 else min(n, MAX_LIMIT)
    if "offset" in raw:
        out["offset"] = max(_int(raw["offset"], path("offset")), 0)
    return ActorsRequest(**out, paths=dict(paths))


def _int(v: Any, path: tuple, lo: int | None = None) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValidationError(path, f"expected an integer, got {brief(v)}")
    v = int(v)
    if lo is not None and v < lo:
        raise ValidationError(path, f"expected an integer >= {lo}, got {v}")
    return v


def _scalar(v: Any, path: tuple, limits: Limits) -> str | int | float:
    if isinstance(v, str):
        return check_text(v, path, limits.max_string_length)
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValidationError(path, f"expected a breakdown value (a string or a number, as in the result's `breakdown_value`), got {brief(v)}")
    return check_number(v, path)


def _breakdown_value(v: Any, path: tuple, limits: Limits) -> Any:
    if isinstance(v, (list, tuple)):
        if len(v) > limits.max_list_length:
            raise ValidationError(path, f"list of {len(v)} members exceeds max_list_length={limits.max_list_length}")
        return tuple(_scalar(x, path + (i,), limits) for i, x in enumerate(v))
    return _scalar(v, path, limits)


def _strings(v: Any, path: tuple, limits: Limits) -> tuple[str, ...]:
    if not isinstance(v, (list, tuple)):
        raise ValidationError(path, f"expected a list of strings, got {brief(v)}")
    if len(v) > limits.max_list_length:
        raise ValidationError(path, f"list of {len(v)} members exceeds max_list_length={limits.max_list_length}")
    out = []
    for i, s in enumerate(v):
        if not isinstance(s, str):
            raise ValidationError(path + (i,), f"expected a string, got {brief(s)}")
        out.append(check_text(s, path + (i,), limits.max_string_length))
    return tuple(out)


__all__ = ["ActorsRequest", "REQUEST_FIELDS", "split_actors_query"]
