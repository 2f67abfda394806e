"""Saved stores from someone else: a store cannot read outside its directory, cannot block or read
without end, cannot crash a query with inconsistent arrays, and a loaded store is self-contained.
Each test is one class of attack from issue #19 (SECURITY.md §9 names them)."""

from __future__ import annotations

import hashlib
import io
import json
import mmap
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import trendcalc as tc
from tests.fuzz.support import hang_guard
from trendcalc.store.persist import MANIFEST

NOW = "2024-03-05T12:00:00Z"
EVENTS = [
    {"event": "$pageview", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z", "properties": {"$browser": "Chrome"}},
    {"event": "$pageview", "distinct_id": "u2", "timestamp": "2024-03-02T10:00:00Z", "properties": {"$browser": "Safari"}},
    {"event": "sign up", "distinct_id": "u1", "timestamp": "2024-03-02T11:00:00Z", "properties": {"plan": "pro"}},
]
OTHER = [{**e, "distinct_id": "tenant-b", "properties": {"$browser": "Firefox"}} for e in EVENTS]
PERSONS = [{"distinct_ids": ["u1"], "properties": {"plan": "pro"}, "created_at": "2024-01-01"}]
GROUPS = [{"group_type_index": 0, "group_key": "acme", "properties": {"size": 10}}]
QUERY = {"events": [{"id": "$pageview"}, {"id": "sign up"}], "breakdown": "$browser", "date_from": "2024-03-01",
         "date_to": "2024-03-03"}


def answer(store: tc.EventStore) -> list[dict]:
    return tc.trends(store, QUERY, now=NOW).to_dicts()


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    return tc.EventStore.from_records(EVENTS, persons=PERSONS, groups=GROUPS).save(tmp_path / "a")


def manifest(path: Path) -> dict:
    return json.loads((path / MANIFEST).read_bytes())


def write_manifest(path: Path, m: dict) -> None:
    (path / MANIFEST).write_text(json.dumps(m))


def replace_file(path: Path, name: str, data: bytes) -> None:
    """Rewrite one file and make the manifest agree (size, sha256, dtype and shape): only the
    invariants can catch what this writes."""
    (path / name).write_bytes(data)
    m = manifest(path)
    meta = m["files"][name]
    meta.update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    if name.endswith(".npy"):
        arr = np.load(io.BytesIO(data), allow_pickle=False)
        meta.update(dtype=arr.dtype.str, shape=list(arr.shape))
    write_manifest(path, m)


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def load_error(path: Path, match: str, *, verify: bool = False) -> None:
    with hang_guard(10), pytest.raises(tc.StoreFormatError, match=match):
        tc.EventStore.load(path, verify=verify)


# --- files outside the directory --------------------------------------------------------------------
@pytest.mark.parametrize("verify", [False, True])
def test_symlink_to_another_stores_file_is_refused(saved: Path, tmp_path: Path, verify: bool) -> None:
    other = tc.EventStore.from_records(OTHER).save(tmp_path / "b")
    assert (saved / "ts.npy").stat().st_size == (other / "ts.npy").stat().st_size  # sizes agree
    os.remove(saved / "ts.npy")
    os.symlink(other / "ts.npy", saved / "ts.npy")
    load_error(saved, r"ts\.npy: is a symbolic link", verify=verify)


def test_symlink_inside_the_store_is_refused_too(saved: Path) -> None:
    os.remove(saved / "distinct_id.npy")
    os.symlink("event.npy", saved / "distinct_id.npy")  # relative, to a sibling of the same size
    load_error(saved, r"distinct_id\.npy: is a symbolic link")


@pytest.mark.parametrize("verify", [False, True])
def test_dev_zero_cannot_be_read_forever(saved: Path, verify: bool) -> None:
    m = manifest(saved)
    os.remove(saved / "ep0.values.json")
    os.symlink("/dev/zero", saved / "ep0.values.json")
    m["files"]["ep0.values.json"]["bytes"] = 0
    write_manifest(saved, m)
    load_error(saved, r"ep0\.values\.json: is a symbolic link", verify=verify)


def test_fifo_cannot_block(saved: Path) -> None:
    os.remove(saved / "ep0.values.json")
    os.mkfifo(saved / "ep0.values.json")
    load_error(saved, r"ep0\.values\.json: not a regular file \(a FIFO\)")
    os.remove(saved / MANIFEST)
    os.mkfifo(saved / MANIFEST)
    load_error(saved, r"manifest\.json: not a regular file \(a FIFO\)")


def test_manifest_entry_naming_the_parent_directory(saved: Path) -> None:
    m = manifest(saved)
    m["files"][".."] = {"bytes": 4096, "sha256": "0" * 64}
    write_manifest(saved, m)
    load_error(saved, "invalid file name '..'", verify=True)


def test_a_store_symlinked_as_a_whole_is_the_callers_choice(saved: Path, tmp_path: Path) -> None:
    os.symlink(saved, tmp_path / "link")  # the path the caller passes may be a link; its files not
    assert answer(tc.EventStore.load(tmp_path / "link")) == answer(tc.EventStore.load(saved))


# --- malformed manifests and files ------------------------------------------------------------------
def test_deep_manifest(saved: Path) -> None:
    (saved / MANIFEST).write_text("[" * 100_000 + "]" * 100_000)
    load_error(saved, "manifest.json: invalid JSON: nested too deeply")


def test_huge_manifest_is_not_read(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trendcalc.store.persist as persist

    monkeypatch.setattr(persist, "MAX_MANIFEST_BYTES", 100)
    load_error(saved, r"manifest\.json: has \d+ bytes, more than the 100")


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: m.update(events="3"), r"events: expected int, got str"),
        (lambda m: m.update(events=True), r"events: expected int, got bool"),
        (lambda m: m.update(events=-1), r"events: expected a count"),
        (lambda m: m.update(persons=[]), r"persons: expected dict, got list"),
        (lambda m: m.update(groups={"0": {}}), r"groups: expected list"),
        (lambda m: m["groups"][0].update(group_type_index=9), r"group_type_index: 9 is not a new index"),
        (lambda m: m["event_properties"][0].update(codes=7), r"codes: expected str, got int"),
        (lambda m: m["event_properties"].append(m["event_properties"][0]), r"appears twice"),
        (lambda m: m["files"]["ts.npy"].update(bytes=None), r"bytes: expected int"),
        (lambda m: m.update(ts="nope.npy"), r"names a file the manifest does not list"),
        (lambda m: m.update(version=[1] * 10**4), r"store format version \[1, 1, 1"),
    ],
)
def test_manifest_fields_of_the_wrong_type(saved: Path, edit, match: str) -> None:
    m = manifest(saved)
    edit(m)
    write_manifest(saved, m)
    load_error(saved, match)


