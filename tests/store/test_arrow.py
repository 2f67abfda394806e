"""EventStore.from_arrow / from_parquet build the same store as from_records."""

from __future__ import annotations

import json

import numpy as np
import pytest

import trendcalc as tc
from tests.conformance.harness import load_cases

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

EVENTS = [
    {"event": "$pageview", "distinct_id": "a", "timestamp": "2024-01-02T10:00:00Z",
     "properties": {"$browser": "Chrome", "n": 1, "f": 1.5, "b": True, "$session_id": "s1"}},
    {"event": "$pageview", "distinct_id": "b", "timestamp": "2024-01-01T10:00:00Z",
     "properties": {"$browser": "Safari", "n": 2, "b": False}},
    {"event": "purchase", "distinct_id": "a2", "timestamp": "2024-01-01T09:00:00Z",
     "properties": {"revenue": 10.0, "$browser": "Chrome"}},
    {"event": "purchase", "distinct_id": "c", "timestamp": "2024-01-01T09:00:00Z", "properties": {}},
    {"event": "$pageview", "distinct_id": "a", "timestamp": "2024-01-01T10:00:00Z",
     "properties": {"$browser": "", "f": 2.0}},
    {"event": "signup", "distinct_id": "b", "timestamp": "2024-01-03T00:00:00Z", "properties": {"n": 3}},
]
PERSONS = [
    {"id": "p1", "distinct_ids": ["a", "a2"], "properties": {"plan": "pro", "email": "x@posthog.com"}},
    {"id": "p2", "distinct_ids": ["b"], "properties": {"plan": "free"}},
]


def assert_same_store(x: tc.EventStore, y: tc.EventStore) -> None:
    """Same rows, codes decoded to values, dictionaries (with value types) and persons."""
    assert len(x) == len(y)
    np.testing.assert_array_equal(x.ts, y.ts)
    assert x.event_names == y.event_names
    np.testing.assert_array_equal(x.event, y.event)
    np.testing.assert_array_equal(x.offsets, y.offsets)
    assert list(x.distinct_ids[x.distinct_id]) == list(y.distinct_ids[y.distinct_id])
    assert set(x.properties) == set(y.properties)
    for k, cx in x.properties.items():
        cy = y.properties[k]
        assert [cx.value(i) for i in range(len(x))] == [cy.value(i) for i in range(len(y))], k
        assert [type(v) for v in cx.dictionary.values] == [type(v) for v in cy.dictionary.values], k
        assert list(cx.dictionary.values) == list(cy.dictionary.values), k
    # persons seen through the events: same person grouping, ids, properties and created_at
    px, py = x.person, y.person
    np.testing.assert_array_equal(_partition(px), _partition(py))
    assert list(x.persons.ids[px]) == list(y.persons.ids[py])
    np.testing.assert_array_equal(x.persons.created_at[px], y.persons.created_at[py])
    np.testing.assert_array_equal(x.persons.synthetic[px], y.persons.synthetic[py])
    assert set(x.persons.properties) == set(y.persons.properties)
    for k, cx in x.persons.properties.items():
        cy = y.persons.properties[k]
        assert [cx.value(int(i)) for i in px] == [cy.value(int(i)) for i in py], k


