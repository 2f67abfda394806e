"""A partitioned store gives the single store's advice warnings (``partition/outline.py``), read
from its manifest: the same codes, paths and messages, whether its partitions were cut from an
EventStore or streamed from files; a manifest written before it listed the property keys says
nothing about keys rather than something wrong."""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.testing import strategies as tst

NOW = "2024-03-08T00:00:00Z"
EVENTS = [
    {"event": "product_view", "distinct_id": f"u{i % 9}", "timestamp": f"2024-03-0{1 + i % 7}T1{i % 10}:00:00Z",
     "properties": {"platform": "ios" if i % 2 else "android", "price": str(i), "$group_0": f"org{i % 3}"}}
    for i in range(60)
] + [{"event": "signup", "distinct_id": f"u{i}", "timestamp": f"2024-03-0{1 + i % 5}T09:00:00Z"} for i in range(9)]  # fmt: skip
PERSONS = [{"distinct_ids": [f"u{i}"], "properties": {"plan": "pro" if i % 2 else "free"}} for i in range(9)]
GROUPS = [{"group_type_index": 0, "group_key": f"org{i}", "properties": {"seats": i * 10}} for i in range(3)]

TRENDS = [
    {"events": [{"id": "product_view", "math": "dau"}], "breakdown": "platform"},  # clean
    {"events": [{"id": "prodcut_view"}, {"id": "signup"}]},
    {"events": [{"id": "product_view", "math": "sum", "math_property": "prcie"}],
     "properties": [{"key": "platfrom", "value": "ios"}, {"key": "plna", "value": "pro", "type": "person"}],
     "breakdown": "plaform"},
    {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "prodcut_view"}],
     "breakdownFilter": {"breakdown": "seatz", "breakdown_type": "group", "breakdown_group_type_index": 0},
     "dateRange": {"date_from": "2024-03-01"}},
    {"events": [{"id": "product_view", "math": "unique_session"}], "date_from": "2024-03-01"},
    {"events": [{"id": "product_view"}], "properties": [{"key": "price", "operator": "gt", "value": "10"}],
     "date_from": "2024-03-01"},
    {"events": [{"id": "product_view", "math": "sum", "math_property": "seats", "math_property_type": "group_properties"}]},
    {"events": [{"id": "product_view", "math": "avg", "math_property": "platform"}]},  # text math (the values' union)
    {"events": [{"id": "product_view"}], "properties": [{"key": "platform", "value": "IOS"}]},  # absent value
    {"events": [{"id": "product_view"}], "properties": [{"key": "plan", "value": ["gold", "x"], "type": "person"}]},
]
OTHER_NOW = [  # (query, now): ranges beside the data
    ({"events": [{"id": "product_view", "math": "dau"}]}, "2026-12-06T00:00:00Z"),
    ({"events": [{"id": "product_view"}], "date_from": "all"}, "2026-12-06T00:00:00Z"),
]
STICKINESS = [
    {"insight": "STICKINESS", "shown_as": "Stickiness", "events": [{"id": "prodcut_view"}], "date_from": "2024-03-01"},
    {"insight": "STICKINESS", "shown_as": "Stickiness", "events": [{"id": "product_view"}],
     "properties": [{"key": "platfrom", "value": "ios"}], "date_from": "-7d"},
]
LIFECYCLE = [{"insight": "LIFECYCLE", "shown_as": "Lifecycle", "events": [{"id": "prodcut_view"}], "date_from": "-7d",
              "breakdown": "platform"}]


