"""Every crash the fuzzers (or probing around them) found, pinned as an explicit example.

Each one used to escape as a non-ValidationError exception (RecursionError, OverflowError, a bare
ValueError from ``int()`` or NumPy, AttributeError, TypeError, UnicodeDecodeError); now each is a
ValidationError whose path points at the offending value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import trendcalc as tc

NOW = "2020-01-20T00:00:00Z"
STORE = tc.EventStore.from_records(
    [{"event": "$pageview", "distinct_id": "d", "timestamp": "2020-01-19T00:00:00Z", "properties": {"$browser": "x"}}]
)


def deep_list(n: int) -> Any:
    v: Any = "x"
    for _ in range(n):
        v = [v]
    return v


def q(**kw: Any) -> dict[str, Any]:
    return {"events": [{"id": "$pageview"}], **kw}


# (id, filter, expected path of the error). All of these crashed before the fix.
FILTER_CRASHES = [
    # json.loads of a field given as JSON text: RecursionError
    ("events_json_text_deep", {"events": "[" * 60_000}, ("events",)),
    ("breakdown_json_text_deep", q(breakdown="[" * 60_000), ("breakdown",)),
    # repr() of a deeply nested value while building the error message: RecursionError
    ("date_from_deep_list", q(date_from=deep_list(5_000)), ("date_from",) + (0,) * 63),
    # truth value of a NumPy array: ValueError("ambiguous")
    ("date_from_ndarray", q(date_from=np.array([1, 2])), ("date_from",)),
    ("interval_ndarray", q(interval=np.array([1, 2])), ("interval",)),
    ("breakdown_ndarray", q(breakdown=np.array(["a", "b"])), ("breakdown",)),
    # float(int) / str(int) of huge ints: OverflowError / ValueError (4300-digit limit)
    ("order_huge_int", {"events": [{"id": "a", "order": 10**400}, {"id": "b", "order": 1}]}, ("events", 0, "order")),
    ("smoothing_huge_int", q(smoothing_intervals=10**5000), ("smoothing_intervals",)),
    ("breakdown_huge_int", q(breakdown=10**5000), ("breakdown",)),
    ("math_group_type_index_huge_int", {"events": [{"id": "a", "math": "dau", "math_group_type_index": 10**5000}]}, ("events", 0, "math_group_type_index")),
    # str.isdigit() accepts "²" and thousands of digits; int() then raised ValueError
    ("cohort_id_superscript", q(breakdown=["²"], breakdown_type="cohort"), ("breakdown", 0)),
    ("cohort_id_5000_digits", q(breakdown=["9" * 5000], breakdown_type="cohort"), ("breakdown", 0)),
    # absolute dates that overflow when moved into the project timezone: OverflowError
    ("date_to_year_9999_negative_offset", q(date_from="2020-01-01", date_to="9999-12-31T23:59:59-14:00"), ("date_to",)),
    ("date_from_year_1_positive_offset", q(date_from="0001-01-01T00:00:00+14:00"), ("date_from",)),
]


@pytest.mark.parametrize("query,path", [(f, p) for _, f, p in FILTER_CRASHES], ids=[i for i, _, _ in FILTER_CRASHES])
def test_filter_crash_is_a_validation_error(query: dict[str, Any], path: tuple) -> None:
    with pytest.raises(tc.ValidationError) as err:
        tc.trends(STORE, query, now=NOW)
    assert err.value.path == path
    assert err.value.message


def test_action_ids_in_odd_digits_are_not_ints() -> None:
    """"²" and 5000-digit strings used to crash int(); they are now plain (unknown) action ids."""
    for ident in ("²", "9" * 5000, "١٢"):
        f = tc.parse_filter({"actions": [{"id": ident}]})
        assert f.series[0].id == ident
    assert tc.parse_filter({"actions": [{"id": " 42 "}]}).series[0].id == 42


def test_non_string_keys_have_a_printable_path() -> None:
    with pytest.raises(tc.ValidationError) as err:
        tc.parse_filter({None: 1})
    assert err.value.path == ("<NoneType key>",)
    with pytest.raises(tc.ValidationError) as err:
        tc.parse_filter(q(properties={(1, 2): 3}))
    assert err.value.path == ("properties", "<tuple key>")


def test_lone_surrogates_are_rejected_with_a_path() -> None:
    """Python's json.loads turns "\\ud800" escapes into lone surrogates, which cannot be encoded
    as UTF-8 (RE2, CSV/Parquet files); PostHog's ingestion rejects them too."""
    with pytest.raises(tc.ValidationError) as err:
        tc.parse_filter(q(properties=[{"key": "a", "value": "\ud800"}]))
    assert err.value.path == ("properties", 0, "value")
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_records([{"event": "e", "distinct_id": "d", "timestamp": 0, "properties": {"x": "a\udfffb"}}])
    assert err.value.path == ("events", 0, "properties", "x")


