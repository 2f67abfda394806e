"""Differential: ``tc.stickiness`` (vectorised, on the Trends engine's selection) equals the plain
reference (``testing.reference_stickiness``) on generated worlds and queries."""

from __future__ import annotations

import datetime as dt

from hypothesis import example, given

import trendcalc as tc
from trendcalc.limits import Limits
from trendcalc.testing import stickiness_strategies as sst
from trendcalc.testing import strategies as tst
from trendcalc.testing.reference import comparable

from .conftest import share

LIMITS = Limits(max_buckets=800)


def run_both(scenario: sst.StickinessScenario):
    w = scenario.world
    try:
        got = comparable(tc.stickiness(w.store(), scenario.query, project=w.project, now=w.now, limits=LIMITS).to_dicts())
    except tc.ValidationError as exc:
        got = ("error", type(exc).__name__)
    try:
        want = comparable(scenario.expected(LIMITS))
    except tc.ValidationError as exc:
        want = ("error", type(exc).__name__)
    return got, want


# Found by the long profile: only a missing action's series, over more hourly buckets than
# max_buckets. The engine checks the range before it reads a series (a limit error, as Trends
# gives); the reference checked each series' buckets, so with none it answered [].
MISSING_ACTION_OVER_TOO_MANY_BUCKETS = sst.StickinessScenario(
    tst.World([{"event": "$pageview", "distinct_id": "u1", "timestamp": "2023-12-21T00:00:00Z"}], [], [],
              tc.Project(timezone="Europe/Berlin", actions=[{"id": 1, "name": "a", "steps": [{"event": "$pageview"}]}]),
              dt.datetime(2024, 3, 30, tzinfo=dt.timezone.utc)),
    {"events": [], "actions": [{"id": 99, "type": "actions"}], "interval": "hour", "date_from": "all",
     "date_to": "-1d", "insight": "STICKINESS"},
)


@share(60)
@given(sst.stickiness_scenarios(query_form=False))
@example(MISSING_ACTION_OVER_TOO_MANY_BUCKETS)
def test_legacy_filter_matches_reference(scenario):
    got, want = run_both(scenario)
    assert got == want


@share(80)
@given(sst.stickiness_scenarios(query_form=True))
def test_stickiness_query_matches_reference(scenario):
    got, want = run_both(scenario)
    assert got == want


@share(30)
@given(sst.stickiness_scenarios(query_form=False))
def test_trends_routes_legacy_stickiness(scenario):
    w = scenario.world
    try:
        via_trends = tc.trends(w.store(), scenario.query, project=w.project, now=w.now, limits=LIMITS).to_dicts()
        direct = tc.stickiness(w.store(), scenario.query, project=w.project, now=w.now, limits=LIMITS).to_dicts()
    except tc.ValidationError:
        return
    assert via_trends == direct
