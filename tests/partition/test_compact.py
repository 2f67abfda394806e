"""Compact dictionaries in the partitions ``tc.partition(store, ...)`` saves (``partition/compact.py``):
each partition holds only the event and person property values its rows use, in the whole
store's order, NULLs kept; the manifest holds the whole store's value bounds, so the up-front
cost check over the partitions is still exactly the single store's; a store saved before
(``"dictionaries": "shared"``) still opens and answers as it did."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.engine.cost import estimate
from trendcalc.engine.trends import plan_queries, resolve_now
from trendcalc.partition.compact import compact_column, value_bounds
from trendcalc.partition.cost import combine, dictionaries_of, facts_of
from trendcalc.partition.partials import context
from trendcalc.partition.run import _shares_dictionaries
from trendcalc.partition.split import person_partitions, subset
from trendcalc.store.columns import PropertyColumn, ValueDictionary

from .splits import round_robin
from .worlds import NOW, PROJECT, records

REFS = ["google.com", "$direct", "news.ycombinator.com", "bing.com", "t.co", "example.org", "duckduckgo.com",
        "posthog.com"]


def gap_world() -> tc.EventStore:
    """``worlds.records`` plus properties some rows lack: ``amount`` (a float of its own on every
    event of a person, none on the others), ``ref`` (7 values tied to the person, none on every
    third event), and per person ``tier`` (6 values, none on every fourth: round-robin into 4,
    none in one partition and 2 in each other) and
    ``$initial_referring_domain`` (for the virtual ``$virt_initial_referring_domain_type``)."""
    events, persons, groups = records()
    for i, e in enumerate(events):
        props = e["properties"]
        if not e["distinct_id"].startswith("anon"):
            props["amount"] = 0.25 + i * 1.5
            p = int(e["distinct_id"][1:].split("-")[0])
            if i % 3:
                props["ref"] = REFS[p % 8]  # (round-robin into 4: 2 values per partition)
    for p, person in enumerate(persons):
        if p % 4:
            person["properties"]["tier"] = f"t{p % 8}"
        person["properties"]["$initial_referring_domain"] = REFS[p % 5]
    return tc.EventStore.from_records(events, persons=persons, groups=groups)


def _values(col: PropertyColumn) -> list[Any]:
    """Every row's raw value (None: no value), with its type (1, 1.0 and True stay apart)."""
    lookup = list(col.dictionary.values) + [None]
    return [(type(lookup[c]), lookup[c]) for c in np.asarray(col.codes).tolist()]


def _saved(world: tc.EventStore, root: Path, k: int, assign: Any = None) -> tuple[tc.PartitionedStore, np.ndarray]:
    parts = tc.partition(world, root, partitions=k, assign=assign, durable=False)
    return parts, person_partitions(world, k, assign)


# --- the partitions' dictionaries ---------------------------------------------------------------


def test_compact_column_keeps_used_values_in_order_and_nulls() -> None:
    col = PropertyColumn(np.array([4, -1, 1, 4, -1, 1], dtype=np.int32), ValueDictionary(["a", 1, 1.0, True, "e"]))
    got = compact_column(col)
    assert got.dictionary.values == (1, "e")
    assert got.codes.tolist() == [1, -1, 0, 1, -1, 0] and got.codes.dtype == np.int32
    assert _values(got) == _values(col)
    every = PropertyColumn(np.array([1, 0, -1], dtype=np.int32), ValueDictionary(["x", "y"]))
    assert compact_column(every) is every  # nothing to cut: the column itself
    none = compact_column(PropertyColumn(np.full(3, -1, np.int32), ValueDictionary(["x", "y"])))
    assert none.dictionary.values == () and none.codes.tolist() == [-1, -1, -1]
    empty = compact_column(PropertyColumn(np.zeros(0, np.int32), ValueDictionary(["x"])))
    assert empty.dictionary.values == () and len(empty.codes) == 0


