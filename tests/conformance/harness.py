"""Runs one conformance case through the public API and checks its assertions.

Shared by the pytest module and ``python -m tests.conformance.report``-style tooling.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import trendcalc as tc

CASES_DIR = Path(__file__).parent / "cases"
# Cases we transcribed ourselves (same format) from upstream tests the shared corpus does not
# carry; their ids start with ``x__`` and the expected values are the upstream assertions.
EXTRA_DIR = Path(__file__).parent / "extra"


def load_cases() -> list[dict[str, Any]]:
    """The shared corpus (what the other suites, e.g. tests/property, check themselves against)."""
    return [json.loads(p.read_text()) for p in sorted(CASES_DIR.glob("*/*.json"))]


def load_extra_cases() -> list[dict[str, Any]]:
    """Our own transcriptions (``extra/``), run by the conformance test and report only."""
    return [json.loads(p.read_text()) for p in sorted(EXTRA_DIR.glob("*/*.json"))]


# actors_request keys that belong to PostHog's InsightActorsQuery; the others (select, orderBy,
# limit, offset, ...) belong to the ActorsQuery around it.
INSIGHT_ACTORS_KEYS = ("series", "day", "breakdown", "compare", "includeRecordings", "interval", "status")


def actors_query(query: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The ActorsQuery dict of a case's ``actors_request`` over its trends query. Without
    ``select``, the columns and order of PostHog's test helper (test_trends_persons.py
    ``get_actors``) that the cases were transcribed with: actor, created_at, event_count
    (+ matched_recordings with includeRecordings), ordered by event_count DESC."""
    insight = {"kind": "InsightActorsQuery", "source": query, **{k: v for k, v in request.items() if k in INSIGHT_ACTORS_KEYS}}
    outer = {"kind": "ActorsQuery", "source": insight, **{k: v for k, v in request.items() if k not in INSIGHT_ACTORS_KEYS}}
    if "select" not in outer:
        outer["select"] = ["actor", "created_at", "event_count"] + (["matched_recordings"] if request.get("includeRecordings") else [])
        outer.setdefault("orderBy", ["event_count DESC"])
    return outer


def run_case(case: dict[str, Any]) -> list[Any]:
    store = tc.EventStore.from_records(case["events"], persons=case.get("persons"), groups=case.get("groups"))
    # conformance worlds declare every definition upstream had: nothing is inferred
    project = tc.Project.from_dict({"infer_property_types": False, **case["project"], "actions": case.get("actions", []), "cohorts": case.get("cohorts", [])})
    kind = case["query_kind"]
    query = case["query"] if "query" in case and kind not in LEGACY_KINDS else case["filter"]
    if kind == "actors":
        return tc.actors(store, actors_query(query, case["actors_request"]), project=project, now=case["now"]).to_rows()
    answer = getattr(tc, INSIGHT_FUNCTIONS.get(kind, "trends"))
    result = answer(store, query, project=project, now=case["now"]).to_dicts()
    if kind in SHOWN_AS and _routed_by_trends(kind, query):
        # SCHEMA: a legacy filter that says shown_as goes through tc.trends too, with the same answer
        via_trends = tc.trends(store, query, project=project, now=case["now"]).to_dicts()
        assert via_trends == result, f"tc.trends answered {kind} differently from tc.{INSIGHT_FUNCTIONS[kind]}"
    return result


# query_kind → the public function that answers it (SCHEMA: stickiness and lifecycle cases)
INSIGHT_FUNCTIONS = {
    "trends": "trends", "trends_query": "trends",
    "stickiness": "stickiness", "stickiness_query": "stickiness",
    "lifecycle": "lifecycle", "lifecycle_query": "lifecycle",
}
LEGACY_KINDS = ("trends", "stickiness", "lifecycle")  # the query is the legacy filter in "filter"


# SCHEMA: a legacy filter whose shown_as names the insight also goes through tc.trends
SHOWN_AS = {"stickiness": "Stickiness", "lifecycle": "Lifecycle"}


def _routed_by_trends(kind: str, query: dict[str, Any]) -> bool:
    """A legacy filter the Trends endpoint answered with the case's insight (it says ``shown_as``)."""
    return query.get("shown_as") == SHOWN_AS.get(kind)


def resolve(result: Any, path: list[Any]) -> Any:
    cur = result
    for p in path:
        if isinstance(p, dict):
            matches = [x for x in cur if all(x.get(k) == v for k, v in p.items())]
            if not matches:
                raise AssertionError(f"no element matches {p}")
            cur = matches[0]
        else:
            cur = cur[p]
    return cur


def _num_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_num_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_num_eq(a[k], b[k]) for k in a)
    return a == b


def _canon(v: Any) -> Any:
    """Numbers compare numerically in every op (SCHEMA): an integral float is keyed as its int."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        return [_canon(x) for x in v]
    if isinstance(v, dict):
        return {k: _canon(x) for k, x in v.items()}
    return v


def _key(v: Any) -> str:
    return json.dumps(_canon(v), sort_keys=True)


def check(result: list[Any], assertion: dict[str, Any]) -> None:
    op, expected = assertion["op"], assertion.get("value")
    actual = resolve(result, assertion["path"])
    where = f"{assertion['path']} {op}"
    if op == "eq":
        assert _num_eq(actual, expected), f"{where}: expected {expected!r}, got {actual!r}"
    elif op == "approx":
        rel, ab = assertion.get("rel"), assertion.get("abs")
        ok = math.isclose(actual, expected, rel_tol=rel or 0.0, abs_tol=ab or (0.0 if rel else 1e-9))
        assert ok, f"{where}: expected ≈{expected!r}, got {actual!r}"
    elif op == "len":
        assert len(actual) == expected, f"{where}: expected length {expected}, got {len(actual)}"
    elif op == "contains":
        assert any(_num_eq(x, expected) for x in actual), f"{where}: {expected!r} not in {actual!r}"
    elif op == "sorted_eq":
        assert Counter(map(_key, actual)) == Counter(map(_key, expected)), f"{where}: expected {expected!r}, got {actual!r}"
    elif op == "subset":
        for k, v in expected.items():
            assert k in actual and _num_eq(actual[k], v), f"{where}: key {k!r} expected {v!r}, got {actual.get(k)!r}"
    elif op == "sum":
        assert _num_eq(sum(actual), expected), f"{where}: expected sum {expected!r}, got {sum(actual)!r}"
    elif op == "field_sorted_eq":
        field = assertion["field"]
        # a list "field" is a path into each element (e.g. [0, "distinct_ids", 0] over actors rows)
        got = [resolve(x, field) if isinstance(field, list) else x.get(field) for x in actual]
        assert Counter(map(_key, got)) == Counter(map(_key, expected)), f"{where}: expected {expected!r}, got {got!r}"
    else:
        raise AssertionError(f"unknown assertion op {op!r}")


def verify(case: dict[str, Any]) -> None:
    """Raise AssertionError (or the engine's error) unless the case passes."""
    if case.get("expect_error"):
        try:
            run_case(case)
        except tc.ValidationError:
            return
        raise AssertionError("expected a ValidationError")
    result = run_case(case)
    for a in case["assertions"]:
        check(result, a)