def _partition(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered by first occurrence, so equal partitions compare equal."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    return np.argsort(np.argsort(first))[inv.reshape(-1)]


def table_json(events):
    return pa.table({
        "event": [e["event"] for e in events],
        "distinct_id": [e["distinct_id"] for e in events],
        "timestamp": [e["timestamp"] for e in events],
        "properties": [json.dumps(e.get("properties") or {}) for e in events],
    })


def table_flat(events):
    keys = sorted({k for e in events for k in e.get("properties", {})})
    cols = {
        "event": [e["event"] for e in events],
        "distinct_id": [e["distinct_id"] for e in events],
        "timestamp": pa.array([e["timestamp"] for e in events]).cast(pa.timestamp("us", "UTC")),
    }
    for k in keys:
        cols[f"properties.{k}"] = [e.get("properties", {}).get(k) for e in events]
    return pa.table(cols)


def test_json_properties_and_person_records():
    a = tc.EventStore.from_records(EVENTS, persons=PERSONS)
    b = tc.EventStore.from_arrow(table_json(EVENTS), persons=PERSONS)
    assert_same_store(a, b)


def test_flat_columns_identical_including_dictionary_order():
    a = tc.EventStore.from_records(EVENTS, persons=PERSONS)
    b = tc.EventStore.from_arrow(table_flat(EVENTS), persons=PERSONS)
    assert_same_store(a, b)
    for k in a.properties:  # codes themselves agree: dictionaries are in first-seen order
        np.testing.assert_array_equal(a.properties[k].codes, b.properties[k].codes)


def test_struct_properties():
    t = table_flat(EVENTS)
    names = [n for n in t.column_names if n.startswith("properties.")]
    struct = pa.StructArray.from_arrays([t.column(n).combine_chunks() for n in names],
                                        names=[n[len("properties."):] for n in names])
    t2 = t.drop_columns(names).append_column("properties", struct)
    assert_same_store(tc.EventStore.from_records(EVENTS), tc.EventStore.from_arrow(t2))


def test_person_id_column_and_persons_table(tmp_path):
    events = [dict(e, person_id={"a": "p1", "a2": "p1", "b": "p2"}.get(e["distinct_id"])) for e in EVENTS]
    t = table_flat(events).append_column("person_id", pa.array([e["person_id"] for e in events]))
    persons = pa.table({"id": ["p2", "p1"], "properties.plan": ["free", "pro"],
                        "properties.email": [None, "x@posthog.com"]})
    b = tc.EventStore.from_arrow(t, persons=persons)
    a = tc.EventStore.from_records(EVENTS, persons=PERSONS)
    assert_same_store(a, b)
    # through Parquet (string columns come back as Arrow dictionaries)
    pq.write_table(t, tmp_path / "e.parquet", row_group_size=2)
    pq.write_table(persons, tmp_path / "p.parquet")
    c = tc.EventStore.from_parquet(tmp_path / "e.parquet", persons=tmp_path / "p.parquet")
    assert_same_store(a, c)


def test_persons_table_with_distinct_ids():
    persons = pa.table({"id": ["p1", "p2"], "distinct_ids": [["a", "a2"], ["b"]],
                        "properties": [json.dumps(p["properties"]) for p in PERSONS]})
    assert_same_store(tc.EventStore.from_records(EVENTS, persons=PERSONS),
                      tc.EventStore.from_arrow(table_json(EVENTS), persons=persons))


def test_timestamp_forms():
    base = table_flat(EVENTS)
    ts = base.column("timestamp")
    ref = tc.EventStore.from_arrow(base)
    for col in (ts.cast(pa.timestamp("ns", "UTC")), ts.cast(pa.timestamp("ms")),
                pa.array([e["timestamp"].replace("Z", "") for e in EVENTS]),
                pa.array([e["timestamp"].replace("Z", "+00:00") for e in EVENTS[:3]]
                         + [e["timestamp"].replace("Z", "") for e in EVENTS[3:]]),
                pc_epoch_seconds(ts)):
        assert_same_store(ref, tc.EventStore.from_arrow(base.set_column(2, "timestamp", col)))


def pc_epoch_seconds(ts):
    return pa.array(ts.cast(pa.int64()).to_numpy() // 1_000_000)


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda t: t.drop_columns(["event"]), ("events", "event")),
        (lambda t: t.drop_columns(["timestamp"]), ("events", "timestamp")),
        (lambda t: t.set_column(0, "event", pa.array([1, 2, 3, 4, 5, 6])), ("events", "event")),
        (lambda t: t.set_column(0, "event", pa.array(["a", "b", None, "c", "d", "e"])), ("events", 2, "event")),
        (lambda t: t.set_column(0, "event", pa.array(["a", "b", "c", "", "d", "e"])), ("events", 3, "event")),
        (lambda t: t.set_column(1, "distinct_id", pa.array(["a", "b", "c", "d", None, "e"])), ("events", 4, "distinct_id")),
        (lambda t: t.set_column(2, "timestamp", pa.array(["2024-01-01", "x", "2024-01-01", "2024-01-01",
                                                           "2024-01-01", "2024-01-01"])), ("events", 1, "timestamp")),
        (lambda t: t.set_column(2, "timestamp", pa.array([1.0, 2.0, None, 3.0, 4.0, 5.0])), ("events", 2, "timestamp")),
        (lambda t: t.set_column(2, "timestamp", pa.array([True] * 6)), ("events", "timestamp")),
        (lambda t: t.append_column("properties.x", pa.array([1.0, float("nan"), 1.0, 1.0, 1.0, 1.0])),
         ("events", 1, "properties.x")),
        (lambda t: t.append_column("properties.x", pa.array([[1]] * 6)), ("events", "properties.x")),
        (lambda t: t.append_column("properties", pa.array(["{}", "{}", "[1]", "{}", "{}", "{}"])),
         ("events", 2, "properties")),
        (lambda t: t.append_column("properties", pa.array(['{"$browser": 1}'] * 6)), ("events", "properties.$browser")),
    ],
)
def test_validation_names_column_and_row(mutate, path):
    with pytest.raises(tc.ValidationError) as info:
        tc.EventStore.from_arrow(mutate(table_flat(EVENTS)))
    assert info.value.path == path


