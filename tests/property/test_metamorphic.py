"""Metamorphic properties of the engine: relations between answers to related queries that hold
whatever the reference says."""

from __future__ import annotations

import dataclasses
import datetime as dt

import attrs
from hypothesis import assume, given
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.limits import Limits
from trendcalc.testing import strategies as tst
from trendcalc.testing.reference import LINE_DISPLAYS, TOTAL_VALUE_DISPLAYS, event_bounds

from .conftest import share

LIMITS = Limits(max_buckets=800)
BREAKDOWN_KEYS = ("breakdown", "breakdown_type", "breakdowns", "breakdown_limit", "breakdown_group_type_index",
                  "breakdown_normalize_url", "breakdown_hide_other_aggregation")


def run(world: tst.World, query: dict, events: list | None = None, now: dt.datetime | None = None) -> list[dict]:
    store = tc.EventStore.from_records(world.events if events is None else events, persons=world.persons,
                                       groups=world.groups)
    return tc.trends(store, query, project=world.project, now=now or world.now, limits=LIMITS).to_dicts()


def answers(world: tst.World, query: dict) -> list[dict] | None:
    """The engine's answer, or None when the query is invalid (too many buckets)."""
    try:
        return run(world, query)
    except tc.ValidationError:
        return None


def numbers(results: list[dict]) -> list[tuple]:
    """What must not change when only time moves: the values and the series identity."""
    return [(r["label"], r["order"], r.get("breakdown_value"), r["data"], r["count"], r.get("aggregated_value"))
            for r in results]


@given(tst.scenarios(breakdown=True, maths=("total",), displays=LINE_DISPLAYS + ("ActionsLineGraphCumulative",)
                     + TOTAL_VALUE_DISPLAYS, min_events=5, max_events=40, formula=False,
                     breakdown_types=tuple(t for t in tst.BREAKDOWN_TYPES if t != "cohort")))
def test_breakdown_series_sum_to_the_unbroken_series_for_total_math(scenario):
    """With total math, "Other" is the per-bucket sum of the folded values and the null bucket is
    a value like any other, so whatever the limit the rows of one series add up to the unbroken
    series — unless Other is hidden. Smoothing is not applied to breakdowns, so it is off here.
    (Cohort breakdowns count an event once per cohort of its person, or not at all; sampling
    rounds every number on its own, so it is off too.)"""
    q = {k: v for k, v in scenario.query.items()
         if k not in ("breakdown_hide_other_aggregation", "smoothing_intervals", "sampling_factor")}
    broken = answers(scenario.world, q)
    assume(broken is not None)
    unbroken = run(scenario.world, {k: v for k, v in q.items() if k not in BREAKDOWN_KEYS})
    for whole in unbroken:
        parts = [r for r in broken if (r["order"], r.get("compare_label")) == (whole["order"], whole.get("compare_label"))]
        if "aggregated_value" in whole:
            assert sum(r["aggregated_value"] for r in parts) == whole["aggregated_value"]
        else:
            summed = [sum(col) for col in zip(*(r["data"] for r in parts))] if parts else [0] * len(whole["data"])
            assert summed == whole["data"]
            assert all(r["days"] == whole["days"] for r in parts)


@given(tst.scenarios(breakdown=False, displays=("ActionsLineGraphCumulative",), intervals=("day",), max_smoothing=1,
                     maths=("total", "dau"), formula=False, compare=False))
def test_last_cumulative_value_is_the_total(scenario):
    """Cumulative total = running count; cumulative dau counts each actor once, so its last value
    is the distinct count over the range (the table display's aggregated value). Without
    sampling, which rounds each number on its own (13/0.3 + 1/0.3 → 43 + 3, but 14/0.3 → 47)."""
    query = {k: v for k, v in scenario.query.items() if k != "sampling_factor"}
    cumulative = answers(scenario.world, query)
    assume(cumulative is not None)
    line = run(scenario.world, {**query, "display": "ActionsLineGraph"})
    table = run(scenario.world, {**query, "display": "ActionsTable"})
    for c, ln, t in zip(cumulative, line, table):
        assert c["count"] == (c["data"][-1] if c["data"] else 0)
        if not c["data"]:
            continue
        if ln["action"]["math"] == "total":
            assert c["data"][-1] == sum(ln["data"])
        else:
            assert c["data"][-1] == t["aggregated_value"]


