"""The spec §12 world: four persons, $pageview/$pageleave in January 2020, typed properties."""

from __future__ import annotations

from typing import Any

import trendcalc as tc

PEOPLE = {
    "p1": ("Chrome", 10, True, [11, 12, 13, 15, 17, 19], [11, 12, 13]),
    "p2": ("Firefox", 20, False, [9, 12], [13]),
    "p3": ("Edge", 30, True, [12], [13]),
    "p4": ("Safari", 40, False, [15], [16]),
}
PROJECT = {
    "timezone": "UTC",
    "week_start_day": 0,
    "property_definitions": [
        {"name": "$browser", "type": "String", "kind": "event"},
        {"name": "prop", "type": "Numeric", "kind": "event"},
        {"name": "bool_field", "type": "Boolean", "kind": "event"},
    ],
}
NOW = "2020-01-21T00:00:00Z"


def events() -> list[dict[str, Any]]:
    out = []
    for did, (browser, prop, flag, views, leaves) in PEOPLE.items():
        props = {"$browser": browser, "prop": prop, "bool_field": flag}
        out += [{"event": "$pageview", "distinct_id": did, "timestamp": f"2020-01-{d:02d}T12:00:00Z", "properties": dict(props)} for d in views]
        out += [{"event": "$pageleave", "distinct_id": did, "timestamp": f"2020-01-{d:02d}T12:00:00Z", "properties": dict(props)} for d in leaves]
    return out


def store() -> tc.EventStore:
    return tc.EventStore.from_records(events(), persons=[{"distinct_ids": [d]} for d in PEOPLE])


def run(query: dict[str, Any], *, world: tc.EventStore | None = None, project: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    base = {"date_from": "2020-01-09", "date_to": "2020-01-20", "interval": "day"}
    return tc.trends(world or store(), {**base, **query}, project=project or PROJECT, now=NOW).to_dicts()


def pageviews(**series: Any) -> dict[str, Any]:
    return {"events": [{"id": "$pageview", **series}]}
