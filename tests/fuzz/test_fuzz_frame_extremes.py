"""Fuzz Arrow tables and pandas/Polars DataFrames with extreme values: timestamps anywhere in int64
in every unit (the seconds → µs overflow of issue #19 wrapped 2**62 s into 1970), date32/date64 at
their limits, epoch seconds as ints, uint64 and floats, and property cells at the edges of what
Python, NumPy and JSON can hold (int64/uint64 bounds, 10**400, NaN, ±inf, -0.0, subnormals,
lone surrogates, array cells, nested containers, bytes, datetimes).

Every outcome is a ValidationError with a path or a complete store; a store must hold exactly the
instants given (computed here with Python integers, which cannot overflow) and answer a query.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import trendcalc as tc

from . import world
from .support import check_result, fuzz_settings, safely

pa = pytest.importorskip("pyarrow")

LO_US = -2_208_988_800 * 10**6  # 1900-01-01
HI_US = 10_413_792_000 * 10**6  # 2300-01-01 (exclusive)
US_PER = {"s": 10**6, "ms": 10**3, "us": 1, "D": 86_400 * 10**6}
QUERY = {"events": [{"id": None, "math": "dau"}], "breakdown": "p", "date_from": "all", "interval": "month"}
INT64 = (-(2**63), 2**63 - 1)


def exact_us(raw: int, unit: str) -> int:
    """µs of a raw value, in Python integers (floor for ns, as ClickHouse's DateTime64(6))."""
    return raw // 1000 if unit == "ns" else raw * US_PER[unit]


def raw_values(unit: str, lo: int = INT64[0], hi: int = INT64[1]) -> st.SearchStrategy[list[int]]:
    """Raw values in ``unit``: mostly in range, some anywhere in [lo, hi], some at the edges."""
    per = 1000 if unit == "ns" else US_PER[unit]
    inside = st.integers(max(lo, -(-LO_US // per) if unit != "ns" else LO_US * 1000),
                         min(hi, (HI_US - 1) // per if unit != "ns" else hi))  # fmt: skip
    edges = st.sampled_from([v for v in (lo, hi, lo + 1, hi - 1, 0, -1, 2**62, -(2**62), 2**31 - 1, -(2**31))
                             if lo <= v <= hi])  # fmt: skip
    return st.lists(st.one_of(inside, inside, st.integers(lo, hi), edges), min_size=1, max_size=8)


def expect_store(build: Any, us: list[int]) -> None:
    """Build; when every instant is within years 1900..2299 it must build with exactly those
    instants, otherwise it must raise ValidationError (never wrap)."""
    ok = all(LO_US <= u < HI_US for u in us)
    store = safely(build, allow_root=True)
    if not ok:
        assert store is None, f"out-of-range instants were stored: {us}"
        return
    assert store is not None, f"in-range instants were refused: {us}"
    assert sorted(store.ts.tolist()) == sorted(us)
    check_result(tc.trends(store, QUERY, now=world.NOW))


def table(ts: Any, n: int) -> Any:
    return pa.table({"event": ["$pageview"] * n, "distinct_id": [f"u{i}" for i in range(n)], "timestamp": ts,
                     "properties.p": [f"v{i % 3}" for i in range(n)]})  # fmt: skip


@fuzz_settings(40)
@given(unit=st.sampled_from(["s", "ms", "us", "ns"]), tz=st.sampled_from([None, "UTC", "Asia/Kolkata"]), data=st.data())
def test_arrow_timestamps_anywhere_in_int64(unit: str, tz: str | None, data: st.DataObject) -> None:
    raw = data.draw(raw_values(unit))
    expect_store(lambda: tc.EventStore.from_arrow(table(pa.array(raw, pa.timestamp(unit, tz)), len(raw))),
                 [exact_us(r, unit) for r in raw])


@fuzz_settings(40)
@given(kind=st.sampled_from(["date32", "date64", "int64", "uint64"]), data=st.data())
def test_arrow_dates_and_epoch_seconds(kind: str, data: st.DataObject) -> None:
    if kind == "date32":
        raw = data.draw(raw_values("D", -(2**31), 2**31 - 1))
        arr, us = pa.array(raw, pa.date32()), [exact_us(r, "D") for r in raw]
    elif kind == "date64":  # milliseconds, whole days (Arrow's rule for date64)
        days = data.draw(raw_values("D", -(10**11), 10**11))
        arr, us = pa.array([d * 86_400_000 for d in days], pa.date64()), [exact_us(d, "D") for d in days]
    elif kind == "int64":
        raw = data.draw(raw_values("s"))
        arr, us = pa.array(raw, pa.int64()), [exact_us(r, "s") for r in raw]
    else:
        raw = data.draw(raw_values("s", 0, 2**64 - 1))
        arr, us = pa.array(raw, pa.uint64()), [exact_us(r, "s") for r in raw]
    expect_store(lambda: tc.EventStore.from_arrow(table(arr, len(us))), us)


@fuzz_settings(40)
@given(unit=st.sampled_from(["s", "ms", "us", "ns"]), tz=st.sampled_from([None, "UTC", "America/New_York"]),
       data=st.data())  # fmt: skip
def test_pandas_datetime_columns_anywhere_in_int64(unit: str, tz: str | None, data: st.DataObject) -> None:
    pd = pytest.importorskip("pandas")
    raw = [r for r in data.draw(raw_values(unit)) if r != INT64[0]]  # int64 min is NaT
    if not raw:
        return
    ts = pd.Series(np.array(raw, dtype=np.int64).view(f"datetime64[{unit}]"))
    if tz:
        ts = ts.dt.tz_localize("UTC").dt.tz_convert(tz)
    df = pd.DataFrame({"event": ["$pageview"] * len(raw), "distinct_id": [f"u{i}" for i in range(len(raw))],
                       "timestamp": ts, "p": ["x"] * len(raw)})  # fmt: skip
    expect_store(lambda: tc.EventStore.from_pandas(df), [exact_us(r, unit) for r in raw])


@fuzz_settings(40)
@given(unit=st.sampled_from(["ms", "us", "ns", "D"]), data=st.data())
def test_polars_datetime_columns_anywhere_in_int64(unit: str, data: st.DataObject) -> None:
    pl = pytest.importorskip("polars")
    if unit == "D":
        raw = data.draw(raw_values("D", -(2**31), 2**31 - 1))
        ts = pl.Series(raw, dtype=pl.Int32).cast(pl.Date)
    else:
        raw = data.draw(raw_values(unit))
        ts = pl.Series(raw, dtype=pl.Int64).cast(pl.Datetime(unit))
    df = pl.DataFrame({"event": ["$pageview"] * len(raw), "distinct_id": [f"u{i}" for i in range(len(raw))],
                       "timestamp": ts, "p": ["x"] * len(raw)})  # fmt: skip
    expect_store(lambda: tc.EventStore.from_polars(df), [exact_us(r, unit) for r in raw])


# --- property cells at the edges ---------------------------------------------------------------------------
EXTREME_CELLS = [
    2**63 - 1, -(2**63), 2**63, 2**64 - 1, 10**400, -(10**400), np.int64(-(2**63)), np.uint64(2**64 - 1), np.int8(-128),
    np.float32("nan"), math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, np.float64(1e308),
    "\ud800", "a\udfffb", "x" * (1 << 20), "x" * ((1 << 20) + 1), "", "💥\u202e", np.str_("np"),
    np.array([1, 2]), np.array([]), np.array([[1], [2]]), np.array(["a", None], dtype=object), [np.int64(1)],
    {"k": np.array([1])}, {"k": [1, {"deep": [None]}]}, [[[[[[[[[[]]]]]]]]]], {"a": math.nan}, {1: "non-str key"},
    b"\xff", bytearray(b"x"), decimal.Decimal("1.5"), dt.datetime(2020, 1, 1), dt.date(2020, 1, 1), dt.timedelta(1),
    None, True, np.bool_(False), object(), {"k": object()}, (1, 2), {1, 2},
]  # fmt: skip
CELLS = st.sampled_from(EXTREME_CELLS) | st.integers() | st.floats() | st.text(max_size=20)


def check_values(store: tc.EventStore, given_cells: list[Any]) -> None:
    """Every stored value is a JSON value; an int or float cell that was kept is stored exactly."""
    col = store.column("p")
    if col is None:
        return
    for v in col.dictionary.values:
        json.dumps(v, allow_nan=False)  # raises on NaN/inf or a non-JSON type
    stored = set(map(repr, col.dictionary.values))
    for c in given_cells:
        if type(c) in (int, float) and not (isinstance(c, float) and not math.isfinite(c)) and abs(c) < 1.8e308:
            assert repr(c) in stored or repr(float(c)) in stored or repr(int(c)) in stored, c


def frame_query(store: tc.EventStore | None) -> None:
    if store is not None:
        result = safely(lambda: tc.trends(store, QUERY, now=world.NOW))
        if result is not None:
            check_result(result)


@fuzz_settings(60)
@given(cells=st.lists(CELLS, min_size=1, max_size=6), via=st.sampled_from(["pandas", "polars", "arrow", "records"]))
def test_extreme_property_cells(cells: list[Any], via: str) -> None:
    n = len(cells)
    base = {"event": ["$pageview"] * n, "distinct_id": [f"u{i}" for i in range(n)],
            "timestamp": [f"2020-01-0{1 + i % 9}T00:00:00Z" for i in range(n)]}  # fmt: skip
    if via == "pandas":
        pd = pytest.importorskip("pandas")
        col = pd.Series(cells, dtype=object)
        build = lambda: tc.EventStore.from_pandas(pd.DataFrame({**base, "p": col}))  # noqa: E731
    elif via == "polars":
        pl = pytest.importorskip("polars")
        try:
            df = pl.DataFrame({**base, "p": pl.Series(cells, dtype=pl.Object)})
        except Exception:  # noqa: BLE001 - Polars refusing the cells is not trendcalc's concern
            return
        build = lambda: tc.EventStore.from_polars(df)  # noqa: E731
    elif via == "arrow":
        try:
            t = pa.table({**base, "properties.p": pa.array(cells)})
        except Exception:  # noqa: BLE001 - pyarrow refusing the cells is not trendcalc's concern
            return
        build = lambda: tc.EventStore.from_arrow(t)  # noqa: E731
    else:
        records = [{"event": "$pageview", "distinct_id": f"u{i}", "timestamp": base["timestamp"][i], "properties": {"p": c}}
                   for i, c in enumerate(cells)]  # fmt: skip
        build = lambda: tc.EventStore.from_records(records)  # noqa: E731
    store = safely(build, allow_root=True)
    if store is not None:
        assert len(store) == n  # all or nothing
        check_values(store, cells)
    frame_query(store)
