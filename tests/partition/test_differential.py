"""Hypothesis: random worlds and Trends filters (``trendcalc.testing.strategies``), answered by
the single store and by the same store split by person — equal ``to_dicts()`` (nothing drawn is refused)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.engine.trends import resolve_now
from trendcalc.limits import Limits
from trendcalc.partition.merge import MERGES
from trendcalc.partition.run import run_stores
from trendcalc.partition.split import person_partitions, subset
from trendcalc.testing import hogql_strategies as hst
from trendcalc.testing import lifecycle_strategies as lst
from trendcalc.testing import stickiness_strategies as sst
from trendcalc.testing import strategies as tst

LIMITS = Limits(max_buckets=800)
SUPPORTED_MATHS = tuple(m for m in tst.MATHS if m in MERGES)


def outcome(run, *, message=False):
    """The answer's dicts, "unsupported", or the validation error (with its text if ``message``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.TrendcalcWarning)
        try:
            return run().to_dicts()
        except tc.UnsupportedError:
            return "unsupported"
        except tc.ValidationError as e:
            return ("error", type(e).__name__, str(e)) if message else ("error", type(e).__name__)


# every math, no formulas; session properties and breakdowns too (sessions spanning partitions)
SCENARIOS = tst.scenarios(maths=SUPPORTED_MATHS, min_events=1, max_events=40, formula=False)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(SCENARIOS, st.integers(2, 4),
       st.sampled_from(["hash", "random"]), st.randoms(use_true_random=False))
def test_partitioned_equals_single_store(scenario, k, split, rnd):
    w = scenario.world
    store = w.store()
    want = outcome(lambda: tc.trends(store, scenario.query, project=w.project, now=w.now, limits=LIMITS))
    assign = None if split == "hash" else (lambda s, k: np.array([rnd.randrange(k) for _ in range(len(s.persons))], np.int32))
    part = person_partitions(store, k, assign)
    stores = [subset(store, part == p) for p in range(k)]

    def run():
        filt = tc.parse_filter(scenario.query, limits=LIMITS)
        return run_stores(stores, filt, w.project, resolve_now(w.now), LIMITS, [np.flatnonzero(part == p) for p in range(k)])

    got = outcome(run)
    assert got != "unsupported"  # (nothing a partitioned store cannot answer is drawn)
    assert got == want


# GroupNode series (each node an event, all events or an action, with its own filters; OR / AND)
GROUP_SCENARIOS = tst.scenarios(maths=SUPPORTED_MATHS, min_events=1, max_events=40, formula=False, query_form=True,
                                group_series=True)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(GROUP_SCENARIOS, st.integers(2, 4), st.randoms(use_true_random=False))
def test_group_node_series_partitioned_equal_single_store(scenario, k, rnd):
    _random_split_equals_single(scenario, k, rnd)


def test_partitions_in_memory_check_the_project_as_trends_does():
    """Found by a long run of the tests below: ``run_stores`` (what they compare) answered zeros
    where ``tc.trends`` raises, for a test-account filter the project cannot hold (a regex
    given a number): it skipped ``tc.trends``' project check."""
    events = [{"event": "e", "distinct_id": "u1", "timestamp": "2024-03-10T10:00:00Z"}]
    persons = [{"distinct_ids": ["u1"], "properties": {"created": "2024-03-01"}}]
    project = tc.Project(test_account_filters=({"key": "created", "type": "person", "operator": "regex", "value": 17},))
    store = tc.EventStore.from_records(events, persons=persons)
    query = {"events": [{"id": "e"}], "date_from": "-7d", "filter_test_accounts": True}
    now = "2024-03-12"
    want = outcome(lambda: tc.trends(store, query, project=project, now=now), message=True)
    assert want[:2] == ("error", "ValidationError") and "must be a string" in want[2]
    part = person_partitions(store, 2, None)
    stores = [subset(store, part == p) for p in range(2)]
    got = outcome(lambda: run_stores(stores, tc.parse_filter(query), project, resolve_now(now)), message=True)
    assert got == want