@pytest.mark.parametrize("k,assign", [(3, None), (4, round_robin)])
def test_saved_partitions_hold_only_their_own_values(k: int, assign: Any, tmp_path: Path) -> None:
    world = gap_world()
    parts, part = _saved(world, tmp_path / "p", k, assign)
    assert parts.manifest["dictionaries"] == "compact"
    loaded = [parts.load(i) for i in range(k)]
    event_part = part[world.person]
    for key, whole in world.properties.items():
        sizes = []
        for p, sub in enumerate(loaded):
            rows = np.flatnonzero(event_part == p)
            col = sub.properties[key]
            used = np.unique(np.asarray(whole.codes)[rows])
            used = used[used >= 0]
            assert col.dictionary.values == tuple(whole.dictionary.values[i] for i in used.tolist())  # in store order
            assert _values(col) == [_values(whole)[r] for r in rows.tolist()]  # every row's value, NULLs too
            assert np.array_equal(np.asarray(col.codes) < 0, np.asarray(whole.codes)[rows] < 0)
            sizes.append(len(col.dictionary))
        if key == "amount":  # a value per event: the partitions' dictionaries add up to the store's
            assert sum(sizes) == len(whole.dictionary) == sum(1 for e in records()[0] if not e["distinct_id"].startswith("anon"))
        if key == "ref":  # 8 values tied to persons: each partition's are its persons' only
            assert len(whole.dictionary) == 8
            if assign is round_robin:
                assert sizes == [2, 2, 2, 2]
    for key, whole in world.persons.properties.items():
        for p, sub in enumerate(loaded):
            prows = np.flatnonzero(part == p)
            col = sub.persons.properties[key]
            used = np.unique(np.asarray(whole.codes)[prows])
            used = used[used >= 0]
            assert col.dictionary.values == tuple(whole.dictionary.values[i] for i in used.tolist())
            assert _values(col) == [_values(whole)[r] for r in prows.tolist()]
    tiers = [sorted(sub.persons.properties["tier"].dictionary.values) for sub in loaded]
    assert sorted({t for ts in tiers for t in ts}) == sorted(world.persons.properties["tier"].dictionary.values)
    assert any(len(t) < 6 for t in tiers)
    for sub in loaded:  # groups span persons: every partition holds them whole
        assert sub.groups[0].properties["size"].dictionary.values == world.groups[0].properties["size"].dictionary.values


def test_a_unique_float_property_is_written_once_not_k_times(tmp_path: Path) -> None:
    """The saved values of a property with a value per event add up to the store's, not k times."""
    world = gap_world()
    parts, _ = _saved(world, tmp_path / "p", 4)
    written = 0
    for path in parts.paths:
        manifest = json.loads((path / "manifest.json").read_text())
        (entry,) = [c for c in manifest["event_properties"] if c["key"] == "amount"]
        written += entry["n_values"]
        assert len(json.loads((path / entry["values"]).read_text())) == entry["n_values"]
    assert written == len(world.properties["amount"].dictionary)


def test_in_memory_partitions_still_share_the_dictionaries() -> None:
    world = gap_world()
    part = person_partitions(world, 3, None)
    shared = [subset(world, part == p) for p in range(3)]
    assert _shares_dictionaries(shared)
    assert all(s.properties[k].dictionary is c.dictionary for s in shared for k, c in world.properties.items())
    compacted = [subset(world, part == p, compact=True) for p in range(3)]
    assert not _shares_dictionaries(compacted)


# --- the manifest's value bounds and the cost check ---------------------------------------------


def test_the_manifest_records_the_whole_stores_value_bounds(tmp_path: Path) -> None:
    world = gap_world()
    parts, _ = _saved(world, tmp_path / "p", 3)
    bounds = parts.manifest["value_bounds"]
    n_amounts = sum(1 for e in records()[0] if not e["distinct_id"].startswith("anon"))
    assert bounds["event"]["amount"] == n_amounts + 1  # anon events have none
    assert bounds["event"]["ref"] == 8 + 1  # every third event has none
    assert bounds["event"]["$browser"] == 4  # every event has one
    assert bounds["event"]["$group_0"] == 5 + 1  # anon events are in no group
    assert bounds["person"]["plan"] == 3 + 1  # synthetic persons (anon distinct_ids) have no properties
    assert bounds["person"]["tier"] == 6 + 1
    assert bounds == value_bounds(world)
    assert dictionaries_of(parts.manifest) == (True, bounds)


