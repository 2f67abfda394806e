"""The spec's §12 fixture (PostHog's own trends test world) as an EventStore.

Four persons with `$browser`, `prop` and `bool_field` on their events; `$pageview` and
`$pageleave` at 12:00Z on these January 2020 days:

    p1 Chrome  10 true   pageview 11 12 13 15 17 19   pageleave 11 12 13
    p2 Firefox 20 false  pageview  9 12               pageleave 13
    p3 Edge    30 true   pageview 12                  pageleave 13
    p4 Safari  40 false  pageview 15                  pageleave 16
"""

from __future__ import annotations

import trendcalc as tc

PEOPLE = {
    "p1": ("Chrome", 10, True, [11, 12, 13, 15, 17, 19], [11, 12, 13]),
    "p2": ("Firefox", 20, False, [9, 12], [13]),
    "p3": ("Edge", 30, True, [12], [13]),
    "p4": ("Safari", 40, False, [15], [16]),
}
PROJECT = tc.Project(
    infer_property_types=False,  # a conformance world: exactly the definitions listed
    property_definitions=[
        {"name": "$browser", "type": "String", "kind": "event"},
        {"name": "prop", "type": "Numeric", "kind": "event"},
        {"name": "bool_field", "type": "Boolean", "kind": "event"},
    ]
)
NOW = "2020-01-21T12:00:00Z"


def spec_events() -> list[dict]:
    out = []
    for who, (browser, prop, flag, views, leaves) in PEOPLE.items():
        for event, days in (("$pageview", views), ("$pageleave", leaves)):
            for day in days:
                out.append({
                    "event": event,
                    "distinct_id": who,
                    "timestamp": f"2020-01-{day:02d}T12:00:00Z",
                    "properties": {"$browser": browser, "prop": prop, "bool_field": flag},
                })
    return out


def spec_store() -> tc.EventStore:
    return tc.EventStore.from_records(spec_events(), persons=[{"distinct_ids": [p]} for p in PEOPLE])


def run(query: dict, store: tc.EventStore | None = None, now: str = NOW) -> list[dict]:
    return tc.trends(store or spec_store(), query, project=PROJECT, now=now).to_dicts()
