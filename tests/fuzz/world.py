"""A small, deliberately awkward world for fuzzing: mixed-type and odd property values, persons
with several distinct_ids, groups, sessions, actions, cohorts and typed property definitions.

``fresh_store()`` builds a new store (cold caches); ``STORE`` is the shared one the fuzzers use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import trendcalc as tc

NOW = "2020-01-20T12:00:00Z"
EVENT_NAMES = ["$pageview", "sign up", "$autocapture", "purchase", "weird \u202e name 💥"]
EVENT_KEYS = ["$browser", "$os", "amount", "$current_url", "$pathname", "$session_id", "is_beta",
              "signup_date", "nested", "empty", "$group_0", "$group_1", "version", "text"]  # fmt: skip
PERSON_KEYS = ["email", "plan", "age", "name", "$initial_browser"]
GROUP_KEYS = ["industry", "size", "name"]

CHAINS = [
    'a.btn.primary:attr__href="/pricing"href="/pricing"nth-child="1"nth-of-type="1"text="Buy";div.wrap:nth-child="2"nth-of-type="1"',
    'button:attr_id="go"nth-child="1"nth-of-type="1"text="Go \\"now\\""',
    'span:text="x";form.f:attr__action="/s"nth-child="3"nth-of-type="1";body:nth-child="1"nth-of-type="1"',
    "", ";;", "a:", 'a:k=' + "a" * 300, "[[[", 'a.:href="', "💥.x:text=\"y\"",
]
_ODD_VALUES: list[Any] = [
    "", " ", "null", "true", "True", 0, -1, 1.5, 2**53 + 1, -(2**63), 1e300, True, False,
    {"a": [1, {"b": None}]}, [1, "x"], "💥", "a\\b", 'quote"d', "%_", "\u202e", "1.2.3", "v2.0.0-beta",
    "2020-01-05T10:00:00Z", "2020-01-05", "not a date", "https://example.com/a/?q=1#x",
]


def _events() -> list[dict[str, Any]]:
    out = []
    start = dt.datetime(2019, 12, 20, tzinfo=dt.timezone.utc)
    for i in range(400):
        props: dict[str, Any] = {
            "$browser": ["Chrome", "Firefox", "Safari", "", None][i % 5],
            "$os": ["Mac", "Windows", "Linux"][i % 3],
            "amount": [1, 2.5, "3", "abc", None, -4, 0, 1e10][i % 8],
            "$current_url": ["https://a.com/", "https://a.com/x?y=1", "https://b.com/#", "/", ""][i % 5],
            "$pathname": ["/", "/pricing", "/a/b/", ""][i % 4],
            "$session_id": f"s{i // 7}",
            "is_beta": [True, False, "true", "yes", None][i % 5],
            "signup_date": ["2020-01-01", "2020-01-10T00:00:00Z", "garbage", 1577836800][i % 4],
            "version": ["1.2.3", "2.0.0", "v1.10.0", "x"][i % 4],
            "text": _ODD_VALUES[i % len(_ODD_VALUES)],
        }
        if i % 3 == 0:
            props["$group_0"] = f"org:{i % 4}"
        if i % 5 == 0:
            props["$group_1"] = f"team:{i % 3}"
        if i % 11 == 0:
            props["nested"] = {"deep": [i, {"x": "y"}]}
        if i % 13 == 0:
            props["empty"] = ""
        if i % len(EVENT_NAMES) == 2:  # $autocapture
            props["$elements_chain"] = CHAINS[i % len(CHAINS)]
        out.append({
            "event": EVENT_NAMES[i % len(EVENT_NAMES)],
            "distinct_id": f"d{i % 23}",
            "timestamp": (start + dt.timedelta(hours=i * 2 + (i % 7) / 10)).isoformat(),
            "properties": props,
        })  # fmt: skip
    return out


PERSONS = [
    {"distinct_ids": [f"d{i}", f"alias{i}"] if i % 4 == 0 else [f"d{i}"],
     "properties": {"email": f"user{i}@{'posthog.com' if i % 5 == 0 else 'example.com'}",
                    "plan": ["free", "pro", None, ""][i % 4], "age": [20, "30", 41.5, None][i % 4],
                    "name": _ODD_VALUES[i % len(_ODD_VALUES)]},
     "created_at": f"2019-12-{1 + i:02d}T00:00:00Z"}
    for i in range(18)
]  # fmt: skip
GROUPS = [
    {"group_type_index": 0, "group_key": f"org:{i}", "properties": {"industry": ["tech", "finance", ""][i % 3], "size": [10, "20", None][i % 3]}}
    for i in range(4)
] + [{"group_type_index": 1, "group_key": f"team:{i}", "properties": {"name": f"team {i}"}} for i in range(2)]  # fmt: skip

ACTIONS = [
    {"id": 1, "name": "signed up or paid", "steps": [{"event": "sign up"}, {"event": "purchase", "properties": [{"key": "amount", "value": 1, "operator": "gt"}]}]},
    {"id": 2, "name": "pricing views", "steps": [{"event": "$pageview", "url": "pricing", "url_matching": "contains"}]},
    {"id": 3, "name": "any", "steps": [{"event": None}]},
]  # fmt: skip
COHORTS = [
    {"id": 1, "name": "static", "is_static": True, "distinct_ids": ["d1", "d2", "alias4"]},
    {"id": 2, "name": "pro users", "groups": [{"properties": [{"key": "plan", "value": "pro", "type": "person"}]}]},
    {"id": 3, "name": "new style", "filters": {"properties": {"type": "OR", "values": [{"type": "AND", "values": [{"key": "email", "value": "posthog", "operator": "icontains", "type": "person"}]}]}}},
]  # fmt: skip
PROJECT_DICT: dict[str, Any] = {
    "timezone": "America/New_York",
    "week_start_day": 1,
    "actions": ACTIONS,
    "cohorts": COHORTS,
    "test_account_filters": [{"key": "email", "value": "@posthog.com", "operator": "not_icontains", "type": "person"}],
    "property_definitions": [
        {"name": "amount", "type": "Numeric", "kind": "event"},
        {"name": "is_beta", "type": "Boolean", "kind": "event"},
        {"name": "signup_date", "type": "DateTime", "kind": "event"},
        {"name": "age", "type": "Numeric", "kind": "person"},
        {"name": "size", "type": "Numeric", "kind": "group", "group_type_index": 0},
    ],
    "group_types": [{"group_type_index": 0, "group_type": "organization"}, {"group_type_index": 1, "group_type": "team"}],
}

EVENTS = _events()


def fresh_store() -> tc.EventStore:
    return tc.EventStore.from_records(EVENTS, persons=PERSONS, groups=GROUPS)


STORE = fresh_store()
PROJECT = tc.Project.from_dict(PROJECT_DICT)
UTC_PROJECT = tc.Project()