def test_dictionaries_of_old_and_other_manifests() -> None:
    bounds = {"event": {"a": 3}, "person": {}}
    assert dictionaries_of({"dictionaries": "shared"}) == (True, None)
    assert dictionaries_of({"dictionaries": "compact", "value_bounds": bounds}) == (True, bounds)
    assert dictionaries_of({"dictionaries": "compact"}) == (False, None)  # no bounds: add, an upper bound
    assert dictionaries_of({"dictionaries": "compact", "value_bounds": {"event": {}}}) == (False, None)
    assert dictionaries_of({"dictionaries": "per-partition"}) == (False, None)
    assert dictionaries_of({}) == (False, None)


GAP_QUERIES = [
    {"events": [{"id": "$pageview"}], "date_from": "-30d", "breakdown": "ref"},
    {"events": [{"id": None}], "date_from": "all", "breakdown": "amount", "interval": "week"},
    {"events": [{"id": "$pageview"}, {"id": "purchase"}], "date_from": "-60d", "breakdown": "tier",
     "breakdown_type": "person"},
    {"events": [{"id": "$pageview"}], "date_from": "-30d", "breakdown": "$group_0", "breakdown_type": "event_metadata"},
    {"events": [{"id": "purchase"}, {"id": "signup"}], "date_from": "-40d", "breakdown": "ref",
     "breakdown_type": "event_metadata"},
    {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}], "interval": "day",
     "dateRange": {"date_from": "-40d"}, "breakdownFilter": {"breakdowns": [{"property": "ref"},
                                                                             {"property": "plan", "type": "person"}]}},
]


def _plan(world: tc.EventStore, query: dict[str, Any]) -> tuple[Any, Any, list[Any], dict[str, Any]]:
    filt = tc.parse_filter(query)
    ctx = context(world, filt, PROJECT, resolve_now(NOW), tc.Limits())
    earliest: dict[str, Any] = {}
    if filt.date_from == "all":  # as the coordinator: the earliest event over all partitions
        from trendcalc.engine.plan import earliest_event_us

        earliest["earliest_us"] = earliest_event_us(ctx, filt.series)
        ctx.given.update(earliest)
    return filt, ctx, plan_queries(ctx), earliest


def _combined(world: tc.EventStore, stores: list[tc.EventStore], query: dict[str, Any], shared: bool,
              bounds: Any = None) -> Any:
    filt, ctx, queries, earliest = _plan(world, query)
    per = [facts_of(s, filt, PROJECT, resolve_now(NOW), tc.Limits(), earliest) for s in stores]
    return estimate(ctx, queries, facts=combine(filt, per, shared, bounds))


@pytest.mark.parametrize("query", GAP_QUERIES)
@pytest.mark.parametrize("k,assign", [(1, None), (3, None), (4, round_robin)])
def test_the_estimate_over_compact_partitions_is_the_single_stores(query: dict[str, Any], k: int, assign: Any,
                                                                    tmp_path: Path) -> None:
    world = gap_world()
    parts, _ = _saved(world, tmp_path / "p", k, assign)
    stores = [parts.load(i) for i in range(k)]
    _, ctx, queries, _ = _plan(world, query)
    single = estimate(ctx, queries)
    assert single.rows > 0 and single.breakdown_cells > 0
    shared, bounds = dictionaries_of(parts.manifest)
    assert _combined(world, stores, query, shared, bounds) == single


@pytest.mark.parametrize("query", [GAP_QUERIES[0], GAP_QUERIES[2], GAP_QUERIES[4]],
                         ids=["event", "person", "event_metadata"])
def test_the_manifest_bounds_are_what_make_it_exact(query: dict[str, Any], tmp_path: Path) -> None:
    """Over compact partitions neither the partitions' most (too small) nor their sum (too
    large) is the single store's bound: the manifest's is (ref, 8 values tied to persons, and
    tier, 6, are 2 per partition round-robin into 4)."""
    world = gap_world()
    parts, _ = _saved(world, tmp_path / "p", 4, round_robin)
    stores = [parts.load(i) for i in range(4)]
    _, ctx, queries, _ = _plan(world, query)
    single = estimate(ctx, queries)
    most, added = _combined(world, stores, query, True), _combined(world, stores, query, False)
    assert most.breakdown_cells < single.breakdown_cells < added.breakdown_cells


