"""JSON lines, JSON arrays and CSV in: values, PostHog's export shape, errors with file and line,
errors="skip" with a full report."""

from __future__ import annotations

import gzip
import json
import warnings

import numpy as np
import pytest

import trendcalc as tc
from trendcalc.errors import InputRowError
from trendcalc.store.report import IngestWarning

NOW = "2024-03-05T12:00:00Z"
Q = {"events": [{"id": "$pageview"}], "date_from": "2024-03-01", "date_to": "2024-03-03"}


def props(store: tc.EventStore, key: str) -> list:
    """Event property values in store row order (None = absent)."""
    col = store.column(key)
    return [col.value(i) for i in range(len(store))]


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


EVENTS = [
    {"event": "$pageview", "distinct_id": "u1", "timestamp": "2024-03-01T10:00:00Z", "properties": {"$browser": "Chrome"}},
    {"event": "$pageview", "distinct_id": "u2", "timestamp": "2024-03-02T10:00:00Z", "properties": {"$browser": "Safari"}},
    {"event": "$pageview", "distinct_id": "u1", "timestamp": "2024-03-02T11:00:00Z"},
]


def test_jsonl_matches_records(tmp_path):
    path = write_jsonl(tmp_path / "events.jsonl", EVENTS)
    a = tc.EventStore.from_jsonl(path)
    b = tc.EventStore.from_records(EVENTS)
    assert tc.trends(a, Q, now=NOW).to_dicts() == tc.trends(b, Q, now=NOW).to_dicts()
    assert tc.trends(a, Q, now=NOW)[0]["data"] == [1, 2, 0]
    assert a.ingest_report.read == {"events": 3, "persons": 0, "groups": 0}
    assert a.ingest_report.skipped == ()


def test_jsonl_gz_and_json_array(tmp_path):
    gz = tmp_path / "events.jsonl.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("\n".join(json.dumps(e) for e in EVENTS))
    arr = tmp_path / "events.json"
    arr.write_text(json.dumps({"results": EVENTS, "next": None}))
    for path in (gz, arr):
        assert tc.trends(tc.EventStore.from_jsonl(path), Q, now=NOW)[0]["data"] == [1, 2, 0]


def test_posthog_export_shape(tmp_path):
    """properties as JSON text; person_id/person_properties group distinct_ids into persons."""
    rows = [
        {"uuid": "e1", "event": "$pageview", "distinct_id": "anon", "timestamp": "2024-03-01T10:00:00Z",
         "properties": json.dumps({"$browser": "Chrome"}), "person_id": "P1", "person_properties": '{"plan": "free"}',
         "elements_chain": "", "team_id": 1},
        {"uuid": "e2", "event": "$pageview", "distinct_id": "alice", "timestamp": "2024-03-02T10:00:00Z",
         "properties": "{}", "person_id": "P1", "person_properties": {"plan": "pro"}},
        {"uuid": "e3", "event": "$pageview", "distinct_id": "bob", "timestamp": "2024-03-02T11:00:00Z",
         "person_id": "P2"},
    ]
    store = tc.EventStore.from_jsonl(write_jsonl(tmp_path / "export.jsonl", rows))
    assert len(store.persons) == 2
    p_anon = store.persons.person_of_distinct_id[list(store.distinct_ids).index("anon")]
    p_alice = store.persons.person_of_distinct_id[list(store.distinct_ids).index("alice")]
    assert p_anon == p_alice
    assert store.persons.ids[p_alice] == "P1"
    assert store.persons.column("plan").value(p_alice) == "pro"  # the latest event's person_properties
    assert sorted(store.uuid.tolist()) == ["e1", "e2", "e3"]
    dau = tc.trends(store, {**Q, "events": [{"id": "$pageview", "math": "dau"}]}, now=NOW)
    assert dau[0]["data"] == [1, 2, 0]  # anon and alice are one person
    by_plan = tc.trends(store, {**Q, "breakdown": "plan", "breakdown_type": "person"}, now=NOW)
    assert {r["breakdown_value"]: r["count"] for r in by_plan} == {"pro": 2, "$$_posthog_breakdown_null_$$": 1}


def test_persons_table_wins_over_event_person_id():
    events = [{"event": "e", "distinct_id": "d1", "timestamp": "2024-03-01", "person_id": "X"},
              {"event": "e", "distinct_id": "d2", "timestamp": "2024-03-01", "person_id": "X"},
              {"event": "e", "distinct_id": "d3", "timestamp": "2024-03-01", "person_id": "P"}]
    persons = [{"id": "P", "distinct_ids": ["d1"], "properties": {"plan": "pro"}}]
    store = tc.EventStore.from_records(events, persons=persons)
    owner = dict(zip(store.distinct_ids.tolist(), store.persons.person_of_distinct_id.tolist()))
    assert owner["d1"] == owner["d3"] == 0  # d3's person_id "P" is the persons record's id
    assert owner["d2"] == 1 and store.persons.ids[1] == "X"


