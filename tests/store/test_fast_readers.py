"""The faster columnar reads (CSV without newlines_in_values, integer spellings found by
``linescan``, one-pass dictionary encoding, struct properties split by chunk) build the row
readers' store byte for byte on the inputs that exercise them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.store import columnar, linescan

pa = pytest.importorskip("pyarrow")


def saved(store: tc.EventStore, path: Path) -> dict[str, bytes]:
    store.save(path)
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def same_as_rows(tmp_path: Path, build, monkeypatch) -> tc.EventStore:
    """``build()`` columnar and with the row readers only: the saved stores are equal."""
    store = build()
    got = saved(store, tmp_path / "columnar")
    with monkeypatch.context() as m:
        m.setattr(columnar, "have_pyarrow", lambda: False)
        want = saved(build(), tmp_path / "rows")
    assert got.keys() == want.keys()
    assert [f for f in want if got[f] != want[f]] == []
    return store


def write_csv(path: Path, rows: list[list[str]]) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)


def csv_rows(n: int, note) -> list[list[str]]:
    head = ["event", "distinct_id", "timestamp", "note", "qty"]
    return [head] + [["e", f"u{i % 13}", f"2024-03-01T{i % 24:02d}:{i % 60:02d}:00Z", note(i), str(i % 7)] for i in range(n)]


@pytest.mark.parametrize("block, newline", [(1 << 12, "\n"), (1 << 12, "\r"), (1 << 12, "\r\n"), (1 << 24, "\n")])
def test_csv_quoted_newlines_after_the_sample(tmp_path, monkeypatch, block, newline):
    """The first 64 KiB hold no quoted newline, so Arrow reads without newlines_in_values; with
    small blocks a block is cut inside a value, Arrow says so, and the file is read again with it."""
    monkeypatch.setattr(columnar, "_CSV_BLOCK", block)
    path = tmp_path / "e.csv"
    write_csv(path, csv_rows(6000, lambda i: f"line one {i}{newline}line two" if i > 3000 and i % 5 == 0 else f"n{i}"))
    assert path.stat().st_size > 1 << 17
    assert not columnar._quoted_newline(path.read_bytes()[: 1 << 16], ",")
    # a value holding "\r" read with newlines_in_values goes to the row reader: Arrow can drop
    # the "\n" of a quoted "\r\n" cut by a block boundary (seen at 4 KiB blocks)
    assert (columnar.csv_table(path, None, ",") is None) == ("\r" in newline)
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_csv(path), monkeypatch)
    notes = store.properties["note"]
    assert sum(newline in str(notes.value(i)) for i in range(len(store))) == len(range(3005, 6000, 5))


def test_csv_quoted_newline_in_the_sample(tmp_path, monkeypatch):
    path = tmp_path / "e.csv"
    write_csv(path, csv_rows(50, lambda i: "a\r\nb" if i == 3 else "plain"))
    assert columnar._quoted_newline(path.read_bytes(), ",")
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_csv(path), monkeypatch)
    assert "a\r\nb" in [store.properties["note"].value(i) for i in range(len(store))]


def test_csv_character_cut_by_the_sample_stays_columnar(tmp_path, monkeypatch):
    """A multi-byte character across the 64 KiB mark no longer sends the file to the row reader."""
    path = tmp_path / "e.csv"
    rows = csv_rows(3000, lambda i: "café ✓ 北京")
    write_csv(path, rows)
    # move the cut into a character: pad the header's first data row until byte 65536 is inside one
    for pad in range(120):
        rows[1][3] = "x" * pad + "café ✓ 北京"
        write_csv(path, rows)
        try:
            path.read_bytes()[: 1 << 16].decode("utf-8")
        except UnicodeDecodeError:
            break
    else:
        pytest.fail("no padding puts a character across the sample's end")
    assert columnar.csv_table(path, None, ",") is not None
    same_as_rows(tmp_path, lambda: tc.EventStore.from_csv(path), monkeypatch)


def jsonl_lines(n: int) -> list[dict]:
    out = []
    for i in range(n):
        props = {"price": [10, 10.0, 2.5, 3][i % 4], "plan": ["free", "pro", None][i % 3]}
        if i % 5 == 0:
            props["late"] = i  # (a key most rows lack)
        out.append({"event": "buy", "distinct_id": f"u{i % 11}", "timestamp": f"2024-03-0{1 + i % 9}T10:00:{i % 60:02d}Z",
                    "properties": props if i % 17 else None})
    return out


@pytest.mark.parametrize("layout", ["plain", "crlf", "blank lines", "no final newline"])
def test_jsonl_integer_spellings_on_any_line_layout(tmp_path, monkeypatch, layout):
    """Whole floats written as integers keep their spelling, whichever scan finds their lines,
    across block boundaries (a tiny linescan block)."""
    monkeypatch.setattr(linescan, "_BLOCK", 97)
    lines = [json.dumps(r) for r in jsonl_lines(400)]
    text = {"plain": "\n".join(lines) + "\n", "crlf": "\r\n".join(lines) + "\r\n",
            "blank lines": "\n" + "\n\n".join(lines) + "\n\n", "no final newline": "\n".join(lines)}[layout]
    path = tmp_path / "e.jsonl"
    path.write_bytes(text.encode())
    table, int_rows = columnar.jsonl_table(path)
    assert int_rows["price"].tolist() == [i for i in range(400) if i % 4 in (0, 3) and i % 17]
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_jsonl(path), monkeypatch)
    values = [store.properties["price"].value(i) for i in range(len(store))]
    assert {type(v) for v in values if v is not None} == {int, float}


def test_jsonl_big_integer_in_a_float_field(tmp_path, monkeypatch):
    """An integer past float precision among floats: Arrow holds a rounded float, so the columnar
    path must not turn it back into a different integer: the store is the row reader's."""
    path = tmp_path / "e.jsonl"
    recs = [{"event": "e", "distinct_id": "a", "timestamp": "2024-03-01T00:00:00Z", "properties": {"x": v}}
            for v in (1.5, 123456789012345678901, 2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    try:
        store = same_as_rows(tmp_path, lambda: tc.EventStore.from_jsonl(path), monkeypatch)
    except tc.ValidationError:
        with monkeypatch.context() as m:  # (then the row reader refuses it too)
            m.setattr(columnar, "have_pyarrow", lambda: False)
            with pytest.raises(tc.ValidationError):
                tc.EventStore.from_jsonl(path)
        return
    assert store.properties["x"].value(1) == 123456789012345678901


def test_records_with_sparse_and_null_properties(tmp_path, monkeypatch):
    recs = jsonl_lines(300)
    same_as_rows(tmp_path, lambda: tc.EventStore.from_records(recs), monkeypatch)


def test_dictionary_codes_over_chunks_with_nulls():
    """One hash pass: first-seen dictionary over every chunk (empty chunks too), -1 for null."""
    from trendcalc.store.arrow_encode import _dictionary_codes

    col = pa.chunked_array([pa.array(["b", None, "a"]), pa.array([], pa.string()), pa.array(["c", "a", None]),
                            pa.array(["b", "d"])])
    uniq, codes = _dictionary_codes(col)
    assert uniq.to_pylist() == ["b", "a", "c", "d"]
    assert codes.tolist() == [0, -1, 1, 2, 1, -1, 0, 3]
    assert codes.dtype == np.int32
    uniq, codes = _dictionary_codes(pa.chunked_array([], pa.string()))
    assert uniq.to_pylist() == [] and codes.tolist() == []


def test_struct_fields_carry_null_rows_over_chunks():
    from trendcalc.store.arrow_properties import struct_fields

    t = pa.struct([("a", pa.int64()), ("b", pa.string())])
    first = pa.array([{"a": 1, "b": "x"}, None, {"a": 3, "b": None}], t)
    col = pa.chunked_array([first.slice(1), pa.array([None, {"a": 5, "b": "y"}], t)])
    got = {f.name: c.to_pylist() for f, c in struct_fields(col)}
    assert got == {"a": [None, 3, None, 5], "b": [None, None, None, "y"]}


def test_records_big_integer_among_floats(tmp_path, monkeypatch):
    recs = [{"event": "e", "distinct_id": "a", "timestamp": "2024-03-01T00:00:00Z", "x": v} for v in (1.5, 2**60 + 1, 2)]
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_records(recs), monkeypatch)
    assert store.properties["x"].value(1) == 2**60 + 1


def test_one_flat_property_is_kept_by_the_row_builder(tmp_path, monkeypatch):
    """A record with the three required keys and one flat property (the row builder used to skip
    the flat keys of a record of four keys)."""
    recs = [{"event": "e", "distinct_id": "a", "timestamp": "2024-03-01T00:00:00Z", "plan": "pro"}]
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_records(recs), monkeypatch)
    assert store.properties["plan"].value(0) == "pro"


