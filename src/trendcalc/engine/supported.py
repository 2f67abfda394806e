"""What this engine computes of the query vocabulary: ``check_supported`` before any row is read.

The query layer declares everything PostHog accepts (maths, displays, operators, breakdown
types, where a math property is read from); the engine says here which of those it does not
compute, as ibis backends do. ``tc.trends``/``tc.actors``/``tc.parse_filter`` call it right after
parsing, so an unsupported feature fails with its JSON path before the store is touched.
"""

from __future__ import annotations

from ..errors import UnsupportedError
from ..limits import DEFAULT_LIMITS, Limits
from ..project import Project
from ..query.model import PropertyGroup, TrendsFilter, iter_leaves
from ..query.operators import check_operand
from .breakdown import EXPRESSION_SOURCES as BREAKDOWN_EXPRESSIONS
from .breakdown import SOURCES as BREAKDOWN_SOURCES
from .math import EXPRESSION_MATHS, MATHS, PROPERTY_READS
from .predicates.operators import IMPLEMENTATIONS
from .series_parts import selection_groups, series_actions

# Display types PostHog routes to other runners; valid upstream, not computed here.
UNSUPPORTED_DISPLAYS = ("CalendarHeatmap", "BoxPlot", "SlopeGraph")
# Where a property math may read its property from (``math_property_type``): engine/math.py's registry.
MATH_PROPERTY_SOURCES = tuple(PROPERTY_READS)


def check_supported(filt: TrendsFilter) -> TrendsFilter:
    """``filt`` unchanged, or UnsupportedError naming the first thing this engine cannot compute."""
    display_path = ("trendsFilter", "display") if filt.source == "query" else ("display",)
    if filt.display in UNSUPPORTED_DISPLAYS:
        raise UnsupportedError(display_path, f"display {filt.display!r} is not supported")
    for s in filt.series:
        if s.math not in MATHS and s.math not in EXPRESSION_MATHS:
            raise UnsupportedError(s.path + ("math",), f"math {s.math!r} is not implemented yet")
        if s.math_property_type not in MATH_PROPERTY_SOURCES:
            raise UnsupportedError(s.path + ("math_property_type",),
                                   f"math_property_type {s.math_property_type!r} is not supported")
        _check_group(s.properties)
    _check_group(filt.properties)
    if filt.breakdown is not None:
        for i, item in enumerate(filt.breakdown.items):
            if item.type not in BREAKDOWN_SOURCES and item.type not in BREAKDOWN_EXPRESSIONS and item.type != "cohort":
                path = ("breakdown_type",) if filt.source == "filter" else ("breakdownFilter", "breakdowns", i, "type")
                raise UnsupportedError(path, f"breakdown type {item.type!r} is not supported")
    return filt




def _check_group(group: PropertyGroup) -> None:
    for leaf in iter_leaves(group):
        if leaf.type != "cohort" and leaf.type != "hogql" and leaf.operator not in IMPLEMENTATIONS:
            raise UnsupportedError(leaf.path + ("operator",), f"operator {leaf.operator!r} is not implemented yet")


def check_project(filt: TrendsFilter, project: Project, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise the stored error of a project part the query uses (an action series, the
    test-account filters, path-cleaning rules), and check those parts' operands against the
    query's limits when they are stricter than the defaults the Project was parsed with.
    Cohorts are checked when their membership is computed (PostHog's order of failure)."""
    groups: list[PropertyGroup] = [filt.properties]
    if filt.filter_test_accounts and project.test_account_filters:
        if project.test_accounts_error is not None:
            raise project.test_accounts_error
        groups.append(project.test_accounts)
    for s in filt.series:
        groups.append(s.properties)
        for action in series_actions(project, s):
            if action.error is not None:
                raise action.error
        groups.extend(selection_groups(project, s))
    leaves = [leaf for g in groups for leaf in iter_leaves(g)]
    if project.path_cleaning_error is not None and any(leaf.operator == "is_cleaned_path_exact" for leaf in leaves):
        raise project.path_cleaning_error
    if limits != DEFAULT_LIMITS:
        for leaf in leaves:
            if leaf.type not in ("cohort", "hogql", "element"):
                path = leaf.path if leaf.path[-1:] == ("url",) else leaf.path + ("value",)
                check_operand(leaf.operator, leaf.value, path, limits, leaf.key)


__all__ = ["check_supported", "check_project", "UNSUPPORTED_DISPLAYS"]