def test_person_id_on_events_follows_from_records():
    """A distinct_id joins the person of its latest event; ids match persons' ``id``; the rest
    start new persons — as from_records does with PostHog's ``person_id`` export field."""
    pids = ["p1", "p2", "p1", None, "p3", "p9"]  # "a" moves from p1 to p3 (its later event)
    events = [dict(e, person_id=p) if p else dict(e) for e, p in zip(EVENTS, pids)]
    t = table_flat(EVENTS).append_column("person_id", pa.array(pids))
    persons_records = [{"id": "p1", "distinct_ids": ["x"], "properties": {"plan": "pro"}}]
    a = tc.EventStore.from_records(events, persons=persons_records)
    b = tc.EventStore.from_arrow(t, persons=persons_records)
    assert_same_store(a, b)
    assert_same_store(tc.EventStore.from_records(events), tc.EventStore.from_arrow(t))


def test_person_id_with_unsorted_timestamps():
    pids = ["p1", "p2", "p1", None, "p3", "p9"]
    events = [dict(e, person_id=p) if p else dict(e) for e, p in zip(EVENTS, pids)]
    order = [3, 0, 5, 1, 4, 2]
    events = [events[i] for i in order]
    t = table_flat(EVENTS).append_column("person_id", pa.array(pids)).take(pa.array(order))
    assert_same_store(tc.EventStore.from_records(events), tc.EventStore.from_arrow(t))


def _with_person_ids(pids, column):
    events = [dict(e, person_id=p) if p is not None else dict(e) for e, p in zip(EVENTS, pids)]
    return events, table_flat(EVENTS).append_column("person_id", column)


@pytest.mark.parametrize("kind", ["text", "dictionary", "chunks", "integers"])
def test_person_id_column_kinds_follow_from_records(kind):
    """The person_id column is encoded only at each distinct_id's latest row (``PersonIds``):
    text, dictionary-encoded, in several chunks or integers (ids as their decimal text), with
    nulls, the store is the record path's."""
    pids = ["p1", "p2", "p1", None, "p3", "p9"] if kind != "integers" else [7, 8, 7, None, 9, 10]
    col = {"text": lambda: pa.array(pids), "integers": lambda: pa.array(pids, pa.int64()),
           "dictionary": lambda: pa.array(pids).dictionary_encode(),
           "chunks": lambda: pa.chunked_array([pa.array(pids[:2]), pa.array(pids[2:])])}[kind]()
    events, t = _with_person_ids(pids, col)
    assert_same_store(tc.EventStore.from_records(events), tc.EventStore.from_arrow(t))
    persons = [{"id": "p1" if kind != "integers" else "7", "distinct_ids": ["x"], "properties": {"plan": "pro"}}]
    assert_same_store(tc.EventStore.from_records(events, persons=persons), tc.EventStore.from_arrow(t, persons=persons))


def test_person_id_column_of_nulls_is_no_person_id():
    events, t = _with_person_ids([None] * 6, pa.nulls(6))
    assert_same_store(tc.EventStore.from_records(events), tc.EventStore.from_arrow(t))


