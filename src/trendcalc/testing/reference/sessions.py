"""Session properties (filters.md §9): the fields of an event's session as property filters
read them (typed, for operators) and as breakdowns and math properties read them (raw values)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from .channels import channel_type, null_if_empty
from .world import EPOCH, ReferenceUnsupported, World

# --- sessions as property filters read them: (kind, typed value) ---

SESSION_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-7[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SESSION_ALIASES = {"duration": "$session_duration", "$exit_current_url": "$end_current_url",
                   "$exit_pathname": "$end_pathname"}  # fmt: skip
SESSION_KINDS = {"$session_duration": "float", "$pageview_count": "float", "$autocapture_count": "float",
                 "$screen_count": "float", "$num_uniq_urls": "float", "$start_timestamp": "datetime",
                 "$end_timestamp": "datetime", "$is_bounce": "bool"}  # fmt: skip
SESSION_ENTRY_PROPERTIES = {
    "$entry_referring_domain": "$referring_domain", "$entry_utm_source": "utm_source",
    "$entry_utm_campaign": "utm_campaign", "$entry_utm_medium": "utm_medium", "$entry_utm_term": "utm_term",
    "$entry_utm_content": "utm_content", "$entry_gclid": "gclid", "$entry_gad_source": "gad_source",
    "$entry_fbclid": "fbclid",
}  # fmt: skip
BOUNCE_SECONDS = 10


def session_of(event: dict[str, Any]) -> str | None:
    """§9: the event's ``$session_id`` when it is a UUIDv7 (case-insensitive), else no session."""
    v = event["properties"].get("$session_id")
    return v.lower() if isinstance(v, str) and SESSION_ID.fullmatch(v) else None


def session_events(world: World, session: str) -> list[dict[str, Any]]:
    """Every event of a session (any name, any date), by time; ties by (event name, distinct_id,
    input order) — upstream's argMin/argMax pick one of them arbitrarily."""
    if "sessions" not in world.memo:
        by_session: dict[str, list[dict[str, Any]]] = {}
        for e in sorted(world.events, key=lambda e: (e["ts"], e["event"], e["distinct_id"], e["index"])):
            s = session_of(e)
            if s is not None:
                by_session.setdefault(s, []).append(e)
        world.memo["sessions"] = by_session
    return world.memo["sessions"][session]


def json_string(event: dict[str, Any], key: str) -> str:
    """JSONExtractString(properties, key): the string, ``""`` for anything else."""
    v = event["properties"].get(key)
    return v if isinstance(v, str) else ""


def url_path(url: str) -> str:
    """ClickHouse ``path(url)``: from the slash after ``//host`` (or the first slash) to ``?``/``#``;
    ``""`` without one."""
    at = url.find("/")
    if at < 0:
        return ""
    if url[at + 1 : at + 2] == "/":
        at = url.find("/", at + 2)
        if at < 0:
            return ""
    return re.split(r"[?#]", url[at:])[0]


