"""Cohorts: static and dynamic membership, cohort filters, errors, and cohort breakdowns."""

from __future__ import annotations

import pytest

import trendcalc as tc

from .helpers import events_of, mask

T, F = True, False
PERSONS = [
    {"distinct_ids": ["p1"], "properties": {"name": "Jane", "plan": "pro", "age": 30}, "id": "uuid-1"},
    {"distinct_ids": ["p2", "p2b"], "properties": {"name": "John", "plan": "free", "age": 17}, "id": "uuid-2"},
    {"distinct_ids": ["p3"], "properties": {"name": "Jim"}, "id": "uuid-3"},
]
DIDS = ["p1", "p2", "p2b", "p3", "ghost"]
COHORTS = [
    {"id": 1, "name": "Janes", "groups": [{"properties": [{"key": "name", "value": "Jane", "type": "person"}]}]},
    {"id": 2, "name": "pro or young", "groups": [
        {"properties": [{"key": "plan", "value": "pro"}]},  # no type: a person filter
        {"properties": [{"key": "age", "operator": "lt", "value": "18", "type": "event"}]},  # event → person
    ]},
    {"id": 3, "name": "static", "is_static": True, "distinct_ids": ["p2b", "ghost", "unknown"]},
    {"id": 4, "name": "nested", "filters": {"properties": {"type": "AND", "values": [
        {"type": "OR", "values": [{"key": "name", "value": "Jim", "type": "person"},
                                  {"key": "id", "value": 1, "type": "cohort"}]},
        {"key": "name", "operator": "is_not", "value": "Jane", "type": "person", "negation": False},
    ]}}},
    {"id": 5, "name": "old dict", "groups": [{"properties": {"plan": "free"}}]},
    {"id": 6, "name": "by person id", "is_static": True, "person_ids": ["uuid-3"]},
    {"id": 7, "name": "not set", "groups": [{"properties": [{"key": "plan", "operator": "is_not_set", "type": "person"}]}]},
    {"id": 8, "name": "loop", "groups": [{"properties": [{"key": "id", "value": 8, "type": "cohort"}]}]},
    {"id": 9, "name": "behavioural", "groups": [{"action_id": 3, "days": 7}]},
    {"id": 10, "name": "deleted", "deleted": True, "groups": [{"properties": []}]},
]  # fmt: skip


def _store():
    return tc.EventStore.from_records(events_of([{}] * len(DIDS), distinct_ids=DIDS), persons=PERSONS)


def cohort(cid, operator=None):
    d = {"key": "id", "value": cid, "type": "cohort"}
    if operator:
        d["operator"] = operator
    return [d]


@pytest.mark.parametrize(
    ("cid", "expected"),
    [
        (1, [T, F, F, F, F]),
        (2, [T, T, T, F, F]),
        (3, [F, T, T, F, F]),  # static by distinct_id; person-less "ghost" is never a member
        (4, [F, F, F, T, F]),
        (5, [F, T, T, F, F]),
        (6, [F, F, F, T, F]),
        (7, [F, F, F, T, F]),  # is_not_set matches Jim, never the person-less event
    ],
)
def test_membership(cid, expected):
    project = {"cohorts": COHORTS}
    assert mask(_store(), cohort(cid), project=project) == expected
    assert mask(_store(), cohort(cid, "not_in"), project=project) == [not x for x in expected]


def test_negation_and_aliases():
    project = {"cohorts": COHORTS}
    neg = [{"key": "id", "value": 1, "type": "cohort", "negation": True}]
    assert mask(_store(), neg, project=project) == [F, T, T, T, T]
    static = [{"key": "id", "value": "3", "type": "static-cohort"}]
    assert mask(_store(), static, project=project) == [F, T, T, F, F]


def test_person_property_types_apply_in_cohorts():
    project = {"cohorts": [{"id": 1, "groups": [{"properties": [{"key": "age", "operator": "gt", "value": 18, "type": "person"}]}]}],
               "property_definitions": [{"name": "age", "type": "Numeric", "kind": "person"}]}
    assert mask(_store(), cohort(1), project=project) == [T, F, F, F, F]
    untyped = {"cohorts": project["cohorts"]}
    with pytest.raises(tc.ValidationError) as e:
        mask(_store(), cohort(1), project=untyped)
    assert e.value.path[:3] == ("project", "cohorts", 0)