@pytest.mark.parametrize("encode", [False, True])
def test_an_empty_person_id_names_its_first_row(encode):
    """``""`` is refused wherever it is (not only at the rows read), naming the first row — in a
    dictionary-encoded column too, whose dictionary may hold ``""`` unused before that row."""
    col = pa.array(["p1", None, "p2", "", "p3", ""])
    if encode:
        col = col.dictionary_encode()
    with pytest.raises(tc.ValidationError) as info:
        tc.EventStore.from_arrow(table_flat(EVENTS).append_column("person_id", col))
    assert info.value.path == ("events", 3, "person_id")
    with pytest.raises(tc.ValidationError) as info:
        tc.EventStore.from_arrow(table_flat(EVENTS).append_column("person_id", pa.array([1.5] * 6)))
    assert info.value.path == ("events", "person_id")


def test_missing_file(tmp_path):
    with pytest.raises(tc.ValidationError):
        tc.EventStore.from_parquet(tmp_path / "nope.parquet")


def _json_table(events):
    return pa.table({
        "event": pa.array([e["event"] for e in events], pa.string()),
        "distinct_id": pa.array([str(e["distinct_id"]) for e in events], pa.string()),
        "timestamp": pa.array([e["timestamp"] for e in events]),
        "properties": pa.array([json.dumps(e.get("properties") or {}) for e in events], pa.string()),
    })


CASES = [c for c in load_cases() if c["events"]
         and all(isinstance(e.get("timestamp"), str) and isinstance(e.get("distinct_id"), (str, int))
                 and not isinstance(e.get("distinct_id"), bool) for e in c["events"])]


@pytest.mark.parametrize("case", CASES[::4], ids=lambda c: c["name"] if "name" in c else None)
def test_conformance_inputs_build_identically(case):
    """Every (fourth) conformance input: JSON-properties Arrow table ≡ records, and the same
    trends answer."""
    a = tc.EventStore.from_records(case["events"], persons=case.get("persons"), groups=case.get("groups"))
    b = tc.EventStore.from_arrow(_json_table(case["events"]), persons=case.get("persons"), groups=case.get("groups"))
    assert_same_store(a, b)


def test_dictionary_columns_with_unused_entries_and_nulls():
    base = table_flat(EVENTS)
    browsers = base.column("properties.$browser").to_pylist()
    dictionary = pa.array(["Unused", "Chrome", "Safari", ""])
    indices = pa.array([None if b is None else ["Unused", "Chrome", "Safari", ""].index(b) for b in browsers], pa.int32())
    encoded = pa.chunked_array([pa.DictionaryArray.from_arrays(indices[:3], dictionary),
                                pa.DictionaryArray.from_arrays(indices[3:], dictionary)])
    t = base.set_column(base.column_names.index("properties.$browser"), "properties.$browser", encoded)
    store = tc.EventStore.from_arrow(t)
    assert_same_store(tc.EventStore.from_arrow(base), store)
    assert "Unused" not in store.properties["$browser"].dictionary.values


def test_parquet_dictionary_with_unused_values(tmp_path):
    d = pa.DictionaryArray.from_arrays(pa.array([1, 1, 2, 1, 2, 1], pa.int32()), pa.array(["unused", "Chrome", "Safari"]))
    t = table_flat(EVENTS).drop_columns(["properties.$browser"]).append_column("properties.$browser", d)
    pq.write_table(t, tmp_path / "e.parquet")
    store = tc.EventStore.from_parquet(tmp_path / "e.parquet")
    assert store.properties["$browser"].dictionary.values == ("Chrome", "Safari")


def test_empty_table_uuid_and_groups_table(tmp_path):
    empty = pa.table({"event": pa.array([], pa.string()), "distinct_id": pa.array([], pa.string()),
                      "timestamp": pa.array([], pa.timestamp("us", "UTC"))})
    assert len(tc.EventStore.from_arrow(empty)) == 0
    events = [dict(e, uuid=f"u{i}", properties={**e.get("properties", {}), "$group_0": "acme"})
              for i, e in enumerate(EVENTS)]
    groups = [{"group_type_index": 0, "group_key": "acme", "properties": {"industry": "tech"}}]
    t = table_flat(events).append_column("uuid", pa.array([e["uuid"] for e in events]))
    gt = pa.table({"group_type_index": [0], "group_key": ["acme"], "properties.industry": ["tech"]})
    a = tc.EventStore.from_records(events, groups=groups)
    b = tc.EventStore.from_arrow(t, groups=gt)
    assert_same_store(a, b)
    assert list(a.uuid) == list(b.uuid)
    assert a.groups[0].column("industry").dictionary.values == b.groups[0].column("industry").dictionary.values


