"""Streaming partitioning from files (``tc.partition(files, ...)``): the partitions answer as the
single store built from the same rows in one file, partitioned in memory — for Parquet, CSV and
JSON lines, several files and globs, persons whose distinct_ids are spread over files and whose
person_id changes — and peak memory is bounded by a partition, not by the data."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trendcalc as tc

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pcsv = pytest.importorskip("pyarrow.csv")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks.generate import generate  # noqa: E402

NOW = "2026-10-31T18:00:00Z"
QUERIES: list[dict[str, Any]] = [
    {"events": [{"id": "$pageview", "math": "dau"}, {"id": "purchase"}], "date_from": "-30d"},
    {"events": [{"id": "$pageview", "math": "weekly_active"}], "date_from": "-60d", "interval": "week"},
    {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d", "breakdown": "$browser"},
    {"events": [{"id": "$pageview"}], "date_from": "-14d", "breakdown": "$current_url", "breakdown_limit": 5},
    {"events": [{"id": "signed_in", "math": "first_time_for_user"}], "date_from": "-90d", "display": "ActionsPie",
     "breakdown": "plan", "breakdown_type": "person"},
    {"events": [{"id": "$pageview", "math": "monthly_active"}], "date_from": "-30d", "filter_test_accounts": True},
    {"events": [{"id": "purchase"}], "date_from": "-90d", "interval": "week",
     "properties": [{"key": "revenue", "value": 40, "operator": "gt", "type": "event"}]},
    {"events": [{"id": "$pageview", "math": "dau"}], "date_from": "-30d",
     "properties": [{"key": "plan", "value": ["pro", "enterprise"], "operator": "exact", "type": "person"}],
     "breakdown": "$geoip_country_code", "breakdown_limit": 4},
]
PROJECT = tc.Project(test_account_filters=[{"key": "email", "value": "@posthog.com", "operator": "not_icontains",
                                            "type": "person"}])
N_FILES = 3


def _events(n: int, seed: int) -> tuple[Any, Any]:
    """Generated events (time-ordered, so a person's distinct_ids fall in several files), with
    some distinct_ids whose latest events name another person (the latest-event rule decides)."""
    events, persons = generate(n, seed)
    pid = np.asarray(events.column("person_id").to_pylist(), dtype=object)
    did = np.asarray(events.column("distinct_id").to_pylist(), dtype=object)
    rng = np.random.default_rng(seed)
    movers = rng.choice(np.unique(did), 40, replace=False)
    others = np.asarray(persons.column("id").to_pylist(), dtype=object)
    for d in movers.tolist():
        rows = np.flatnonzero(did == d)
        pid[rows[len(rows) // 2:]] = others[rng.integers(len(others))]  # later events: another person
    events = events.set_column(events.column_names.index("person_id"), "person_id", pa.array(pid.tolist(), pa.string()))
    return events, persons


def _csv_table(table: Any) -> Any:
    """Text columns as a CSV holds them (numbers and timestamps written out)."""
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if name == "timestamp":
            col = pa.array([t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for t in col.to_pylist()])
        cols[name.removeprefix("properties.")] = col
    return pa.table(cols)


def _jsonl(table: Any) -> str:
    out = []
    for row in table.to_pylist():
        rec = {"event": row["event"], "distinct_id": row["distinct_id"], "person_id": row["person_id"],
               "timestamp": row["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
               "properties": {k.removeprefix("properties."): v for k, v in row.items()
                              if k.startswith("properties.") and v is not None}}
        out.append(json.dumps(rec) + "\n")
    return "".join(out)


def _write(table: Any, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path)
    elif fmt == "csv":
        pcsv.write_csv(_csv_table(table), path)
    else:
        path.write_text(_jsonl(table))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    events, persons = _events(12_000, 11)
    d = tmp_path_factory.mktemp("stream")
    pq.write_table(persons, d / "persons.parquet")
    cuts = np.linspace(0, events.num_rows, N_FILES + 1).astype(int)
    files: dict[str, list[Path]] = {}
    whole: dict[str, Path] = {}
    for fmt in ("parquet", "csv", "jsonl"):
        (d / fmt).mkdir()
        files[fmt] = []
        for i in range(N_FILES):
            p = d / fmt / f"events-{i:02d}.{fmt}"
            _write(events.slice(cuts[i], cuts[i + 1] - cuts[i]), p, fmt)
            files[fmt].append(p)
        whole[fmt] = d / f"all.{fmt}"
        _write(events, whole[fmt], fmt)
    return {"dir": d, "files": files, "whole": whole, "persons": d / "persons.parquet", "events": events}


def _answers(store: Any) -> list[Any]:
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        for q in QUERIES:
            out.append(tc.trends(store, q, project=PROJECT, now=NOW).to_dicts())
    return out


def _single(world: dict[str, Any], fmt: str) -> tc.EventStore:
    reader = {"parquet": tc.EventStore.from_parquet, "csv": tc.EventStore.from_csv, "jsonl": tc.EventStore.from_jsonl}[fmt]
    return reader(world["whole"][fmt], persons=pq.read_table(world["persons"]))


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_files_answer_as_the_single_store_partitioned(world: dict[str, Any], fmt: str, tmp_path: Path) -> None:
    store = _single(world, fmt)
    in_memory = tc.partition(store, tmp_path / "mem", partitions=3, durable=False)
    streamed = tc.partition(world["files"][fmt], tmp_path / "files", partitions=3, persons=world["persons"],
                            durable=False, chunk_rows=1500)
    assert len(streamed) == len(store) == world["events"].num_rows
    expected = _answers(store)
    assert any(s["data"] and sum(s["data"]) > 0 for r in expected for s in r)  # (the queries see data)
    assert _answers(in_memory) == expected
    assert _answers(streamed) == expected
    # the global facts: the single store's property types, event time bounds
    assert sorted(map(json.dumps, streamed.property_types)) == sorted(map(json.dumps, store.property_definitions))
    ts = np.asarray(store.ts)
    for code, name in enumerate(store.event_names):
        a, b = int(store.offsets[code]), int(store.offsets[code + 1])
        assert streamed.event_time_bounds[name] == (int(ts[a]), int(ts[b - 1]))
    assert streamed.event_time_bounds == in_memory.event_time_bounds


def test_a_glob_and_persons_over_several_files(world: dict[str, Any], tmp_path: Path) -> None:
    store = _single(world, "parquet")
    parts = tc.partition(str(world["dir"] / "parquet" / "events-*.parquet"), tmp_path / "g", partitions=4,
                         persons=world["persons"], durable=False, chunk_rows=1000)
    assert parts.manifest["source"]["files"] == [str(p) for p in world["files"]["parquet"]]
    # every person lives in one partition: a person's distinct_ids (spread over the files) too
    seen: dict[str, int] = {}
    for i in range(parts.partitions):
        part = parts.load(i)
        ids = np.asarray(part.persons.ids, dtype=object)[np.asarray(part.persons.person_of_distinct_id)]
        for pid in set(ids.tolist()) - {None}:
            assert seen.setdefault(pid, i) == i
    owners = np.asarray(store.persons.ids, dtype=object)[np.asarray(store.persons.person_of_distinct_id)]
    assert set(seen) == set(owners.tolist()) - {None}
    assert _answers(parts) == _answers(store)


def test_the_latest_event_rule_is_global(tmp_path: Path) -> None:
    """A distinct_id whose person_id changes between files joins the person of its latest event,
    with that person's other distinct_id, wherever the rows are."""
    rows = [  # file 1 / file 2
        [{"event": "e", "distinct_id": "a", "person_id": "P1", "timestamp": "2024-01-01T00:00:00Z"},
         {"event": "e", "distinct_id": "b", "person_id": "P2", "timestamp": "2024-01-01T00:00:00Z"},
         {"event": "e", "distinct_id": "c", "timestamp": "2024-01-02T00:00:00Z"}],
        [{"event": "e", "distinct_id": "a", "person_id": "P2", "timestamp": "2024-01-03T00:00:00Z"},
         {"event": "e", "distinct_id": "b", "person_id": "P2", "timestamp": "2024-01-03T00:00:00Z"},
         {"event": "e", "distinct_id": "d", "person_id": "P1", "timestamp": "2024-01-01T00:00:00Z"}],
    ]
    files = []
    for i, recs in enumerate(rows):
        files.append(tmp_path / f"f{i}.jsonl")
        files[-1].write_text("".join(json.dumps(r) + "\n" for r in recs))
    store = tc.EventStore.from_records(rows[0] + rows[1])
    q = {"events": [{"id": "e", "math": "dau"}], "date_from": "2024-01-01", "date_to": "2024-01-03", "interval": "month"}
    for k in (1, 2, 5):
        parts = tc.partition(files, tmp_path / f"p{k}", partitions=k, durable=False)
        assert tc.trends(parts, q, now="2024-01-04").to_dicts() == tc.trends(store, q, now="2024-01-04").to_dicts()
        where = {}
        for i in range(k):
            part = parts.load(i)
            for j, d in enumerate(np.asarray(part.distinct_ids).tolist()):
                where[d] = (i, np.asarray(part.persons.ids)[part.persons.person_of_distinct_id[j]])
        assert where["a"][0] == where["b"][0] and where["a"][1] == where["b"][1] == "P2"
        assert where["d"][1] == "P1"
    assert tc.trends(parts, q, now="2024-01-04").to_dicts()[0]["data"] == [3]  # {a,b}, c, d


def test_persons_records_claim_distinct_ids_over_files(tmp_path: Path) -> None:
    events = [{"event": "e", "distinct_id": f"u{i % 23}", "timestamp": f"2024-02-{1 + i % 20:02d}T10:00:00Z",
               "properties": {"$browser": ["A", "B", "C"][i % 3]}} for i in range(300)]
    persons = [{"distinct_ids": [f"u{j}", f"u{j + 10}"], "properties": {"plan": ["x", "y"][j % 2]}} for j in range(10)]
    for i in range(3):
        (tmp_path / f"e{i}.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events[i * 100:(i + 1) * 100]))
    store = tc.EventStore.from_records(events, persons=persons)
    parts = tc.partition(str(tmp_path / "e*.jsonl"), tmp_path / "p", partitions=4, persons=persons, durable=False)
    for q in ({"events": [{"id": "e", "math": "dau"}], "date_from": "2024-02-01", "date_to": "2024-02-20",
               "breakdown": "plan", "breakdown_type": "person"},
              {"events": [{"id": "e", "math": "weekly_active"}], "date_from": "2024-02-01", "date_to": "2024-02-20",
               "breakdown": "$browser"}):
        assert tc.trends(parts, q, now="2024-02-21").to_dicts() == tc.trends(store, q, now="2024-02-21").to_dicts()


def test_shared_sessions_are_listed(tmp_path: Path) -> None:
    sid = "0188a000-0000-7000-8000-000000000001"
    events = [{"event": "e", "distinct_id": f"u{i}", "timestamp": "2024-01-01T00:00:00Z",
               "properties": {"$session_id": sid if i < 6 else f"0188a000-0000-7000-8000-{i:012d}"}} for i in range(12)]
    f = tmp_path / "e.jsonl"
    f.write_text("".join(json.dumps(e) + "\n" for e in events))
    parts = tc.partition(f, tmp_path / "p", partitions=3, durable=False)
    assert parts.shared_sessions == (sid,)  # (six persons over three partitions; the others alone)
    mem = tc.partition(tc.EventStore.from_jsonl(f), tmp_path / "m", partitions=3, durable=False)
    assert mem.shared_sessions == (sid,)


def test_input_errors_name_the_file_and_row(tmp_path: Path) -> None:
    good = {"event": "e", "distinct_id": "a", "timestamp": "2024-01-01T00:00:00Z"}
    (tmp_path / "a.jsonl").write_text(json.dumps(good) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps(good) + "\n" + json.dumps({**good, "timestamp": "yesterday"}) + "\n")
    with pytest.raises(tc.ValidationError) as err:
        tc.partition([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], tmp_path / "p", partitions=2)
    assert "b.jsonl" in str(err.value) and "2" in str(err.value) and "timestamp" in str(err.value)
    assert not (tmp_path / "p").exists()  # (nothing half-written)
    bad_prop = {**good, "properties": {"x": "a" * 10}}
    (tmp_path / "c.parquet").write_bytes(b"")
    with pytest.raises(tc.ValidationError, match="no file matches"):
        tc.partition(str(tmp_path / "nothing-*.parquet"), tmp_path / "p", partitions=2)
    with pytest.raises(tc.ValidationError, match="mix formats"):
        tc.partition([tmp_path / "a.jsonl", tmp_path / "c.parquet"], tmp_path / "p", partitions=2)
    with pytest.raises(tc.ValidationError, match="assign"):
        tc.partition(tmp_path / "a.jsonl", tmp_path / "p", partitions=2, assign=lambda s, k: None)
    del bad_prop
    (tmp_path / "arr.json").write_text(json.dumps([good]))
    with pytest.raises(tc.UnsupportedError, match="JSON array"):
        tc.partition(tmp_path / "arr.json", tmp_path / "p", partitions=2)


PEAK = textwrap.dedent("""
    import json, sys
    import trendcalc as tc
    mode, src, persons, warm, out = sys.argv[1:6]

    def hwm():
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))

    # the same warm-up for both: thread pools, readers and allocator arenas of both paths
    tc.partition(warm, out + "-w1", partitions=8, persons=persons, durable=False, chunk_rows=20_000)
    tc.partition(tc.EventStore.from_parquet(warm, persons=persons), out + "-w2", partitions=8, durable=False)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # (the peak RSS starts again from here)
    base = hwm()
    if mode == "stream":
        tc.partition(src, out, partitions=24, persons=persons, durable=False, chunk_rows=20_000)
    else:
        tc.partition(tc.EventStore.from_parquet(src, persons=persons), out, partitions=12, durable=False)
    print(json.dumps({"base": base, "peak": hwm()}))
""")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc peak-RSS reset")
def test_peak_memory_is_bounded_by_a_partition(tmp_path: Path) -> None:
    """Peak RSS growth of a subprocess (Linux VmHWM, reset after a warm-up): streaming 24
    partitions from a file vs building the whole store in memory first — a ratio of memory,
    never a time. Streaming holds one entry per distinct_id, person and session besides about a
    partition (~45 MB here whatever the partitions), so the events carry 16 numeric properties
    besides the generator's few, as real exports do, and the stream makes partitions of ~25 K
    events: with the generator's columns alone and 12 partitions the ratio was 0.42-0.51 from
    run to run (the allocators' timing); here 0.31-0.35 on a loaded 2-core machine."""
    events, persons = generate(600_000, 5)
    rng = np.random.default_rng(5)
    for i in range(16):
        events = events.append_column(f"properties.m{i}", pa.array(rng.integers(0, 100, len(events))))
    src, ppath, warm = tmp_path / "e.parquet", tmp_path / "p.parquet", tmp_path / "w.parquet"
    pq.write_table(events, src, row_group_size=50_000)
    pq.write_table(events.slice(0, 20_000), warm)
    pq.write_table(persons, ppath)
    del events, persons
    grow = {}
    for mode in ("stream", "memory"):
        out = subprocess.run([sys.executable, "-c", PEAK, mode, str(src), str(ppath), str(warm), str(tmp_path / mode)],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        grow[mode] = r["peak"] - r["base"]
    assert grow["memory"] > 0 and grow["stream"] < 0.5 * grow["memory"], grow


def test_partitions_answer_with_the_whole_stores_property_types(tmp_path: Path) -> None:
    """A property first seen as a number (the store's type: Numeric) whose later values are words:
    the partition holding only words still types it Numeric."""
    events = [{"event": "e", "distinct_id": f"u{i}", "timestamp": f"2024-01-{1 + i:02d}T00:00:00Z",
               "properties": {"x": 5 if i == 0 else f"w{i}"}} for i in range(12)]
    f = tmp_path / "e.jsonl"
    f.write_text("".join(json.dumps(e) + "\n" for e in events))
    store = tc.EventStore.from_jsonl(f)
    assert store.inferred_type("x") == "Numeric"
    for source in (f, store):
        parts = tc.partition(source, tmp_path / f"p{isinstance(source, Path)}", partitions=4, durable=False)
        assert {"name": "x", "type": "Numeric", "kind": "event"} in parts.property_types
        assert {parts.load(i).inferred_type("x") for i in range(4)} == {"Numeric"}
        q = {"events": [{"id": "e"}], "date_from": "2024-01-01", "date_to": "2024-01-12", "breakdown": "x"}
        assert tc.trends(parts, q, now="2024-01-13").to_dicts() == tc.trends(store, q, now="2024-01-13").to_dicts()


def test_csv_columns_are_typed_over_all_files(tmp_path: Path) -> None:
    """A column of integers in one file and words in another is text in the one-file store, so in
    every partition too (and 007 stays 007)."""
    head = "event,distinct_id,timestamp,plan,n\n"
    a = "".join(f"e,u{i},2024-01-{1 + i % 9:02d}T00:00:00Z,{i % 3},{i}\n" for i in range(30))
    b = "".join(f"e,v{i},2024-01-{1 + i % 9:02d}T00:00:00Z,{'pro' if i % 2 else '007'},{i}.5\n" for i in range(30))
    (tmp_path / "a.csv").write_text(head + a)
    (tmp_path / "b.csv").write_text(head + b)
    (tmp_path / "all.csv").write_text(head + a + b)
    store = tc.EventStore.from_csv(tmp_path / "all.csv")
    parts = tc.partition([tmp_path / "a.csv", tmp_path / "b.csv"], tmp_path / "p", partitions=3, durable=False,
                         chunk_rows=7)
    assert sorted(map(json.dumps, parts.property_types)) == sorted(map(json.dumps, store.property_definitions))
    for q in ({"events": [{"id": "e"}], "date_from": "2024-01-01", "date_to": "2024-01-09", "breakdown": "plan"},
              {"events": [{"id": "e", "math": "dau"}], "date_from": "2024-01-01", "date_to": "2024-01-09",
               "properties": [{"key": "n", "value": 10, "operator": "gt"}]}):
        assert tc.trends(parts, q, now="2024-01-10").to_dicts() == tc.trends(store, q, now="2024-01-10").to_dicts()
    values = {v for i in range(3) for v in parts.load(i).column("plan").dictionary.values}
    assert values == {"0", "1", "2", "pro", "007"}


@pytest.mark.parametrize("timezone", [None, "Europe/Berlin"])
def test_csv_timestamps_mixing_epoch_seconds_and_iso_text_read_as_the_one_file_store(tmp_path: Path, timezone: Any) -> None:
    """The one-file CSV reader reads each timestamp cell by its own form: a number is epoch
    seconds, text is ISO-8601 (naive text in ``timezone``). Streamed, a column whose cells mix
    the two, in one file or over files (all epoch in one, all text in another), reads alike."""
    head = "event,distinct_id,timestamp\n"
    epoch = "".join(f"e,u{i},{1704067200 + 3600 * 7 * i}\n" for i in range(20))  # 2024-01-01T00:00Z on
    text = "".join(f"e,v{i},2024-01-0{1 + i % 6} {i % 24:02d}:30:00\n" for i in range(20))
    mixed = "".join(f"e,w{i},{1704067200 + 5000 * i if i % 2 else f'2024-01-0{1 + i % 5}T10:00:00Z'}\n" for i in range(20))
    (tmp_path / "epoch.csv").write_text(head + epoch)
    (tmp_path / "text.csv").write_text(head + text)
    (tmp_path / "mixed.csv").write_text(head + mixed)
    (tmp_path / "all.csv").write_text(head + epoch + text + mixed)
    store = tc.EventStore.from_csv(tmp_path / "all.csv", timezone=timezone)
    q = {"events": [{"id": "e", "math": "dau"}], "interval": "hour", "date_from": "2023-12-31", "date_to": "2024-01-08"}
    want = tc.trends(store, q, now="2024-01-09").to_dicts()
    assert sum(want[0]["data"]) == 60  # every event in range, one per person
    for files, chunk_rows in (([tmp_path / "epoch.csv", tmp_path / "text.csv", tmp_path / "mixed.csv"], 7),
                              ([tmp_path / "all.csv"], 1 << 20), ([tmp_path / "mixed.csv"], 3)):
        parts = tc.partition(files, tmp_path / "p", partitions=3, timezone=timezone, durable=False,
                             chunk_rows=chunk_rows, overwrite=True)
        single = store if len(files) > 1 or files[0].name == "all.csv" else tc.EventStore.from_csv(files[0], timezone=timezone)
        assert tc.trends(parts, q, now="2024-01-09").to_dicts() == tc.trends(single, q, now="2024-01-09").to_dicts()