def test_jsonl_lines_not_matching_the_rows_go_to_the_row_reader(tmp_path, monkeypatch):
    """The integer-spelling scan runs beside the build (``columnar.SpelledInts``): when it cannot
    match the lines to the rows, the build stops and the row reader builds the store."""
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in jsonl_lines(50)))
    table, int_rows = columnar.jsonl_table(path)
    assert list(int_rows) == ["price"] and int_rows["price"].tolist() == [i for i in range(50) if i % 4 in (0, 3) and i % 17]
    with pytest.raises(KeyError):
        int_rows["plan"]
    monkeypatch.setattr(linescan, "row_lines", lambda *a: None)
    _, unmatched = columnar.jsonl_table(path)
    with pytest.raises(columnar.UnmatchedLines):
        unmatched["price"]
    calls = []
    real = columnar.jsonl_table
    monkeypatch.setattr(columnar, "jsonl_table", lambda *a: calls.append(1) or real(*a))
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_jsonl(path), monkeypatch)
    assert calls == [1]  # (the columnar read was tried, and the store is the row reader's)
    assert {type(store.properties["price"].value(i)) for i in range(len(store))} >= {int, float}


def test_spelled_ints_say_which_keys_at_once():
    """``key in int_rows`` answers from the keys without waiting for the line scan (the build
    asks it on its main thread; only a key's own job waits for its rows)."""
    import threading

    release = threading.Event()
    spelled = columnar.SpelledInts(["price"], lambda: release.wait(10) and {"price": np.array([3])})
    try:
        assert "price" in spelled and "plan" not in spelled and len(spelled) == 1
        assert not release.is_set()  # (the scan is still waiting: the answers above did not)
    finally:
        release.set()
    assert spelled["price"].tolist() == [3]


def test_jsonl_whole_floats_all_spelled_as_floats(tmp_path, monkeypatch):
    """Whole floats none of which the JSON wrote as an integer: the key's rows are empty and the
    column is the float column as read."""
    path = tmp_path / "e.jsonl"
    recs = [{"event": "e", "distinct_id": f"u{i % 3}", "timestamp": "2024-03-01T00:00:00Z",
             "properties": {"x": [10.0, 2.5, 3.0][i % 3]}} for i in range(30)]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    _, int_rows = columnar.jsonl_table(path)
    assert int_rows["x"].tolist() == []
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_jsonl(path), monkeypatch)
    assert {type(store.properties["x"].value(i)) for i in range(len(store))} == {float}
