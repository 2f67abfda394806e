"""Stickiness results: PostHog's StickinessQueryRunner series shape on top of the Trends result.

A stickiness series is a histogram, not a time series: ``days`` are the integers 1..N, ``labels``
read "1 day", "2 days", ... ("... or more" in cumulative mode) and ``data[i]`` is the number of
actors active on exactly (cumulative: at least) ``days[i]`` intervals. The result object is a
``TrendsResult`` (``to_dicts``, ``to_csv``, ``table`` and the HTML view work unchanged); the long
tables of ``to_pandas``/``to_polars`` carry an integer ``intervals`` column instead of a date, and
``plot`` draws side-by-side bars.
"""

from __future__ import annotations

import copy
from typing import Any

import attrs

from .results import SeriesResult, TrendsResult

LONG_COLUMNS = ("series", "order", "compare_label", "intervals", "label", "value")


@attrs.frozen
class StickinessSeries(SeriesResult):
    """One stickiness series (one query series in one period)."""

    def to_dict(self) -> dict[str, Any]:
        """The keys the runner returns: action, count, data, days, labels, label (+ compare)."""
        d: dict[str, Any] = {
            "action": copy.deepcopy(self.action),
            "count": self.count,
            "data": list(self.data or []),
            "days": list(self.days or []),
            "labels": list(self.labels or []),
            "label": self.label,
        }
        if self.compare_label is not None:
            d["compare"] = True
            d["compare_label"] = self.compare_label
        return d


@attrs.frozen
class StickinessResult(TrendsResult):
    """The answer to one ``stickiness()`` call: one series per query series (and period)."""

    def __repr__(self) -> str:
        return f"<StickinessResult {len(self.series)} series>\n{self.table()}"

    def long_columns(self) -> dict[str, list[Any]]:
        """One row per (series, number of intervals): the long table as column lists."""
        cols: dict[str, list[Any]] = {c: [] for c in LONG_COLUMNS}
        for s in self.series:
            for n, label, value in zip(s.days or [], s.labels or [], s.data or []):
                cols["series"].append(s.label)
                cols["order"].append(s.order)
                cols["compare_label"].append(s.compare_label)
                cols["intervals"].append(int(n))
                cols["label"].append(label)
                cols["value"].append(value)
        return cols

    def to_records(self) -> list[dict[str, Any]]:
        """Long form: one record per (series, number of intervals)."""
        cols = self.long_columns()
        return [dict(zip(LONG_COLUMNS, row)) for row in zip(*(cols[c] for c in LONG_COLUMNS))]

    def to_pandas(self) -> Any:
        """Long form as a pandas DataFrame: series, order, compare_label, intervals, label, value."""
        from ._frames import _need

        pd = _need("pandas")
        cols = self.long_columns()
        return pd.DataFrame({
            "series": pd.Series(cols["series"], dtype=object),
            "order": pd.Series(cols["order"], dtype="int64"),
            "compare_label": pd.Series(cols["compare_label"], dtype=object),
            "intervals": pd.Series(cols["intervals"], dtype="int64"),
            "label": pd.Series(cols["label"], dtype=object),
            "value": pd.Series(cols["value"], dtype="int64"),
        }, columns=list(LONG_COLUMNS))

    def to_polars(self) -> Any:
        """Long form as a Polars DataFrame (same columns as ``to_pandas``)."""
        from ._frames import _need

        pl = _need("polars")
        cols = self.long_columns()
        return pl.DataFrame({
            "series": pl.Series(cols["series"], dtype=pl.String),
            "order": pl.Series(cols["order"], dtype=pl.Int64),
            "compare_label": pl.Series(cols["compare_label"], dtype=pl.String),
            "intervals": pl.Series(cols["intervals"], dtype=pl.Int64),
            "label": pl.Series(cols["label"], dtype=pl.String),
            "value": pl.Series(cols["value"], dtype=pl.Int64),
        })

    def _repr_html_(self) -> str:
        from ._html import repr_html

        return repr_html(self).replace("TrendsResult:", "StickinessResult:", 1)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """A matplotlib Figure: side-by-side bars per number of intervals. Needs ``trendcalc[plot]``."""
        return plot(self, ax, **kwargs)


def plot(result: StickinessResult, ax: Any = None, *, title: str | None = None,
         figsize: tuple[float, float] = (8, 4.5), dpi: int = 100) -> Any:
    """Side-by-side bars: x = number of intervals, one bar per series (previous period hatched)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("StickinessResult.plot needs matplotlib: pip install 'trendcalc[plot]'") from None
    from ._plotting import _figure_class
    from .formatting import series_name as _series_name

    if ax is None:
        fig = _figure_class()(figsize=figsize, dpi=dpi, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    series = result.series
    if not series:
        ax.text(0.5, 0.5, "no series", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    longest = max(series, key=lambda s: len(s.labels or []))
    labels = longest.labels or []
    width = 0.8 / len(series)
    for i, s in enumerate(series):
        data = [float(v) for v in s.data or []]
        xs = [p - 0.4 + width * (i + 0.5) for p in range(len(data))]
        ax.bar(xs, data, width, label=_series_name(s), hatch="//" if s.compare_label == "previous" else None)
    step = max(1, -(-len(labels) // 12))
    ax.set_xticks(list(range(len(labels)))[::step], labels[::step], rotation=30, ha="right")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    if title:
        ax.set_title(title)
    return fig


def interval_labels(days: list[int], interval: str, cumulative: bool) -> list[str]:
    """ "1 day", "2 days", ...; "1 day or more", ... in cumulative mode (spec §3.5)."""
    suffix = " or more" if cumulative else ""
    return [f"{d} {interval}{'' if d == 1 else 's'}{suffix}" for d in days]


__all__ = ["StickinessResult", "StickinessSeries", "interval_labels"]
