"""Fuzz Arrow/Parquet ingest: tables from mutated records, and tables whose columns have
arbitrary Arrow types and hostile values (NaN, out-of-range timestamps, nested and binary
columns, dictionary columns with nulls, ...)."""

from __future__ import annotations

import datetime as dt
import decimal
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import trendcalc as tc

from . import world
from .strategies import mutated
from .support import check_result, fuzz_settings, safely

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

QUERY = {"events": [{"id": None, "math": "dau"}], "breakdown": "$browser", "date_from": "all", "interval": "week"}


def answer(store: Any) -> None:
    if store is not None:
        result = safely(lambda: tc.trends(store, QUERY, now=world.NOW))
        if result is not None:
            check_result(result)


ARROW_MAX_DEPTH = 64
"""Deeper records are not handed to pyarrow: ``Table.from_pylist`` aborts the whole process
(``std::bad_alloc``, not an exception) inferring a type nested thousands of levels deep (the
fuzzer's ``nest`` and deep-junk mutations; seen in a long-profile run) — a table no one can make
to hand to trendcalc."""


def _depth(value: Any) -> int:
    """How deeply ``value`` nests lists, tuples and dicts (iterative: the fuzzer nests thousands)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend((x, d + 1) for x in v)
    return deepest


def test_the_depth_guard_measures_nesting() -> None:
    assert _depth("x") == 0 and _depth([1, {"a": [2]}]) == 3 and _depth({"a": 1, "b": [[[]]]}) == 3
    deep: Any = 0
    for _ in range(5_000):
        deep = {"v": [deep]}
    assert _depth(deep) == 10_000


@fuzz_settings(300)
@given(st.data())
def test_tables_from_mutated_records(data: st.DataObject) -> None:
    records = data.draw(mutated([{**e, "timestamp": e["timestamp"]} for e in world.EVENTS[:6]]))
    if _depth(records) > ARROW_MAX_DEPTH:
        return
    try:
        flat = [{**{k: v for k, v in r.items() if k != "properties"}, **{f"properties.{k}": v for k, v in (r.get("properties") or {}).items()}}
                for r in records]  # fmt: skip
        table = pa.Table.from_pylist(flat)
    except Exception:  # noqa: BLE001 - pyarrow refusing the records is not trendcalc's concern
        return
    answer(safely(lambda: tc.EventStore.from_arrow(table), allow_root=True))


NOW = dt.datetime(2020, 1, 19, tzinfo=dt.timezone.utc)
COLUMN_KINDS: dict[str, tuple[Any, list[Any]]] = {
    "string": (pa.string(), ["$pageview", "", "💥", "a" * 5000, None]),
    "large_string": (pa.large_string(), ["sign up", "x", None]),
    "int8": (pa.int8(), [0, -1, 127, None]),
    "uint64": (pa.uint64(), [0, 2**64 - 1, None]),
    "int64": (pa.int64(), [-(2**63), 2**63 - 1, 1577836800, None]),
    "float16": (pa.float16(), [None]),
    "float32": (pa.float32(), [1.5, float("nan"), float("inf"), None]),
    "float64": (pa.float64(), [1e308, -1e308, float("nan"), 1577836800.5, None]),
    "bool": (pa.bool_(), [True, False, None]),
    "timestamp_s": (pa.timestamp("s"), [NOW, dt.datetime(1800, 1, 1), dt.datetime(9999, 1, 1), None]),
    "timestamp_ns_tz": (pa.timestamp("ns", "Asia/Kolkata"), [NOW, None]),
    "date32": (pa.date32(), [dt.date(2020, 1, 1), dt.date(1, 1, 1), None]),
    "time64": (pa.time64("us"), [dt.time(12), None]),
    "duration": (pa.duration("s"), [dt.timedelta(days=1), None]),
    "decimal": (pa.decimal128(10, 2), [decimal.Decimal("1.50"), None]),
    "binary": (pa.binary(), [b"\xff\xfe", b"", None]),
    "list": (pa.list_(pa.int64()), [[1, 2], [], None]),
    "struct": (pa.struct([("a", pa.int64()), ("b", pa.string())]), [{"a": 1, "b": "x"}, None]),
    "dict_string": (pa.dictionary(pa.int8(), pa.string()), ["a", "b", None]),
    "null": (pa.null(), [None]),
    "map": (pa.map_(pa.string(), pa.int64()), [[("k", 1)], None]),
}
GOOD = {"event": ("string", ["$pageview", "sign up"]), "distinct_id": ("string", ["u1", "u2"]),
        "timestamp": ("timestamp_s", [NOW])}  # fmt: skip
COLUMN_NAMES = ["event", "distinct_id", "timestamp", "uuid", "person_id", "properties", "properties.$browser",
                "properties.amount", "properties.", "properties.properties", "other"]  # fmt: skip


def _column(kind: str, values: list[Any], n: int) -> Any:
    typ, _ = COLUMN_KINDS[kind]
    return pa.array([values[i % len(values)] for i in range(n)], type=typ)


@st.composite
def arrow_tables(draw: st.DrawFn) -> Any:
    n = draw(st.integers(0, 6))
    cols: dict[str, Any] = {}
    for name in COLUMN_NAMES:
        if name in GOOD and draw(st.integers(0, 3)):  # mostly a good required column
            kind, values = GOOD[name]
        elif draw(st.booleans()):
            kind = draw(st.sampled_from(sorted(COLUMN_KINDS)))
            values = draw(st.lists(st.sampled_from(COLUMN_KINDS[kind][1]), min_size=1, max_size=4))
        else:
            continue
        try:
            cols[name] = _column(kind, values, n)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            continue
    return pa.table(cols) if cols else pa.table({"x": pa.array([], pa.int8())})


@fuzz_settings(500)
@given(arrow_tables(), st.booleans())
def test_tables_with_arbitrary_column_types(table: Any, via_parquet: bool) -> None:
    if via_parquet:
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "events.parquet"
            try:
                pq.write_table(table, path)
            except (pa.ArrowException, TypeError, ValueError):
                return
            answer(safely(lambda: tc.EventStore.from_parquet(path), allow_root=True))
    else:
        answer(safely(lambda: tc.EventStore.from_arrow(table), allow_root=True))


@fuzz_settings(150)
@given(arrow_tables(), arrow_tables())
def test_person_and_group_tables(persons: Any, groups: Any) -> None:
    events = pa.table({"event": ["$pageview"], "distinct_id": ["u1"], "timestamp": pa.array([NOW], pa.timestamp("s"))})
    answer(safely(lambda: tc.EventStore.from_arrow(events, persons=persons, groups=groups), allow_root=True))