def test_of_two_invalid_filters_partitions_name_the_one_the_single_store_names():
    """Found by a long run of the lifecycle test below: a query with two filters whose constants
    their properties' types cannot take raised for the series' filter on the partitions (their
    lifecycle evaluated the series' filters before the shared ones) and for the global filter
    on the single store."""
    from .test_insights_invariance import partitioned

    events = [{"event": "e", "distinct_id": "u1", "timestamp": "2024-03-10T10:00:00Z"}]
    project = tc.Project(property_definitions=({"name": "flag", "type": "Boolean", "kind": "person"},))
    store = tc.EventStore.from_records(events, persons=[{"distinct_ids": ["u1"], "properties": {"plan": "pro"}}])
    query = {"events": [{"id": "e", "properties": [{"key": "flag", "type": "person", "operator": "exact", "value": "Chrome"}]}],
             "properties": [{"key": "$browser", "type": "event", "operator": "gte", "value": 10}],
             "date_from": "-7d", "shown_as": "Lifecycle"}
    now = "2024-03-12"
    want = outcome(lambda: tc.lifecycle(store, query, project=project, now=now), message=True)
    assert want[:2] == ("error", "ValidationError") and want[2].startswith("$.properties[0].value: property '$browser'")
    for home in (0, 1):
        part = person_partitions(store, 2, lambda s, k, home=home: np.full(len(s.persons), home, np.int32))
        got = outcome(lambda part=part: partitioned("lifecycle", [subset(store, part == p) for p in range(2)], query, project, now),
                      message=True)
        assert got == want


# formulas on the merged series (and date_from "all" when the strategy draws it)
FORMULA_SCENARIOS = tst.scenarios(maths=SUPPORTED_MATHS, min_events=1, max_events=40, formula=True)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(FORMULA_SCENARIOS, st.integers(2, 4), st.randoms(use_true_random=False))
def test_formulas_partitioned_equal_single_store(scenario, k, rnd):
    _random_split_equals_single(scenario, k, rnd)


def _random_split_equals_single(scenario, k, rnd):
    """``tc.trends`` on a random person split into ``k`` in-memory partitions equals the single store."""
    w = scenario.world
    store = w.store()
    want = outcome(lambda: tc.trends(store, scenario.query, project=w.project, now=w.now, limits=LIMITS))
    part = person_partitions(store, k, lambda s, k: np.array([rnd.randrange(k) for _ in range(len(s.persons))], np.int32))
    stores = [subset(store, part == p) for p in range(k)]
    got = outcome(lambda: run_stores(stores, tc.parse_filter(scenario.query, limits=LIMITS), w.project,
                                     resolve_now(w.now), LIMITS, [np.flatnonzero(part == p) for p in range(k)]))
    assert got != "unsupported"  # (nothing a partitioned store cannot answer is drawn)
    assert got == want


def _insight_partitioned_equals_single(kind, run, scenario, k, rnd):
    """``run`` (tc.stickiness or tc.lifecycle) on a random person split equals the single store."""
    from .test_insights_invariance import partitioned

    w = scenario.world
    store = w.store()
    want = outcome(lambda: run(store, scenario.query, project=w.project, now=w.now), message=True)
    part = person_partitions(store, k, lambda s, k: np.array([rnd.randrange(k) for _ in range(len(s.persons))], np.int32))
    stores = [subset(store, part == p) for p in range(k)]
    rows = tuple(np.flatnonzero(part == p) for p in range(k))
    got = outcome(lambda: partitioned(kind, stores, scenario.query, w.project, w.now, rows), message=True)
    assert got != "unsupported"  # (nothing a partitioned store cannot answer is drawn)
    assert got == want


@settings(max_examples=30, deadline=None, derandomize=True)
@given(sst.stickiness_scenarios(), st.integers(2, 4), st.randoms(use_true_random=False))
def test_stickiness_partitioned_equals_single_store(scenario, k, rnd):
    _insight_partitioned_equals_single("stickiness", tc.stickiness, scenario, k, rnd)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(lst.lifecycle_scenarios(), st.integers(2, 4), st.randoms(use_true_random=False))
def test_lifecycle_partitioned_equals_single_store(scenario, k, rnd):
    _insight_partitioned_equals_single("lifecycle", tc.lifecycle, scenario, k, rnd)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(hst.hogql_scenarios(math=True, breakdown=False, condition=False), st.integers(2, 4),
       st.randoms(use_true_random=False))
def test_hogql_maths_partitioned_equal_single_store(scenario, k, rnd):
    """``math: hogql`` expressions drawn by the kit (every aggregate, -If conditions, scalar
    functions around them), on a random person split."""
    w = scenario.world
    store = w.store()
    want = outcome(lambda: tc.trends(store, scenario.query, project=w.project, now=w.now, limits=LIMITS))
    part = person_partitions(store, k, lambda s, k: np.array([rnd.randrange(k) for _ in range(len(s.persons))], np.int32))
    stores = [subset(store, part == p) for p in range(k)]
    got = outcome(lambda: run_stores(stores, tc.parse_filter(scenario.query, limits=LIMITS), w.project,
                                     resolve_now(w.now), LIMITS, [np.flatnonzero(part == p) for p in range(k)]))
    assert got == want  # (person_id too: persons without an id are named by their rows in the whole store)
