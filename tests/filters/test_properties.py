"""Property groups and sources: nesting, dropped leaves, series-level groups, person, group,
event metadata and element filters, test-account filtering."""

from __future__ import annotations

import pytest

import trendcalc as tc

from .helpers import events_of, mask

T, F = True, False
ROWS = [{"x": "y", "n": "1"}, {"x": "z", "n": "1"}, {"x": "y", "n": "2"}, {}]


def test_flat_list_is_and():
    assert mask(ROWS, [{"key": "x", "value": "y"}, {"key": "n", "value": "1"}]) == [T, F, F, F]


def test_or_group_and_nested_groups():
    group = {"type": "OR", "values": [
        {"type": "AND", "values": [{"key": "x", "value": "y"}, {"key": "n", "value": "2"}]},
        {"type": "AND", "values": [{"key": "x", "value": "z"}]},
    ]}  # fmt: skip
    assert mask(ROWS, group) == [F, T, T, F]
    deep = {"type": "AND", "values": [{"type": "OR", "values": [{"type": "AND", "values": [
        {"type": "OR", "values": [{"key": "n", "value": "2"}, {"key": "x", "value": "z"}]}]}]}]}  # fmt: skip
    assert mask(ROWS, deep) == [F, T, T, F]


def test_or_with_empty_group_matches_everything():
    group = {"type": "OR", "values": [{"type": "AND", "values": []},
                                      {"type": "AND", "values": [{"key": "x", "value": "nope"}]}]}  # fmt: skip
    assert mask(ROWS, group) == [T, T, T, T]


def test_dropped_leaves_are_true():
    # a leaf without a value, a group filter without group_type_index, a flag filter
    group = {"type": "OR", "values": [{"key": "x", "operator": "exact"}, {"key": "x", "value": "nope"}]}
    assert mask(ROWS, group) == [T, T, T, T]
    assert mask(ROWS, [{"key": "industry", "value": "a", "type": "group"}, {"key": "x", "value": "y"}]) == [T, F, T, F]
    assert mask(ROWS, [{"key": "f", "type": "flag", "value": True, "operator": "flag_evaluates_to"}]) == [T, T, T, T]


def test_falsy_entries_dropped_and_old_style_dict():
    assert mask(ROWS, {"type": "AND", "values": [{}, {"key": "x", "value": "y"}]}) == [T, F, T, F]
    assert mask(ROWS, {"x__icontains": "Y"}) == [T, F, T, F]
    assert mask(ROWS, {"x": "z"}) == [F, T, F, F]


def test_unknown_group_type_is_an_error():
    with pytest.raises(tc.ValidationError):
        mask(ROWS, {"type": "XOR", "values": []})


def test_unsupported_property_type():
    with pytest.raises(tc.UnsupportedError) as e:
        mask(ROWS, [{"key": "x", "value": "1", "type": "recording"}])
    assert e.value.path == ("properties", 0, "type")


def test_series_level_or_behaves_as_and():
    store = tc.EventStore.from_records(events_of(ROWS))
    q = {"events": [{"id": "e", "properties": {"type": "OR", "values": [
        {"key": "x", "value": "y"}, {"key": "n", "value": "2"}]}}],
         "date_from": "2020-01-01", "date_to": "2020-01-01", "display": "ActionsTable"}  # fmt: skip
    assert tc.trends(store, q, now="2020-01-02").to_dicts()[0]["aggregated_value"] == 1


def test_series_properties_and_global_properties_combine():
    store = tc.EventStore.from_records(events_of(ROWS))
    q = {"events": [{"id": "e", "properties": [{"key": "n", "value": "1"}]}],
         "properties": [{"key": "x", "operator": "is_set"}],
         "date_from": "2020-01-01", "date_to": "2020-01-01", "display": "ActionsTable"}
    assert tc.trends(store, q, now="2020-01-02").to_dicts()[0]["aggregated_value"] == 2


PERSONS = [
    {"distinct_ids": ["a1", "a2"], "properties": {"plan": "pro", "age": 30}},
    {"distinct_ids": ["b1"], "properties": {"plan": "free"}},
]


def _person_store(dids):
    return tc.EventStore.from_records(events_of([{}] * len(dids), distinct_ids=dids), persons=PERSONS)


def test_person_properties_and_personless_events():
    store = _person_store(["a1", "a2", "b1", "ghost"])
    assert mask(store, [{"key": "plan", "value": "pro", "type": "person"}]) == [T, T, F, F]
    assert mask(store, [{"key": "plan", "operator": "is_not", "value": "pro", "type": "person"}]) == [F, F, T, T]
    assert mask(store, [{"key": "plan", "operator": "is_not_set", "type": "person"}]) == [F, F, F, T]
    numeric = {"property_definitions": [{"name": "age", "type": "Numeric", "kind": "person"}]}
    assert mask(store, [{"key": "age", "operator": "gte", "value": 18, "type": "person"}], project=numeric) == [T, T, F, F]
    # an event definition does not type a person property
    event_def = {"property_definitions": [{"name": "age", "type": "Numeric", "kind": "event"}]}
    with pytest.raises(tc.ValidationError):
        mask(store, [{"key": "age", "operator": "gte", "value": 18, "type": "person"}], project=event_def)


def test_person_distinct_id_is_the_events_own():
    store = _person_store(["a1", "a2", "b1", "ghost"])
    assert mask(store, [{"key": "distinct_id", "value": "a2", "type": "person"}]) == [F, T, F, F]


GROUPS = [
    {"group_type_index": 0, "group_key": "org:1", "properties": {"industry": "finance"}},
    {"group_type_index": 0, "group_key": "org:2", "properties": {"industry": "tech"}},
    {"group_type_index": 1, "group_key": "org:1", "properties": {"industry": "tech"}},
]


