"""Immutability and thread safety: inputs are never mutated, later changes to them do not reach a
store, project or parsed filter, results are fresh objects, and many threads querying one store
(whose lazy caches are cold) get exactly the answers of one thread."""

from __future__ import annotations

import copy
import json
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import trendcalc as tc

from .fuzz import world
from .fuzz.strategies import as_trends_query
from .fuzz.test_wrong_types import RICH_FILTERS

NOW = world.NOW
# Mixed queries; together they populate every lazy cache: typed views (numeric/boolean/datetime
# properties), group row maps, sessions, cohort membership, person lookups, elements chains, regex.
QUERIES: list[dict[str, Any]] = [
    *RICH_FILTERS,
    *(as_trends_query(q) for q in RICH_FILTERS),
    {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d", "interval": "week"},
    {"events": [{"id": "purchase", "math": "avg", "math_property": "amount"}], "breakdown": "is_beta", "date_from": "-30d"},
    {"events": [{"id": None, "math": "unique_session"}], "breakdown": "$session_duration", "breakdown_type": "session",
     "breakdown_histogram_bin_count": 3, "date_from": "-30d"},
    {"events": [{"id": "$pageview", "math": "p90", "math_property": "$session_duration"}], "date_from": "-30d", "display": "ActionsTable"},
    {"events": [{"id": "sign up", "math": "monthly_active"}], "breakdown": "industry", "breakdown_type": "group",
     "breakdown_group_type_index": 0, "date_from": "-30d"},
    {"events": [{"id": "$pageview"}], "properties": [{"key": "signup_date", "operator": "is_date_before", "value": "2020-01-05"},
                                                     {"key": "age", "operator": "gt", "value": 25, "type": "person"}], "date_from": "-30d"},
    {"events": [{"id": "$autocapture"}], "properties": [{"key": "selector", "type": "element", "value": "a.btn"}], "date_from": "-30d"},
    {"events": [{"id": None}], "properties": [{"key": "$current_url", "operator": "regex", "value": "a\\.com/(x|$)"}],
     "breakdown": "$current_url", "breakdown_normalize_url": True, "date_from": "-30d", "interval": "hour"},
    {"events": [{"id": "$pageview"}], "breakdown": [1, 2, 3], "breakdown_type": "cohort", "date_from": "-30d", "compare": True},
    {"events": [{"id": "$pageview"}, {"id": "sign up"}], "formula": "A/B", "date_from": "-14d", "display": "ActionsLineGraphCumulative"},
    {"events": [{"id": "$pageview"}], "breakdown": "$browser", "breakdown_limit": 2, "date_from": "-30d", "filter_test_accounts": True},
    {"events": [{"id": "$pageview", "math": "nope"}]},  # an error is an answer too
]  # fmt: skip


def big_store() -> tc.EventStore:
    """The fuzz world ×20 (8,000 events): cache builds take long enough for threads to overlap."""
    events = [{**e, "distinct_id": f"{e['distinct_id']}-{k}" if k % 2 else e["distinct_id"]} for k in range(20) for e in world.EVENTS]
    return tc.EventStore.from_records(events, persons=world.PERSONS, groups=world.GROUPS)


def answer(store: tc.EventStore, query: dict[str, Any], project: tc.Project = world.PROJECT) -> str:
    try:
        res = tc.trends(store, query, project=project, now=NOW)
        return json.dumps(res.to_dicts(), sort_keys=True, default=str) + res.to_csv()
    except tc.ValidationError as exc:
        return f"{type(exc).__name__}: {exc}"


def test_queries_answer() -> None:
    answers = [answer(world.STORE, q) for q in QUERIES]
    assert sum(not a.startswith(("ValidationError", "UnsupportedError")) for a in answers) >= len(QUERIES) - 3


def test_many_threads_one_cold_store_same_answers_as_one_thread() -> None:
    expected = [answer(big_store(), q) for q in QUERIES]
    store = big_store()  # cold caches: the threads race to fill them
    work = [(i, q) for _ in range(6) for i, q in enumerate(QUERIES)]
    random.Random(7).shuffle(work)
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda item: (item[0], answer(store, item[1])), work))
    for i, a in got:
        assert a == expected[i], f"query {i} answered differently under threads"
    # and the store, its caches now filled, still answers like a fresh one
    assert [answer(store, q) for q in QUERIES] == expected


