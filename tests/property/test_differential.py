"""Differential tests: the vectorised engine equals the plain reference on random worlds."""

from __future__ import annotations

from hypothesis import given

import trendcalc as tc
from trendcalc.limits import Limits
from trendcalc.testing import strategies as tst
from trendcalc.testing.reference import comparable

LIMITS = Limits(max_buckets=3000)


def run_both(scenario: tst.Scenario):
    w = scenario.world
    try:
        got = comparable(tc.trends(w.store(), scenario.query, project=w.project, now=w.now, limits=LIMITS).to_dicts())
    except tc.ValidationError as exc:
        got = ("ValidationError", type(exc).__name__)
    try:
        want = comparable(scenario.expected(LIMITS))
    except tc.ValidationError as exc:
        want = ("ValidationError", type(exc).__name__)
    return got, want


@given(tst.scenarios())
def test_engine_equals_reference(scenario):
    got, want = run_both(scenario)
    assert got == want