# --- ingest ---------------------------------------------------------------------------------------
def ev(**kw: Any) -> dict[str, Any]:
    return {"event": "e", "distinct_id": "d", "timestamp": 0, **kw}


INGEST_CRASHES = [
    # json.dumps of a huge int inside a container: ValueError (4300-digit limit)
    ("nested_huge_int_property", {"events": [ev(properties={"x": [10**5000]})]}, ("events", 0, "properties", "x", 0)),
    # json.loads of properties given as deeply nested JSON text: RecursionError
    ("properties_json_text_deep", {"events": [ev(properties="[" * 100_000)]}, ("events", 0, "properties")),
    # iterating a non-iterable: TypeError
    ("events_int", {"events": 5}, ("events",)),
    ("groups_int", {"events": [], "groups": 3}, ("groups",)),
    # str() of a 5000-digit distinct_id / group_key: ValueError
    ("distinct_id_huge_int", {"events": [ev(distinct_id=10**5000)]}, ("events", 0, "distinct_id")),
    ("group_key_huge_int", {"events": [], "groups": [{"group_type_index": 0, "group_key": 10**5000}]}, ("groups", 0, "group_key")),
]


@pytest.mark.parametrize("kwargs,path", [(k, p) for _, k, p in INGEST_CRASHES], ids=[i for i, _, _ in INGEST_CRASHES])
def test_ingest_crash_is_a_validation_error(kwargs: dict[str, Any], path: tuple) -> None:
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_records(kwargs["events"], persons=kwargs.get("persons"), groups=kwargs.get("groups"))
    assert err.value.path == path


def test_huge_int_property_is_rejected_at_ingest() -> None:
    """Accepted before, it crashed later: float() in typed views (OverflowError), str() in
    breakdown labels (ValueError)."""
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_records([ev(properties={"amount": 10**400})])
    assert err.value.path == ("events", 0, "properties", "amount")
    tc.EventStore.from_records([ev(properties={"amount": 2**64, "big": -(10**300)})])  # in range


JSONL_CRASHES = [
    # exc.msg on a ValueError that is not a JSONDecodeError: AttributeError
    ("integer_with_5000_digits", '{"event":"e","distinct_id":"d","timestamp":0,"properties":{"x":' + "9" * 5000 + "}}\n"),
    # json.loads RecursionError
    ("deeply_nested_line", '{"event":"e","distinct_id":"d","timestamp":0,"properties":{"x":' + "[" * 100_000 + "}}\n"),
    # a key given twice: silently "last wins" before; now an explicit error
    ("duplicate_key", '{"event":"e","distinct_id":"d","timestamp":0,"timestamp":"2020-01-01"}\n'),
]


@pytest.mark.parametrize("text", [t for _, t in JSONL_CRASHES], ids=[i for i, _ in JSONL_CRASHES])
def test_jsonl_crash_is_a_validation_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"event":"ok","distinct_id":"d","timestamp":0}\n' + text)
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_jsonl(path)
    assert err.value.path == ("events", f"{path}:2")