def seen(answer: Any, *args: Any, **kw: Any) -> list[tuple[str, tuple[Any, ...], str]]:
    """The result's warnings, checked to be the ones issued as TrendcalcWarnings too."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = answer(*args, **kw)
    mine = [(w.code, w.path, w.message) for w in result.warnings]
    assert [str(w.message) for w in caught if w.category is tc.TrendcalcWarning] == [str(w) for w in result.warnings]
    return mine


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("advice")
    single = tc.EventStore.from_records(EVENTS, persons=PERSONS, groups=GROUPS)
    files = root / "events.jsonl"
    files.write_text("\n".join(json.dumps(e) for e in EVENTS))
    persons = root / "persons.jsonl"
    persons.write_text("\n".join(json.dumps(p) for p in PERSONS))
    return {
        "single": single,
        "cut": tc.partition(single, root / "cut", partitions=3, durable=False),
        "streamed": tc.partition(str(files), root / "streamed", partitions=2, persons=PERSONS, groups=GROUPS,
                                 durable=False),
    }


@pytest.mark.parametrize("kind", ["cut", "streamed"])
def test_trends_warnings_are_the_single_stores(stores: dict[str, Any], kind: str) -> None:
    said = 0
    for query in TRENDS:
        want = seen(tc.trends, stores["single"], query, now=NOW)
        assert seen(tc.trends, stores[kind], query, now=NOW) == want, query
        said += len(want)
    for query, now in OTHER_NOW:
        want = seen(tc.trends, stores["single"], query, now=now)
        assert want and seen(tc.trends, stores[kind], query, now=now) == want, query
    assert said >= 12  # (real mistakes: unknown names and keys, sessions, types, group maths, text maths, values)


@pytest.mark.parametrize("kind", ["cut", "streamed"])
def test_stickiness_and_lifecycle_warnings_are_the_single_stores(stores: dict[str, Any], kind: str) -> None:
    for query in STICKINESS:
        want = seen(tc.stickiness, stores["single"], query, now=NOW)
        assert want and seen(tc.stickiness, stores[kind], query, now=NOW) == want, query
    for query in LIFECYCLE:
        want = seen(tc.lifecycle, stores["single"], query, now=NOW)
        assert want and seen(tc.lifecycle, stores[kind], query, now=NOW) == want, query


def test_a_manifest_without_property_keys_names_events_but_no_keys(stores: dict[str, Any], tmp_path: Path) -> None:
    """Written before the manifest listed keys: "no such property" cannot be known, so not said."""
    old = tc.partition(stores["single"], tmp_path / "old", partitions=2, durable=False)
    manifest = old.root / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["property_keys"]
    manifest.write_text(json.dumps(data))
    old = tc.PartitionedStore.open(old.root)
    said = seen(tc.trends, old, TRENDS[2], now=NOW) + seen(tc.trends, old, TRENDS[1], now=NOW)
    assert [code for code, _, _ in said] == ["unknown_event"]
    assert seen(tc.trends, old, TRENDS[5], now=NOW) == seen(tc.trends, stores["single"], TRENDS[5], now=NOW)  # types
    assert seen(tc.trends, old, TRENDS[4], now=NOW) == seen(tc.trends, stores["single"], TRENDS[4], now=NOW)  # sessions


def test_a_store_with_sessions_says_nothing_of_session_maths(tmp_path: Path) -> None:
    events = [dict(e, properties={**e.get("properties", {}), "$session_id": f"s{i % 4}"}) for i, e in enumerate(EVENTS)]
    single = tc.EventStore.from_records(events, persons=PERSONS)
    parts = tc.partition(single, tmp_path / "p", partitions=2, durable=False)
    query = TRENDS[4]
    assert seen(tc.trends, single, query, now=NOW) == seen(tc.trends, parts, query, now=NOW) == []


def _warned(run: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        try:
            return [(w.code, w.path, w.message) for w in run().warnings]
        except (tc.UnsupportedError, tc.ValidationError) as e:
            return type(e).__name__


@settings(max_examples=25, deadline=None, derandomize=True)
@given(tst.scenarios(min_events=1, max_events=30), st.integers(1, 3))
def test_random_queries_warn_as_the_single_store(scenario: Any, k: int) -> None:
    """Random worlds and queries (``trendcalc.testing.strategies``): the same warnings, or the
    same refusal of the query (a partitioned store refusing what it cannot answer exactly aside)."""
    w = scenario.world
    store = w.store()
    want = _warned(lambda: tc.trends(store, scenario.query, project=w.project, now=w.now))
    with tempfile.TemporaryDirectory() as tmp:
        parts = tc.partition(store, Path(tmp) / "p", partitions=k, durable=False)
        got = _warned(lambda: tc.trends(parts, scenario.query, project=w.project, now=w.now))
    assume(got != "UnsupportedError")
    assert got == want


def test_the_legacy_lifecycle_person_join_warning_counts_every_partitions_personless_ids(tmp_path: Path) -> None:
    """Persons given for u0..u3 only: the other five ids have no person row, which the legacy
    lifecycle engine drops; the manifest counts them per partition (``persons_without_rows``)."""
    some = PERSONS[:4]
    single = tc.EventStore.from_records(EVENTS, persons=some)
    files = tmp_path / "events.jsonl"
    files.write_text("\n".join(json.dumps(e) for e in EVENTS))
    query = {"insight": "LIFECYCLE", "events": [{"id": "product_view"}], "date_from": "2024-03-01"}
    want = seen(tc.lifecycle, single, query, now=NOW)
    assert [(code, path) for code, path, _ in want] == [("personless_dropped", ())]
    assert want[0][2].startswith("5 of the store's persons are distinct_ids without a person row")
    cut = tc.partition(single, tmp_path / "cut", partitions=3, durable=False)
    streamed = tc.partition(str(files), tmp_path / "streamed", partitions=2, persons=some, durable=False)
    for parts in (cut, streamed):
        assert sum(p["persons_without_rows"] for p in parts.manifest["partitions"]) == 5
        assert seen(tc.lifecycle, parts, query, now=NOW) == want
    runner = {"kind": "LifecycleQuery", "series": [{"kind": "EventsNode", "event": "product_view"}]}
    assert seen(tc.lifecycle, cut, runner, now=NOW) == seen(tc.lifecycle, single, runner, now=NOW) == []
    manifest = cut.root / "manifest.json"  # written before the count: not known, not said
    data = json.loads(manifest.read_text())
    for p in data["partitions"]:
        del p["persons_without_rows"]
    manifest.write_text(json.dumps(data))
    assert seen(tc.lifecycle, tc.PartitionedStore.open(cut.root), query, now=NOW) == []
