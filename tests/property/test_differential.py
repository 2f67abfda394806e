"""Differential tests: the vectorised engine equals the plain reference on random worlds.

Each test draws scenarios focused on one area so every area gets its share of examples. Every
disagreement found so far is pinned below with ``@example`` and a note.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import example, given

import trendcalc as tc
from trendcalc.limits import Limits
from trendcalc.testing import strategies as tst
from trendcalc.testing.reference import TOTAL_VALUE_DISPLAYS, comparable

LIMITS = Limits(max_buckets=800)
UTC = dt.timezone.utc


def run_both(scenario: tst.Scenario):
    """(engine, reference) answers in comparable form; a ValidationError on either side is a value."""
    w = scenario.world
    try:
        got = comparable(tc.trends(w.store(), scenario.query, project=w.project, now=w.now, limits=LIMITS).to_dicts())
    except tc.ValidationError as exc:
        got = ("error", type(exc).__name__)
    try:
        want = comparable(scenario.expected(LIMITS))
    except tc.ValidationError as exc:
        want = ("error", type(exc).__name__)
    return got, want


def world(events, tz="UTC", now="2024-03-15T10:00:00Z", persons=(), project_kw=None):
    project = tc.Project(timezone=tz, **(project_kw or {}))
    return tst.World(events, list(persons), [], project, dt.datetime.fromisoformat(now.replace("Z", "+00:00")))


def ev(ts, name="$pageview", did="u1", **props):
    return {"event": name, "distinct_id": did, "timestamp": ts, "properties": props}


# Bug 1: the engine matched a relative token at any letter ([a-zA-Z]); PostHog's pattern only
# knows [hdwmqysHDWMQY], so "x-3d" is 3 days ago, not now. Fixed in engine/timeaxis.py.
X3D = tst.Scenario(world([ev("2024-03-13T10:00:00Z")]), {"events": [{"id": "$pageview"}], "date_from": "x-3d"})


# Bug 2: a constant the property's type cannot take (is_not "Chrome" on a Numeric property) failed
# the engine's query only when the property had a non-NULL value somewhere, so the answer depended
# on the data; upstream fails while compiling. Fixed in filters/operators.py (_apply).
MISTYPED = tst.Scenario(
    world([], project_kw={"property_definitions": [{"name": "plan", "type": "Numeric", "kind": "person"}]}),
    {"events": [{"id": "$pageview", "properties": [{"key": "plan", "type": "person", "operator": "is_not",
                                                    "value": "Chrome"}]}], "date_from": "-7d"},
)


@given(tst.scenarios())
@example(X3D)
@example(MISTYPED)
def test_engine_equals_reference(scenario):
    got, want = run_both(scenario)
    assert got == want


@given(tst.scenarios(timezone_pool=tst.DST_TIMEZONES, breakdown=False))
def test_dates_and_dst(scenario):
    got, want = run_both(scenario)
    assert got == want


@given(tst.scenarios(breakdown=True, min_events=5, max_events=40))
def test_breakdowns(scenario):
    got, want = run_both(scenario)
    assert got == want


@given(tst.scenarios(displays=TOTAL_VALUE_DISPLAYS))
def test_total_value_displays(scenario):
    got, want = run_both(scenario)
    assert got == want


@given(tst.scenarios(displays=("ActionsLineGraphCumulative",), max_smoothing=3))
def test_cumulative(scenario):
    got, want = run_both(scenario)
    assert got == want
