"""Wrong types at every field, exhaustively: for rich seed filters (legacy and TrendsQuery), the
project settings and the ingest records, every node is replaced in turn by each of a set of
type-confusing values (and every key is deleted). Deterministic, so it is a sweep rather than a
sample; the hypothesis fuzzers cover combinations."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import pytest

import trendcalc as tc

from . import world
from .strategies import _get, _set, as_trends_query, nodes
from .support import check_result, safely

CONFUSIONS: list[Any] = [None, True, 0, -1, 1.5, 10**30, math.nan, "", "x", "-7d", [], [None], [["x"]], {}, {"x": 1}, {"type": "AND", "values": []}]
SMALL = tc.Limits(max_buckets=3_000)

RICH_FILTERS: list[dict[str, Any]] = [
    {"events": [{"id": "$pageview", "math": "dau", "custom_name": "Views", "order": 1,
                 "properties": [{"key": "$browser", "value": ["Chrome", "Safari"], "operator": "exact"},
                                {"key": "amount", "value": 1, "operator": "gt", "type": "event"}]},
                {"id": "purchase", "math": "sum", "math_property": "amount"}],
     "actions": [{"id": 1, "math": "weekly_active"}],
     "date_from": "-14d", "date_to": "-1d", "interval": "day", "display": "ActionsLineGraph",
     "breakdown": "$os", "breakdown_type": "event", "breakdown_limit": 2, "breakdown_normalize_url": False,
     "formula": "A + B / 2", "compare": True, "compare_to": "-1w", "smoothing_intervals": 3,
     "filter_test_accounts": True, "explicit_date": False,
     "properties": {"type": "OR", "values": [
         {"type": "AND", "values": [{"key": "email", "value": "example", "operator": "icontains", "type": "person"},
                                    {"key": "$current_url", "value": "^https://a", "operator": "regex"}]},
         {"type": "OR", "values": [{"key": "id", "value": 2, "type": "cohort"},
                                   {"key": "industry", "value": "tech", "type": "group", "group_type_index": 0},
                                   {"key": "$session_duration", "value": 10, "operator": "gt", "type": "session"}]}]}},
    {"events": [{"id": "sign up", "math": "unique_group", "math_group_type_index": 0}],
     "breakdowns": [{"property": "$browser", "type": "event"}, {"property": "plan", "type": "person"}],
     "display": "ActionsTable", "date_from": "all", "aggregation_group_type_index": 0,
     "sampling_factor": 0.5, "breakdown_hide_other_aggregation": True},
    {"events": [{"id": None, "math": "median", "math_property": "amount"}], "breakdown": [1, 2, "all"],
     "breakdown_type": "cohort", "display": "ActionsLineGraphCumulative", "interval": "week", "date_from": "-30d"},
]  # fmt: skip
QUERIES: list[dict[str, Any]] = [
    *RICH_FILTERS,
    *(as_trends_query(f) for f in RICH_FILTERS),
    {"kind": "InsightVizNode", "source": {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
     "breakdownFilter": {"breakdown": "$browser", "breakdown_limit": 3}, "trendsFilter": {"formulaNodes": [{"formula": "A*2", "custom_name": "twice"}]},
     "dateRange": {"date_from": "-7d", "explicitDate": True}, "interval": "hour"}},
]  # fmt: skip


def variants(seed: Any) -> Iterator[Any]:
    """Every node replaced by every confusion, and every dict key deleted."""
    for path in nodes(seed, limit=10_000):
        for value in CONFUSIONS:
            tree = copy.deepcopy(seed)
            yield _set(tree, path, copy.deepcopy(value))
        if path:
            tree = copy.deepcopy(seed)
            parent = _get(tree, path[:-1])
            del parent[path[-1]]
            yield tree


def run(query: Any, project: Any = world.PROJECT) -> None:
    result = safely(lambda: tc.trends(world.STORE, query, project=project, now=world.NOW, limits=SMALL),
                    allow_root=not isinstance(query, dict))  # fmt: skip
    if result is not None:
        check_result(result)


@pytest.mark.parametrize("index", range(len(QUERIES)))
def test_wrong_type_at_every_field_of_a_query(index: int) -> None:
    seed = tc.trends(world.STORE, QUERIES[index], project=world.PROJECT, now=world.NOW, limits=SMALL)
    assert len(seed) and any(check_result(seed)), "a seed should answer with data"
    for query in variants(QUERIES[index]):
        run(query)


def test_wrong_type_at_every_field_of_the_project() -> None:
    query = RICH_FILTERS[0]
    for project in variants(world.PROJECT_DICT):
        run(query, project)
        run({"actions": [{"id": 1}, {"id": 2}, {"id": 3}], "date_from": "-30d"}, project)


@pytest.mark.parametrize("kind", ["events", "persons", "groups"])
def test_wrong_type_at_every_field_of_a_record(kind: str) -> None:
    seeds = {"events": world.EVENTS[:3], "persons": world.PERSONS[:2], "groups": world.GROUPS[:2]}
    for records in variants(seeds[kind]):
        args = {**seeds, kind: records}
        store = safely(lambda a=args: tc.EventStore.from_records(a["events"], persons=a["persons"], groups=a["groups"]),
                       allow_root=True)  # fmt: skip
        if store is not None:
            result = safely(lambda s=store: tc.trends(s, {"events": [{"id": None}], "breakdown": "plan", "breakdown_type": "person"}, now=world.NOW))
            if result is not None:
                check_result(result)