def url_domain(url: str) -> str:
    """ClickHouse ``domain(url)``: the host after ``scheme://`` (or of a bare ``host/path``), as
    written; ``""`` unless it has a dot with something after it."""
    m = re.match(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//", url)
    rest = url[m.end():] if m else url
    host = re.split(r"[/?#]", rest)[0].rpartition("@")[2].split(":")[0]
    if "." not in host or host.endswith(".") or host.startswith("."):
        return ""
    return host


def session_field(world: World, key: str, event: dict[str, Any]) -> tuple[str, Any]:
    """§9: a field of the event's session as (kind, x). Events without a session read the join's
    defaults: 0 for numeric fields, NULL otherwise (UNCONFIRMED upstream; trendcalc's choice)."""
    key = SESSION_ALIASES.get(key, key)
    kind = SESSION_KINDS.get(key, "string")
    session = session_of(event)
    if session is None:
        return kind, 0.0 if kind == "float" else None
    events = session_events(world, session)
    first, last = events[0], events[-1]
    duration = float((last["ts"] - EPOCH) // dt.timedelta(seconds=1) - (first["ts"] - EPOCH) // dt.timedelta(seconds=1))
    counts = {name: sum(e["event"] == name for e in events) for name in ("$pageview", "$autocapture", "$screen")}
    entry_url, end_url = null_if_empty(json_string(first, "$current_url")), null_if_empty(json_string(last, "$current_url"))
    if key == "$session_duration":
        return kind, duration
    if key in ("$start_timestamp", "$end_timestamp"):
        return kind, (first if key == "$start_timestamp" else last)["ts"]
    if key in ("$pageview_count", "$autocapture_count", "$screen_count"):
        return kind, float(counts[key[:-6]])
    if key == "$num_uniq_urls":
        return kind, float(len({json_string(e, "$current_url") for e in events} - {""}))
    if key == "$is_bounce":
        if not counts["$pageview"]:
            return kind, None
        bounce = not (counts["$pageview"] > 1 or counts["$autocapture"] > 0 or duration >= BOUNCE_SECONDS)
        return kind, 1.0 if bounce else 0.0
    if key in ("$entry_current_url", "$end_current_url"):
        return kind, entry_url if key == "$entry_current_url" else end_url
    if key in ("$entry_pathname", "$end_pathname", "$entry_hostname", "$end_hostname"):
        url = entry_url if key.startswith("$entry") else end_url
        return kind, None if url is None else (url_path(url) if key.endswith("pathname") else url_domain(url))
    if key in SESSION_ENTRY_PROPERTIES:
        return kind, null_if_empty(json_string(first, SESSION_ENTRY_PROPERTIES[key]))
    if key == "$last_external_click_url":
        return kind, null_if_empty(json_string(last, "$external_click_url"))
    if key == "$channel_type":
        entry = {k: null_if_empty(json_string(first, p)) for k, p in SESSION_ENTRY_PROPERTIES.items()}
        return kind, channel_type(entry["$entry_utm_source"], entry["$entry_utm_medium"], entry["$entry_utm_campaign"],
                                  entry["$entry_referring_domain"], entry["$entry_gclid"] is not None,
                                  entry["$entry_fbclid"] is not None, entry["$entry_gad_source"])
    raise ReferenceUnsupported(f"session property {key!r}")


# --- sessions as breakdown values and math properties read them (raw values, untyped) ---

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
SESSION_VALUE_ALIASES = {"duration": "$session_duration", "$exit_current_url": "$end_current_url",
                   "$exit_pathname": "$end_pathname", "$exit_hostname": "$end_hostname"}
SESSION_NUMBERS = ("$session_duration", "$pageview_count", "$num_uniq_urls")  # a session-less event reads 0
ENTRY_FIELDS = {"$entry_utm_source": "utm_source", "$entry_utm_medium": "utm_medium",
                "$entry_utm_campaign": "utm_campaign", "$entry_referring_domain": "$referring_domain"}
SESSION_FIELDS = SESSION_NUMBERS + ("$entry_current_url", "$end_current_url", "$entry_pathname",
                                    "$entry_hostname", "$end_pathname", "$end_hostname", "$is_bounce",
                                    "$channel_type", *ENTRY_FIELDS)


def session_id(event: dict[str, Any]) -> str | None:
    """The event's session: its ``$session_id`` when that is a UUIDv7 (case-insensitive)."""
    v = event["properties"].get("$session_id")
    return v.lower() if isinstance(v, str) and UUID7.match(v) else None


def breakdown_session_events(world: World, sid: str) -> list[dict[str, Any]]:
    """Every event of the session (any name, any date), by (time, event name, input order)."""
    if "sessions" not in world.memo:
        by_id: dict[str, list[dict[str, Any]]] = {}
        for e in sorted(world.events, key=lambda e: (e["ts"], e["event"], e["index"])):
            sid_of_e = session_id(e)
            if sid_of_e is not None:
                by_id.setdefault(sid_of_e, []).append(e)
        world.memo["sessions"] = by_id
    return world.memo["sessions"][sid]


def whole_seconds(ts: dt.datetime) -> int:
    return (ts - EPOCH) // dt.timedelta(seconds=1)


def url_text(v: Any) -> str | None:
    """A session text field: ``nullIf(nullIf(JSONExtractString(properties, key), ''), 'null')``
    (a non-string property reads ``''``, so NULL)."""
    return v if isinstance(v, str) and v not in ("", "null") else None


def session_value(world: World, key: str, event: dict[str, Any]) -> Any:
    """A field of the event's session (filters.md §9); without a session, 0 for numbers, else NULL."""

    name = SESSION_VALUE_ALIASES.get(key, key)
    if name not in SESSION_FIELDS:
        raise ReferenceUnsupported(f"session field {key!r}")
    sid = session_id(event)
    if sid is None:
        return 0 if name in SESSION_NUMBERS else None
    events = breakdown_session_events(world, sid)
    duration = whole_seconds(events[-1]["ts"]) - whole_seconds(events[0]["ts"])  # second boundaries crossed
    pageviews = sum(1 for e in events if e["event"] == "$pageview")
    entry, end = url_text(events[0]["properties"].get("$current_url")), url_text(events[-1]["properties"].get("$current_url"))
    if name == "$session_duration":
        return duration
    if name == "$pageview_count":
        return pageviews
    if name == "$num_uniq_urls":
        return len({json_string(e, "$current_url") for e in events} - {""})  # "null" is a URL here
    if name == "$is_bounce":  # NULL without pageviews
        autocaptures = sum(1 for e in events if e["event"] == "$autocapture")
        return None if pageviews == 0 else not (pageviews > 1 or autocaptures > 0 or duration >= 10)
    if name in ENTRY_FIELDS:
        return url_text(events[0]["properties"].get(ENTRY_FIELDS[name]))
    if name == "$channel_type":
        return entry_channel_type(events[0]["properties"])
    url = entry if name.startswith("$entry") else end
    if name.endswith("_pathname"):  # ClickHouse path()/domain(), as the filters' cascade; "" is NULL here
        return None if url is None else url_path(url) or None
    if name.endswith("_hostname"):
        return None if url is None else url_domain(url) or None
    return url


def entry_channel_type(props: dict[str, Any]) -> str:
    """filters.md §9 ``$channel_type`` of a session: the default channel rules (``channel_type``)
    over its entry event's utm source/medium/campaign, referring domain, gclid/fbclid and
    gad_source, each read as a session URL field ('' and 'null' are NULL)."""
    text = {k: url_text(props.get(k)) for k in ("utm_source", "utm_medium", "utm_campaign", "$referring_domain",
                                                  "gclid", "fbclid", "gad_source")}
    return channel_type(text["utm_source"], text["utm_medium"], text["utm_campaign"], text["$referring_domain"],
                        text["gclid"] is not None, text["fbclid"] is not None, text["gad_source"])
