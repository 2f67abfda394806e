"""The math types PostHog accepts on a series (time-math-breakdown.md §4): one declaration each.

An entry owns the math's query-side facts — what a series using it must carry and how it counts
— so the parser, the engine and the reference all read them from one place. How a math is
*computed* is the engine's (``trendcalc.engine.math``); a declared math it does not compute is
reported by ``engine.check_supported`` before any row is read.
"""

from __future__ import annotations

import attrs

QUANTILES = {"median": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99}


@attrs.frozen
class MathSpec:
    """One math's declaration."""

    name: str
    needs_property: bool = False  # reads ``math_property`` (sum, avg, min, max, quantiles)
    needs_group_type_index: bool = False  # ``math_group_type_index`` is required (unique_group)
    counts_groups: bool = False  # with a group type index it counts that type's group keys
    per_actor: bool = False  # aggregates a per-actor event count (``*_count_per_actor``)
    expression: bool = False  # computed from a user expression (``math_hogql``)
    quantile: float | None = None  # the level of a quantile math


def _declare() -> dict[str, MathSpec]:
    specs = [
        MathSpec("total"),
        MathSpec("dau", counts_groups=True),
        MathSpec("weekly_active", counts_groups=True),
        MathSpec("monthly_active", counts_groups=True),
        MathSpec("unique_group", needs_group_type_index=True, counts_groups=True),
        MathSpec("unique_session"),
    ]
    for name in ("sum", "avg", "min", "max", *QUANTILES):
        specs.append(MathSpec(name, needs_property=True, quantile=QUANTILES.get(name)))
    for name in ("avg", "min", "max", *QUANTILES):
        specs.append(MathSpec(f"{name}_count_per_actor", per_actor=True, quantile=QUANTILES.get(name)))
    specs += [
        MathSpec("first_time_for_user"),
        MathSpec("first_matching_event_for_user"),
        MathSpec("hogql", expression=True),
    ]
    return {s.name: s for s in specs}


MATH_SPECS: dict[str, MathSpec] = _declare()
KNOWN_MATHS = tuple(MATH_SPECS)
PROPERTY_MATHS = tuple(n for n, s in MATH_SPECS.items() if s.needs_property)
GROUP_MATHS = tuple(n for n, s in MATH_SPECS.items() if s.counts_groups)

# Where ``math_property`` is read from (PostHog's math_property_type: the taxonomic group the
# property was picked from; PostHog's UI sends numerical_event_properties for event properties).
MATH_PROPERTY_TYPES = ("event_properties", "numerical_event_properties", "person_properties", "group_properties",
                       "session_properties", "data_warehouse_properties", "data_warehouse_person_properties")  # fmt: skip