def test_group_properties():
    rows = [{"$group_0": "org:1"}, {"$group_0": "org:2"}, {"$group_0": "org:3"}, {}, {"$group_1": "org:1"}]
    store = tc.EventStore.from_records(events_of(rows), groups=GROUPS)
    g0 = {"key": "industry", "value": "finance", "type": "group", "group_type_index": 0}
    assert mask(store, [g0]) == [T, F, F, F, F]
    assert mask(store, [{**g0, "operator": "is_not"}]) == [F, T, T, T, T]
    assert mask(store, [{**g0, "group_type_index": 1, "value": "tech"}]) == [F, F, F, F, T]


def test_event_metadata():
    rows = [{"$group_0": "5"}, {"$group_0": 7}, {}]
    store = tc.EventStore.from_records(events_of(rows, distinct_ids=["u1", "u2", "u1"]))
    assert mask(store, [{"key": "distinct_id", "value": "u1", "type": "event_metadata"}]) == [T, F, T]
    assert mask(store, [{"key": "event", "value": "e", "type": "event_metadata"}]) == [T, T, T]
    assert mask(store, [{"key": "$group_0", "value": 5, "type": "event_metadata"}]) == [T, F, F]
    assert mask(store, [{"key": "$group_0", "value": "", "type": "event_metadata"}]) == [F, F, T]  # non-NULL ""
    assert mask(store, [{"key": "$group_0", "operator": "is_not", "value": "5", "type": "event_metadata"}]) == [F, T, T]
    with pytest.raises(tc.ValidationError) as e:
        mask(store, [{"key": "nope", "value": "x", "type": "event_metadata"}])
    assert e.value.path == ("properties", 0, "key")


def test_feature_properties_read_event_properties():
    rows = [{"$feature/beta": "test"}, {"$feature/beta": "control"}, {}]
    assert mask(rows, [{"key": "$feature/beta", "value": "test", "type": "feature"}]) == [T, F, F]


def test_test_account_filters_apply_to_every_series():
    events = events_of([{"$host": "localhost:8000"}, {"$host": "app.com"}, {}], distinct_ids=["a1", "b1", "b1"])
    events += [{**e, "event": "other"} for e in events]
    store = tc.EventStore.from_records(events, persons=[{"distinct_ids": ["a1"], "properties": {"email": "x@posthog.com"}},
                                                        {"distinct_ids": ["b1"], "properties": {"email": "y@gmail.com"}}])
    project = tc.Project(test_account_filters=[
        {"key": "email", "operator": "not_icontains", "value": "@posthog.com", "type": "person"},
        {"key": "$host", "operator": "not_regex", "value": "^(localhost|127\\.0\\.0\\.1)($|:)", "type": "event"},
    ])  # fmt: skip
    q = {"events": [{"id": "e"}, {"id": "other"}], "date_from": "2020-01-01", "date_to": "2020-01-01",
         "display": "ActionsTable", "filter_test_accounts": True}
    out = tc.trends(store, q, project=project, now="2020-01-02").to_dicts()
    assert [r["aggregated_value"] for r in out] == [2, 2]
    out = tc.trends(store, {**q, "filter_test_accounts": False}, project=project, now="2020-01-02").to_dicts()
    assert [r["aggregated_value"] for r in out] == [3, 3]


def test_bad_test_account_filter_names_project_path():
    store = tc.EventStore.from_records(events_of([{}]))
    project = tc.Project(test_account_filters=[{"key": "x", "operator": "regex", "value": "("}])
    q = {"events": [{"id": "e"}], "filter_test_accounts": True}
    with pytest.raises(tc.ValidationError) as e:
        tc.trends(store, q, project=project, now="2020-01-02")
    assert e.value.path[:3] == ("project", "test_account_filters", 0)


def test_inputs_are_not_mutated():
    props = [{"key": "x", "operator": "exact", "value": [1, "y"]}]
    before = repr(props)
    mask(ROWS, props)
    assert repr(props) == before


def test_person_filter_reads_virtual_person_properties():
    store = tc.EventStore.from_records(
        [{"event": "e", "distinct_id": d, "timestamp": "2020-01-01T10:00:00Z"} for d in ("a", "b", "c")],
        persons=[
            {"distinct_ids": ["a"], "properties": {"$initial_referring_domain": "https://www.google.com"}},
            {"distinct_ids": ["b"], "properties": {"$initial_referring_domain": "$direct"}},
            {"distinct_ids": ["c"], "properties": {"$initial_referring_domain": "https://www.google.com"}},
        ],
    )
    q = {"events": [{"id": "e"}], "date_from": "2020-01-01", "date_to": "2020-01-01",
         "properties": [{"key": "$virt_initial_channel_type", "value": "Organic Search", "type": "person"}]}
    assert tc.trends(store, q).to_dicts()[0]["data"] == [2]


def test_hogql_condition_filters_rows():
    """``{"type": "hogql", "key": <condition>}``: true where the condition is non-zero."""
    assert mask(ROWS, [{"type": "hogql", "key": "properties.x = 'y'"}]) == [T, F, T, F]
    assert mask(ROWS, [{"type": "hogql", "key": "properties.x = 'y' AND toInt(properties.n) > 1"}]) == [F, F, T, F]
    assert mask(ROWS, [{"type": "hogql", "key": "properties.x IS NULL"}]) == [F, F, F, T]
    assert mask(ROWS, {"type": "OR", "values": [{"type": "hogql", "key": "properties.n = '2'"},
                                                {"key": "x", "value": "z"}]}) == [F, T, T, F]
    with pytest.raises(tc.ValidationError) as e:
        mask(ROWS, [{"type": "hogql", "key": "count()"}])
    assert e.value.path == ("properties", 0, "key")
