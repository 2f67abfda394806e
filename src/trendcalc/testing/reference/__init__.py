"""A deliberately plain, row-at-a-time reference implementation of trendcalc's Trends semantics.

This package is the *living specification*: one short function per rule, written next to the
spec (``shared/spec/time-math-breakdown.md`` and ``filters.md``, section numbers in the
docstrings) with zoneinfo, dateutil and plain loops over event dicts, one module per spec
section. It shares only the query layer (the parsed filter model, ``parse_filter`` →
``TrendsFilter``, and the formula and HogQL parsers) with the vectorised engine — never the
engine, the store or ``trendcalc.api`` (``tests/testing/test_reference_imports.py`` enforces
it) — so a disagreement between the two is a bug in one of them.

    from trendcalc.testing.reference import reference_trends, comparable
    expected = reference_trends(events, persons, groups, query=q, project=p, now=now)
    assert comparable(tc.trends(store, q, project=p, now=now).to_dicts()) == comparable(expected)

Only features the reference implements are accepted; anything else raises
``ReferenceUnsupported`` (the strategies in ``trendcalc.testing.strategies`` never generate
those). Speed is a non-goal.

Modules, lowest first: ``world`` (records as dicts), ``values`` (R(v), toFloat), ``supported``
(displays, maths, breakdown types), ``timeaxis`` (§1 dates, §2 buckets), ``operators``
(filters.md §0, §3), ``channels``, ``elements``, ``sessions``, ``operands`` (what a leaf
compares), ``cohorts``, ``properties`` (leaves and groups), ``actions``, ``maths`` (§4),
``cityhash`` and ``sampling`` (§10.1), ``rows`` (§4.1), ``breakdown`` (§6), ``results`` (§3, §5,
§9), ``formulas`` (§7), ``compare`` (§8), ``trends`` (the entry point) and ``hogql`` (HogQL).
"""

from __future__ import annotations

from .breakdown import cumulative_order
from .channels import VIRTUAL_PERSON_PROPERTIES
from .elements import serialise_elements
from .maths import PROPERTY_MATHS
from .operands import METADATA_KEYS
from .operators import DATE_OPERATORS, OPERATORS, SEMVER_OPERATORS, SEMVER_RANGE_OPERATORS
from .properties import PROPERTY_SOURCES
from .sessions import SESSION_KINDS, entry_channel_type
from .supported import (
    BREAKDOWN_TYPES,
    DISPLAYS,
    LINE_DISPLAYS,
    MATHS,
    TOTAL_VALUE_DISPLAYS,
    check_supported,
)
from .trends import comparable, event_bounds, reference_trends
from .world import ReferenceUnsupported, World, load_world, to_utc

__all__ = [
    "BREAKDOWN_TYPES",
    "DATE_OPERATORS",
    "DISPLAYS",
    "LINE_DISPLAYS",
    "MATHS",
    "METADATA_KEYS",
    "OPERATORS",
    "PROPERTY_MATHS",
    "PROPERTY_SOURCES",
    "SEMVER_OPERATORS",
    "SEMVER_RANGE_OPERATORS",
    "SESSION_KINDS",
    "TOTAL_VALUE_DISPLAYS",
    "VIRTUAL_PERSON_PROPERTIES",
    "ReferenceUnsupported",
    "World",
    "check_supported",
    "comparable",
    "cumulative_order",
    "entry_channel_type",
    "event_bounds",
    "load_world",
    "reference_trends",
    "serialise_elements",
    "to_utc",
]