def test_npz_in_place_of_a_column(tmp_path: Path) -> None:
    path = tc.EventStore.from_records(EVENTS).save(tmp_path / "s")
    buf = io.BytesIO()
    np.savez(buf, ts=np.zeros(3, dtype=np.int64))
    data = buf.getvalue()
    (path / "ts.npy").write_bytes(data)
    m = manifest(path)
    m["files"]["ts.npy"].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    write_manifest(path, m)
    load_error(path, r"ts\.npy: unreadable column")  # (np.load would have returned an NpzFile)


def test_object_and_wrong_kind_columns(saved: Path) -> None:
    replace_file(saved, "ts.npy", npy(np.zeros(3, dtype=np.float64)))
    load_error(saved, r"ts\.npy: holds <f8: expected a column of kind 'i'")


def test_ingest_report_of_the_wrong_shape(saved: Path) -> None:
    replace_file(saved, "ingest_report.json", b"[1, 2]")
    load_error(saved, r"ingest_report\.json: expected dict, got list")
    replace_file(saved, "ingest_report.json", b'{"skipped": [1]}')
    load_error(saved, "inconsistent store")


def test_deep_dictionary_is_an_error_at_first_use(saved: Path) -> None:
    replace_file(saved, "ep0.values.json", b"[" * 100_000 + b"]" * 100_000)
    store = tc.EventStore.load(saved)
    with pytest.raises(tc.StoreFormatError, match="ep0.values.json: invalid JSON: nested too deeply"):
        answer(store)


# --- checksum-consistent stores whose arrays disagree -----------------------------------------------
def test_property_codes_beyond_the_dictionary(saved: Path) -> None:
    replace_file(saved, "ep0.codes.npy", npy(np.array([0, 5, -1], dtype=np.int32)))
    store = tc.EventStore.load(saved, verify=True)  # checksums agree
    with pytest.raises(tc.StoreFormatError, match=r"ep0\.codes\.npy: row 1: code 5 outside -1\.\.1"):
        answer(store)


def test_person_property_codes_below_minus_one(saved: Path) -> None:
    replace_file(saved, "pp0.codes.npy", npy(np.array([-7] * len(tc.EventStore.load(saved).persons), dtype=np.int32)))
    store = tc.EventStore.load(saved)
    with pytest.raises(tc.StoreFormatError, match=r"pp0\.codes\.npy: row 0: code -7"):
        tc.trends(store, {**QUERY, "breakdown": "plan", "breakdown_type": "person"}, now=NOW)


@pytest.mark.parametrize(
    "name, arr, match",
    [
        ("event.npy", np.array([0, 0, 2], dtype=np.int32), r"event\.npy: row 2: event code 2 outside 0\.\.1"),
        ("event.npy", np.array([1, 0, 0], dtype=np.int32), r"event\.npy: rows are not ordered by event"),
        ("ts.npy", np.array([2, 1, 3], dtype=np.int64) * 10**15, r"ts\.npy: row 1: timestamps of one event are not in order"),
        ("ts.npy", np.array([1, 2, 2**62], dtype=np.int64), r"ts\.npy: holds a time outside years 1900\.\.2299"),
        ("distinct_id.npy", np.array([0, 1, 9], dtype=np.int32), r"distinct_id code 9 outside 0\.\.1"),
        ("distinct_id.npy", np.array([0, 1], dtype=np.int32), r"distinct_id\.npy: expected 3 distinct_id codes, got 2"),
        ("persons.of_distinct_id.npy", np.array([0, 7], dtype=np.int32), r"person row 7 outside"),
        ("persons.synthetic.npy", np.array([0, 1], dtype=np.int8), r"holds \|i1: expected a column of kind 'b'"),
        ("persons.created_at.npy", np.array([2**62, 0], dtype=np.int64), r"holds a time outside years"),
        ("ep0.codes.npy", np.array([0, 1], dtype=np.int32), r"ep0\.codes\.npy: expected 3 codes, got 2"),
        ("g0.created_at.npy", np.zeros(5, dtype=np.int64), r"g0\.created_at\.npy: expected 1 created_at, got 5"),
    ],
)
def test_inconsistent_arrays_are_found_at_load(saved: Path, name: str, arr: np.ndarray, match: str) -> None:
    replace_file(saved, name, npy(arr))
    load_error(saved, match, verify=True)