def test_latest_person_id_of_a_distinct_id_wins():
    events = [{"event": "e", "distinct_id": "d", "timestamp": "2024-03-02", "person_id": "new"},
              {"event": "e", "distinct_id": "d", "timestamp": "2024-03-01", "person_id": "old"}]
    store = tc.EventStore.from_records(events)
    assert store.persons.ids.tolist() == ["new"]


def test_jsonl_bad_line_names_file_line_and_field(tmp_path):
    rows = [EVENTS[0], "{not json", {**EVENTS[1], "timestamp": "2024-13-01"}, "[1, 2]", EVENTS[2]]
    path = write_jsonl(tmp_path / "events.jsonl", rows)
    with pytest.raises(InputRowError) as info:
        tc.EventStore.from_jsonl(path)
    e = info.value
    assert isinstance(e, tc.ValidationError)
    assert (e.source, e.row, e.field) == (str(path), 2, ())
    assert e.path == ("events", f"{path}:2")
    assert str(e).startswith(f"{path}, line 2: $: invalid JSON")


def test_jsonl_skip_reports_every_bad_line(tmp_path):
    rows = [EVENTS[0], "{not json", {**EVENTS[1], "timestamp": "2024-13-01"}, "", "[1, 2]",
            {**EVENTS[2], "properties": {"x": float("inf")}}, EVENTS[2]]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).replace("Infinity", "Infinity"))
    with pytest.warns(IngestWarning, match="skipped 4 malformed row"):
        store = tc.EventStore.from_jsonl(path, errors="skip")
    report = store.ingest_report
    assert [(s.row, s.path) for s in report.skipped] == [(2, ()), (3, ("timestamp",)), (5, ()), (6, ("properties", "x"))]
    assert all(s.source == str(path) and s.unit == "line" for s in report.skipped)
    assert report.read["events"] == 6 and report.kept["events"] == 2  # the blank line is not a row
    assert "line 3: $.timestamp: unparsable timestamp '2024-13-01'" in str(report)
    assert len(store) == 2


def test_errors_mode_is_validated():
    with pytest.raises(tc.ValidationError, match="errors"):
        tc.EventStore.from_records(EVENTS, errors="ignore")


def test_missing_file_is_a_validation_error(tmp_path):
    with pytest.raises(tc.ValidationError, match="cannot read"):
        tc.EventStore.from_jsonl(tmp_path / "nope.jsonl")
    with pytest.raises(tc.ValidationError, match="cannot read"):
        tc.EventStore.from_csv(tmp_path / "nope.csv")


# --- CSV ------------------------------------------------------------------------------------------
CSV = """event,distinct_id,timestamp,$browser,properties.revenue,properties,plan
$pageview,u1,2024-03-01T10:00:00Z,Chrome,,"{""$os"": ""Mac OS X"", ""n"": 3}",pro
purchase,u1,2024-03-01T11:00:00Z,Chrome,29.90,,pro
$pageview,u2,1709377200,Safari,,"{""$browser"": ""ignored""}",
"""


