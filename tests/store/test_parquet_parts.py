"""EventStore.from_parquet over the parts of a data set (a directory or a list of files) builds
the store of the whole table, reading one column at a time with bounded read-ahead."""

from __future__ import annotations

import threading

import pytest

import trendcalc as tc
from tests.store.test_arrow import _row_group_events, assert_identical

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _write_parts(t, root, cuts):
    root.mkdir()
    bounds = [0, *cuts, t.num_rows]
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        pq.write_table(t.slice(a, b - a), root / f"part-{i:03d}.parquet", row_group_size=5)
    return sorted(root.glob("*.parquet"))


def test_a_directory_and_a_list_of_parts_build_the_whole_table_store(tmp_path):
    t = _row_group_events(80)
    persons = pa.table({"id": ["p3", "p1", "p7"], "properties.plan": ["pro", None, "free"]})
    pq.write_table(persons, tmp_path / "p.parquet")
    parts = _write_parts(t, tmp_path / "events", [0, 13, 13, 50])  # an empty part and a one-group part too
    (tmp_path / "events" / "README.txt").write_text("not a part")
    want = tc.EventStore.from_arrow(t, persons=persons)
    assert_identical(tc.EventStore.from_parquet(tmp_path / "events", persons=tmp_path / "p.parquet"), want)
    assert_identical(tc.EventStore.from_parquet([str(p) for p in parts], persons=persons), want)
    # parts in another order: the same rows in another order, the same store up to its codes
    got = tc.EventStore.from_parquet(parts[::-1], persons=persons)
    assert _rows(got) == _rows(want)


def _rows(store: tc.EventStore) -> list[tuple]:
    """Every row decoded, in the store's (event, time) order (ties by distinct_id)."""
    cols = sorted(store.properties)
    rows = [(store.event_names[store.event[i]], int(store.ts[i]), store.distinct_ids[store.distinct_id[i]],
             store.persons.ids[store.person[i]], *(repr(store.properties[k].value(i)) for k in cols))
            for i in range(len(store))]
    return sorted(rows)


def test_parts_with_other_columns_are_an_error_naming_the_part(tmp_path):
    t = _row_group_events(30)
    root = tmp_path / "events"
    _write_parts(t, root, [10])
    pq.write_table(t.drop_columns(["properties.n"]).slice(0, 5), root / "part-002.parquet")
    with pytest.raises(tc.ValidationError) as e:
        tc.EventStore.from_parquet(root)
    assert e.value.path == ("events",)
    assert "part-002.parquet" in str(e.value) and "missing ['properties.n']" in str(e.value)
    cast = t.set_column(t.column_names.index("properties.n"), "properties.n",
                        t.column("properties.n").cast(pa.float64()))
    pq.write_table(cast.slice(0, 5), root / "part-002.parquet")
    with pytest.raises(tc.ValidationError, match="'properties.n' is double, not int64"):
        tc.EventStore.from_parquet(root)


def test_an_empty_directory_is_an_error(tmp_path):
    (tmp_path / "none").mkdir()
    with pytest.raises(tc.ValidationError) as e:
        tc.EventStore.from_parquet(tmp_path / "none")
    assert e.value.path == ("events",) and "no .parquet files" in str(e.value)


def test_the_reader_stays_one_column_ahead_of_the_build(tmp_path):
    from trendcalc.store.parquet_read import _ColumnReader

    t = _row_group_events(40)
    parts = _write_parts(t, tmp_path / "events", [20])
    reader = _ColumnReader.open(parts, "events", [])
    order = sorted(reader.column_names, key=reader.rank.__getitem__)
    first = reader.column(order[0])
    assert first.to_pylist() == t.column(order[0]).to_pylist()
    # nothing asked beyond order[0]: only order[1] may be read ahead
    reader._thread.join(timeout=0.5)
    assert reader._thread.is_alive()
    read = [c for c in order[1:] if reader._cols[c].done()]
    assert set(read) <= {order[1]}
    last = reader.column(order[-1])  # asking for the last column lets the reader run to it
    assert last.to_pylist() == t.column(order[-1]).to_pylist()
    reader.raise_read_error()
    assert not reader._thread.is_alive()
    assert threading.active_count() >= 1


def test_a_failed_build_stops_the_reader(tmp_path, monkeypatch):
    from trendcalc.store import arrow

    t = _row_group_events(40)
    parts = _write_parts(t, tmp_path / "events", [20])
    readers = []
    real_open = arrow._ColumnReader.open

    def spy(*a, **k):
        r = real_open(*a, **k)
        readers.append(r)
        return r

    def boom(*a, **k):
        raise MemoryError("simulated")

    monkeypatch.setattr(arrow._ColumnReader, "open", spy)
    monkeypatch.setattr(arrow, "_build", boom)
    with pytest.raises(MemoryError):
        tc.EventStore.from_parquet(parts)
    readers[0]._thread.join(timeout=5)
    assert not readers[0]._thread.is_alive()


def test_parts_read_whole_with_errors_skip(tmp_path):
    t = _row_group_events(30)
    parts = _write_parts(t, tmp_path / "events", [12])
    want = tc.EventStore.from_arrow(t, errors="skip")
    assert_identical(tc.EventStore.from_parquet(tmp_path / "events", errors="skip"), want)
    assert_identical(tc.EventStore.from_parquet(parts, errors="skip"), want)