@pytest.mark.parametrize(
    "name, data, match",
    [
        ("event_names.json", b'["$pageview", "$pageview"]', "event names are not unique"),
        ("event_names.json", b'["$pageview", 7]', r"\[1\]: expected a string, got int"),
        ("event_names.json", b'{"a": 1}', "expected a list"),
        ("distinct_ids.json", b'["u1"]', r"distinct_id\.npy: row 1: distinct_id code 1 outside 0\.\.0"),
        ("g0.keys.json", b'["acme", "acme"]', "group keys are not unique"),
    ],
)
def test_inconsistent_lists_are_found_at_load(saved: Path, name: str, data: bytes, match: str) -> None:
    replace_file(saved, name, data)
    load_error(saved, match)


# --- a loaded store is self-contained ---------------------------------------------------------------
def _big_store(n: int = 140_000) -> tc.EventStore:
    """A store whose ts column is larger than storefiles.SMALL, so it is memory-mapped."""
    pa = pytest.importorskip("pyarrow")
    start = 1709287200
    return tc.EventStore.from_arrow(pa.table({
        "event": ["$pageview", "sign up"] * (n // 2),
        "distinct_id": [f"u{i % 500}" for i in range(n)],
        "timestamp": pa.array([start + i for i in range(n)], pa.timestamp("s")),
        "properties.$browser": [f"b{i % 7}" for i in range(n)],
    }))


@pytest.mark.parametrize("big", [False, True])
def test_replacing_the_directory_does_not_break_a_loaded_store(tmp_path: Path, big: bool) -> None:
    original = _big_store() if big else tc.EventStore.from_records(EVENTS)
    path = original.save(tmp_path / "s")
    loaded = tc.EventStore.load(path)  # no dictionary decoded yet
    if big:
        assert isinstance(loaded.ts.base, memoryview) and isinstance(loaded.ts.base.obj, mmap.mmap)
    tc.EventStore.from_records(OTHER).save(path, overwrite=True)  # the documented refresh
    assert answer(loaded) == answer(original)
    assert answer(tc.EventStore.load(path)) == answer(tc.EventStore.from_records(OTHER))
    shutil.rmtree(path)  # even with the directory gone
    assert loaded.column("$browser").dictionary.values == original.column("$browser").dictionary.values


# --- read-only arrays (SECURITY.md §7) ---------------------------------------------------------------
def _arrays(store: tc.EventStore) -> dict[str, np.ndarray]:
    out = {"ts": store.ts, "event": store.event, "distinct_id": store.distinct_id, "distinct_ids": store.distinct_ids,
           "person": store.person, "offsets": store.offsets, "persons.ids": store.persons.ids,
           "persons.created_at": store.persons.created_at, "persons.person_of_distinct_id": store.persons.person_of_distinct_id,
           "persons.synthetic": store.persons.synthetic}
    for k, col in store.properties.items():
        out[f"properties[{k}]"] = col.codes
    for k, col in store.persons.properties.items():
        out[f"persons.properties[{k}]"] = col.codes
    for gti, g in store.groups.items():
        out[f"groups[{gti}].keys"] = g.keys
        out[f"groups[{gti}].created_at"] = g.created_at
        for k, col in g.properties.items():
            out[f"groups[{gti}].properties[{k}]"] = col.codes
    return out


@pytest.mark.parametrize("how", ["records", "loaded", "arrow"])
def test_store_arrays_are_read_only(tmp_path: Path, how: str) -> None:
    store = tc.EventStore.from_records(EVENTS, persons=PERSONS, groups=GROUPS)
    if how == "loaded":
        store = tc.EventStore.load(store.save(tmp_path / "s"))
    elif how == "arrow":
        pa = pytest.importorskip("pyarrow")
        store = tc.EventStore.from_arrow(pa.Table.from_pylist([{**{k: v for k, v in e.items() if k != "properties"},
                                                                **{f"properties.{k}": v for k, v in e["properties"].items()}}
                                                               for e in EVENTS]), persons=PERSONS, groups=GROUPS)
    before = answer(store)
    arrays = _arrays(store)
    assert len(arrays) >= 14
    for name, arr in arrays.items():
        assert isinstance(arr, np.ndarray) and not arr.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            arr[:1] = arr[:1]
    assert answer(store) == before