def test_csv_columns(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    store = tc.EventStore.from_csv(path)
    assert len(store) == 3
    assert store.event_names == ("$pageview", "purchase")
    # rows are ordered by (event, time): pageview u1, pageview u2, purchase
    assert props(store, "$browser") == ["Chrome", "Safari", "Chrome"]  # the flat column wins over JSON
    assert props(store, "$os") == ["Mac OS X", None, None]
    assert props(store, "n") == [3, None, None]  # JSON keeps its types
    assert props(store, "revenue") == [None, None, 29.9]  # a column of JSON numbers is numbers (celltypes); empty = absent
    assert props(store, "plan") == ["pro", None, "pro"]
    assert store.ts[1] == 1709377200 * 1_000_000  # epoch seconds
    r = tc.trends(store, {"events": [{"id": "purchase"}], "breakdown": "revenue",
                          "date_from": "2024-03-01", "date_to": "2024-03-02"}, now=NOW)
    assert [(s["breakdown_value"], s["data"]) for s in r] == [("29.9", [1, 0])]  # Numeric (inferred): toFloat


def test_csv_rename_and_person_columns(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("name,user,ts,person_id,person_properties.plan,person_properties.seats\n"
                    "signup,a,2024-03-01 09:00,P,pro,3\nsignup,b,2024-03-02 09:00,P,,5\n"
                    "signup,b,2024-02-01 09:00,P,free,\n")
    store = tc.EventStore.from_csv(path, rename={"name": "event", "user": "distinct_id", "ts": "timestamp"})
    assert len(store.persons) == 1  # a and b are one person
    # per key, the latest event that carries it: plan from 03-01 (later than 02-01), seats from 03-02
    assert store.persons.column("plan").value(0) == "pro"
    assert store.persons.column("seats").value(0) == 5
    assert store.properties == {}


def test_csv_header_errors(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("event,user,ts\nx,a,2024-03-01\n")
    with pytest.raises(InputRowError, match=r"line 1: \$\.distinct_id: the CSV has no 'distinct_id', 'timestamp' column"):
        tc.EventStore.from_csv(path)
    path.write_text("event,distinct_id,timestamp,$browser,properties.$browser\n")
    with pytest.raises(InputRowError, match="repeats column"):
        tc.EventStore.from_csv(path)
    path.write_text("")
    with pytest.raises(tc.ValidationError, match="empty CSV"):
        tc.EventStore.from_csv(path)


def test_csv_bad_rows_raise_or_skip(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "event,distinct_id,timestamp,properties\n"
        "e,u1,2024-03-01,\n"
        "e,,2024-03-01,\n"  # line 3: no distinct_id
        'e,u2,2024-03-01,"{""a"": 1"\n'  # line 4: bad JSON
        "e,u3,2024-03-01\n"  # line 5: short row
        'e,u4,"2024-03-01",\n'
    )
    with pytest.raises(InputRowError) as info:
        tc.EventStore.from_csv(path)
    assert (info.value.row, info.value.field) == (3, ("distinct_id",))
    assert info.value.path == ("events", f"{path}:3", "distinct_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IngestWarning)
        store = tc.EventStore.from_csv(path, errors="skip")
    assert [(s.row, s.path) for s in store.ingest_report.skipped] == [(3, ("distinct_id",)), (4, ("properties",)), (5, ())]
    assert sorted(store.distinct_ids.tolist()) == ["u1", "u4"]


def test_csv_multiline_cell_reports_its_first_line(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text('event,distinct_id,timestamp,note\ne,u1,2024-03-01,"two\nlines"\ne,u2,bad,\n')
    with pytest.raises(InputRowError) as info:
        tc.EventStore.from_csv(path)
    assert info.value.row == 4


def test_inputs_are_not_mutated():
    events = [dict(e) for e in EVENTS] + [{"event": "e", "distinct_id": "p", "timestamp": "2024-03-01",
                                           "person_id": "P", "person_properties": {"a": [1]}}]
    before = json.dumps(events)
    tc.EventStore.from_records(events)
    assert json.dumps(events) == before


def test_progress_bar_on_request(tmp_path, capsys):
    pytest.importorskip("tqdm")
    path = write_jsonl(tmp_path / "events.jsonl", EVENTS * 2000)
    store = tc.EventStore.from_jsonl(path, progress=True)
    assert len(store) == 6000
    assert "reading events.jsonl" in capsys.readouterr().err
    tc.EventStore.from_jsonl(path)  # auto: stderr is not a terminal under pytest → no bar
    assert capsys.readouterr().err == ""


def test_records_keep_old_error_paths():
    with pytest.raises(tc.ValidationError) as info:
        tc.EventStore.from_records([EVENTS[0], {"event": "e", "distinct_id": "d", "timestamp": "x"}])
    assert info.value.path == ("events", 1, "timestamp")
    with pytest.raises(tc.ValidationError) as info:
        tc.EventStore.from_records([], persons=[{"distinct_ids": ["a"]}, {"distinct_ids": ["b", "a"]}])
    assert info.value.path == ("persons", 1, "distinct_ids", 1)


def test_skip_persons_and_groups_in_memory():
    persons = [{"distinct_ids": ["a"]}, {"distinct_ids": []}, {"distinct_ids": ["a"]}]
    groups = [{"group_type_index": 0, "group_key": "g"}, {"group_type_index": 9, "group_key": "h"}]
    with pytest.warns(IngestWarning):
        store = tc.EventStore.from_records(EVENTS, persons=persons, groups=groups, errors="skip")
    assert [str(s) for s in store.ingest_report.skipped] == [
        "persons[1]: $.distinct_ids: expected a non-empty list of distinct_ids",
        "persons[2]: $.distinct_ids[0]: distinct_id 'a' already belongs to persons[0]",
        "groups[1]: $.group_type_index: expected an int 0..4, got 9",
    ]
    assert store.ingest_report.kept == {"events": 3, "persons": 1, "groups": 1}
    assert np.array_equal(store.groups[0].keys, np.array(["g"], dtype=object))
