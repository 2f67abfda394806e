"""Reading the two request forms into (insight kind, query dict, control flags).

Legacy ``insights/trend/``: the query string and the JSON body are merged as PostHog does
(``{**query_string, **body}``: the body wins); in a query string lists and objects travel as JSON
text (``events=[{"id":"$pageview"}]``), which is decoded here for the fields PostHog decodes;
booleans and numbers stay text and are read by the filter parser (``"true"``, ``"1"``, ``"5"``).
Which insight answers follows PostHog's routing: Stickiness when ``insight`` or ``shown_as`` says
so, Lifecycle when ``insight`` says so or ``shown_as`` does without a breakdown, else Trends.

Query endpoint: ``{"query": {"kind": ...}, "refresh": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .. import jsontext
from ..errors import UnsupportedError, ValidationError
from .errors import ApiError, parse_error

# Fields whose query-string text is JSON (PostHog's filter mixins json.loads them).
JSON_TEXT_FIELDS = ("events", "actions", "properties", "data_warehouse", "breakdowns", "hidden_legend_keys",
                    "result_customizations")  # fmt: skip
# Request controls, not part of the filter.
CONTROL_FIELDS = ("format", "refresh", "cache_invalidation_key", "export_name", "export_insight_id",
                  "is_csv_export", "client_query_id")  # fmt: skip
TRUTHY_REFRESH = ("true", "1", "yes", "")
QUERY_KINDS = {"TrendsQuery": "trends", "StickinessQuery": "stickiness", "LifecycleQuery": "lifecycle",
               "ActorsQuery": "actors", "InsightActorsQuery": "actors"}  # fmt: skip
QUERY_BODY_KEYS = ("query", "refresh", "client_query_id", "filters_override", "variables_override", "name", "async")
FORMATS = ("json", "csv")


@attrs.frozen
class InsightRequest:
    """One request, read: which insight, the query to give it, and how to answer."""

    kind: str  # a key of runner.INSIGHTS
    query: dict[str, Any]
    refresh: bool = False  # recompute even when the cache holds the answer
    format: str = "json"
    endpoint: str = "legacy"  # "legacy" (insights/trend) | "query"
    error_prefix: tuple[str, ...] = ()  # where the query sits in the request, for error attrs


def decode_json_body(raw: bytes) -> Any:
    """The parsed body (None when empty); ApiError 400 parse_error when it is not JSON."""
    if not raw.strip():
        return None
    try:
        return jsontext.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise parse_error(str(exc)) from None


def _from_query_string(params: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, text in params.items():
        if key in JSON_TEXT_FIELDS or (key == "breakdown" and text.lstrip().startswith("[")):
            try:
                out[key] = jsontext.loads(text)
            except ValueError:
                raise ApiError(400, "validation_error", "invalid_input",
                               f"expected JSON text in the query parameter {key!r}", key) from None
        else:
            out[key] = text
    return out


def legacy_request(params: Mapping[str, str], body: Any, accept: str = "") -> InsightRequest:
    """The ``insights/trend/`` request from its query parameters and parsed JSON body."""
    if body is not None and not isinstance(body, Mapping):
        raise parse_error("expected the filter as a JSON object")
    merged = {**_from_query_string(params), **(body or {})}
    fmt = params.get("format") or ("csv" if "text/csv" in accept else "json")
    if fmt not in FORMATS:
        raise ApiError(404, "invalid_request", "not_found", f"Not found: format {fmt!r} (use json or csv).")
    refresh_value = params["refresh"] if "refresh" in params else merged.get("refresh")
    refresh = refresh_value is True or (isinstance(refresh_value, str) and refresh_value.strip().lower() in TRUTHY_REFRESH)
    query = {k: v for k, v in merged.items() if k not in CONTROL_FIELDS}
    return InsightRequest(legacy_kind(query), query, refresh=refresh, format=fmt)


def legacy_kind(query: Mapping[str, Any]) -> str:
    """PostHog's routing of a legacy filter (spec api.md §1.3, the compatible rule)."""
    insight = query.get("insight")
    insight = insight.upper() if isinstance(insight, str) else None
    shown_as = query.get("shown_as")
    if insight == "STICKINESS" or shown_as == "Stickiness":
        return "stickiness"
    if insight == "LIFECYCLE" or (shown_as == "Lifecycle" and query.get("breakdown") in (None, "", [])):
        return "lifecycle"
    return "trends"


def query_request(body: Any) -> InsightRequest:
    """The query endpoint's request: ``{"query": {"kind": ...}, "refresh": ...}``."""
    if not isinstance(body, Mapping):
        raise parse_error('expected a JSON object like {"query": {"kind": "TrendsQuery", ...}}')
    for key in body:
        if key not in QUERY_BODY_KEYS:
            from ..query.suggest import suggest

            raise ValidationError((key,), f"unknown request field{suggest(str(key), QUERY_BODY_KEYS)}")
    for key in ("filters_override", "variables_override"):
        if body.get(key):
            raise UnsupportedError((key,), "dashboard overrides are not supported")
    query = body.get("query")
    if not isinstance(query, Mapping):
        raise parse_error('"query" must be an object with a "kind"')
    kind = query.get("kind")
    if not isinstance(kind, str):
        raise parse_error('"query" needs a "kind" such as "TrendsQuery"')
    if kind not in QUERY_KINDS:
        from ..query.suggest import suggest

        raise UnsupportedError(("query", "kind"), f"{kind!r} is not served{suggest(kind, QUERY_KINDS)}")
    refresh = body.get("refresh")
    return InsightRequest(
        QUERY_KINDS[kind],
        dict(query),
        refresh=refresh is True or refresh in ("force_blocking", "true"),
        endpoint="query",
        error_prefix=("query",),
    )
