"""pandas and Polars DataFrames in: the same columns as CSV (see readers.py), typed cells kept.

A numeric column gives numbers, a bool column booleans, a string column strings; null, NaN and
NaT are absent. A datetime ``timestamp`` column (naive = UTC) is converted to µs in one vectorised
step; text or epoch seconds are parsed per row like any record.

With pyarrow installed, both frame kinds go over Arrow instead (``pandas_table``/``polars_table``
then ``EventStore.from_arrow``): no Python object per row. ``_frame_items`` (column name → Python
list, then the record rules) is the path without pyarrow, and for frames Arrow cannot convert
(an object column mixing types).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..timeutil import MAX_YEAR, MIN_YEAR, datetime_to_us
from .builder import Item, Source
from .readers import ColumnLayout
from .timerange import OutOfRangeTime, outside, us_or

_LO_US = datetime_to_us(dt.datetime(MIN_YEAR, 1, 1, tzinfo=dt.timezone.utc))
_HI_US = datetime_to_us(dt.datetime(MAX_YEAR + 1, 1, 1, tzinfo=dt.timezone.utc))
_NAT = np.iinfo(np.int64).min
_OUT = np.iinfo(np.int64).max  # a datetime outside years 1900..2299 (reported by _frame_items)


def _no_nan(values: list[Any]) -> list[Any]:
    """Float NaN cells become None (absent); an array cell (pandas' form of a list column) becomes
    a list, a JSON value like any other (compared with ``==`` it would be ambiguous)."""
    return [None if type(v) is float and math.isnan(v) else v.tolist() if isinstance(v, np.ndarray) else v
            for v in values]


def pandas_table(df: Any) -> Any | None:
    """The frame as an Arrow table (None: Arrow cannot convert it, or its column names are not
    all strings; the row path then reports what is wrong)."""
    import pandas as pd
    import pyarrow as pa

    if not isinstance(df, pd.DataFrame) or not all(isinstance(c, str) for c in df.columns) or df.columns.has_duplicates:
        return None
    if any(pd.api.types.is_object_dtype(dtype) and pd.api.types.infer_dtype(df[c], skipna=True).startswith("mixed")
           for c, dtype in df.dtypes.items()):
        return None  # (Arrow would coerce mixed cells: ints beside a datetime become times, 1 beside 1.5 becomes 1.0)
    try:
        return _plain_strings(pa.Table.from_pandas(df, preserve_index=False))
    except (pa.ArrowException, TypeError, ValueError, OverflowError):  # (an int cell past int64: the row path)
        return None


def polars_table(df: Any) -> Any | None:
    """The frame as an Arrow table (None: Arrow cannot convert it)."""
    import polars as pl
    import pyarrow as pa

    if not isinstance(df, pl.DataFrame):
        return None
    try:
        return _plain_strings(pa.table(df.to_arrow()))
    except (pa.ArrowException, TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        return None


def _plain_strings(table: Any) -> Any:
    """String views and categoricals' view dictionaries as the string types the build reads."""
    import pyarrow as pa

    def plain(t: Any) -> Any:
        if pa.types.is_string_view(t):
            return pa.large_string()
        if pa.types.is_dictionary(t):
            return pa.dictionary(t.index_type, plain(t.value_type))
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, plain(f.type)) for f in t])
        return t

    schema = pa.schema([pa.field(f.name, plain(f.type)) for f in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)


def _frame_items(
    names: list[str], columns: list[list[Any]], ts_us: np.ndarray | None, rename: Mapping[str, str] | None
) -> tuple[Source, Iterator[Item]]:
    """Feed items for a frame given as column lists (None = absent) and, when the timestamp column
    was a datetime, its µs values (NaT = ``_NAT``)."""
    layout = ColumnLayout(names, rename, "DataFrame")
    n = len(columns[0]) if columns else 0

    def items() -> Iterator[Item]:
        for i, row in enumerate(zip(*columns)):
            try:
                rec = layout.record(row, None)
            except ValidationError as exc:
                yield i, exc, None
                continue
            if ts_us is None:
                yield i, rec, None
                continue
            t = int(ts_us[i])
            if t == _NAT:
                yield i, ValidationError(("timestamp",), "missing timestamp"), None
            elif not _LO_US <= t < _HI_US:
                yield i, ValidationError(("timestamp",), f"timestamp outside years {MIN_YEAR}..{MAX_YEAR}"), None
            else:
                yield i, rec, t

    return Source("events", "index"), (items() if n else iter(()))



def _ts_column(names: list[str], rename: Mapping[str, str] | None) -> int:
    rename = rename or {}
    for i, c in enumerate(names):
        if rename.get(c, c) == "timestamp":
            return i
    return -1


def pandas_items(df: Any, rename: Mapping[str, str] | None = None, tz: dt.tzinfo = dt.timezone.utc) -> tuple[Source, Iterator[Item]]:
    """Feed items for a pandas DataFrame (rows are 0-based positions)."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise ValidationError(("events",), f"expected a pandas DataFrame, got {type(df).__name__}")
    names = list(df.columns)
    t = _ts_column(names, rename)
    ts_us = None
    columns: list[list[Any]] = []
    for i in range(len(names)):
        s = df.iloc[:, i]
        if i == t and pd.api.types.is_datetime64_any_dtype(s.dtype):
            local = s if s.dt.tz is not None or tz is dt.timezone.utc else s.dt.tz_localize(str(tz), ambiguous="NaT", nonexistent="NaT")
            utc = local.dt.tz_convert("UTC").dt.tz_localize(None) if local.dt.tz is not None else s
            raw = utc.to_numpy()  # datetime64 in the column's own unit: range-checked, then scaled
            ts_us = _checked_us(raw.view(np.int64), np.datetime_data(raw.dtype)[0])
            columns.append(ts_us.tolist())  # (the builder reads ts_us)
            continue
        columns.append(_pandas_list(s))
    return _frame_items(names, columns, ts_us, rename)


def polars_items(df: Any, rename: Mapping[str, str] | None = None, tz: dt.tzinfo = dt.timezone.utc) -> tuple[Source, Iterator[Item]]:
    """Feed items for a Polars DataFrame (rows are 0-based positions)."""
    import polars as pl

    if not isinstance(df, pl.DataFrame):
        raise ValidationError(("events",), f"expected a polars DataFrame, got {type(df).__name__}")
    names = list(df.columns)
    t = _ts_column(names, rename)
    ts_us = None
    columns: list[list[Any]] = []
    for i, name in enumerate(names):
        s = df.get_column(name)
        if i == t and s.dtype in (pl.Datetime, pl.Date):  # range-checked before scaling (no wrap)
            if s.dtype == pl.Datetime and s.dtype.time_zone is None and str(tz) != "UTC":  # type: ignore[attr-defined]
                s = s.dt.replace_time_zone(str(tz), ambiguous="earliest", non_existent="null")
            raw = s.to_physical().cast(pl.Int64).fill_null(_NAT).to_numpy()
            ts_us = _checked_us(raw, "D" if s.dtype == pl.Date else getattr(s.dtype, "time_unit", "us"))
            columns.append([None] * len(s))  # (the µs above are used; to_list could not hold them all)
            continue
        columns.append(_no_nan(_polars_list(s)))
    return _frame_items(names, columns, ts_us, rename)


def _checked_us(raw: np.ndarray, unit: str) -> np.ndarray:
    """µs per row of raw datetime values (NaT stays ``_NAT``; outside 1900..2299 becomes a value
    ``_frame_items`` reports as out of range)."""
    us = us_or(raw, unit, _OUT)
    us[raw == _NAT] = _NAT
    return us


def _pandas_list(s: Any) -> list[Any]:
    """A pandas column's cells as Python values (None for null, NaN and NaT); a datetime column's
    as ``_pandas_datetimes`` gives them."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return _pandas_datetimes(s)
    return _no_nan(s.astype(object).where(s.notna(), None).tolist())


def _pandas_datetimes(s: Any) -> list[Any]:
    """A datetime property column's cells as the Arrow path stores them (``arrow_time.datetime_text``:
    ISO-8601 text, ``Z`` and UTC when zoned), None for NaT, and OutOfRangeTime outside years
    1900..2299 (rejected like any such cell). As Python datetimes they were no JSON value, and
    pandas raises converting a zoned instant past year 9999 (found by the long fuzz profile)."""
    zoned = s.dt.tz is not None
    naive = s.dt.tz_convert("UTC").dt.tz_localize(None) if zoned else s
    raw = naive.to_numpy()
    unit = np.datetime_data(raw.dtype)[0]
    present = s.notna().to_numpy()
    bad = outside(raw.view(np.int64), unit) & present
    keep = present & ~bad
    out: list[Any] = [None] * len(s)
    if keep.any():
        for i, text in zip(np.flatnonzero(keep).tolist(), _datetime_texts(naive[keep], unit, zoned)):
            out[i] = text
    for i in np.flatnonzero(bad).tolist():
        out[i] = OutOfRangeTime()
    return out


def _datetime_texts(naive: Any, unit: str, zoned: bool) -> list[str]:
    """ISO-8601 text of naive (UTC when ``zoned``) in-range datetimes: through Arrow's own
    ``datetime_text`` when pyarrow is installed, else the same rule in pandas (a fraction only
    when some value has one, of the unit's digits: 3 for ms, else 6; ``Z`` when zoned)."""
    from .arrow_encode import have_pyarrow

    if have_pyarrow():
        import pyarrow as pa

        from .arrow_time import datetime_text

        arr = pa.Array.from_pandas(naive)
        if zoned:
            arr = arr.cast(pa.timestamp(arr.type.unit, "UTC"))
        return datetime_text(pa.chunked_array([arr])).to_pylist()
    whole = bool(((naive.dt.microsecond == 0) & (naive.dt.nanosecond == 0)).all())
    texts = naive.dt.strftime("%Y-%m-%dT%H:%M:%S" + ("" if whole else ".%f")).tolist()
    if not whole and unit == "ms":
        texts = [t[:-3] for t in texts]
    return [t + "Z" for t in texts] if zoned else texts


def _polars_list(s: Any) -> list[Any]:
    """``s.to_list()``, except that a Datetime or Date column's cells are the Arrow path's ISO
    text (``arrow_time.datetime_text``; as Python datetimes they were no JSON value, so a frame
    going row by row refused every row), and temporal cells outside years 1900..2299 become
    OutOfRangeTime: Polars panics (a BaseException) converting a datetime beyond Python's range."""
    import polars as pl

    if s.dtype not in (pl.Datetime, pl.Date, pl.Duration):
        return s.to_list()
    unit = "D" if s.dtype == pl.Date else getattr(s.dtype, "time_unit", "us")
    raw = s.to_physical().cast(pl.Int64).fill_null(0).to_numpy()
    present = ~s.is_null().to_numpy()
    bad = outside(raw, unit) & present
    if s.dtype == pl.Duration:
        values = s.scatter(np.flatnonzero(bad), None).to_list() if bad.any() else s.to_list()
    else:
        keep = present & ~bad
        values = [None] * len(s)
        if keep.any():
            for i, text in zip(np.flatnonzero(keep).tolist(), _polars_datetime_texts(s.filter(pl.Series(keep)))):
                values[i] = text
    for i in np.flatnonzero(bad).tolist():
        values[i] = OutOfRangeTime()
    return values


def _polars_datetime_texts(s: Any) -> list[str]:
    """ISO-8601 text of in-range Date/Datetime cells: Arrow's own ``datetime_text`` when pyarrow
    is installed, else the same rule in Polars (``YYYY-MM-DD`` for dates; a fraction only when
    some value has one, of the unit's digits: 3 for ms, else 6; UTC and ``Z`` when zoned)."""
    import polars as pl

    from .arrow_encode import have_pyarrow

    if have_pyarrow():
        import pyarrow as pa

        from .arrow_time import datetime_text

        return datetime_text(pa.chunked_array([s.to_arrow()])).to_pylist()
    if s.dtype == pl.Date:
        return s.dt.strftime("%Y-%m-%d").to_list()
    zoned = s.dtype.time_zone is not None
    if zoned:
        s = s.dt.convert_time_zone("UTC")
    whole = bool((s.dt.nanosecond() == 0).all())
    digits = "" if whole else ".%3f" if s.dtype.time_unit == "ms" else ".%6f"
    return s.dt.strftime("%Y-%m-%dT%H:%M:%S" + digits + ("Z" if zoned else "")).to_list()


def frame_records(df: Any, kind: str) -> Any:
    """Persons or groups given as a DataFrame: one record per row (``to_dicts``); else as is."""
    if df is None or isinstance(df, (list, tuple)):
        return df
    mod = type(df).__module__.split(".")[0]
    if mod == "pandas":
        cols = {name: _pandas_list(df.iloc[:, j]) for j, name in enumerate(df.columns)}
        return [{k: v[i] for k, v in cols.items() if v[i] is not None} for i in range(len(df))]
    if mod == "polars":
        cols = {name: _polars_list(df.get_column(name)) for name in df.columns}
        return [{k: v[i] for k, v in cols.items() if v[i] is not None} for i in range(len(df))]
    return df