def test_threads_with_different_projects_and_limits() -> None:
    """Per-call state (project, limits, clock) never leaks between concurrent calls."""
    store = world.fresh_store()
    projects = [world.PROJECT, tc.Project.from_dict({**world.PROJECT_DICT, "timezone": "Asia/Tokyo", "week_start_day": 0})]
    expected = {(p, i): answer(world.STORE, q, projects[p]) for p in range(2) for i, q in enumerate(QUERIES)}
    work = [(p, i) for p in range(2) for i in range(len(QUERIES))] * 3
    random.Random(3).shuffle(work)
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda k: (k, answer(store, QUERIES[k[1]], projects[k[0]])), work))
    for k, a in got:
        assert a == expected[k]


def test_inputs_are_never_mutated() -> None:
    events, persons, groups = copy.deepcopy((world.EVENTS, world.PERSONS, world.GROUPS))
    project_dict, queries = copy.deepcopy(world.PROJECT_DICT), copy.deepcopy(QUERIES)
    store = tc.EventStore.from_records(events, persons=persons, groups=groups)
    project = tc.Project.from_dict(project_dict)
    for q in queries:
        tc.parse_filter(q) if q.get("kind") else None
        answer(store, q, project)
        answer(store, q, project_dict)  # type: ignore[arg-type]
    assert (events, persons, groups) == (world.EVENTS, world.PERSONS, world.GROUPS)
    assert project_dict == world.PROJECT_DICT and queries == QUERIES


def test_later_changes_to_inputs_do_not_reach_store_project_or_filter() -> None:
    events, persons = copy.deepcopy((world.EVENTS, world.PERSONS))
    project_dict = copy.deepcopy(world.PROJECT_DICT)
    query = copy.deepcopy(QUERIES[0])
    store = tc.EventStore.from_records(events, persons=persons, groups=world.GROUPS)
    project = tc.Project.from_dict(project_dict)
    parsed = tc.parse_filter(query)
    before = answer(store, parsed, project)  # type: ignore[arg-type]
    # vandalise every input
    for e in events:
        e["properties"]["$browser"] = "changed"
        if isinstance(e["properties"].get("nested"), dict):
            e["properties"]["nested"]["deep"].append("x")
    persons[0]["properties"]["email"] = "changed"
    project_dict["actions"][0]["steps"].clear()
    project_dict["cohorts"][0]["distinct_ids"].append("d3")
    project_dict["test_account_filters"][0]["value"] = "nothing"
    query["events"][0]["properties"][0]["value"] = ["nothing"]
    query["properties"]["values"].clear()
    assert answer(store, parsed, project) == before  # type: ignore[arg-type]
    assert answer(store, QUERIES[0], project) == before


def test_results_are_fresh_objects() -> None:
    res = tc.trends(world.STORE, QUERIES[0], project=world.PROJECT, now=NOW)
    first = res.to_dicts()
    snapshot = copy.deepcopy(first)

    def vandalise(v: Any) -> None:
        if isinstance(v, dict):
            for k in list(v):
                vandalise(v[k])
            v["vandal"] = True
        elif isinstance(v, list):
            for x in v:
                vandalise(x)
            v.append("vandal")

    vandalise(first)
    assert res.to_dicts() == snapshot
    assert list(res) == snapshot and res[0] == snapshot[0]
    assert tc.trends(world.STORE, QUERIES[0], project=world.PROJECT, now=NOW).to_dicts() == snapshot


def test_parsed_filters_are_immutable_values() -> None:
    f = tc.parse_filter(QUERIES[0])
    assert hash(f.series) is not None  # frozen, hashable all the way down
    assert tc.parse_filter(QUERIES[0]) == f