def test_cohort_errors():
    project = {"cohorts": COHORTS}
    with pytest.raises(tc.ValidationError) as e:
        mask(_store(), cohort(404), project=project)
    assert e.value.path == ("properties", 0, "value")
    with pytest.raises(tc.ValidationError):
        mask(_store(), cohort(10), project=project)  # deleted
    with pytest.raises(tc.ValidationError):
        mask(_store(), cohort(8), project=project)  # refers to itself
    with pytest.raises(tc.UnsupportedError) as e:
        mask(_store(), cohort(9), project=project)
    assert e.value.path == ("project", "cohorts", 8, "groups", 0)


def test_behavioural_leaf_in_filters_is_unsupported():
    project = {"cohorts": [{"id": 1, "filters": {"properties": {"type": "OR", "values": [
        {"key": "$pageview", "type": "behavioral", "value": "performed_event", "event_type": "events"}]}}}]}  # fmt: skip
    with pytest.raises(tc.ValidationError):  # the extra key event_type is rejected before the type
        mask(_store(), cohort(1), project=project)
    project = {"cohorts": [{"id": 1, "filters": {"properties": {"type": "OR", "values": [
        {"key": "$pageview", "type": "behavioral", "value": "performed_event"}]}}}]}  # fmt: skip
    with pytest.raises(tc.UnsupportedError):
        mask(_store(), cohort(1), project=project)


def test_event_filters_inside_new_style_cohorts_are_rejected():
    project = {"cohorts": [{"id": 1, "filters": {"properties": {"type": "AND", "values": [{"key": "x", "value": "y", "type": "event"}]}}}]}
    with pytest.raises(tc.ValidationError):
        mask(_store(), cohort(1), project=project)


# --- cohort breakdowns ---------------------------------------------------------------------------------


def _trends(breakdown, series=None, **extra):
    events = [{"event": "$pageview", "distinct_id": d, "timestamp": "2020-01-01T12:00:00Z"} for d in DIDS]
    store = tc.EventStore.from_records(events, persons=PERSONS)
    q = {"events": series or [{"id": "$pageview"}], "breakdown": breakdown, "breakdown_type": "cohort",
         "date_from": "2020-01-01", "date_to": "2020-01-01", "display": "ActionsTable", **extra}
    return tc.trends(store, q, project={"cohorts": COHORTS}, now="2020-01-02").to_dicts()


def test_one_cohort_is_its_own_query():
    out = _trends([2])
    assert [(r["label"], r["breakdown_value"], r["aggregated_value"]) for r in out] == [("pro or young", 2, 3)]


def test_list_with_all_is_cohort_major_per_series():
    out = _trends([1, "all"], series=[{"id": "$pageview"}, {"id": "$pageview", "math": "dau"}])
    assert [(r["label"], r["breakdown_value"], r["aggregated_value"]) for r in out] == [
        ("$pageview - Janes", 1, 1), ("$pageview - Janes", 1, 1),
        ("$pageview - all users", "all", 5), ("$pageview - all users", "all", 4),
    ]  # fmt: skip


def test_several_cohorts_attribute_each_event_to_every_cohort():
    out = _trends([1, 2, 3])
    assert [(r["label"], r["breakdown_value"], r["aggregated_value"]) for r in out] == [
        ("pro or young", 2, 3), ("static", 3, 2), ("Janes", 1, 1),
    ]  # fmt: skip


def test_cohort_breakdown_with_unknown_cohort():
    with pytest.raises(tc.ValidationError) as e:
        _trends([404])
    assert e.value.path == ("breakdown",)


def test_a_long_chain_of_cohorts_over_cohorts_needs_no_stack():
    """Cohort n is "in cohort n-1" (cohort 0: plan = pro): membership is computed in dependency
    order without recursion, so 500 levels answer instead of raising RecursionError."""
    chain = [{"id": 0, "groups": [{"properties": [{"key": "plan", "value": "pro", "type": "person"}]}]}]
    chain += [{"id": n, "filters": {"properties": {"type": "AND", "values": [
        {"key": "id", "value": n - 1, "type": "cohort"}]}}} for n in range(1, 500)]  # fmt: skip
    project = {"cohorts": chain}
    assert mask(_store(), cohort(499), project=project) == mask(_store(), cohort(0), project=project)


def test_a_cycle_of_cohorts_is_an_error_naming_a_cohort():
    cycle = [{"id": n, "filters": {"properties": {"type": "AND", "values": [
        {"key": "id", "value": (n + 1) % 3, "type": "cohort"}]}}} for n in range(3)]  # fmt: skip
    with pytest.raises(tc.ValidationError) as e:
        mask(_store(), cohort(0), project={"cohorts": cycle})
    assert e.value.path[:2] == ("project", "cohorts") and "refers to itself" in e.value.message
