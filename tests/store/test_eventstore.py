import copy
import datetime as dt

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.store.report import IngestWarning

EVENTS = [
    {"event": "b", "distinct_id": "u1", "timestamp": "2020-01-02T00:00:00Z", "properties": {"p": 1}},
    {"event": "a", "distinct_id": "anon", "timestamp": "2020-01-03T00:00:00+01:00", "properties": {"p": "x"}},
    {"event": "a", "distinct_id": "u2", "timestamp": 1577836800, "properties": {"p": None, "q": True}},
    {"event": "a", "distinct_id": "u1", "timestamp": dt.datetime(2020, 1, 1, 12), "uuid": "e4"},
]
PERSONS = [{"distinct_ids": ["u1", "anon"], "properties": {"plan": "pro"}, "created_at": "2019-12-01"}]


def test_rows_ordered_by_event_then_time_with_offsets():
    s = tc.EventStore.from_records(EVENTS, persons=PERSONS)
    assert s.event_names == ("a", "b")
    assert s.offsets.tolist() == [0, 3, 4]
    # event "a": 2020-01-01 00:00 (epoch), 2020-01-01 12:00 (naive = UTC), 2020-01-02 23:00 UTC
    assert s.ts[:3].tolist() == [1577836800_000000, 1577880000_000000, 1578006000_000000]
    assert s.event_slice(0, 1577880000_000000, 1578006000_000001) == slice(1, 3)
    assert s.event_slice(1, 0, 1) == slice(3, 3)


def test_persons_merge_distinct_ids_and_orphans_get_their_own_person():
    s = tc.EventStore.from_records(EVENTS, persons=PERSONS)
    did = {name: i for i, name in enumerate(s.distinct_ids.tolist())}
    p = s.persons.person_of_distinct_id
    assert p[did["u1"]] == p[did["anon"]] == 0
    assert p[did["u2"]] == 1 and s.persons.synthetic.tolist() == [False, True]
    assert s.persons.column("plan").value(0) == "pro"
    # every event row carries its person
    assert sorted(s.person.tolist()) == [0, 0, 0, 1]


def test_property_columns_are_dictionary_encoded_and_keep_types_apart():
    recs = [{"event": "e", "distinct_id": "d", "timestamp": 0, "properties": {"v": v}} for v in (1, 1.0, True, "1", 1, None)]
    s = tc.EventStore.from_records(recs)
    col = s.column("v")
    assert len(col.dictionary) == 4  # 1, 1.0, True, "1" stay distinct
    assert (col.codes == -1).sum() == 1  # JSON null = absent
    assert col.dictionary.text().tolist() == ["1", "1.0", "true", "1", None]


def test_inputs_are_not_mutated_and_containers_are_copied():
    events = copy.deepcopy(EVENTS)
    events[0]["properties"]["obj"] = {"k": [1, 2]}
    before = copy.deepcopy(events)
    s = tc.EventStore.from_records(events, persons=PERSONS)
    assert events == before
    events[0]["properties"]["obj"]["k"].append(3)
    assert s.column("obj").dictionary.values[0] == {"k": [1, 2]}


def test_arrays_are_read_only():
    s = tc.EventStore.from_records(EVENTS)
    with pytest.raises(ValueError):
        s.ts[0] = 0


@pytest.mark.parametrize(
    "bad, path, words",
    [
        ({"distinct_id": "d", "timestamp": 0}, ("events", 1, "event"), "event name"),
        ({"event": "e", "timestamp": 0}, ("events", 1, "distinct_id"), "distinct_id"),
        ({"event": "e", "distinct_id": "d"}, ("events", 1, "timestamp"), "missing timestamp"),
        ({"event": "e", "distinct_id": "d", "timestamp": "yesterday"}, ("events", 1, "timestamp"), "unparsable"),
        ({"event": "e", "distinct_id": "d", "timestamp": "3020-01-01"}, ("events", 1, "timestamp"), "outside years"),
        ({"event": "e", "distinct_id": "d", "timestamp": 0, "properties": [1]}, ("events", 1, "properties"), "object"),
        ({"event": "e", "distinct_id": "d", "timestamp": 0, "properties": {"x": float("nan")}}, ("events", 1, "properties", "x"), "finite"),
        ("not a dict", ("events", 1), "object"),
    ],
)
def test_bad_events_name_record_and_field(bad, path, words):
    with pytest.raises(tc.ValidationError) as exc:
        tc.EventStore.from_records([EVENTS[0], bad])
    assert exc.value.path == path
    assert words in exc.value.message


