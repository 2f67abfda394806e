"""Fuzz the query boundary: mutated legacy filters and TrendsQuery dicts, parsed and run.

Every outcome must be a complete result or a ValidationError/UnsupportedError with a path.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import trendcalc as tc

from .strategies import LEGACY_CASES, QUERY_CASES, junk, mutated
from .support import check_result, fuzz_settings, safely

SMALL = tc.Limits(max_buckets=3_000)  # keeps hourly-over-years examples fast; the cap is tested too

EXTRA_FILTERS: list[dict[str, Any]] = [
    {"events": [{"id": "$pageview", "math": "dau", "properties": [{"key": "$browser", "value": "Chrome"}]}],
     "breakdown": "$browser", "date_from": "-14d", "interval": "day", "formula": "A*2",
     "properties": {"type": "OR", "values": [{"type": "AND", "values": [{"key": "$os", "operator": "is_set", "value": "is_set"}]}]}},
    {"events": [{"id": "$pageview"}, {"id": None, "math": "dau"}], "compare": True, "display": "ActionsTable",
     "breakdown": [1, "all"], "breakdown_type": "cohort"},
    {"actions": [{"id": 1, "math": "weekly_active"}], "breakdowns": [{"property": "$browser", "type": "event"}, {"property": "name", "type": "person"}],
     "breakdown_limit": 3, "interval": "week", "date_from": "-30d", "filter_test_accounts": True},
    {"events": [{"id": "sign up", "math": "unique_group", "math_group_type_index": 0}], "breakdown": "industry",
     "breakdown_type": "group", "breakdown_group_type_index": 0, "display": "ActionsLineGraphCumulative",
     "smoothing_intervals": 3, "properties": [{"key": "email", "value": ["a", "b"], "operator": "is_not", "type": "person"}]},
]


@functools.cache
def case_world(case_id: str) -> tuple[tc.EventStore, tc.Project, str]:
    case = next(c for c in LEGACY_CASES + QUERY_CASES if c["id"] == case_id)
    store = tc.EventStore.from_records(case["events"], persons=case.get("persons"), groups=case.get("groups"))
    project = tc.Project.from_dict({**case["project"], "actions": case.get("actions", []), "cohorts": case.get("cohorts", [])})
    return store, project, case["now"]


def _seed_filters() -> list[tuple[str, dict[str, Any]]]:
    out = [(c["id"], c["filter"]) for c in LEGACY_CASES]
    anchor = LEGACY_CASES[0]["id"]
    out += [(anchor, f) for f in EXTRA_FILTERS]
    return out


SEEDS = _seed_filters()
QUERY_SEEDS = [(c["id"], c["query"]) for c in QUERY_CASES]
legacy_seed = st.sampled_from(SEEDS)
query_seed = st.sampled_from(QUERY_SEEDS)


def run_query(case_id: str, query: Any, limits: tc.Limits = SMALL) -> None:
    store, project, now = case_world(case_id)
    result = safely(lambda: tc.trends(store, query, project=project, now=now, limits=limits), allow_root=not isinstance(query, dict))
    if result is not None:
        check_result(result)


@fuzz_settings(2_500)
@given(st.data())
def test_parse_mutated_legacy_filters(data: st.DataObject) -> None:
    _, seed = data.draw(legacy_seed)
    query = data.draw(mutated(seed))
    safely(lambda: tc.parse_filter(query), allow_root=not isinstance(query, dict))


@fuzz_settings(2_000)
@given(st.data())
def test_run_mutated_legacy_filters(data: st.DataObject) -> None:
    case_id, seed = data.draw(legacy_seed)
    run_query(case_id, data.draw(mutated(seed)))


@fuzz_settings(600)
@given(st.data())
def test_run_mutated_trends_queries(data: st.DataObject) -> None:
    case_id, seed = data.draw(query_seed)
    run_query(case_id, data.draw(mutated(seed)))


@fuzz_settings(400)
@given(junk)
def test_parse_junk(query: Any) -> None:
    safely(lambda: tc.parse_filter(query), allow_root=True)


@pytest.mark.parametrize("case_id", sorted({cid for cid, _ in SEEDS})[:40])
def test_fuzzing_left_no_trace_in_shared_stores(case_id: str) -> None:
    """After the fuzzers ran, a cached store answers like a freshly built one (no poisoned caches)."""
    case = next(c for c in LEGACY_CASES if c["id"] == case_id)
    fresh = tc.EventStore.from_records(case["events"], persons=case.get("persons"), groups=case.get("groups"))
    store, project, now = case_world(case_id)

    def answer(s: tc.EventStore) -> Any:
        try:
            return tc.trends(s, case["filter"], project=project, now=now).to_dicts()
        except tc.ValidationError as exc:
            return repr(exc)

    assert answer(store) == answer(fresh)
