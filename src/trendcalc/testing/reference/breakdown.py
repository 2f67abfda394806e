"""Breakdowns (time-math-breakdown.md §6): where an item reads its value, how the value renders,
histogram bins, the top-N ranking with Other and the null value, and series labels."""

from __future__ import annotations

import json
import re
from typing import Any

from ...project import Project
from ...query.model import Breakdown, BreakdownItem, TrendsFilter
from .cohorts import cohort_grouped
from .results import running_sum
from .sessions import session_value
from .supported import BREAKDOWN_TYPES
from .values import float_text, render_text, to_float
from .world import ReferenceUnsupported, World

NULL = "$$_posthog_breakdown_null_$$"
OTHER = "$$_posthog_breakdown_other_$$"


def normalize_url(s: str) -> str:
    """§6.5: trimRight(v, '/?#'); empty → '/'."""
    return s.rstrip("/?#") or "/"


def render_breakdown_value(v: Any, prop_type: str | None, normalize: bool) -> str:
    """§6.2: typed rendering (Numeric, Boolean), else R(v); empty/NULL → the null marker; then
    the first 400 bytes (PostHog's left(toString(v), 400), PR #48274)."""
    if v is None:
        return NULL
    if prop_type == "Numeric":
        f = to_float(v)
        text = "" if f is None else float_text(f)
    elif prop_type == "Boolean":
        text = render_text(v)
        text = text if text in ("true", "false") else ""
    else:
        text = render_text(v)
        if normalize:
            text = normalize_url(text)
    if not text:
        return NULL
    return text.encode("utf-8", "surrogatepass")[:400].decode("utf-8", "ignore")  # left(toString(v), 400) in bytes


def raw_breakdown_value(world: World, item: BreakdownItem, event: dict[str, Any]) -> Any:
    """§6.1: where an item reads its value: the event, the event's person, or its group."""
    if item.type == "event":
        return event["properties"].get(item.property)
    if item.type == "person":
        if str(item.property).startswith("$virt_"):
            raise ReferenceUnsupported("virtual person properties")
        return world.person_properties.get(event["person"], {}).get(item.property)
    if item.type == "group":
        gti = item.group_type_index
        assert gti is not None  # the parser requires one on a group breakdown
        key = event["properties"].get(f"$group_{gti}")
        if key is None:
            return None
        key = key if isinstance(key, str) else json.dumps(key)
        return world.group_properties.get((gti, key), {}).get(item.property)
    if item.type == "event_metadata":
        return metadata_value(item.property, event)
    if item.type == "session":
        return session_value(world, item.property, event)
    raise ReferenceUnsupported(f"{item.type} breakdowns")


def metadata_value(key: str, event: dict[str, Any]) -> Any:
    """§6.1 event_metadata: an event column — ``distinct_id``, ``event``, or a column taken from
    the property of the same name (``$group_N``, ``$session_id``, ``$window_id``)."""
    if key in ("distinct_id", "event"):
        return event[key]
    if key in ("$session_id", "$window_id") or re.fullmatch(r"\$group_[0-4]", key):
        return event["properties"].get(key)
    raise ReferenceUnsupported(f"event_metadata breakdown on {key!r}")


def fine_value(world: World, breakdown: Breakdown, project: Project, event: dict[str, Any]) -> tuple[Any, ...]:
    """§6.4/§6.6: what the events query groups by, per item: a histogram item's number
    (toFloat; None when not numeric), any other item's rendered string. The maths run per fine
    value; the bins are applied one query up, which sums (trends_query_builder.py)."""
    parts: list[Any] = []
    for item in breakdown.items:
        if item.type not in BREAKDOWN_TYPES:
            raise ReferenceUnsupported(f"{item.type} breakdowns")
        raw = raw_breakdown_value(world, item, event)
        if item.histogram_bin_count is not None:
            f = to_float(raw)
            parts.append(None if f is None or f != f else f)
            continue
        typed = item.type in ("event", "person", "group")  # session fields and event columns are untyped
        ptype = project.property_type(item.property, item.type, item.group_type_index) if typed else None
        parts.append(render_breakdown_value(raw, ptype, item.normalize_url))
    return tuple(parts)


def final_value(breakdown: Breakdown, fine: tuple[Any, ...], bins: dict[int, list[tuple[float, float]]]) -> Any:
    """The breakdown value of a fine value: histogram numbers become their bin's label."""
    parts = [bin_label(v, bins[i]) if item.histogram_bin_count is not None else v
             for i, (item, v) in enumerate(zip(breakdown.items, fine))]
    return tuple(parts) if breakdown.multi else parts[0]