def test_distinct_id_claimed_by_two_persons():
    with pytest.raises(tc.ValidationError) as exc:
        tc.EventStore.from_records([], persons=[{"distinct_ids": ["a"]}, {"distinct_ids": ["b", "a"]}])
    assert exc.value.path == ("persons", 1, "distinct_ids", 1)
    assert "persons[0]" in exc.value.message


def test_groups_indexed_by_type_and_key():
    s = tc.EventStore.from_records(
        [{"event": "e", "distinct_id": "d", "timestamp": 0, "properties": {"$group_0": "org:1"}},
         {"event": "e", "distinct_id": "d", "timestamp": 1, "properties": {"$group_0": "org:9"}}],
        groups=[{"group_type_index": 0, "group_key": "org:1", "properties": {"industry": "finance"}}],
    )
    assert s.group_rows(0).tolist() == [0, -1]
    assert s.groups[0].column("industry").value(0) == "finance"
    with pytest.raises(tc.ValidationError) as exc:
        tc.EventStore.from_records([], groups=[{"group_type_index": 7, "group_key": "x"}])
    assert exc.value.path == ("groups", 0, "group_type_index")


def test_a_group_with_an_empty_key_is_dropped():
    """PostHog lets a group row have key '' but never counts it: an event's $group_0 '' means no
    group (upstream test_trends_persons.py test_trends_math_group_persons_filters_empty)."""
    with pytest.warns(IngestWarning, match="group_key '' was left out") as caught:
        s = tc.EventStore.from_records(
            [{"event": "e", "distinct_id": "d", "timestamp": 0, "properties": {"$group_0": "org:1"}},
             {"event": "e", "distinct_id": "d", "timestamp": 1, "properties": {"$group_0": ""}}],
            groups=[{"group_type_index": 0, "group_key": "org:1"}, {"group_type_index": 0, "group_key": "", "properties": {"a": 1}},
                    {"group_type_index": 1, "group_key": ""}],
        )
    assert len(caught) == 1  # (once for the build)
    assert s.group_rows(0).tolist() == [0, -1]
    assert len(s.groups[0].keys) == 1
    with pytest.raises(tc.ValidationError) as exc:  # a missing key is still an error
        tc.EventStore.from_records([], groups=[{"group_type_index": 0, "group_key": None}])
    assert exc.value.path == ("groups", 0, "group_key")


def test_from_jsonl(tmp_path):
    f = tmp_path / "events.jsonl"
    f.write_text('{"event": "e", "distinct_id": "d", "timestamp": "2020-01-01"}\n\n'
                 '{"event": "e", "distinct_id": "d", "timestamp": "2020-01-02"}\n')
    assert len(tc.EventStore.from_jsonl(f)) == 2
    f.write_text('{"event": "e", "distinct_id": "d", "timestamp": "2020-01-01"}\nnot json\n')
    with pytest.raises(tc.ValidationError) as exc:
        tc.EventStore.from_jsonl(f)
    assert exc.value.path == ("events", f"{f}:2")


def test_empty_store_answers_zero():
    s = tc.EventStore.from_records([])
    r = tc.trends(s, {"events": [{"id": "x"}], "date_from": "-2d"}, now="2020-01-03T00:00:00Z")
    assert r.to_dicts()[0]["data"] == [0, 0, 0]
    assert np.asarray(s.ts).size == 0