def test_virtual_person_properties_are_combined_as_before(tmp_path: Path) -> None:
    """A virtual person column is derived per partition (not stored, no manifest bound): its
    combined bound is the partitions' most, as with shared dictionaries."""
    world = gap_world()
    query = {"events": [{"id": "$pageview"}], "date_from": "-30d", "breakdown": "$virt_initial_referring_domain_type",
             "breakdown_type": "person"}
    parts, part = _saved(world, tmp_path / "p", 3)
    shared, bounds = dictionaries_of(parts.manifest)
    compact = _combined(world, [parts.load(i) for i in range(3)], query, shared, bounds)
    in_memory = _combined(world, [subset(world, part == p) for p in range(3)], query, True)
    assert compact == in_memory


def _tight(world: tc.EventStore, query: dict[str, Any], name: str) -> tc.Limits:
    _, ctx, queries, _ = _plan(world, query)
    cost = estimate(ctx, queries)
    return tc.Limits(**{name: {"max_cells": cost.cells, "max_breakdown_cells": cost.breakdown_cells}[name] - 1})


def _single(world: tc.EventStore, query: dict[str, Any], limits: tc.Limits) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        return tc.trends(world, query, project=PROJECT, now=NOW, limits=limits)


def _refused_alike(world: tc.EventStore, parts: tc.PartitionedStore, query: dict[str, Any], name: str) -> None:
    """Just under the single store's estimate for ``name``: its error, word for word; at the
    estimate itself: its answer."""
    limits = _tight(world, query, name)
    with pytest.raises(tc.ValidationError) as want:
        _single(world, query, limits)
    assert name in want.value.message
    with pytest.raises(tc.ValidationError) as got:
        tc.trends(parts, query, project=PROJECT, now=NOW, limits=limits)
    assert (got.value.path, got.value.message) == (want.value.path, want.value.message)
    ok = tc.Limits(**{name: getattr(limits, name) + 1})
    assert tc.trends(parts, query, project=PROJECT, now=NOW, limits=ok).to_dicts() == _single(world, query, ok).to_dicts()


@pytest.mark.parametrize("name", ["max_breakdown_cells", "max_cells"])
def test_compact_partitions_refuse_as_the_single_store(name: str, tmp_path: Path) -> None:
    world = gap_world()
    parts, _ = _saved(world, tmp_path / "p", 4, round_robin)
    for query in GAP_QUERIES:
        _refused_alike(world, parts, query, name)


# --- a store saved before compact dictionaries ----------------------------------------------------


def write_shared(world: tc.EventStore, root: Path, k: int, assign: Any = None) -> tc.PartitionedStore:
    """The partitioned store the writer wrote before compact dictionaries: every partition saved
    with the whole store's dictionaries, the manifest saying ``"shared"`` and holding no bounds."""
    tc.partition(world, root, partitions=k, assign=assign, durable=False)
    part = person_partitions(world, k, assign)
    for p in range(k):
        subset(world, part == p).save(root / f"part-{p:03d}", overwrite=True, durable=False)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["dictionaries"] = "shared"
    del manifest["value_bounds"]
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return tc.PartitionedStore.open(root)


def test_an_old_shared_store_opens_and_answers(tmp_path: Path) -> None:
    world = gap_world()
    parts = write_shared(world, tmp_path / "p", 4, round_robin)
    assert parts.manifest["dictionaries"] == "shared" and "value_bounds" not in parts.manifest
    for p in range(4):  # the whole dictionaries, as written before
        sub = parts.load(p)
        assert sub.properties["amount"].dictionary.values == world.properties["amount"].dictionary.values
        assert sub.persons.properties["tier"].dictionary.values == world.persons.properties["tier"].dictionary.values
    shared, bounds = dictionaries_of(parts.manifest)
    assert (shared, bounds) == (True, None)
    stores = [parts.load(i) for i in range(4)]
    for query in GAP_QUERIES:
        assert tc.trends(parts, query, project=PROJECT, now=NOW).to_dicts() == _single(world, query, tc.Limits()).to_dicts()
        _, ctx, queries, _ = _plan(world, query)
        assert _combined(world, stores, query, shared, bounds) == estimate(ctx, queries)
    for name in ("max_breakdown_cells", "max_cells"):
        _refused_alike(world, parts, GAP_QUERIES[0], name)