def test_persons_as_a_json_lines_path_with_parquet_events(tmp_path):
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(p) for p in PERSONS))
    pq.write_table(table_flat(EVENTS), tmp_path / "e.parquet")
    assert_same_store(tc.EventStore.from_records(EVENTS, persons=PERSONS),
                      tc.EventStore.from_parquet(tmp_path / "e.parquet", persons=tmp_path / "p.jsonl"))


# --- from_parquet's column-by-column read ---------------------------------------------------


def assert_identical(x: tc.EventStore, y: tc.EventStore) -> None:
    """The same arrays: codes, dictionaries and their order, distinct_ids, persons."""
    for a in ("ts", "event", "distinct_id", "distinct_ids"):
        np.testing.assert_array_equal(getattr(x, a), getattr(y, a), err_msg=a)
    assert x.event_names == y.event_names
    for px, py in ((x.properties, y.properties), (x.persons.properties, y.persons.properties)):
        assert list(px) == list(py)
        for k in px:
            np.testing.assert_array_equal(px[k].codes, py[k].codes, err_msg=k)
            assert px[k].dictionary.values == py[k].dictionary.values, k
            assert [type(v) for v in px[k].dictionary.values] == [type(v) for v in py[k].dictionary.values], k
    for a in ("ids", "created_at", "person_of_distinct_id", "synthetic"):
        np.testing.assert_array_equal(getattr(x.persons, a), getattr(y.persons, a), err_msg=a)


def _row_group_events(n: int = 60) -> pa.Table:
    """Row groups of 7 rows with differing dictionaries, nulls, unused Arrow dictionary entries,
    person_ids some of which no persons row has, rows out of time order, an ignored column."""
    rng = np.random.default_rng(3)
    browsers = ["Chrome", "Safari", "Firefox", None, ""]
    words = ["unused", "x", "y", "z"]
    return pa.table({
        "event": pa.array([["$pageview", "purchase", "signup"][i] for i in rng.integers(0, 3, n)]),
        "distinct_id": pa.array([f"d{i}" for i in rng.integers(0, 15, n)]),
        "timestamp": pa.array(1_700_000_000_000_000 + rng.integers(0, 10**9, n), pa.timestamp("us", "UTC")),
        "person_id": pa.array([None if i == 0 else f"p{i}" for i in rng.integers(0, 9, n)]),
        "properties.$browser": pa.array([browsers[i] for i in rng.integers(0, 5, n)]),
        "properties.w": pa.DictionaryArray.from_arrays(pa.array(rng.integers(1, 4, n), pa.int32()), pa.array(words)),
        "properties.revenue": pa.array([None if i % 3 else float(i) for i in rng.integers(0, 30, n)]),
        "properties.n": pa.array(rng.integers(0, 4, n)),
        "ignored": pa.array(range(n)),
    })


def test_parquet_read_by_column_builds_the_whole_file_store(tmp_path):
    t = _row_group_events()
    persons = pa.table({"id": ["p3", "p1", "p7"], "properties.plan": ["pro", None, "free"]})
    pq.write_table(t, tmp_path / "e.parquet", row_group_size=7)
    pq.write_table(persons, tmp_path / "p.parquet")
    got = tc.EventStore.from_parquet(tmp_path / "e.parquet", persons=tmp_path / "p.parquet")
    want = tc.EventStore.from_arrow(pq.read_table(tmp_path / "e.parquet"), persons=persons)
    assert_identical(got, want)
    assert "unused" not in got.properties["w"].dictionary.values


