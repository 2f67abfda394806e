"""How per-partition answers merge: one registry entry per math, and the check that refuses
(UnsupportedError, with the field's JSON path) everything not merged exactly — before any
partition runs.

Partitions hold disjoint sets of persons, every event of a person in one. A math whose value in
a cell (series × breakdown value × bucket) is a *sum over persons* — events counted, persons
counted, a person's first event counted — is therefore the sum of the partitions' values. The
engine's shaping (ranking, top-N and Other, cumulative, smoothing, labels) then runs once on the
merged values, so those need no merge rule of their own. Anything whose cell is not such a sum
(sessions and groups shared by persons, averages, quantiles, per-actor aggregates, expressions,
histogram bins from global min/max, formulas over series) raises until it has an exact
partial state. ``aggregation_group_type_index`` only restricts rows (to events with that group
key) for maths that count persons or events, so it merges too; it raises where the math counts
groups (dau/weekly_active/monthly_active/unique_group).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import UnsupportedError
from ..project import Project
from ..query.maths import MATH_SPECS
from ..query.model import PropertyFilter, PropertyGroup, TrendsFilter

ADD = "add"
"""Cell values are sums over persons: the merged cell is the sum of the partitions' cells."""
ADD_INTEGERS = "add-integers"
"""A sum of property values: exact by addition only when every value is an integer (then every
partial sum is an exactly represented integer and the order of additions cannot matter).
Checked per partition on the property's dictionary; otherwise UnsupportedError."""

MERGES: dict[str, str] = {
    "total": ADD,
    "dau": ADD,
    "weekly_active": ADD,
    "monthly_active": ADD,
    "first_time_for_user": ADD,
    "first_matching_event_for_user": ADD,
    "sum": ADD_INTEGERS,
}
"""Math → merge rule. A math not listed raises UnsupportedError on a partitioned store."""

WHY_NOT: dict[str, str] = {
    "unique_session": "a session may span persons, so partitions can count it twice",
    "unique_group": "a group spans persons in several partitions",
    "hogql": "an expression math has no partial state yet",
}

EXACT_INTEGER = 2.0**53


def check_partitionable(filt: TrendsFilter, project: Project) -> None:
    """UnsupportedError naming the first field a partitioned run cannot answer exactly."""
    for s in filt.series:
        if s.math not in MERGES:
            why = WHY_NOT.get(s.math, "its per-partition values do not add up to the single-store value")
            raise UnsupportedError(s.path + ("math",), f"math {s.math!r} is not supported on a partitioned store: {why}")
        gti = s.math_group_type_index if s.math_group_type_index is not None else filt.aggregation_group_type_index
        if gti is not None and MATH_SPECS[s.math].counts_groups:
            field = "math_group_type_index" if s.math_group_type_index is not None else None
            path = s.path + (field,) if field else ("aggregation_group_type_index",)
            raise UnsupportedError(path, f"math {s.math!r} counting groups is not supported on a partitioned store "
                                         "(a group spans persons in several partitions)")
        if s.math_property is not None and str(s.math_property).startswith("$session"):
            raise UnsupportedError(s.path + ("math_property",),
                                   "session properties are not supported on a partitioned store (sessions may span persons)")
    check_filters_partitionable(filt, project, sessions=True)


def check_filters_partitionable(filt: TrendsFilter, project: Project, *, sessions: bool = False) -> None:
    """UnsupportedError naming the first property filter (global, series, action step, test
    account) a partitioned run cannot evaluate exactly. ``sessions``: the run computes the facts
    of sessions spanning partitions first (``sessions.py``), so session filters are exact."""
    for leaf in _leaves_of(filt, project):
        if leaf.type == "session" and not sessions:  # HogQL conditions read only the row and its person
            raise UnsupportedError(leaf.path + ("type",), "session property filters are not supported here on a "
                                                          "partitioned store (a session may span persons in several partitions)")


def needs_sessions(filt: TrendsFilter, project: Project) -> bool:
    """Whether the query reads session facts by row (session filters or breakdowns)."""
    if filt.breakdown is not None and any(item.type == "session" for item in filt.breakdown.items):
        return True
    return any(leaf.type == "session" for leaf in _leaves_of(filt, project))


def _leaves_of(filt: TrendsFilter, project: Project) -> Iterator[PropertyFilter]:
    groups: list[PropertyGroup] = [filt.properties]
    if filt.filter_test_accounts and project.test_account_filters:
        groups.append(project.test_accounts)
    for s in filt.series:
        groups.append(s.properties)
        action = project.action(s.id) if s.kind == "actions" else None
        if action is not None:
            groups.extend(step.conditions for step in action.steps)
    for g in groups:
        yield from _leaves(g)


def _leaves(group: PropertyGroup) -> Iterator[PropertyFilter]:
    for v in group.values:
        if isinstance(v, PropertyGroup):
            yield from _leaves(v)
        else:
            yield v


def check_integral(values: Any, what: str) -> None:
    """UnsupportedError unless every number of ``values`` is an integer of magnitude < 2^53."""
    f = np.asarray(values, dtype=np.float64)
    ok = np.isnan(f) | ((f == np.round(f)) & (np.abs(f) < EXACT_INTEGER))
    if not bool(np.all(ok)):
        raise UnsupportedError(("math_property",), f"sum of {what}: non-integer (or ≥ 2^53) values cannot be "
                                                   "merged exactly across partitions yet")


def add(parts: list[np.ndarray]) -> np.ndarray:
    """The merged cells: the partitions' cells added in partition order."""
    out = np.zeros(np.shape(parts[0]), dtype=np.float64)
    for p in parts:
        out += p
    return out
