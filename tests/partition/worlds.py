"""A small world for the partition tests: persons with several distinct_ids, numeric and string
properties, events over five weeks, a group type, and persons created inside the range (for
lifecycle's "new")."""

from __future__ import annotations

from typing import Any

import trendcalc as tc

NOW = "2024-03-15T12:00:00Z"
PROJECT = tc.Project.from_dict({
    "timezone": "UTC",
    "actions": [{"id": 1, "name": "engaged", "steps": [{"event": "$pageview", "properties": [
        {"key": "$browser", "value": ["Chrome", "Safari"], "operator": "exact", "type": "event"}]}, {"event": "signup"}]}],
    "cohorts": [{"id": 7, "groups": [{"properties": [{"key": "plan", "value": "pro", "type": "person"}]}]}],
})


def records() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(events, persons, groups): 50 persons, 0–11 events each between 2024-02-10 and 03-15."""
    events, persons = [], []
    for p in range(50):
        ids = [f"p{p}", f"p{p}-b"]
        persons.append({"distinct_ids": ids, "properties": {"plan": ["free", "pro", "team"][p % 3], "age": 18 + p % 40},
                        "created_at": f"2024-0{2 + p % 2}-{1 + p % 27:02d}T08:00:00Z"})
        for i in range(p % 12):
            day = (p * 5 + i * 3) % 34
            month, dom = (2, 10 + day) if day < 20 else (3, day - 19)
            props: dict[str, Any] = {"$browser": ["Chrome", "Firefox", "Safari", "Edge"][(p + i) % 4],
                                     "n": (p * 7 + i * 13) % 50 - 5, "$group_0": f"org{(p + i) % 5}"}
            if (p + i) % 6 == 0:
                props["n"] = "many"  # a non-numeric value: the histogram's null bin
            events.append({"event": ["$pageview", "signup", "$pageview", "purchase"][i % 4], "distinct_id": ids[i % 2],
                           "timestamp": f"2024-{month:02d}-{dom:02d}T{(p + i) % 24:02d}:{(p * i) % 60:02d}:00Z",
                           "properties": props})
    for j in range(8):  # distinct_ids without a person row: synthetic persons (no table row for tc.actors)
        events.append({"event": "$pageview", "distinct_id": f"anon{j % 3}", "timestamp": f"2024-03-{1 + j:02d}T09:00:00Z",
                       "properties": {"$browser": "Chrome", "n": j}})
    groups = [{"group_type_index": 0, "group_key": f"org{g}", "properties": {"size": g * 10},
               "created_at": f"2024-02-{10 + g}T00:00:00Z"} for g in range(5)]
    return events, persons, groups


def store() -> tc.EventStore:
    events, persons, groups = records()
    return tc.EventStore.from_records(events, persons=persons, groups=groups)