def test_parquet_nested_columns_are_read_whole(tmp_path):
    t = pa.table({"event": ["a", "b"], "distinct_id": ["u", "v"],
                  "timestamp": pa.array([1, 2], pa.timestamp("s")),
                  "properties": pa.array([{"k": 1}, {"k": None}])})
    pq.write_table(t, tmp_path / "e.parquet")
    assert_identical(tc.EventStore.from_parquet(tmp_path / "e.parquet"), tc.EventStore.from_arrow(t))


def test_parquet_bad_value_names_the_row_and_read_errors_come_first(tmp_path):
    t = _row_group_events(20)
    events = t.column("event").to_pylist()
    events[9] = None
    t = t.set_column(0, "event", pa.array(events))
    pq.write_table(t, tmp_path / "e.parquet", row_group_size=7)
    with pytest.raises(tc.ValidationError) as e:
        tc.EventStore.from_parquet(tmp_path / "e.parquet")
    assert e.value.path == ("events", 9, "event")
    with pytest.raises(tc.ValidationError) as e:
        tc.EventStore.from_parquet(tmp_path / "e.parquet", persons=tmp_path / "nope.parquet")
    assert e.value.path == ("persons",)
    with pytest.raises(tc.ValidationError) as e:
        tc.EventStore.from_parquet(tmp_path / "e.parquet", limits="no")
    assert e.value.path == ("limits",)


def test_mostly_null_columns_keep_rows_and_errors():
    t = table_flat(EVENTS)
    n = t.num_rows
    vals = [None] * n
    vals[4] = float("inf")
    bad = t.append_column("properties.x", pa.array(vals, pa.float64()))
    with pytest.raises(tc.ValidationError) as e:
        tc.EventStore.from_arrow(bad)
    assert e.value.path == ("events", 4, "properties.x")
    a = tc.EventStore.from_arrow(t.append_column("properties.x", pa.array([None, "s", None, None, "t", None])))
    recs = [dict(e, properties={**e["properties"], **({"x": v} if v is not None else {})})
            for e, v in zip(EVENTS, [None, "s", None, None, "t", None])]
    assert_same_store(tc.EventStore.from_records(recs), a)


def test_dictionary_chunks_used_entries_found_late_and_across_dictionaries():
    """Entries first used late in a long chunk, or only by a later chunk sharing the dictionary,
    stay; entries no chunk uses go; the order is that of the unified dictionaries."""
    from trendcalc.store.arrow import _dictionary_codes

    a = pa.array(["u", "x", "y", "late", "never"])
    b = pa.array(["z", "y", "b-never", "x"])
    n = 20_000
    first = np.ones(n, np.int32)
    first[n - 3] = 3  # "late", only near the end of a long chunk
    first[7] = 2
    chunks = [pa.DictionaryArray.from_arrays(pa.array(first), a),
              pa.DictionaryArray.from_arrays(pa.array([0, None, 3, 1], pa.int32()), b),
              pa.DictionaryArray.from_arrays(pa.array([0, None], pa.int32()), a)]  # "u": a later chunk only
    values, codes = _dictionary_codes(pa.chunked_array(chunks))
    assert values.to_pylist() == ["u", "x", "y", "late", "z"]
    want = [values.to_pylist().index(v) if v is not None else -1
            for v in pa.chunked_array([c.cast(pa.string()) for c in chunks]).to_pylist()]
    assert codes.tolist() == want


def test_column_reader_hands_a_column_over_once_and_rereads_after(tmp_path):
    from trendcalc.store.arrow import _ColumnReader

    t = _row_group_events(30)
    pq.write_table(t, tmp_path / "e.parquet", row_group_size=7)
    reader = _ColumnReader.open(tmp_path / "e.parquet", "events", [])
    first = reader.column("distinct_id")
    again = reader.column("distinct_id")
    assert first.to_pylist() == again.to_pylist() == t.column("distinct_id").to_pylist()
    reader.raise_read_error()


