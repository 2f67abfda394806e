"""Answer bodies: the legacy envelope, the query endpoint's response, CSV.

Legacy ``insights/trend/``: ``{"is_cached", "last_refresh", "timezone", "result": [series]}``.
Query endpoint: PostHog's cached-response model with every field present (unset = null):
``results``, ``timezone``, ``is_cached``, ``last_refresh``, ``next_allowed_client_refresh``,
``cache_key``, ``resolved_date_range``, ... (spec api.md §2.3). JSON renders datetimes in UTC as
``2026-01-02T03:04:05.123456Z`` (no fraction when zero) and NaN/±Infinity as null, as PostHog's
renderer does. CSV is PostHog's export: a ``series`` column then one column per label, CRLF.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from typing import Any

REFRESH_FREQUENCY = dt.timedelta(minutes=15)
REFRESH_FREQUENCY_SHORT = dt.timedelta(minutes=3)  # hourly interval or a range of at most 7 days
REFRESH_FREQUENCY_ACTORS = dt.timedelta(minutes=1)


def render_time(t: dt.datetime) -> str:
    """``2026-01-02T03:04:05.123456Z`` (fraction omitted when zero), UTC."""
    u = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return u.isoformat(timespec="microseconds" if u.microsecond else "seconds") + "Z"


def _scrub(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _scrub(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_scrub(x) for x in v]
    if isinstance(v, (dt.datetime, dt.date)):
        return render_time(v) if isinstance(v, dt.datetime) and v.tzinfo else v.isoformat()
    return v


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, NaN/Infinity as null, datetimes as ISO text."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError):
        text = json.dumps(_scrub(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    return text.encode()


def result_payload(kind: str, result: Any) -> Any:
    """What goes under ``result``/``results``: the series dicts, or the actor rows."""
    if kind == "actors":
        return result.to_rows()
    return result.to_dicts()


def legacy_body(result_json: bytes, *, is_cached: bool, last_refresh: dt.datetime, timezone: str) -> bytes:
    """The legacy envelope, with the (cached) result JSON spliced in unchanged."""
    head = dumps({"is_cached": is_cached, "last_refresh": render_time(last_refresh), "timezone": timezone})
    return head[:-1] + b',"result":' + result_json + b"}"


def _refresh_frequency(kind: str, query: dict[str, Any], resolved: dict[str, str] | None) -> dt.timedelta:
    if kind == "actors":
        return REFRESH_FREQUENCY_ACTORS
    interval = query.get("interval")
    if interval in ("hour", "minute"):
        return REFRESH_FREQUENCY_SHORT
    if resolved and resolved.get("date_from") not in (None, "all"):
        try:
            span = dt.datetime.fromisoformat(resolved["date_to"]) - dt.datetime.fromisoformat(resolved["date_from"])
            if span <= dt.timedelta(days=7):
                return REFRESH_FREQUENCY_SHORT
        except (ValueError, TypeError):
            pass
    return REFRESH_FREQUENCY


def query_body(kind: str, query: dict[str, Any], result: Any, *, is_cached: bool, last_refresh: dt.datetime,
               timezone: str, cache_key: str | None, resolved: dict[str, str] | None) -> bytes:
    """The query endpoint's response for ``kind`` (all fields present, unset ones null)."""
    body: dict[str, Any] = {
        "results": result_payload(kind, result),
        "timings": [],
        "hogql": None,
        "modifiers": None,
        "error": None,
        "query_status": None,
        "resolved_date_range": resolved,
        "query_metadata": None,
    }
    if kind == "actors":
        response = result.to_response()
        body.update({"columns": response["columns"], "types": None, "hogql": "", "hasMore": response["hasMore"],
                     "limit": response["limit"], "offset": response["offset"],
                     "missing_actors_count": response["missing_actors_count"]})
    elif kind == "trends":
        body["hasMore"] = None  # trendcalc does not report whether more breakdown values exist
    body.update({
        "is_cached": is_cached,
        "last_refresh": render_time(last_refresh),
        "next_allowed_client_refresh": render_time(last_refresh + _refresh_frequency(kind, query, resolved)),
        "cache_key": cache_key,
        "cache_target_age": None,
        "calculation_trigger": None,
        "timezone": timezone,
    })  # fmt: skip
    return dumps(body)


def _csv_value(v: Any) -> Any:
    return "" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def posthog_csv(series: list[dict[str, Any]]) -> str:
    """PostHog's CSV export of a Trends result: one row per series, ``series`` (the action's
    custom_name, else the label) then one column per label of the first series (CRLF, csv module
    quoting, numbers as Python prints them). A total-value result (no labels) has one ``value``
    column holding ``aggregated_value``."""
    buf = io.StringIO()
    w = csv.writer(buf)
    if not series:
        w.writerow(["series"])
        return buf.getvalue()
    first = series[0]
    labels = first.get("labels") or []
    total_value = not labels and "aggregated_value" in first
    w.writerow(["series", *(["value"] if total_value else labels)])
    for s in series:
        action = s.get("action") or {}
        name = action.get("custom_name") or s.get("label")
        if total_value:
            w.writerow([name, _csv_value(s.get("aggregated_value"))])
        else:
            values = dict(zip(s.get("labels") or [], s.get("data") or []))
            w.writerow([name, *(_csv_value(values.get(label)) for label in labels)])
    return buf.getvalue()


def csv_filename(resolved: dict[str, str] | None, export_name: str | None = None) -> str:
    """``export (2024-03-01 - 2024-03-31) from PostHog.csv`` as PostHog names the download."""
    import re

    slug = re.sub(r"[^\w\s-]", "", (export_name or "export").lower()).strip()
    slug = re.sub(r"[-\s]+", "-", slug) or "export"
    start = (resolved or {}).get("date_from")
    end = (resolved or {}).get("date_to") or ""
    start_text = "up until" if start in (None, "all") else f"{start[:10]} -"
    return f"{slug} ({start_text} {end[:10]}) from PostHog.csv"
