"""TrendsResult._repr_html_: a compact, HTML-escaped table for Jupyter.

One row per series (label, breakdown value, compare label), the first and last few buckets and
the total; total-value displays show one value per series. Long results are cut like pandas does.
"""

from __future__ import annotations

from html import escape
from typing import Any

from ._plotting import display_of
from .formatting import readable, series_titles

MAX_ROWS = 20
EDGE_COLUMNS = 4  # buckets shown at each end


def _num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    if isinstance(v, float):
        return f"{v:,.6g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _cells(tag: str, values: list[str], right_from: int) -> str:
    return "".join(
        f'<{tag} style="text-align:{"right" if i >= right_from else "left"}">{escape(v)}</{tag}>'
        for i, v in enumerate(values)
    )


def repr_html(result: Any) -> str:
    series = result.series
    head = f"{type(result).__name__}: {len(series)} series · {result.summary()} · {display_of(result)}"
    if not series:
        return f"<div><small>{escape(head)}</small><p>(no series)</p></div>"
    has_bd = any(s.has_breakdown for s in series)
    has_cmp = any(s.compare_label for s in series)
    key_cols = ["series"] + (["breakdown"] if has_bd else []) + (["compare"] if has_cmp else [])
    if result.total_value:
        cols, picks = ["value"], None
    else:
        labels = series[0].labels or []
        picks = list(range(len(labels)))
        if len(picks) > 2 * EDGE_COLUMNS + 1:
            picks = picks[:EDGE_COLUMNS] + [-1] + picks[-EDGE_COLUMNS:]
        cols = [labels[i] if i >= 0 else "…" for i in picks] + ["total"]
    titles = series_titles(series)
    rows = list(range(len(series)))
    if len(rows) > MAX_ROWS:
        rows = rows[: MAX_ROWS - 6] + [-1] + rows[-5:]  # MAX_ROWS rows, "…" included
    body = []
    for r in rows:
        if r < 0:
            body.append(_cells("td", ["…"] * (len(key_cols) + len(cols)), len(key_cols)))
            continue
        s = series[r]
        key = [titles[r]] + ([readable(s.breakdown_value)] if has_bd else []) + ([s.compare_label or ""] if has_cmp else [])
        if picks is None:
            vals = [_num(s.aggregated_value)]
        else:
            vals = [_num(s.data[i]) if i >= 0 else "…" for i in picks] + [_num(s.count)]
        body.append(_cells("td", key + vals, len(key_cols)))
    table = (
        "<table><thead><tr>" + _cells("th", key_cols + cols, len(key_cols)) + "</tr></thead><tbody>"
        + "".join(f"<tr>{row}</tr>" for row in body) + "</tbody></table>"
    )
    return f"<div><small>{escape(head)}</small>{table}</div>"

