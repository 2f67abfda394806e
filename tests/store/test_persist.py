"""save/load: identical answers, memory-mapped columns, atomic writes, clear errors on bad dirs."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import trendcalc as tc
from tests.conformance.harness import load_cases
from trendcalc.store.persist import MANIFEST, LazyValueDictionary

NOW = "2024-03-05T12:00:00Z"
EVENTS = [
    {"event": "$pageview", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z", "uuid": "a",
     "properties": {"$browser": "Chrome", "n": 1, "x": [1, {"k": None}], "$group_0": "acme"}},
    {"event": "$pageview", "distinct_id": "u2", "timestamp": "2024-03-02T10:00:00Z",
     "properties": {"$browser": "Safari", "n": 1.0, "b": True}},
    {"event": "sign up", "distinct_id": "anon", "timestamp": "2024-03-02T11:00:00Z", "properties": {"n": "1"}},
]
PERSONS = [{"distinct_ids": ["u1", "anon"], "id": 7, "properties": {"plan": "pro"}, "created_at": "2024-01-01"}]
GROUPS = [{"group_type_index": 0, "group_key": "acme", "properties": {"size": 10}, "created_at": "2023-01-01"}]
QUERY = {"events": [{"id": "$pageview"}, {"id": "sign up", "math": "dau"}], "date_from": "2024-03-01",
         "date_to": "2024-03-03", "breakdown": "plan", "breakdown_type": "person"}


@pytest.fixture
def store():
    return tc.EventStore.from_records(EVENTS, persons=PERSONS, groups=GROUPS)


def answer(store, case):
    project = tc.Project.from_dict({**case["project"], "actions": case.get("actions", []), "cohorts": case.get("cohorts", [])})
    query = case["query"] if case["query_kind"].endswith("_query") else case["filter"]  # tc.trends routes the other insights
    try:
        return tc.trends(store, query, project=project, now=case["now"]).to_dicts()
    except Exception as exc:  # the same error, whatever it is, is the same answer
        return (type(exc).__name__, str(exc))


def test_round_trip_answers_every_conformance_query(tmp_path):
    """Every conformance case (persons, groups, cohorts, breakdowns, ...) answers identically
    from the loaded store, errors included."""
    cases = [c for c in load_cases() if c["query_kind"] != "actors" and not c.get("expect_error")]
    assert len(cases) > 150
    answered = 0
    for i, case in enumerate(cases):
        built = tc.EventStore.from_records(case["events"], persons=case.get("persons"), groups=case.get("groups"))
        loaded = tc.EventStore.load(built.save(tmp_path / f"s{i}", durable=False))
        want = answer(built, case)
        assert answer(loaded, case) == want, case["id"]
        answered += isinstance(want, list)
    assert answered > 80  # most cases produce numbers, not errors


def test_round_trip_values_and_types(store, tmp_path):
    loaded = tc.EventStore.load(store.save(tmp_path / "s"))
    assert not loaded.ts.flags.writeable  # small files are read, large ones mapped (test_store_hardening)
    assert loaded.event_names == store.event_names
    for key, col in store.properties.items():
        got = loaded.column(key)
        assert np.array_equal(got.codes, col.codes)
        assert got.dictionary.values == col.dictionary.values
        assert [type(v) for v in got.dictionary.values] == [type(v) for v in col.dictionary.values]  # 1 ≠ 1.0 ≠ "1"
    assert loaded.persons.ids.tolist() == store.persons.ids.tolist() == [7, None]  # u2 is a person of its own
    assert np.array_equal(loaded.persons.created_at, store.persons.created_at)
    assert loaded.groups[0].column("size").value(0) == 10
    assert loaded.groups[0].created_at.tolist() == store.groups[0].created_at.tolist()
    assert list(loaded.uuid) == store.uuid.tolist() and len(loaded.uuid) == 3
    assert tc.trends(loaded, QUERY, now=NOW).to_dicts() == tc.trends(store, QUERY, now=NOW).to_dicts()
    assert loaded.ingest_report == store.ingest_report


def test_dictionaries_are_decoded_on_first_use(store, tmp_path):
    loaded = tc.EventStore.load(store.save(tmp_path / "s"))
    d = loaded.column("$browser").dictionary
    assert isinstance(d, LazyValueDictionary) and len(d) == 2
    os.remove(tmp_path / "s" / "ep0.values.json")  # gone after load: the loaded store holds it
    assert d.text().tolist() == ["Chrome", "Safari", None]


def test_save_writes_every_constructor_argument():
    """A new EventStore field must be persisted too: this fails until persist.py knows it."""
    params = set(inspect.signature(tc.EventStore.__init__).parameters) - {"self"}
    assert params == {"ts", "event", "event_names", "distinct_id", "distinct_ids", "properties", "persons", "groups", "uuid"}


def test_empty_store(tmp_path):
    empty = tc.EventStore.from_records([])
    loaded = tc.EventStore.load(empty.save(tmp_path / "e"))
    assert len(loaded) == 0 and loaded.uuid is None
    assert tc.trends(loaded, QUERY, now=NOW).to_dicts() == tc.trends(empty, QUERY, now=NOW).to_dicts()


def test_overwrite_rules(store, tmp_path):
    target = tmp_path / "s"
    store.save(target)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        store.save(target)
    small = tc.EventStore.from_records(EVENTS[:1])
    small.save(target, overwrite=True)
    assert len(tc.EventStore.load(target)) == 1
    other = tmp_path / "not-a-store"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a saved trendcalc store"):
        store.save(other, overwrite=True)
    assert (other / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-store", "s"]  # no leftovers


def test_overwrite_the_store_being_read(store, tmp_path):
    loaded = tc.EventStore.load(store.save(tmp_path / "s"))
    loaded.save(tmp_path / "s", overwrite=True)  # reads its own memory maps while writing
    again = tc.EventStore.load(tmp_path / "s", verify=True)
    assert tc.trends(again, QUERY, now=NOW).to_dicts() == tc.trends(store, QUERY, now=NOW).to_dicts()


def test_failed_save_leaves_nothing(store, tmp_path, monkeypatch):
    import trendcalc.store.persist as persist

    old = tc.EventStore.from_records(EVENTS[:1])
    old.save(tmp_path / "s")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persist, "_columns", boom)
    with pytest.raises(OSError, match="No space"):
        store.save(tmp_path / "s", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
    assert len(tc.EventStore.load(tmp_path / "s", verify=True)) == 1  # the old store, intact


@pytest.mark.parametrize("kill_after", [1, 12, 24, 10_000])
def test_crash_mid_save_never_leaves_a_different_store(tmp_path, kill_after):
    """The process dies (os._exit) at the n-th fsync of an overwrite (of about 28): the target
    still loads as the old store (or, after the final rename, the new one), and a half-written
    directory beside it does not load at all."""
    script = textwrap.dedent(f"""
        import os, sys
        import trendcalc as tc
        import trendcalc.store.persist as persist
        old = tc.EventStore.from_records({EVENTS[:1]!r})
        old.save(sys.argv[1])
        new = tc.EventStore.from_records({EVENTS!r}, persons={PERSONS!r}, groups={GROUPS!r})
        calls = 0
        real = os.fsync
        def fsync(fd):
            global calls
            calls += 1
            if calls == {kill_after}:
                os._exit(3)
            real(fd)
        persist.os.fsync = fsync
        new.save(sys.argv[1], overwrite=True)
        print(calls)
    """)
    target = tmp_path / "s"
    proc = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True, text=True)
    if kill_after == 10_000:  # no crash: count the fsyncs, so the other cases are known to be mid-save
        assert proc.returncode == 0 and int(proc.stdout) > 24, proc.stderr
        assert len(tc.EventStore.load(target, verify=True)) == 3
        return
    assert proc.returncode == 3, proc.stderr
    assert len(tc.EventStore.load(target, verify=True)) == 1
    leftovers = [p for p in tmp_path.iterdir() if p.name != "s"]
    assert leftovers and all(p.name.startswith(".s.") for p in leftovers)
    for p in leftovers:
        with pytest.raises(tc.StoreFormatError):
            tc.EventStore.load(p)


# --- bad directories ------------------------------------------------------------------------------
def saved(store, tmp_path):
    return store.save(tmp_path / "s")


def test_not_a_store(tmp_path):
    with pytest.raises(tc.StoreFormatError, match="not a directory"):
        tc.EventStore.load(tmp_path / "missing")
    (tmp_path / "d").mkdir()
    with pytest.raises(tc.StoreFormatError, match="manifest.json: missing"):
        tc.EventStore.load(tmp_path / "d")
    (tmp_path / "d" / MANIFEST).write_text("{oops")
    with pytest.raises(tc.StoreFormatError, match="invalid JSON"):
        tc.EventStore.load(tmp_path / "d")
    (tmp_path / "d" / MANIFEST).write_text('{"format": "something-else"}')
    with pytest.raises(tc.StoreFormatError, match="not a trendcalc-store manifest"):
        tc.EventStore.load(tmp_path / "d")


def test_wrong_version(store, tmp_path):
    path = saved(store, tmp_path)
    m = json.loads((path / MANIFEST).read_text())
    m["version"] = 99
    (path / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(tc.StoreFormatError, match="store format version 99 .*this trendcalc reads version 1"):
        tc.EventStore.load(path)


def test_truncated_column(store, tmp_path):
    path = saved(store, tmp_path)
    data = (path / "ts.npy").read_bytes()
    (path / "ts.npy").write_bytes(data[:-8])
    with pytest.raises(tc.StoreFormatError, match=r"ts\.npy: has \d+ bytes, the manifest says \d+: truncated"):
        tc.EventStore.load(path)


def test_missing_file(store, tmp_path):
    path = saved(store, tmp_path)
    os.remove(path / "persons.synthetic.npy")
    with pytest.raises(tc.StoreFormatError, match="persons.synthetic.npy: missing"):
        tc.EventStore.load(path)


def test_corrupted_column_found_with_verify(store, tmp_path):
    path = saved(store, tmp_path)
    data = bytearray((path / "ts.npy").read_bytes())
    data[-2] ^= 0x01  # same size, different bytes
    (path / "ts.npy").write_bytes(bytes(data))
    tc.EventStore.load(path)  # the cheap checks cannot see it
    with pytest.raises(tc.StoreFormatError, match="ts.npy: checksum mismatch"):
        tc.EventStore.load(path, verify=True)


def test_corrupted_json_is_always_found(store, tmp_path):
    path = saved(store, tmp_path)
    data = (path / "event_names.json").read_bytes()
    (path / "event_names.json").write_bytes(data.replace(b"sign up", b"sign_up"))
    with pytest.raises(tc.StoreFormatError, match="event_names.json: checksum mismatch"):
        tc.EventStore.load(path)


def test_swapped_column_dtype(store, tmp_path):
    path = saved(store, tmp_path)
    np.save(path / "ts.npy", np.zeros(len(store), dtype=np.float64))  # same size, wrong dtype
    with pytest.raises(tc.StoreFormatError, match="ts.npy: holds <f8"):
        tc.EventStore.load(path)


def test_manifest_cannot_point_outside(store, tmp_path):
    path = saved(store, tmp_path)
    m = json.loads((path / MANIFEST).read_text())
    m["files"]["../x.npy"] = m["files"].pop("ts.npy")
    m["ts"] = "../x.npy"
    (path / MANIFEST).write_text(json.dumps(m))
    with pytest.raises(tc.StoreFormatError, match="invalid file name"):
        tc.EventStore.load(path)
