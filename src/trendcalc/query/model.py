"""The parsed, validated filter model: small frozen attrs classes the engine consumes.

Parsing (``query/legacy.py`` for the legacy dict, ``query/trends_query.py`` for TrendsQuery)
happens once at the edge; nothing downstream ever sees a raw dict.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

INTERVALS = ("minute", "hour", "day", "week", "month")


@attrs.frozen
class PropertyFilter:
    """One leaf condition: ``type`` says where ``key`` is read (event, person, group, cohort, ...)."""

    key: Any
    operator: str
    value: Any = None  # scalars as given; lists become tuples
    type: str = "event"
    group_type_index: int | None = None
    # Where the leaf was written (JSON path), for errors found when it meets the data.
    path: tuple = attrs.field(default=(), eq=False, repr=False, metadata={"internal": True})
    # type "hogql": the condition in ``key`` parsed at the edge (a hogql.ast tree)
    expr: Any = attrs.field(default=None, eq=False, repr=False, metadata={"internal": True})


@attrs.frozen
class PropertyGroup:
    """AND/OR over leaves and nested groups. An empty group matches everything."""

    type: str = "AND"
    values: tuple[PropertyFilter | PropertyGroup, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.values)


TRUE_GROUP = PropertyGroup("AND", ())


def iter_leaves(group: PropertyGroup | None) -> Iterator[PropertyFilter]:
    """Every leaf of a (nested) property group, depth first."""
    for v in group.values if group is not None else ():
        if isinstance(v, PropertyGroup):
            yield from iter_leaves(v)
        else:
            yield v


@attrs.frozen
class GroupMember:
    """One node of a GroupNode series: an event (None = all events) or an action, with the
    node's own property filters, which narrow only this node's events."""

    kind: str  # "events" | "actions"
    id: Any
    properties: PropertyGroup = TRUE_GROUP


@attrs.frozen
class SeriesGroup:
    """A GroupNode series' selection: the events of any (``OR``) or of every (``AND``) member."""

    operator: str  # "OR" | "AND"
    members: tuple[GroupMember, ...]


@attrs.frozen
class Series:
    """One event, action, all-events or GroupNode series, in final (sorted) order at ``index``."""

    kind: str  # "events" | "actions" | "group"
    id: Any  # event name (None = all events), action id, or the SeriesGroup of a "group" series
    index: int
    label: str  # event name / "All events" / action name
    name: str | None = None
    custom_name: str | None = None
    order: int | None = None
    math: str = "total"
    math_property: str | None = None
    math_property_type: str | None = None
    math_group_type_index: int | None = None
    math_hogql: str | None = None
    properties: PropertyGroup = TRUE_GROUP
    # math "hogql": ``math_hogql`` parsed at the edge (a hogql.ast tree)
    math_expr: Any = attrs.field(default=None, eq=False, repr=False, metadata={"internal": True})
    # Where the series was written (JSON path), for errors found after parsing.
    path: tuple = attrs.field(default=(), eq=False, repr=False, metadata={"internal": True})


@attrs.frozen
class BreakdownItem:
    """One breakdown dimension. Cohort breakdowns carry the cohort ids (or "all") in ``property``."""

    property: Any
    type: str = "event"
    normalize_url: bool = False
    histogram_bin_count: int | None = None
    group_type_index: int | None = None
    # type "hogql": the expression in ``property`` parsed at the edge (a hogql.ast tree)
    expr: Any = attrs.field(default=None, eq=False, repr=False, metadata={"internal": True})


@attrs.frozen
class Breakdown:
    items: tuple[BreakdownItem, ...]
    multi: bool = False  # from `breakdowns`: breakdown_value is a list of strings
    limit: int = 25
    limit_given: bool = False
    hide_other: bool = False


@attrs.frozen
class Formula:
    text: str  # as written (labels keep the original case)
    expr: Any  # formula AST
    custom_name: str | None = None


@attrs.frozen
class TrendsFilter:
    """A complete, validated Trends query."""

    series: tuple[Series, ...]
    date_from: str | None = "-7d"
    date_to: str | None = None
    explicit_date: bool = False
    interval: str = "day"
    display: str = "ActionsLineGraph"
    properties: PropertyGroup = TRUE_GROUP
    filter_test_accounts: bool = False
    breakdown: Breakdown | None = None
    formulas: tuple[Formula, ...] = ()
    compare: bool = False
    compare_to: str | None = None
    smoothing_intervals: int = 1
    sampling_factor: float | None = None
    aggregation_group_type_index: int | None = None
    source: str = "filter"  # "filter" (legacy dict) | "query" (TrendsQuery)
    echo: tuple[tuple[str, Any], ...] = ()  # display-only fields, echoed into result `filter` dicts
