"""What this engine computes of the query vocabulary: ``check_supported`` before any row is read.

The query layer declares everything PostHog accepts (maths, displays, operators, breakdown
types, where a math property is read from); the engine says here which of those it does not
compute, as ibis backends do. ``tc.trends``/``tc.actors``/``tc.parse_filter`` call it right after
parsing, so an unsupported feature fails with its JSON path before the store is touched.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..errors import UnsupportedError
from ..query.model import PropertyFilter, PropertyGroup, TrendsFilter
from .breakdown import EXPRESSION_SOURCES as BREAKDOWN_EXPRESSIONS
from .breakdown import SOURCES as BREAKDOWN_SOURCES
from .math import EXPRESSION_MATHS, MATHS
from .predicates.operators import IMPLEMENTATIONS

# Display types PostHog routes to other runners; valid upstream, not computed here.
UNSUPPORTED_DISPLAYS = ("CalendarHeatmap", "BoxPlot", "SlopeGraph")
# Where a property math may read its property from (``math_property_type``).
MATH_PROPERTY_SOURCES = (None, "event_properties")


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


def _leaves(group: PropertyGroup) -> Iterator[PropertyFilter]:
    for v in group.values:
        if isinstance(v, PropertyGroup):
            yield from _leaves(v)
        else:
            yield v


def _check_group(group: PropertyGroup) -> None:
    for leaf in _leaves(group):
        if leaf.type != "cohort" and leaf.type != "hogql" and leaf.operator not in IMPLEMENTATIONS:
            raise UnsupportedError(leaf.path + ("operator",), f"operator {leaf.operator!r} is not implemented yet")


__all__ = ["check_supported", "UNSUPPORTED_DISPLAYS"]
