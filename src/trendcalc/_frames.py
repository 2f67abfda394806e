"""TrendsResult → pandas / Polars: one tidy long table, the same columns for both.

Columns: ``series`` (the series' name: its custom name or event/action name, or the formula;
with the math when two series of one event differ by it — never the breakdown value), ``order`` (the series' index in the query, which tells apart two
series with one label), ``breakdown_value`` (multi-breakdowns joined with ``::``),
``compare_label`` (``current``/``previous`` with compare, else null), ``date`` (the bucket start
as PostHog's ``days`` gives it: local time in the project timezone, without a zone; null for
total-value displays) and ``value``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .formatting import series_titles

COLUMNS = ("series", "order", "breakdown_value", "compare_label", "date", "value")


def long_columns(result: Any) -> dict[str, list[Any]]:
    """The long table as column lists."""
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for title, s in zip(series_titles(result.series), result.series):
        bv = s.breakdown_value
        bv = "::".join(map(str, bv)) if isinstance(bv, (tuple, list)) else bv
        points: list[tuple[dt.datetime | None, Any]]
        if s.total_value:
            points = [(None, s.aggregated_value)]
        else:
            points = [(dt.datetime.fromisoformat(d), v) for d, v in zip(s.days or [], s.data or [])]
        for date, value in points:
            cols["series"].append(title)
            cols["order"].append(s.order)
            cols["breakdown_value"].append(bv)
            cols["compare_label"].append(s.compare_label)
            cols["date"].append(date)
            cols["value"].append(value)
    return cols


def _need(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise ImportError(f"TrendsResult.to_{module} needs {module}: pip install {module} (trendcalc's '{module}' extra)") from None


def to_pandas(result: Any) -> Any:
    pd = _need("pandas")
    cols = long_columns(result)
    return pd.DataFrame(
        {
            "series": pd.Series(cols["series"], dtype=object),
            "order": pd.Series(cols["order"], dtype="int64"),
            "breakdown_value": pd.Series(cols["breakdown_value"], dtype=object),
            "compare_label": pd.Series(cols["compare_label"], dtype=object),
            "date": pd.to_datetime(pd.Series(cols["date"], dtype=object)),
            "value": pd.Series(cols["value"], dtype=_value_dtype(cols["value"])),
        },
        columns=list(COLUMNS),
    )


def to_polars(result: Any) -> Any:
    pl = _need("polars")
    cols = long_columns(result)
    bv = cols["breakdown_value"]
    return pl.DataFrame(
        {
            "series": pl.Series(cols["series"], dtype=pl.String),
            "order": pl.Series(cols["order"], dtype=pl.Int64),
            "breakdown_value": pl.Series([None if v is None else str(v) for v in bv], dtype=pl.String),
            "compare_label": pl.Series(cols["compare_label"], dtype=pl.String),
            "date": pl.Series(cols["date"], dtype=pl.Datetime("us")),
            "value": pl.Series(cols["value"], dtype=pl.Int64 if _value_dtype(cols["value"]) == "int64" else pl.Float64),
        }
    )


def _value_dtype(values: list[Any]) -> str:
    return "int64" if all(type(v) is int for v in values) else "float64"
