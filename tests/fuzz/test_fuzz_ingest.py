"""Fuzz the data boundary: mutated event/person/group records, and JSON-lines and CSV text with
hostile edits (bad timestamps, out-of-range dates, non-JSON values, huge strings, duplicate keys,
broken UTF-8). Each build is a whole store or a ValidationError naming where the input is bad;
a store that builds must answer a query."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import trendcalc as tc

from . import world
from .strategies import junk, mutated
from .support import check_result, fuzz_settings, safely

SEED_EVENTS = world.EVENTS[:12]
SEED_PERSONS = world.PERSONS[:4]
SEED_GROUPS = world.GROUPS[:3]
QUERY = {"events": [{"id": None, "math": "dau"}], "breakdown": "$browser", "date_from": "all", "interval": "week"}
TIMESTAMPS = [
    "2020-01-01", "2020-01-01T00:00:00", "2020-01-01T00:00:00.123456789Z", "2020-01-01T00:00:00+14:00",
    "2020-01-01T00:00:00-12:00", "1899-12-31T23:59:59Z", "2300-01-01", "0001-01-01", "9999-12-31T23:59:59-14:00",
    "2020-02-30", "2020-01-01T24:00:00", "20200101", "2020-W01", "2020-001", "now", "", " ", "-7d",
    0, -1, 1e300, -2_208_988_801, 10_413_792_001, 1577836800.5, float("nan"), float("inf"), True, None,
    10**5000, "9" * 5000, "２０２０-01-01", "2020-01-01T00:00:00Z\x00",
]  # fmt: skip


def build_and_query(events: Any, persons: Any = None, groups: Any = None) -> None:
    store = safely(lambda: tc.EventStore.from_records(events, persons=persons, groups=groups))
    if store is not None:
        assert len(store) == len(events)  # all or nothing: never a partial store
        result = safely(lambda: tc.trends(store, QUERY, now=world.NOW))
        if result is not None:
            check_result(result)


@fuzz_settings(1_000)
@given(st.data())
def test_mutated_records(data: st.DataObject) -> None:
    which = data.draw(st.sampled_from(["events", "events", "persons", "groups"]))
    events, persons, groups = SEED_EVENTS, SEED_PERSONS, SEED_GROUPS
    if which == "events":
        events = data.draw(mutated(SEED_EVENTS))
    elif which == "persons":
        persons = data.draw(mutated(SEED_PERSONS))
    else:
        groups = data.draw(mutated(SEED_GROUPS))
    if isinstance(events, list):
        build_and_query(events, persons, groups)
    else:
        safely(lambda: tc.EventStore.from_records(events, persons=persons, groups=groups))


@fuzz_settings(500)
@given(st.sampled_from(TIMESTAMPS), st.sampled_from(TIMESTAMPS))
def test_timestamps(ts: Any, created_at: Any) -> None:
    events = [{"event": "e", "distinct_id": "d", "timestamp": ts}]
    persons = [{"distinct_ids": ["d"], "created_at": created_at}]
    build_and_query(events, persons)


def _edit_text(data: st.DataObject, text: str) -> bytes:
    """One hostile edit of JSON-lines text (as bytes, so broken UTF-8 is possible)."""
    raw = text.encode("utf-8")
    op = data.draw(st.sampled_from(["cut", "insert", "dup_key", "replace", "bytes", "nest", "big"]))
    pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
    if op == "cut":
        return raw[:pos] + raw[pos + data.draw(st.integers(1, 40)):]
    if op == "insert":
        chunk = data.draw(st.sampled_from([b"{", b"}", b"[", b'"', b",", b"\n", b"NaN", b"Infinity", b"-0", b"1e999", b"9" * 5000, b"\\ud800", b"\\", b"\x00"]))
        return raw[:pos] + chunk + raw[pos:]
    if op == "dup_key":
        return raw.replace(b'"distinct_id":', b'"distinct_id": "dup", "distinct_id":', 1)
    if op == "replace":
        return raw.replace(b'"timestamp": "', b'"timestamp": "' + data.draw(st.sampled_from([b"x", b"2300-", b"0001-01-01T00:00:00+01:00 ", b"\\u0000"])), 1)
    if op == "bytes":
        return raw[:pos] + data.draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf"])) + raw[pos:]
    if op == "nest":
        return raw.replace(b'"properties": {', b'"properties": {"deep": ' + b"[" * 5000 + b"]" * 5000 + b", ", 1)
    return raw.replace(b'"properties": {', b'"properties": {"big": "' + b"x" * (1 << 20) + b'x", ', 1)


@fuzz_settings(800)
@given(st.data())
def test_jsonl_text(data: st.DataObject) -> None:
    lines = [json.dumps(e) for e in SEED_EVENTS[:5]]
    raw = "\n".join(lines) + "\n"
    edited = _edit_text(data, raw)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / data.draw(st.sampled_from(["events.jsonl", "events.json", "events.ndjson"]))
        path.write_bytes(edited)
        store = safely(lambda: tc.EventStore.from_jsonl(path))
    if store is not None:
        result = safely(lambda: tc.trends(store, QUERY, now=world.NOW))
        if result is not None:
            check_result(result)


@fuzz_settings(400)
@given(st.data())
def test_csv_text(data: st.DataObject) -> None:
    header = "event,distinct_id,timestamp,$browser,properties"
    rows = [f'{e["event"]},{e["distinct_id"]},{e["timestamp"]},{e["properties"]["$browser"] or ""},"{json.dumps({"amount": 1}).replace(chr(34), chr(34) * 2)}"'
            for e in SEED_EVENTS[:5]]  # fmt: skip
    edited = _edit_text(data, "\n".join([header, *rows]) + "\n")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "events.csv"
        path.write_bytes(edited)
        store = safely(lambda: tc.EventStore.from_csv(path))
    if store is not None:
        result = safely(lambda: tc.trends(store, QUERY, now=world.NOW))
        if result is not None:
            check_result(result)


@fuzz_settings(300)
@given(junk, junk, junk)
def test_junk_arguments(events: Any, persons: Any, groups: Any) -> None:
    safely(lambda: tc.EventStore.from_records(events, persons=persons, groups=groups))
