"""Fuzz with the public hypothesis strategies of ``trendcalc.testing`` (issue 6): their random
worlds and filters, as given and mutated, and the world's records mutated."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.testing import strategies as tcs

from .strategies import mutated
from .support import check_result, fuzz_settings, safely

SMALL = tc.Limits(max_buckets=3_000)


@fuzz_settings(600)
@given(tcs.scenarios(max_events=20), st.data())
def test_testkit_scenarios_mutated(scenario: tcs.Scenario, data: st.DataObject) -> None:
    w = scenario.world
    events = data.draw(st.one_of(st.just(w.events), mutated(w.events, gentle=True)))
    store = safely(lambda: tc.EventStore.from_records(events, persons=w.persons, groups=w.groups), allow_root=True)
    if store is None:
        return
    query = data.draw(st.one_of(st.just(scenario.query), mutated(scenario.query, gentle=True), mutated(scenario.query)))
    result = safely(lambda: tc.trends(store, query, project=w.project, now=w.now, limits=SMALL), allow_root=not isinstance(query, dict))
    if result is not None:
        check_result(result)