LOOK_BACK_MATHS = ("weekly_active", "monthly_active", "first_time_for_user", "first_matching_event_for_user")


@given(tst.scenarios(maths=tuple(m for m in tst.MATHS if m not in LOOK_BACK_MATHS), compare=False), st.data())
def test_events_outside_the_range_change_nothing(scenario, data):
    """Events before the lower bound or after the upper bound are never counted — except by the
    maths that look back (WAU/MAU windows, first-time-for-user) and by the previous period of
    compare; "all" is excluded because its range starts at the earliest event."""
    assume(scenario.query.get("date_from") != "all")
    before = answers(scenario.world, scenario.query)
    assume(before is not None)
    w = scenario.world
    lo, hi = event_bounds(w.events, query=scenario.query, project=w.project, now=w.now)
    extra = []
    for _ in range(data.draw(st.integers(1, 5))):
        e = data.draw(tst.events(timezone=w.project.timezone, near=w.now))
        e.get("properties", {}).pop("$session_id", None)  # sessions read events of any date
        gap = dt.timedelta(microseconds=data.draw(st.sampled_from((1, 1000, 1_000_000, 86_400_000_000, 40 * 86_400_000_000))))
        e["timestamp"] = (lo - gap) if data.draw(st.booleans()) else (hi + gap)
        extra.append(e)
    assert run(w, scenario.query, events=w.events + extra) == before


@given(tst.scenarios(timezone_pool=tst.NO_DST_TIMEZONES, intervals=("hour", "day", "week"),
                     date_froms=("-7d", "-14d", "-1d", "-24h", "-48h", "-3h", "-1w", "-2w", "dStart", "-1dStart"),
                     date_tos=(None, "-1d", "-1dEnd", "dStart", "-1h")),
       st.integers(-30, 30).filter(bool))
def test_shifting_everything_by_whole_weeks_shifts_nothing_else(scenario, weeks):
    """In a zone without DST, moving every event and ``now`` by whole weeks keeps every number
    (week buckets stay aligned); only days and labels move."""
    before = answers(scenario.world, scenario.query)
    assume(before is not None)
    shift = dt.timedelta(weeks=weeks)
    moved = []
    for e in scenario.world.events:
        ts = tc.EventStore.from_records([e]).ts[0]
        moved.append({**e, "timestamp": dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
                      + dt.timedelta(microseconds=int(ts)) + shift})
    after = run(scenario.world, scenario.query, events=moved, now=scenario.world.now + shift)
    assert numbers(after) == numbers(before)


@given(tst.scenarios(breakdown=False, formula=False, compare=False))
def test_formula_a_equals_series_a(scenario):
    """Formula "A" gives series A's numbers (its label becomes "Formula (A)")."""
    plain = answers(scenario.world, scenario.query)
    assume(plain)
    formula = answers(scenario.world, {**scenario.query, "formula": "A"})
    assume(formula is not None)  # a missing action among the series fails any formula (as upstream)
    assert len(formula) == 1
    a = plain[0]
    assert formula[0]["label"] == "Formula (A)"
    if "aggregated_value" in a:
        assert formula[0]["aggregated_value"] == a["aggregated_value"]
    else:
        assert (formula[0]["data"], formula[0]["count"], formula[0]["days"]) == (a["data"], float(sum(a["data"])), a["days"])


# --- property filters ------------------------------------------------------------------------------

# A leaf and its complement split the events in two (NULL gives FALSE to one and TRUE to the other);
# not for an empty list (no filtering either way), lists with icontains (the multi-search form is
# FALSE on NULL both ways) or element text (any text equal / any text different).
COMPLEMENTS = {"exact": "is_not", "is_not": "exact", "icontains": "not_icontains", "regex": "not_regex",
               "is_set": "is_not_set", "in": "not_in"}  # fmt: skip


