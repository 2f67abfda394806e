"""``tc.actors`` on a store partitioned from files (streamed): the same rows, order, paging,
``has_more`` and ``missing_actors_count`` as ``EventStore.from_*`` of the same files, for
Parquet, CSV and JSON lines split over several files — persons records claiming distinct_ids in
several files, distinct_ids whose person_id changes between files, person_ids no record holds
(new persons, numbered in the order of their distinct_ids) and distinct_ids without a person_id
(``person:<row>``) — and the ``person_id`` breakdown labels too."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trendcalc as tc

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pcsv = pytest.importorskip("pyarrow.csv")

NOW = "2024-03-15T12:00:00Z"
N_FILES = 3
WEEK = {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-35d", "interval": "week"}
POINTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "trends-default": (WEEK, {"day": "2024-03-03"}),
    "trends-paged": (WEEK, {"day": "2024-03-03", "limit": 5, "offset": 4}),
    "trends-last-page": (WEEK, {"day": "2024-03-10", "limit": 6, "offset": 12}),
    "trends-counts": (WEEK, {"day": "2024-02-25", "select": ["actor", "id", "event_count", "last_seen"],
                             "order_by": ["event_count DESC"]}),
    "trends-id-order": (WEEK, {"day": "2024-03-03", "select": ["id", "event_count"], "order_by": ["id DESC"], "limit": 9}),
    "trends-total": ({"events": [{"id": "signup"}], "display": "ActionsPie", "date_from": "-35d"},
                     {"select": ["actor", "event_count", "event_distinct_ids"], "order_by": ["event_count DESC"]}),
    "trends-breakdown": ({**WEEK, "breakdown": "$browser"}, {"day": "2024-03-03", "breakdown": "Chrome"}),
    "stickiness": ({"shown_as": "Stickiness", "events": [{"id": "$pageview"}], "date_from": "-21d"}, {"day": 2}),
    "stickiness-paged": ({"shown_as": "Stickiness", "events": [{"id": "$pageview"}], "date_from": "-21d"},
                         {"day": 1, "limit": 4, "offset": 2}),
    "lifecycle-resurrecting": ({"shown_as": "Lifecycle", "events": [{"id": "$pageview"}], "date_from": "-35d",
                                "interval": "week"}, {"day": "2024-02-12", "status": "resurrecting", "limit": 7}),
    "lifecycle-dormant": ({"shown_as": "Lifecycle", "events": [{"id": "$pageview"}], "date_from": "-35d",
                           "interval": "week"}, {"day": "2024-03-11", "status": "dormant"}),
    "lifecycle-returning": ({"kind": "LifecycleQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                             "dateRange": {"date_from": "-35d"}, "interval": "week"},
                            {"day": "2024-03-11", "status": "returning", "select": ["actor", "event_count"],
                             "order_by": ["event_count DESC"]}),
}
PERSON_ID_BREAKDOWN = {"events": [{"id": "$pageview"}], "breakdown": "person_id", "breakdown_type": "event_metadata",
                       "breakdown_limit": 200, "date_from": "-35d", "display": "ActionsTable"}


GROUPS = [{"group_type_index": 0, "group_key": f"org{g}", "properties": {"size": g * 10},
           "created_at": f"2024-02-{10 + 3 * g}T00:00:00Z"} for g in range(5)]  # (org5 has no row)
GROUP_SERIES = [{"kind": "EventsNode", "event": "$pageview", "math": "unique_group", "math_group_type_index": 0}]
GROUP_POINTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "trends-groups": ({"events": [{"id": "$pageview", "math": "dau", "math_group_type_index": 0}], "date_from": "-35d",
                       "interval": "week"}, {"day": "2024-03-03", "select": ["group", "event_count", "last_seen"]}),
    "stickiness-groups": ({"kind": "StickinessQuery", "series": GROUP_SERIES, "dateRange": {"date_from": "-14d"},
                           "interval": "week"}, {"day": 2}),
    "lifecycle-groups": ({"kind": "LifecycleQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}],
                          "dateRange": {"date_from": "-35d"}, "interval": "week", "aggregation_group_type_index": 0},
                         {"day": "2024-02-26", "status": "returning", "select": ["actor", "event_count"]}),
}


def world() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(events in input order, persons records). Persons records: r0..r11 claim two distinct_ids
    each (half of them with an ``id``, which some events name as their person_id); events of
    distinct_ids ``e<n>`` name person_ids no record holds, some changing person_id later on (the
    latest event decides); ``a<n>`` never name one (lone distinct_ids: ``person:<row>``). The
    first event of some distinct_ids carries no person_id, so the order of first sight and the
    order of first person_id differ. Counts repeat, so the engine's order has many ties."""
    persons = []
    for r in range(12):
        rec: dict[str, Any] = {"distinct_ids": [f"r{r}", f"r{r}-m"], "properties": {"plan": ["free", "pro"][r % 2]},
                               "created_at": f"2024-02-{1 + 2 * r:02d}T08:00:00Z"}
        if r % 2 == 0:
            rec["id"] = f"rec-{r}"
        persons.append(rec)
    events: list[dict[str, Any]] = []
    rng = np.random.default_rng(5)
    dids = ([f"r{r}" for r in range(12)] + [f"r{r}-m" for r in range(12)] + [f"e{i}" for i in range(30)]
            + [f"a{i}" for i in range(25)])
    order = rng.permutation(len(dids))
    for step in range(420):
        d = dids[int(order[(step * 7 + step // 40) % len(dids)])]
        day = int(rng.integers(0, 34))
        month, dom = (2, 10 + day) if day < 20 else (3, day - 19)
        rec = {"event": ["$pageview", "$pageview", "signup"][step % 3], "distinct_id": d,
               "timestamp": f"2024-{month:02d}-{dom:02d}T{step % 24:02d}:00:00Z",
               "properties": {"$browser": ["Chrome", "Safari", "Firefox"][step % 3]}}
        if d.startswith("r"):  # (groups span persons; only the persons records' events carry them)
            rec["properties"]["$group_0"] = f"org{(step * 3 + len(d)) % 6}"
        if d.startswith("e"):
            i = int(d[1:])
            if step > 30 or i % 3:  # (the first events of e0, e3, ... carry no person_id)
                pid = f"P{i // 2}"  # two distinct_ids per new person
                if i % 5 == 0 and step > 250:
                    pid = f"P{(i + 7) // 2}"  # a later person_id: the latest event decides
                if i % 7 == 3:
                    pid = f"rec-{(i * 2) % 12}"  # names a persons record's id: joins it
                rec["person_id"] = pid
        events.append(rec)
    return events, persons


def _table(events: list[dict[str, Any]]) -> Any:
    return pa.table({
        "event": [e["event"] for e in events],
        "distinct_id": [e["distinct_id"] for e in events],
        "person_id": pa.array([e.get("person_id") for e in events], pa.string()),
        "timestamp": [e["timestamp"] for e in events],
        "$browser": [e["properties"]["$browser"] for e in events],
        "$group_0": pa.array([e["properties"].get("$group_0") for e in events], pa.string()),
    })


def _write(events: list[dict[str, Any]], path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(_table(events), path)
    elif fmt == "csv":
        pcsv.write_csv(_table(events), path)
    else:
        path.write_text("".join(json.dumps(e) + "\n" for e in events))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    events, persons = world()
    d = tmp_path_factory.mktemp("stream-actors")
    (d / "persons.jsonl").write_text("".join(json.dumps(p) + "\n" for p in persons))
    (d / "groups.jsonl").write_text("".join(json.dumps(g) + "\n" for g in GROUPS))
    cuts = np.linspace(0, len(events), N_FILES + 1).astype(int)
    out: dict[str, Any] = {"persons": d / "persons.jsonl", "groups": d / "groups.jsonl", "events": events}
    for fmt in ("parquet", "csv", "jsonl"):
        out[fmt] = []
        for i in range(N_FILES):
            p = d / f"events-{i}.{fmt}"
            _write(events[cuts[i]:cuts[i + 1]], p, fmt)
            out[fmt].append(p)
        _write(events, d / f"all.{fmt}", fmt)
        out[f"all-{fmt}"] = d / f"all.{fmt}"
    return out


def _single(files: dict[str, Any], fmt: str) -> tc.EventStore:
    if fmt == "parquet":
        return tc.EventStore.from_parquet(files["parquet"], persons=files["persons"], groups=files["groups"])
    reader = {"csv": tc.EventStore.from_csv, "jsonl": tc.EventStore.from_jsonl}[fmt]
    return reader(files[f"all-{fmt}"], persons=files["persons"], groups=files["groups"])


def rows_of(result: tc.ActorsResult) -> Any:
    return (result.columns, result.rows, result.has_more, result.limit, result.offset, result.missing_actors_count)


def _actors(store: Any, query: dict[str, Any], request: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        return rows_of(tc.actors(store, query, now=NOW, **request))


def test_the_world_is_adversarial(files: dict[str, Any], tmp_path: Path) -> None:
    """Persons of every kind, ties on event counts, first sight ≠ first person_id, and on 7
    partitions some partition whose rows carry no group key at all."""
    store = _single(files, "jsonl")
    ids = np.asarray(store.persons.ids, dtype=object)
    assert any(str(i).startswith("rec-") for i in ids) and any(str(i).startswith("P") for i in ids)
    assert int(np.sum(ids == None)) > 25  # noqa: E711  (records without an id and lone distinct_ids)
    events, _ = files["events"], None
    first_seen = list(dict.fromkeys(e["distinct_id"] for e in events if e["distinct_id"].startswith("e")))
    first_pid = list(dict.fromkeys(e["distinct_id"] for e in events if e["distinct_id"].startswith("e") and "person_id" in e))
    assert first_seen != first_pid
    counts = [r[2] for r in _actors(store, *POINTS["trends-counts"])[1]]
    assert len(counts) > len(set(counts))
    parts = tc.partition(files["jsonl"], tmp_path / "p", partitions=7, persons=files["persons"], groups=files["groups"],
                         durable=False)
    assert any(parts.load(i).column("$group_0") is None for i in range(7))


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_streamed_actors_equal_the_single_store(files: dict[str, Any], fmt: str, tmp_path: Path) -> None:
    store = _single(files, fmt)
    for k in (1, 2, 3, 7):
        parts = tc.partition(files[fmt], tmp_path / f"p{k}", partitions=k, persons=files["persons"],
                             groups=files["groups"], durable=False, chunk_rows=50)
        assert all(h is not None for h in parts.person_rows_handles())
        for name, (query, request) in {**POINTS, **GROUP_POINTS}.items():
            want = _actors(store, query, request)
            assert want[1], name
            assert _actors(parts, query, request) == want, (fmt, k, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", tc.TrendcalcWarning)
            want_labels = tc.trends(store, PERSON_ID_BREAKDOWN, now=NOW).to_dicts()
            assert any(str(s["breakdown_value"]).startswith("person:") for s in want_labels)
            assert tc.trends(parts, PERSON_ID_BREAKDOWN, now=NOW).to_dicts() == want_labels, (fmt, k)


def test_the_persons_rows_are_the_single_stores(files: dict[str, Any], tmp_path: Path) -> None:
    """Each partition's persons map to the single store's rows: same id, same distinct_ids."""
    store = _single(files, "parquet")
    owner = np.asarray(store.persons.person_of_distinct_id)
    dids_of = {k: sorted(np.asarray(store.distinct_ids, dtype=object)[owner == k].tolist()) for k in range(len(store.persons))}
    parts = tc.partition(files["parquet"], tmp_path / "p", partitions=3, persons=files["persons"], groups=files["groups"],
                         durable=False)
    seen = []
    for i, handle in enumerate(parts.person_rows_handles()):
        part, rows = parts.load(i), np.load(handle)
        assert len(rows) == len(part.persons)
        pown = np.asarray(part.persons.person_of_distinct_id)
        for local, row in enumerate(rows.tolist()):
            assert part.persons.ids[local] == store.persons.ids[row]
            mine = sorted(np.asarray(part.distinct_ids, dtype=object)[pown == local].tolist())
            assert mine == dids_of[row]
        seen.extend(rows.tolist())
    assert sorted(seen) == list(range(len(store.persons)))


def test_parquet_dictionaries_number_the_distinct_ids(files: dict[str, Any], tmp_path: Path) -> None:
    """A Parquet distinct_id column stored as an Arrow dictionary not in order of first sight
    (every distinct_id, reverse-sorted, in every row group; entries a row group does not use
    included): the single store numbers distinct_ids — so lone ones' ``person:<row>`` and the
    order of ties — in the dictionaries' order, and so do the streamed partitions."""
    events = files["events"]
    table = _table(events)
    values = sorted(set(table.column("distinct_id").to_pylist()), reverse=True)
    where = {v: i for i, v in enumerate(values)}
    codes = pa.array([where[v] for v in table.column("distinct_id").to_pylist()], pa.int32())
    table = table.set_column(1, "distinct_id", pa.DictionaryArray.from_arrays(codes, pa.array(values)))
    cuts = np.linspace(0, len(events), N_FILES + 1).astype(int)
    paths = []
    for i in range(N_FILES):
        paths.append(tmp_path / f"dict-{i}.parquet")
        pq.write_table(table.slice(cuts[i], cuts[i + 1] - cuts[i]), paths[-1], row_group_size=60)
    store = tc.EventStore.from_parquet(paths, persons=files["persons"], groups=files["groups"])
    assert np.asarray(store.distinct_ids).tolist()[:3] == values[:3]  # (the premise: not first sight)
    for k in (1, 3):
        parts = tc.partition(paths, tmp_path / f"p{k}", partitions=k, persons=files["persons"], groups=files["groups"],
                             durable=False, chunk_rows=25)
        for name in ("trends-default", "trends-counts", "trends-id-order", "stickiness-paged", "lifecycle-dormant"):
            query, request = POINTS[name]
            assert _actors(parts, query, request) == _actors(store, query, request), (k, name)


def test_record_and_arrow_builds_number_new_persons_alike() -> None:
    """The record builder numbers the persons events name by their distinct_ids' first sight,
    as the Arrow build does (not by the first event naming a person_id)."""
    events, persons = world()
    by_rows = tc.EventStore.from_records(events, persons=persons, errors="skip")
    columnar = tc.EventStore.from_arrow(_table(events), persons=persons)
    assert np.asarray(by_rows.persons.ids).tolist() == np.asarray(columnar.persons.ids).tolist()
    assert np.asarray(by_rows.persons.person_of_distinct_id)[
        np.argsort(np.asarray(by_rows.distinct_ids, dtype=object))].tolist() == np.asarray(
        columnar.persons.person_of_distinct_id)[np.argsort(np.asarray(columnar.distinct_ids, dtype=object))].tolist()
