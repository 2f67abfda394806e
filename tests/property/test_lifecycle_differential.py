"""Differential test: ``tc.lifecycle`` equals the plain reference (testing/reference_lifecycle.py)
on random worlds and queries, in both the legacy and the LifecycleQuery form; ``tc.trends`` given
the same query answers the same."""

from __future__ import annotations

from hypothesis import given

import trendcalc as tc
from trendcalc.limits import Limits
from trendcalc.testing.lifecycle_strategies import LifecycleScenario, lifecycle_scenarios

from .conftest import share

LIMITS = Limits(max_buckets=800)


def answers(s: LifecycleScenario):
    w = s.world
    try:
        got = tc.lifecycle(w.store(), s.query, project=w.project, now=w.now, limits=LIMITS).to_dicts()
    except tc.ValidationError as exc:
        got = ("error", type(exc).__name__)
    try:
        want = s.expected(LIMITS)
    except tc.ValidationError as exc:
        want = ("error", type(exc).__name__)
    return got, want


@share(60)
@given(lifecycle_scenarios())
def test_lifecycle_matches_reference(s: LifecycleScenario) -> None:
    got, want = answers(s)
    assert got == want


@share(60)
@given(lifecycle_scenarios(dense=True, max_events=40))
def test_lifecycle_matches_reference_dense(s: LifecycleScenario) -> None:
    """Events in the last three weeks, no property filters: most actors change status often."""
    got, want = answers(s)
    assert got == want


@share(30)
@given(lifecycle_scenarios(intervals=("day", "week")))
def test_trends_routes_lifecycle(s: LifecycleScenario) -> None:
    w = s.world
    store = w.store()
    try:
        direct = tc.lifecycle(store, s.query, project=w.project, now=w.now, limits=LIMITS).to_dicts()
    except tc.ValidationError:
        return
    assert tc.trends(store, s.query, project=w.project, now=w.now, limits=LIMITS).to_dicts() == direct
