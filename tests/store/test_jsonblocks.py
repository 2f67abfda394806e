"""The block reader of JSON lines (store/jsonblocks.py): blocks cut at newlines whatever the
block size, and its unification rules (missing and null fields, integers with floats, struct
fields by name in order of first appearance, null structs kept; anything else None)."""

from __future__ import annotations

import io
import json

import pytest

from trendcalc.store import columnar, jsonblocks

pa = pytest.importorskip("pyarrow")


def read(lines: list[dict], block: int) -> object:
    data = "".join(json.dumps(r) + "\n" for r in lines).encode()
    return jsonblocks.read_blocks(io.BytesIO(data), block, columnar._text_schema)


@pytest.mark.parametrize("block", [1, 7, 50, 1 << 20])
def test_blocks_are_cut_at_newlines(block):
    lines = [{"a": i, "s": "x" * (i % 11)} for i in range(40)]
    table = read(lines, block)
    assert table.to_pylist() == lines


def test_unified_fields():
    lines = [{"e": "x", "p": {"a": 1}}, {"e": "y", "p": {"b": "t", "a": 2}},
             {"e": "z", "p": None, "n": None}, {"e": "w", "p": {"a": 2.5, "c": True}, "n": 3}]
    table = read(lines, 10)  # (one line per block)
    assert table.column("e").num_chunks == 4
    assert table.schema == pa.schema([("e", pa.string()), ("p", pa.struct([("a", pa.float64()), ("b", pa.string()),
                                                                              ("c", pa.bool_())])), ("n", pa.int64())])
    assert table.to_pylist() == [
        {"e": "x", "p": {"a": 1.0, "b": None, "c": None}, "n": None},
        {"e": "y", "p": {"a": 2.0, "b": "t", "c": None}, "n": None},
        {"e": "z", "p": None, "n": None},
        {"e": "w", "p": {"a": 2.5, "b": None, "c": True}, "n": 3},
    ]


@pytest.mark.parametrize("values", [["t", 7], [7, "t"], [True, "t"], ["t", False], [1, True], [{"x": 1}, "t"],
                                    [2 ** 60 + 1, 0.5]])
def test_other_differences_give_none(values):
    """Kinds that do not unify (and an integer a float cannot hold): the caller's row reader."""
    assert read([{"v": v} for v in values], 5) is None


def test_a_value_of_another_kind_inside_a_block_is_an_arrow_error():
    with pytest.raises(pa.ArrowInvalid):
        read([{"v": "t"}, {"v": True}], 1 << 20)


def test_blank_lines_and_no_final_newline():
    data = b'\n{"a": 1}\n\n\n{"a": 2}\n   \n{"a": 3}'
    for block in (1, 4, 1 << 20):
        table = jsonblocks.read_blocks(io.BytesIO(data), block, columnar._text_schema)
        assert table.column("a").to_pylist() == [1, 2, 3]
    assert jsonblocks.read_blocks(io.BytesIO(b"\n\n"), 4, columnar._text_schema).num_rows == 0


def test_date_like_text_stays_text():
    table = read([{"d": "2024-01-02", "timestamp": "2024-01-02T00:00:00"}] * 3, 20)
    assert table.schema.field("d").type == pa.string()
