"""Breakdowns: the breakdown value of every row, then PostHog's ranking, top-N and "Other".

Values are rendered once per dictionary value (never per row): a source gives each row a code
into a dictionary, the renderer turns each dictionary value into its breakdown string (or the
null marker), and rows are grouped by the resulting label ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ..errors import UnsupportedError
from ..filters.model import Breakdown, BreakdownItem
from ..store.columns import BREAKDOWN_NULL, BREAKDOWN_OTHER, float_text, render_text, to_float
from .context import QueryContext

NORMAL, NULL, OTHER = 0, 1, 2


@attrs.frozen
class Grouping:
    """Rows grouped by breakdown value: ``codes`` per row in 0..len(values)-1."""

    codes: np.ndarray
    values: tuple[Any, ...]  # str, or tuple of str for multi-breakdowns
    kinds: np.ndarray  # NORMAL / NULL per group
    take: np.ndarray | None = None  # rows counted in several groups (cohorts): positions into rows


@attrs.frozen
class ItemValues:
    """One breakdown dimension over the rows: label id per row, and the label strings."""

    ids: np.ndarray
    labels: Sequence[str]


def render_value(v: Any, prop_type: str | None, normalize: bool = False) -> str:
    """The breakdown string of one raw value (spec §6.2); the null marker for NULL/empty.

    URL normalisation (§6.5) runs before the null check, so ``""`` and ``"?"`` become ``"/"``."""
    if v is None:
        return BREAKDOWN_NULL
    if prop_type == "Numeric":
        f = to_float(v)
        r = "" if f != f else float_text(f)
    elif prop_type == "Boolean":
        r = render_text(v)
        r = r if r in ("true", "false") else ""
    else:
        r = render_text(v)
        if normalize:
            r = normalize_url(r)
    return r if r != "" else BREAKDOWN_NULL


def normalize_url(s: str) -> str:
    """trimRight(v, '/?#'), empty → '/' (spec §6.5)."""
    t = s.rstrip("/?#")
    return t if t else "/"


def column_values(codes: np.ndarray, dictionary_values: Sequence[Any], prop_type: str | None, normalize: bool) -> ItemValues:
    """Label ids per row from dictionary codes, rendering each dictionary value once."""
    rendered = [render_value(v, prop_type, normalize) for v in dictionary_values] + [BREAKDOWN_NULL]
    index: dict[str, int] = {}
    lut = np.fromiter((index.setdefault(s, len(index)) for s in rendered), dtype=np.int32, count=len(rendered))
    return ItemValues(lut[codes], list(index))


def _event_source(ctx: QueryContext, item: BreakdownItem, rows: np.ndarray) -> ItemValues:
    col = ctx.store.column(item.property)
    ptype = ctx.project.property_type(item.property, "event")
    if col is None:
        return column_values(np.full(len(rows), -1, np.int32), (), ptype, item.normalize_url)
    return column_values(col.codes[rows], col.dictionary.values, ptype, item.normalize_url)


def _person_source(ctx: QueryContext, item: BreakdownItem, rows: np.ndarray) -> ItemValues:
    col = ctx.store.persons.column(item.property)
    ptype = ctx.project.property_type(item.property, "person")
    if col is None:
        return column_values(np.full(len(rows), -1, np.int32), (), ptype, item.normalize_url)
    return column_values(col.codes[ctx.store.person[rows]], col.dictionary.values, ptype, item.normalize_url)


def _group_source(ctx: QueryContext, item: BreakdownItem, rows: np.ndarray) -> ItemValues:
    gti = item.group_type_index
    table = ctx.store.groups.get(gti)
    col = table.column(item.property) if table is not None else None
    ptype = ctx.project.property_type(item.property, "group", gti)
    if col is None:
        return column_values(np.full(len(rows), -1, np.int32), (), ptype, item.normalize_url)
    grows = ctx.store.group_rows(gti)[rows]
    codes = np.where(grows >= 0, col.codes[np.maximum(grows, 0)], -1).astype(np.int32)
    return column_values(codes, col.dictionary.values, ptype, item.normalize_url)


SOURCES: dict[str, Callable[[QueryContext, BreakdownItem, np.ndarray], ItemValues]] = {
    "event": _event_source,
    "person": _person_source,
    "group": _group_source,
}


def group_rows(ctx: QueryContext, breakdown: Breakdown, rows: np.ndarray) -> Grouping:
    """Breakdown group per row (property breakdowns, single or multiple; several cohorts)."""
    if breakdown.items[0].type == "cohort":
        from ..filters.cohorts import cohort_grouping

        return cohort_grouping(ctx, breakdown.items[0], rows)
    parts = []
    for item in breakdown.items:
        source = SOURCES.get(item.type)
        if source is None or item.histogram_bin_count is not None:
            what = "histogram" if item.histogram_bin_count is not None else item.type
            raise UnsupportedError(("breakdown",), f"{what} breakdowns are not implemented yet")
        parts.append(source(ctx, item, rows))
    if len(parts) == 1:
        key = parts[0].ids.astype(np.int64)
    else:
        key = np.ravel_multi_index(tuple(p.ids for p in parts), tuple(max(len(p.labels), 1) for p in parts))
    uniq, inverse = np.unique(key, return_inverse=True)
    if len(parts) == 1:
        labels = parts[0].labels
        values: tuple[Any, ...] = tuple(labels[i] for i in uniq.tolist())
    else:
        idx = np.unravel_index(uniq, tuple(max(len(p.labels), 1) for p in parts))
        values = tuple(tuple(p.labels[j] for p, j in zip(parts, col)) for col in zip(*(a.tolist() for a in idx)))
    kinds = np.array([NULL if _has_null(v) else NORMAL for v in values], dtype=np.int8)
    wrapped = values if not breakdown.multi else tuple(v if isinstance(v, tuple) else (v,) for v in values)
    return Grouping(inverse.astype(np.int32).reshape(-1), wrapped, kinds)


def _has_null(v: Any) -> bool:
    return v == BREAKDOWN_NULL if isinstance(v, str) else any(x == BREAKDOWN_NULL for x in v)


def _value_key(v: Any) -> Any:
    if isinstance(v, tuple):
        return tuple(str(x) for x in v)
    return str(v)


def rank(values: Sequence[Any], kinds: np.ndarray, totals: np.ndarray, limit: int) -> tuple[list[int], list[int]]:
    """(kept groups in display order, groups folded into Other) per spec §6.3/6.9:
    by class (normal, then null), total desc, value asc as strings.

    The spec says total-value displays give the null marker no penalty; the conformance case
    trends_c__breakdown_filtering_bar_chart_by_value shows it ranked last there too."""
    order = sorted(range(len(values)), key=lambda g: (int(kinds[g]), -float(totals[g]), _value_key(values[g])))
    if len(order) <= limit:
        return order, []
    keep = order[: max(limit, 0)]
    return keep, order[max(limit, 0):]


def other_value(multi: bool, width: int) -> Any:
    return tuple([BREAKDOWN_OTHER] * width) if multi else BREAKDOWN_OTHER