def passing(world: tst.World, properties, series=None) -> set[int] | None:
    """The indexes of the events that pass ``properties`` (None when the query is invalid)."""
    events = [{**e, "properties": {**(e.get("properties") or {}), "eid": i}} for i, e in enumerate(world.events)]
    query = {"events": [series or {"id": None}], "date_from": "2000-01-01", "date_to": "2100-01-01",
             "display": "ActionsTable", "breakdown": "eid", "breakdown_limit": 1000, "properties": properties}
    try:
        results = run(world, query, events=events)
    except tc.ValidationError:
        return None
    return {int(r["breakdown_value"]) for r in results if r["aggregated_value"]}


@given(tst.worlds(min_events=5, max_events=30), st.data())
def test_a_leaf_and_its_complement_split_the_events(world, data):
    kw = {"cohort_ids": [c["id"] for c in world.project.cohorts], "now": world.now, "timezone": world.project.timezone}
    leaf = data.draw(tst.property_leaves(operators=tuple(COMPLEMENTS), **kw))
    op = leaf.get("operator", "exact")
    if leaf["type"] in ("cohort", "static-cohort"):
        op = "not_in" if leaf.get("negation") else op if op in ("in", "not_in", "exact", "is_not") else "in"
        complement = {k: v for k, v in leaf.items() if k != "negation"}
        complement["operator"] = {"in": "not_in", "exact": "not_in", "not_in": "in", "is_not": "in"}[op]
    else:
        assume(not (leaf["type"] == "element" and leaf["key"] == "text") and leaf.get("value") != [])
        assume(not (op in ("icontains", "not_icontains") and isinstance(leaf.get("value"), list)))
        complement = {**leaf, "operator": COMPLEMENTS[op]}
    a, b = passing(world, [leaf]), passing(world, [complement])
    assume(a is not None and b is not None)
    assert a | b == set(range(len(world.events)))
    assert not a & b


@given(tst.worlds(min_events=5, max_events=30), st.data())
def test_or_is_the_union_and_and_the_intersection(world, data):
    kw = {"cohort_ids": [c["id"] for c in world.project.cohorts], "now": world.now, "timezone": world.project.timezone}
    one, two = data.draw(tst.property_filters(**kw)), data.draw(tst.property_filters(**kw))
    a, b = passing(world, one), passing(world, two)
    assume(a is not None and b is not None)
    group = {"type": "AND", "values": [p if isinstance(p, dict) and p else {"type": "AND", "values": p or []}
                                       for p in (one, two)]}
    assert passing(world, {**group, "type": "OR"}) == a | b
    assert passing(world, group) == a & b


@share(60)
@given(tst.scenarios(breakdown=False, formula=False, compare=False, min_events=5, max_events=40),
       tst.cohorts(min_cohorts=2))
def test_several_cohorts_match_a_query_per_cohort(scenario, cohorts):
    """Several cohorts run as one query in which an event counts in every cohort of its person;
    one cohort runs as a query filtered to its members. Both give each cohort the same numbers."""
    w = dataclasses.replace(scenario.world, project=attrs.evolve(scenario.world.project, cohorts=cohorts))
    q = scenario.query
    ids = [c["id"] for c in cohorts if not c.get("deleted")]
    assume(len(ids) >= 2)
    together = answers(w, {**q, "breakdown": ids, "breakdown_type": "cohort", "breakdown_limit": 25})
    assume(together is not None)
    keys = ("label", "data", "days", "labels", "count", "aggregated_value")
    for cid in ids:
        alone = run(w, {**q, "breakdown": [cid], "breakdown_type": "cohort"})
        assert [{k: r.get(k) for k in keys} for r in together if r["breakdown_value"] == cid] == \
            [{k: r.get(k) for k in keys} for r in alone]
