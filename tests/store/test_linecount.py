"""Newlines counted while a JSON-lines file is read for Arrow (store/linecount.py): the spans of given
rows equal linescan's on every layout and read size, a file with blank lines or not read to its
end gives None, and the columnar JSON-lines read finds integer spellings without scanning the
file again."""

from __future__ import annotations

import json

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.store import columnar, linecount, linescan

from .test_fast_readers import jsonl_lines, same_as_rows

pa = pytest.importorskip("pyarrow")


def read_all(f: linecount.CountingFile, size: int) -> bytes:
    out = []
    while chunk := f.read(size):
        out.append(chunk)
    return b"".join(out)


LAYOUTS = {
    "plain": lambda lines: b"\n".join(lines) + b"\n",
    "no final newline": lambda lines: b"\n".join(lines),
    "crlf": lambda lines: b"\r\n".join(lines) + b"\r\n",
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("sub", [1, 5, 64, 1 << 18])
@pytest.mark.parametrize("read_size", [1, 7, 100, -1])
def test_spans_match_the_lines(tmp_path, monkeypatch, layout, sub, read_size):
    monkeypatch.setattr(linecount, "_SUB", sub)
    lines = [b'{"a": %d, "pad": "%s"}' % (i, b"x" * (i * 3 % 17)) for i in range(40)]
    data = LAYOUTS[layout](lines)
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    f = linecount.CountingFile(path)
    assert read_all(f, read_size) == data and f.complete
    rows = np.array([0, 1, 2, 17, 18, 38, 39])
    spans = f.spans(rows, 40)
    assert [data[a:b] for a, b in spans] == linescan.row_lines(path, rows, 40)
    assert [data[a:b].rstrip(b"\r") for a, b in spans] == [lines[r] for r in rows.tolist()]
    assert f.spans(np.zeros(0, np.int64), 40) == []
    f.close()


def test_blank_lines_other_counts_and_partial_reads_give_none(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"a": 2}\n')
    f = linecount.CountingFile(path)
    read_all(f, 4)
    assert f.spans(np.array([1]), 2) is None  # (three lines, two rows: linescan's scan skips the blank one)
    assert linescan.row_lines(path, np.array([1]), 2, counted=f) == [b'{"a": 2}']
    path.write_bytes(b'{"a": 1}\n{"a": 2}\n')
    f = linecount.CountingFile(path)
    f.read(4)
    assert f.spans(np.array([0]), 2) is None  # (not read to its end)
    read_all(f, 4)
    assert f.spans(np.array([0]), 3) is None and f.spans(np.array([1]), 2) == [(9, 17)]
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    f = linecount.CountingFile(empty)
    assert f.read(10) == b"" and f.spans(np.array([0]), 1) is None


def test_the_block_reader_reads_through_the_counting_file(tmp_path, monkeypatch):
    """``jsonblocks.read_blocks`` reads the file through ``readinto`` to its end: the counts are
    the file's."""
    from trendcalc.store import jsonblocks

    monkeypatch.setattr(linecount, "_SUB", 50)
    path = tmp_path / "f.jsonl"
    path.write_text("".join(json.dumps({"a": i, "b": "x" * (i % 13)}) + "\n" for i in range(500)))
    with linecount.CountingFile(path) as f:
        table = jsonblocks.read_blocks(f, 1 << 10, columnar._text_schema)
        assert table.num_rows == 500 and table.column("a").num_chunks > 10 and f.complete
        spans = f.spans(np.array([0, 250, 499]), 500)
    text = path.read_bytes()
    assert [json.loads(text[a:b])["a"] for a, b in spans] == [0, 250, 499]


@pytest.mark.parametrize("sub", [97, 1 << 18])
def test_integer_spellings_without_a_second_scan(tmp_path, monkeypatch, sub):
    """A file without blank lines whose blocks differ (a key first seen after the first block:
    ``jsonblocks`` reads it): the spellings come from the counts of that read, with no scan of
    the file (linescan's scans would raise), and the store is the row reader's."""
    monkeypatch.setattr(linecount, "_SUB", sub)
    monkeypatch.setattr(columnar, "_JSON_BLOCK", 1 << 12)  # (many blocks)

    def no_scan(*a):
        raise AssertionError("the file was scanned again")

    path = tmp_path / "e.jsonl"
    recs = jsonl_lines(400)
    for i, r in enumerate(recs):
        if i > 300 and r["properties"]:
            r["properties"]["later"] = "x"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    import pyarrow.json as pjson

    assert columnar._streamed(lambda: pa.input_stream(str(path)), lambda schema=None: {
        "read_options": pjson.ReadOptions(block_size=1 << 12)}) is None  # (jsonblocks reads it)
    with monkeypatch.context() as m:
        m.setattr(linescan, "_without_blank_lines", no_scan)
        m.setattr(linescan, "_every_line", no_scan)
        _, int_rows = columnar.jsonl_table(path)
        assert int_rows["price"].tolist() == [i for i in range(400) if i % 4 in (0, 3) and i % 17]
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_jsonl(path), monkeypatch)
    assert {type(store.properties["price"].value(i)) for i in range(len(store))} >= {int, float}