def test_jsonl_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    """UnicodeDecodeError escaped from the file iterator before."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"event":"ok","distinct_id":"d","timestamp":0}\n{"event":"\xff"}\n')
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_jsonl(path)
    assert err.value.path == ("events", f"{path}:2") and "UTF-8" in err.value.message


# --- project --------------------------------------------------------------------------------------
def test_property_definitions_not_a_list() -> None:
    """Iterating an int: TypeError."""
    with pytest.raises(tc.ValidationError) as err:
        tc.Project(property_definitions=5)
    assert err.value.path == ("property_definitions",)


def test_project_week_start_day_must_be_an_int() -> None:
    with pytest.raises(tc.ValidationError):
        tc.Project(week_start_day=1.0)


def test_limits_below_the_default_breakdown_limit_do_not_break_every_query() -> None:
    """max_breakdown_values < 25 used to reject every query, even ones without a breakdown."""
    small = tc.Limits(max_breakdown_values=10)
    assert tc.trends(STORE, q(date_from="-7d"), now=NOW, limits=small).to_dicts()
    assert tc.trends(STORE, q(date_from="-7d", breakdown="$browser"), now=NOW, limits=small).to_dicts()


def test_datetime_inputs_outside_the_supported_years() -> None:
    for value in (dt.datetime(1, 1, 1), dt.date(9999, 12, 31)):
        with pytest.raises(tc.ValidationError):
            tc.trends(STORE, q(date_from=value), now=NOW)


# --- found after the rebase onto the TrendsQuery parser, results rendering and file readers --------
def test_trends_query_node_kind_that_is_a_list() -> None:
    """``kind not in NODE_FIELDS`` with a list kind: TypeError (unhashable)."""
    query = {"kind": "TrendsQuery", "series": [{"kind": ["EventsNode"], "event": "$pageview"}]}
    with pytest.raises(tc.ValidationError) as err:
        tc.parse_filter(query)
    assert err.value.path == ("series", 0, "kind")


def test_table_of_compare_periods_with_different_bucket_counts() -> None:
    """The previous period can have fewer buckets than the current one: table() raised IndexError."""
    events = [{"event": "e", "distinct_id": "d", "timestamp": f"2020-01-{d:02d}T12:00:00Z"} for d in range(1, 21)]
    store = tc.EventStore.from_records(events)
    query = {"events": [{"id": "e"}], "compare": True, "date_from": "-24h", "interval": "week"}
    res = tc.trends(store, query, now=NOW, project=tc.Project(week_start_day=1))
    lengths = {len(s["data"]) for s in res.to_dicts()}
    assert len(lengths) == 2  # the situation that crashed
    assert "previous" in res.table()


@pytest.mark.parametrize(
    "name,data",
    [
        ("truncated.jsonl.gz", "gzip-truncated"),  # EOFError from gzip
        ("garbage.jsonl.gz", b"not gzip at all"),  # gzip.BadGzipFile while iterating
        ("timestamp.csv", b"event,distinct_id,timestamp\ne,d," + b"9" * 5000 + b"\n"),  # int() of 5000 digits
    ],
)
def test_unreadable_files_are_validation_errors(tmp_path: Path, name: str, data: Any) -> None:
    import gzip

    if data == "gzip-truncated":
        whole = gzip.compress(b'{"event":"e","distinct_id":"d","timestamp":0}\n' * 1000)
        data = whole[: len(whole) // 2]
    path = tmp_path / name
    path.write_bytes(data)
    read = tc.EventStore.from_csv if name.endswith(".csv") else tc.EventStore.from_jsonl
    with pytest.raises(tc.ValidationError):
        read(path)


@pytest.mark.parametrize("bad", [5, "a\x00b.jsonl"])
def test_file_path_that_cannot_name_a_file(bad: Any) -> None:
    """TypeError (an int) and ValueError (embedded NUL) escaped from Path()/open()."""
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_jsonl(bad)
    assert err.value.path == ("events",)


def test_csv_options_of_the_wrong_type(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("event,distinct_id,timestamp\ne,d,0\n")
    with pytest.raises(tc.ValidationError):
        tc.EventStore.from_csv(path, rename=5)  # TypeError: 'int' object is not iterable
    with pytest.raises(tc.ValidationError):
        tc.EventStore.from_csv(path, delimiter="ab")  # TypeError from csv.reader


@pytest.mark.parametrize("field", ["timestamp", "created_at"])
def test_epoch_seconds_too_big_for_a_float(field: str) -> None:
    """math.isfinite(10**5000) raised OverflowError (and its repr ValueError) in to_us."""
    events = [{"event": "e", "distinct_id": "d", "timestamp": 10**5000 if field == "timestamp" else 0}]
    persons = [{"distinct_ids": ["d"], "created_at": 10**5000}] if field == "created_at" else None
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_records(events, persons=persons)
    assert err.value.path[-1] == field


def test_project_dict_with_a_non_string_key() -> None:
    """Paths hold only str and int: a None key is rendered, not passed through."""
    with pytest.raises(tc.ValidationError) as err:
        tc.Project.from_dict({None: None})
    assert err.value.path == ("None",)


@pytest.mark.parametrize("field", ["url_matching", "href_matching"])
def test_action_step_matching_that_is_a_list(field: str) -> None:
    """URL_OPERATORS.get([...]) / ELEMENT_OPERATORS.get([...]): TypeError (unhashable)."""
    step = {"event": "$autocapture", "url": "x", "href": "y", field: ["regex"]}
    project = tc.Project(actions=[{"id": 1, "steps": [step]}])
    with pytest.raises(tc.ValidationError) as err:
        tc.trends(STORE, {"actions": [{"id": 1}]}, project=project, now=NOW)
    assert err.value.path[-1] == field


# --- hangs: Python-re patterns over data with quadratic backtracking (now RE2, linear) -------------
def test_elements_chain_without_attribute_values_is_linear() -> None:
    """_ATTRIBUTE.finditer over 'k=aaaa…' was O(n²): a 1 MiB chain took hours. Now milliseconds;
    the guard (not a timing assertion) only catches a return of the hang."""
    from .support import hang_guard

    chain = "a:k=" + "a" * ((1 << 20) - 4)
    store = tc.EventStore.from_records(
        [{"event": "$autocapture", "distinct_id": "d", "timestamp": "2020-01-19T00:00:00Z", "properties": {"$elements_chain": chain}}]
    )
    query = {"events": [{"id": "$autocapture"}], "properties": [{"key": "selector", "type": "element", "value": "a"}]}
    with hang_guard(20):
        assert tc.trends(store, query, now=NOW).to_dicts()[0]["count"] == 1


def test_selector_with_many_brackets_is_linear() -> None:
    """_PIECE.finditer over '[[[…]' was O(n²): a 64 KiB selector took ~13 s."""
    from .support import hang_guard

    query = {"events": [{"id": "$autocapture"}], "properties": [{"key": "selector", "type": "element", "value": "a[" + "[" * 60_000 + "]"}]}
    with hang_guard(20):
        try:
            tc.trends(STORE, query, now=NOW)
        except tc.ValidationError:
            pass


def test_deeply_nested_group_type_index_in_a_record() -> None:
    """The error message repr()'d the value: RecursionError."""
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_records([], groups=[{"group_type_index": deep_list(5_000), "group_key": "g"}])
    assert err.value.path == ("groups", 0, "group_type_index")