def histogram_bins(values: list[float], n: int) -> list[tuple[float, float]]:
    """§6.4: n equal bins from the min to the max of the query's numeric values; the last upper
    edge gets +0.01."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    width = hi - lo
    return [((width / n) * x + lo, (width / n) * (x + 1) + lo + (0.01 if x + 1 == n else 0.0)) for x in range(n)]


def bin_label(v: float | None, bins: list[tuple[float, float]]) -> str:
    """The first bin with lo <= v < hi, rendered ``[lo,hi]``; non-numeric values → the null marker."""
    if v is None or v != v:
        return NULL
    for lo, hi in bins:
        if lo <= v < hi:
            return f"[{float_text(lo)},{float_text(hi)}]"
    return NULL


def value_class(value: Any) -> int:
    """§6.3: 0 normal, 1 contains the null marker (ranked after every normal value)."""
    parts = value if isinstance(value, tuple) else (value,)
    return 1 if NULL in parts else 0


def rank(totals: dict[Any, float], limit: int, *, total_value: bool = False) -> tuple[list[Any], list[Any]]:
    """§6.3/§6.9: (kept values in display order, values folded into Other). Display order is
    class (normal, then null), total desc, value asc. Time series keep the first ``limit`` in
    that order (so the null value folds first); total-value displays keep the ``limit`` largest
    totals (ties by value) and show them in display order."""
    ordered = sorted(totals, key=lambda v: (value_class(v), -totals[v], value_text(v)))
    if len(ordered) <= limit:
        return ordered, []
    n = max(limit, 0)
    if total_value:
        chosen = set(sorted(totals, key=lambda v: (-totals[v], value_text(v)))[:n])
        return [v for v in ordered if v in chosen], [v for v in ordered if v not in chosen]
    return ordered[:n], ordered[n:]


def cumulative_order(kept: list[Any], values: dict[Any, list[float]]) -> list[Any]:
    """§5.2 (test_trends_breakdown_cumulative): a cumulative breakdown keeps the values ``rank``
    chose, shown by class, then the sum of their running totals desc, then value."""
    return sorted(kept, key=lambda v: (value_class(v), -sum(running_sum(values[v])), value_text(v)))


def value_text(value: Any) -> Any:
    """Values compare as strings (a cohort id as its digits)."""
    return value if isinstance(value, (str, tuple)) else str(value)


def breakdown_label(value: Any) -> str:
    """§6.8: the value, items joined with ``::``; markers verbatim."""
    return "::".join(value) if isinstance(value, tuple) else value


def grouped(world: World, filt: TrendsFilter, project: Project,
            pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[dict[Any, list[dict[str, Any]]], dict[Any, Any]]:
    """(rows by fine value, the breakdown value of each fine value), the value read from each
    pair's second event; one group (None) without a breakdown."""
    if filt.breakdown is None:
        return {None: [row for row, _ in pairs]}, {None: None}
    if filt.breakdown.items[0].type == "cohort":
        return cohort_grouped(world, project, filt.breakdown.items[0].property, pairs)
    bins = {}
    for i, item in enumerate(filt.breakdown.items):
        if item.histogram_bin_count is not None:  # bins span the values of this query's rows
            values = [to_float(raw_breakdown_value(world, item, source)) for _, source in pairs]
            bins[i] = histogram_bins([v for v in values if v is not None and v == v], item.histogram_bin_count)
    rows: dict[Any, list[dict[str, Any]]] = {}
    for row, source in pairs:
        rows.setdefault(fine_value(world, filt.breakdown, project, source), []).append(row)
    return rows, {fine: final_value(filt.breakdown, fine, bins) for fine in rows}


def fold_fine(values: dict[Any, list[float]], final_of: dict[Any, Any]) -> dict[Any, list[float]]:
    """Per breakdown value, the bucket-wise sum of its fine values' numbers (§6.4: a person
    with two values in one bin counts twice for dau)."""
    out: dict[Any, list[float]] = {}
    for fine, vals in values.items():
        key = final_of[fine]
        out[key] = [a + b for a, b in zip(out[key], vals)] if key in out else list(vals)
    return out


def other_value(breakdown: Breakdown) -> Any:
    return (OTHER,) * len(breakdown.items) if breakdown.multi else OTHER


def is_other(value: Any) -> bool:
    return OTHER in (value if isinstance(value, list) else [value])