def test_fixed_width_ids_build_the_store_hashing_builds(monkeypatch):
    """Dictionaries of fixed-width ids unified by sorting (store/fixedkeys.py) give the store
    Arrow's hashing gives."""
    from trendcalc.store import fixedkeys

    rng = np.random.default_rng(5)
    n = 40_000
    ids = [f"d{x:07x}" for x in rng.integers(0, 30_000, n)]
    sessions = [f"s{x:08x}" for x in rng.integers(0, 20_000, n)]

    def chunked(values):
        return pa.chunked_array([pa.array(values[i:i + 7_000]).dictionary_encode() for i in range(0, n, 7_000)])

    t = pa.table({"event": pa.array(["$pageview"] * n), "distinct_id": chunked(ids),
                  "timestamp": pa.array(rng.integers(0, 10**9, n), pa.timestamp("s")),
                  "person_id": chunked([f"p{x[1:]}" for x in ids]), "properties.$session_id": chunked(sessions)})
    monkeypatch.setattr(fixedkeys, "MIN_ROWS", 1)
    sorted_ = tc.EventStore.from_arrow(t)
    monkeypatch.setattr(fixedkeys, "MIN_ROWS", 10**12)
    hashed = tc.EventStore.from_arrow(t)
    assert_identical(sorted_, hashed)


def test_persons_parquet_read_through_parquet_file_or_whole(tmp_path):
    """A flat persons file is read through ParquetFile, a nested one through read_table; both
    give the store from_arrow gives with the table."""
    from trendcalc.store.arrow import _read_parquet_file

    flat = pa.table({"id": ["p3", "p1"], "properties.plan": ["pro", None]})
    nested = pa.table({"id": ["p3", "p1"], "properties": pa.array([{"plan": "pro"}, {"plan": None}])})
    pq.write_table(flat, tmp_path / "flat.parquet", row_group_size=1)
    pq.write_table(nested, tmp_path / "nested.parquet")
    (tmp_path / "dir.parquet").mkdir()
    pq.write_table(flat, tmp_path / "dir.parquet" / "part.parquet")
    assert _read_parquet_file(tmp_path / "flat.parquet", "persons").to_pylist() == flat.to_pylist()
    assert _read_parquet_file(tmp_path / "nested.parquet", "persons").to_pylist() == nested.to_pylist()
    # a directory is a data set in parts (store/parquet_files.py), read whole
    assert _read_parquet_file(tmp_path / "dir.parquet", "persons").to_pylist() == flat.to_pylist()
    t = _row_group_events()
    pq.write_table(t, tmp_path / "e.parquet", row_group_size=7)
    for name, table in (("flat", flat), ("nested", nested)):
        assert_identical(tc.EventStore.from_parquet(tmp_path / "e.parquet", persons=tmp_path / f"{name}.parquet"),
                         tc.EventStore.from_arrow(t, persons=table))


def test_parquet_build_does_not_import_pandas(tmp_path):
    """Arrow imports pandas (when installed) on its first to_numpy, Python scalar or dataset read:
    ~0.15 s of a fresh process the build no longer pays."""
    import subprocess
    import sys

    t = _row_group_events()
    pq.write_table(t, tmp_path / "e.parquet", row_group_size=7)
    pq.write_table(pa.table({"id": ["p3", "p1"], "properties.plan": ["pro", None]}), tmp_path / "p.parquet")
    code = ("import sys, trendcalc as tc; "
            f"s = tc.EventStore.from_parquet({str(tmp_path / 'e.parquet')!r}, persons={str(tmp_path / 'p.parquet')!r}); "
            "print(len(s), 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": __import__("os").pathsep.join(sys.path)})
    assert out.stdout.split() == [str(t.num_rows), "False"]


def test_jsonl_build_with_person_ids_does_not_import_pandas(tmp_path):
    """The person_id check (``PersonIds``: no ``""`` anywhere) compares in NumPy: a Python
    scalar given to Arrow's compute would import pandas, ~0.2 s of a fresh process."""
    import subprocess
    import sys

    lines = [{"event": "e", "distinct_id": f"u{i % 5}", "timestamp": f"2024-03-0{1 + i % 9}T00:00:00Z",
              **({"person_id": f"p{i % 3}"} if i % 4 else {}), "properties": {"n": i}} for i in range(40)]
    (tmp_path / "e.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    code = ("import sys, trendcalc as tc; "
            f"s = tc.EventStore.from_jsonl({str(tmp_path / 'e.jsonl')!r}); "
            "print(len(s), len(set(s.person.tolist())), 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": __import__("os").pathsep.join(sys.path)})
    assert out.stdout.split() == ["40", "3", "False"]
