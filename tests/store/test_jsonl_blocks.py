"""JSON lines read block by block: with tiny blocks, files whose later blocks differ from the
first (a new field, a type change, date-like text) build the row reader's store byte for byte,
streamed (``columnar._streamed``) when the blocks agree, read by ``jsonblocks`` when they do
not, columnar when they unify."""

from __future__ import annotations

import json

import pytest

import trendcalc as tc
from trendcalc.store import columnar

from .test_fast_readers import same_as_rows

pa = pytest.importorskip("pyarrow")


def event(i: int, props: dict) -> dict:
    return {"event": "buy", "distinct_id": f"u{i % 7}", "timestamp": f"2024-03-0{1 + i % 9}T10:00:{i % 60:02d}Z",
            "properties": props}


CASES = {
    # name: (properties of row i, streamed?, read columnar?)
    "same fields": (lambda i: {"plan": ["free", "pro"][i % 2], "n": i % 5}, True, True),
    "field only in later blocks": (lambda i: {"plan": "free", **({"late": i} if i > 300 else {})}, False, True),
    "integer then float": (lambda i: {"price": i if i < 300 else i + 0.5}, False, True),
    "float then integer": (lambda i: {"price": i + 0.5 if i < 300 else i}, True, True),
    "text then number": (lambda i: {"code": str(i) if i < 300 else i}, False, False),
    "date-like text": (lambda i: {"day": f"2024-01-{1 + i % 28:02d}", "plan": "pro"}, True, True),
    "null then text": (lambda i: {"note": None if i < 300 else f"n{i}", "plan": "pro"}, False, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_blocks_that_differ_build_the_row_store(tmp_path, monkeypatch, case):
    props, streamed, columnar_read = CASES[case]
    monkeypatch.setattr(columnar, "_JSON_BLOCK", 1 << 12)
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(event(i, props(i))) + "\n" for i in range(600)))
    assert path.stat().st_size > 40 * (1 << 10)  # (many blocks)
    got = []
    real = columnar._streamed
    monkeypatch.setattr(columnar, "_streamed", lambda *a: got.append(real(*a)) or got[-1])
    read = columnar.jsonl_table(path)
    assert (got[0] is not None) == streamed
    if not columnar_read:  # (Arrow cannot hold text and numbers in one column: the row reader)
        assert read is None
    else:
        assert read is not None and read[0].column("event").num_chunks > 10
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_jsonl(path), monkeypatch)
    assert len(store) == 600
