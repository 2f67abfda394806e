"""Trend results in PostHog's response shape, plus CSV export."""

from __future__ import annotations

import copy
from typing import Any

import attrs

from .formatting import cell_text, legend_names, number_text, series_titles


@attrs.frozen
class SeriesResult:
    """One result series (one series × breakdown value × period, or one formula output)."""

    label: str
    order: int
    action: dict[str, Any] | None
    filter: dict[str, Any]
    data: list[Any] | None = None
    labels: list[str] | None = None
    days: list[str] | None = None
    count: Any = 0
    aggregated_value: Any = None
    breakdown_value: Any = None
    has_breakdown: bool = False
    compare_label: str | None = None
    total_value: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A fresh dict with the keys PostHog returns for this kind of series (spec §3)."""
        d: dict[str, Any] = {
            "data": list(self.data) if self.data is not None else None,
            "days": list(self.days) if self.days is not None else [],
            "count": self.count,
            "label": self.label,
            "filter": copy.deepcopy(self.filter),
            "action": copy.deepcopy(self.action),
            "order": self.order,
        }
        if self.total_value:
            d["aggregated_value"] = self.aggregated_value
        else:
            d["labels"] = list(self.labels or [])
        if self.has_breakdown:
            v = self.breakdown_value
            d["breakdown_value"] = list(v) if isinstance(v, tuple) else v
        if self.compare_label is not None:
            d["compare"] = True
            d["compare_label"] = self.compare_label
        return d


@attrs.frozen
class TrendsResult:
    """The answer to one ``trends()`` call: an ordered list of series."""

    series: list[SeriesResult]
    timezone: str = "UTC"
    interval: str = "day"
    total_value: bool = False
    # What may make the numbers not what the query's author meant (trendcalc.QueryWarning);
    # the same texts are issued as trendcalc.TrendcalcWarning when the result is computed.
    warnings: tuple = ()

    def __len__(self) -> int:
        return len(self.series)

    def __iter__(self):
        return iter(self.to_dicts())

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.series[i].to_dict()

    def to_dicts(self) -> list[dict[str, Any]]:
        """The list of series dicts, as PostHog's ``result`` (fresh objects on every call)."""
        return [s.to_dict() for s in self.series]

    def to_records(self) -> list[dict[str, Any]]:
        """Long form: one record per (series, date) — or per series for total-value displays."""
        out = []
        for s in self.series:
            base = {
                "series": s.label,
                "breakdown_value": "::".join(map(str, s.breakdown_value)) if isinstance(s.breakdown_value, tuple) else s.breakdown_value,
                "compare_label": s.compare_label,
            }
            if s.total_value:
                out.append({**base, "date": None, "value": s.aggregated_value})
            else:
                for day, v in zip(s.days or [], s.data or []):
                    out.append({**base, "date": day, "value": v})
        return out

    def to_csv(self, *, neutralize_formulas: bool = True) -> str:
        """Wide CSV: one row per series, one column per bucket (or a single value column).

        Text cells (labels, breakdown values) that a spreadsheet would run as a formula (starting
        with ``= + - @``, tab or CR, and not a plain number) are prefixed with ``'`` (OWASP's rule,
        see ``trendcalc.csvsafe``); ``neutralize_formulas=False`` writes them verbatim."""
        from .csvsafe import csv_text, neutralize

        text = neutralize if neutralize_formulas else str
        if self.total_value or not self.series:
            return csv_text([["series", "breakdown_value", "compare_label", "value"]] + [
                [text(s.label), text(cell_text(s.breakdown_value)), s.compare_label or "", number_text(s.aggregated_value)]
                for s in self.series
            ])
        days = self.series[0].days or []
        return csv_text([["series", "breakdown_value", "compare_label", *days, "total"]] + [
            [text(s.label), text(cell_text(s.breakdown_value)), s.compare_label or "", *map(number_text, s.data or []), number_text(s.count)]
            for s in self.series
        ])

    def summary(self) -> str:
        """One line naming what was asked: the series, the date range, interval, timezone (the
        header of ``table()`` and of the HTML view)."""
        titles = " · ".join(dict.fromkeys(series_titles(self.series))) or "no series"
        f = self.series[0].filter if self.series else {}
        span = f"{str(f.get('date_from', ''))[:10]} – {str(f.get('date_to', ''))[:10]}" if f.get("date_from") else ""
        return " · ".join(p for p in (titles, span, "" if self.total_value else self.interval, self.timezone) if p)

    def table(self, max_columns: int = 12) -> str:
        """A readable fixed-width text table (the CLI's and the demo's): the summary line, one row
        per series, the first and last buckets when there are more than ``max_columns``, and the
        total."""
        if not self.series:
            return "(no series)"
        names = legend_names(self.series)
        width = min(max(max(len(n) for n in names), 6), 48)
        lines = [self.summary()]
        if self.total_value:
            lines.append(f"{'series':<{width}}  value")
            lines += [f"{n[:width]:<{width}}  {number_text(s.aggregated_value)}" for n, s in zip(names, self.series)]
            return "\n".join(lines)
        labels = self.series[0].labels or []
        cols = list(range(len(labels)))
        if len(cols) > max_columns:
            edge = max(max_columns // 2, 1)
            cols = cols[:edge] + [-1] + cols[-edge:]
        cw = max([len(labels[c]) for c in cols if c >= 0] + [5])
        lines.append(f"{'series':<{width}}  " + "  ".join(f"{labels[c] if c >= 0 else '…':>{cw}}" for c in cols) + f"  {'total':>8}")
        for n, s in zip(names, self.series):
            data = s.data or []  # a compare period can have fewer buckets than the first series
            vals = "  ".join(f"{(number_text(data[c]) if c < len(data) else '') if c >= 0 else '…':>{cw}}" for c in cols)
            lines.append(f"{n[:width]:<{width}}  {vals}  {number_text(s.count):>8}")
        if -1 in cols:
            lines.append(f"({len(labels) - len(cols) + 1} buckets in the middle not shown)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<TrendsResult {len(self.series)} series>\n{self.table()}"

    # --- notebooks (optional extras, imported on use) -------------------------------------------
    def to_pandas(self) -> Any:
        """Long form as a pandas DataFrame: series, order, breakdown_value, compare_label, date,
        value (see ``trendcalc._frames``). Needs ``trendcalc[pandas]``."""
        from ._frames import to_pandas

        return to_pandas(self)

    def to_polars(self) -> Any:
        """Long form as a Polars DataFrame (same columns as ``to_pandas``). Needs ``trendcalc[polars]``."""
        from ._frames import to_polars

        return to_polars(self)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """A matplotlib Figure drawn as the display asks (lines, bars, pie, a big number); see
        ``trendcalc._plotting``. Needs ``trendcalc[plot]``."""
        from ._plotting import plot

        return plot(self, ax, **kwargs)

    def _repr_html_(self) -> str:
        from ._html import repr_html

        return repr_html(self)


@attrs.frozen
class ActorsResult:
    """The actors behind one data point (``actors()``): one page of rows, PostHog's
    ActorsQueryResponse. ``rows[i][j]`` is column ``columns[j]`` of actor i, as PostHog's
    ``results``; indexing and iterating the result go over those rows."""

    columns: tuple[str, ...]
    rows: list[list[Any]]
    has_more: bool = False
    limit: int = 100
    offset: int = 0
    missing_actors_count: int | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.to_rows())

    def __getitem__(self, i: int) -> list[Any]:
        return copy.deepcopy(self.rows[i])

    def to_rows(self) -> list[list[Any]]:
        """PostHog's ``results``: one list per actor, in ``columns`` order (fresh objects)."""
        return copy.deepcopy(self.rows)

    def to_dicts(self) -> list[dict[str, Any]]:
        """One dict per actor, keyed by column name (fresh objects)."""
        return [dict(zip(self.columns, row)) for row in self.to_rows()]

    def to_response(self) -> dict[str, Any]:
        """PostHog's ActorsQueryResponse fields: results, columns, hasMore, limit, offset,
        missing_actors_count."""
        return {
            "results": self.to_rows(),
            "columns": list(self.columns),
            "hasMore": self.has_more,
            "limit": self.limit,
            "offset": self.offset,
            "missing_actors_count": self.missing_actors_count,
        }

    def __repr__(self) -> str:
        more = ", more" if self.has_more else ""
        return f"<ActorsResult {len(self.rows)} actors (offset {self.offset}{more}); columns {list(self.columns)}>"
