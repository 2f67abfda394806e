"""How result values read as text: series names, breakdown cells, numbers. A leaf module shared by
the result objects, the HTML view and the plots."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class _Named(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def compare_label(self) -> str | None: ...


def series_name(s: _Named) -> str:
    """A series' label, with its compare period when there is one."""
    return s.label + (f" ({s.compare_label})" if s.compare_label else "")


def cell_text(v: Any) -> str:
    """A breakdown value as one text cell (multi-breakdowns joined by ``::``)."""
    if v is None:
        return ""
    if isinstance(v, (tuple, list)):
        return "::".join(map(str, v))
    return str(v)


def number_text(v: Any) -> str:
    """A number as a table shows it: whole floats without ``.0``, others to 6 significant digits."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def numbers(values: Iterable[float], integer: bool) -> list[Any]:
    """Plain Python numbers for JSON: ints for counting maths, floats otherwise."""
    if integer:
        return [int(v) for v in values]
    return [float(v) for v in values]


# PostHog's sentinels for a missing breakdown value and for the Other row, and how people read them.
READABLE_SENTINELS = {"$$_posthog_breakdown_null_$$": "None", "$$_posthog_breakdown_other_$$": "Other"}
# What a math counts, for an axis label.
MATH_UNITS = {"total": "events", "dau": "unique users", "weekly_active": "weekly active users",
              "monthly_active": "monthly active users", "unique_session": "unique sessions",
              "unique_group": "unique groups", "first_time_for_user": "first-time users",
              "first_matching_event_for_user": "first-time users"}  # fmt: skip


def readable(value: Any) -> str:
    """A breakdown value as people read it: PostHog's null/Other sentinels as None/Other."""
    text = cell_text(value)
    for sentinel, name in READABLE_SENTINELS.items():
        text = text.replace(sentinel, name)
    return text


def math_of(s: Any) -> str | None:
    action = getattr(s, "action", None)
    return action.get("math") if isinstance(action, dict) else None


def math_unit(math: str | None, prop: str | None = None) -> str:
    """What a math's numbers count or measure (an axis label)."""
    if math in (None, "total"):
        return "events"
    if math in MATH_UNITS:
        return MATH_UNITS[math]
    return f"{math} of {prop}" if prop else str(math)


def series_titles(series: Sequence[Any]) -> list[str]:
    """The name of each series without its breakdown value: the custom name or event/action name
    (the formula for formula series), with the math when two series of one name differ by it."""
    base = []
    for s in series:
        action = getattr(s, "action", None)
        formula = (getattr(s, "filter", None) or {}).get("formula")
        if getattr(s, "status", None):  # a lifecycle status: its label names series and status
            base.append(str(s.label))
        elif formula:
            base.append(str(formula))
        elif isinstance(action, dict) and (action.get("custom_name") or action.get("name")):
            base.append(str(action.get("custom_name") or action.get("name")))
        else:
            base.append(str(getattr(s, "label", "")))
    maths: dict[str, set[Any]] = {}
    for name, s in zip(base, series):
        maths.setdefault(name, set()).add(math_of(s))
    return [f"{name} ({math_of(s) or 'total'})" if len(maths[name]) > 1 else name for name, s in zip(base, series)]


def legend_names(series: Sequence[Any]) -> list[str]:
    """One distinct, readable name per series: title, breakdown value, compare period."""
    titles = series_titles(series)
    several = len(set(titles)) > 1
    out = []
    for title, s in zip(titles, series):
        parts = [title] if several or not getattr(s, "has_breakdown", False) else []
        if getattr(s, "has_breakdown", False):
            parts.append(readable(s.breakdown_value))
        name = " · ".join(parts)
        if getattr(s, "compare_label", None):
            name += f" ({s.compare_label})"
        out.append(name)
    return out