def test_deeply_nested_timezone_and_definition_type() -> None:
    with pytest.raises(tc.ValidationError):
        tc.Project(timezone=deep_list(5_000))
    with pytest.raises(tc.ValidationError):
        tc.Project(property_definitions=[{"name": "x", "type": deep_list(5_000)}])


def test_numeric_view_of_a_long_digit_run_is_linear() -> None:
    """columns._NUMBER_RE (\\d+\\.?\\d*) backtracked in O(n²) on '1111…x': a 1 MiB property value
    under a sum/avg math or a Numeric comparison took hours."""
    from .support import hang_guard

    value = "1" * ((1 << 20) - 1) + "x"
    store = tc.EventStore.from_records(
        [{"event": "e", "distinct_id": "d", "timestamp": "2020-01-19T00:00:00Z", "properties": {"amount": value}}]
    )
    with hang_guard(20):
        res = tc.trends(store, {"events": [{"id": "e", "math": "sum", "math_property": "amount"}]}, now=NOW)
    assert res.to_dicts()[0]["count"] == 0


def test_arrow_uint64_epoch_seconds_beyond_int64() -> None:
    """Casting a uint64 timestamp column to int64 raised pyarrow.ArrowInvalid."""
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"event": ["e"], "distinct_id": ["d"], "timestamp": pa.array([2**64 - 1], pa.uint64())})
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_arrow(table)
    assert err.value.path == ("events", 0, "timestamp")
    ok = pa.table({"event": ["e"], "distinct_id": ["d"], "timestamp": pa.array([1577836800], pa.uint64())})
    assert len(tc.EventStore.from_arrow(ok)) == 1
