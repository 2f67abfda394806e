"""JSON lines read block by block (``jsonblocks``): with tiny blocks, files whose later blocks
differ from the first (a new field, a type change, date-like text) build the row reader's store
byte for byte, columnar when the blocks unify."""

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
    # name: (properties of row i, read columnar?)
    "same fields": (lambda i: {"plan": ["free", "pro"][i % 2], "n": i % 5}, True),
    "field only in later blocks": (lambda i: {"plan": "free", **({"late": i} if i > 300 else {})}, True),
    "integer then float": (lambda i: {"price": i if i < 300 else i + 0.5}, True),
    "float then integer": (lambda i: {"price": i + 0.5 if i < 300 else i}, True),
    "text then number": (lambda i: {"code": str(i) if i < 300 else i}, False),
    "date-like text": (lambda i: {"day": f"2024-01-{1 + i % 28:02d}", "plan": "pro"}, True),
    "null then text": (lambda i: {"note": None if i < 300 else f"n{i}", "plan": "pro"}, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_blocks_that_differ_build_the_row_store(tmp_path, monkeypatch, case):
    props, columnar_read = CASES[case]
    monkeypatch.setattr(columnar, "_JSON_BLOCK", 1 << 12)
    path = tmp_path / "e.jsonl"
    path.write_text("".join(json.dumps(event(i, props(i))) + "\n" for i in range(600)))
    assert path.stat().st_size > 40 * (1 << 10)  # (many blocks)
    read = columnar.jsonl_table(path)
    if not columnar_read:  # (Arrow cannot hold text and numbers in one column: the row reader)
        assert read is None
    else:
        assert read is not None and read[0].column("event").num_chunks > 10
    store = same_as_rows(tmp_path, lambda: tc.EventStore.from_jsonl(path), monkeypatch)
    assert len(store) == 600
