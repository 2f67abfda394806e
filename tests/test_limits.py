"""Every Limits field: enforced where it belongs, ValidationError naming the limit and the path when
exceeded, no error at the limit, a documented default, and changeable per call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest

import trendcalc as tc

NOW = "2020-01-20T12:00:00Z"
EVENTS = [
    {"event": e, "distinct_id": f"u{i % 7}", "timestamp": f"2020-01-{1 + i % 19:02d}T{i % 24:02d}:00:00Z",
     "properties": {"$browser": f"b{i % 5}", "plan": "pro" if i % 4 == 0 else "free"}}
    for i, e in enumerate(["$pageview", "sign up"] * 60)
]  # fmt: skip
STORE = tc.EventStore.from_records(EVENTS)
PV = {"id": "$pageview"}

DEFAULTS = {
    "max_buckets": 50_000, "max_series": 200, "max_breakdown_values": 10_000, "max_cells": 20_000_000,
    "max_breakdown_cells": 1_000_000_000, "max_work": 2_000_000_000,
    "max_formula_length": 1_000, "max_formula_depth": 64, "max_property_depth": 16, "max_regex_length": 2_000,
    "max_string_length": 65_536, "max_list_length": 10_000, "max_json_depth": 64, "max_json_values": 1_000_000,
    "max_name_length": 4_096,
    "max_ingest_string_length": 1 << 20, "max_ingest_depth": 32, "max_ingest_values": 1_000_000, "threads": 2,
}  # fmt: skip


def test_defaults_are_documented() -> None:
    assert attrs.asdict(tc.Limits()) == DEFAULTS  # a new limit gets a line here, in the docstring and SECURITY.md
    doc = tc.Limits.__doc__ or ""
    security = (Path(__file__).resolve().parents[1] / "SECURITY.md").read_text()
    rows = {line.split("|")[1].strip(" `"): line.split("|")[2].strip() for line in security.splitlines() if line.startswith("| `")}
    for name, default in DEFAULTS.items():
        assert name in doc, f"{name} missing from the Limits docstring"
        assert rows.get(name) == f"{default:,}", f"SECURITY.md's table should list {name} with its default {default:,}"


def test_limits_are_positive_ints() -> None:
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ValueError):
            tc.Limits(max_buckets=bad)


def fails(query: Any, limits: tc.Limits, limit: str, path: tuple) -> None:
    with pytest.raises(tc.ValidationError) as err:
        tc.trends(STORE, query, now=NOW, limits=limits)
    assert limit in err.value.message, err.value
    assert err.value.path == path, err.value
    assert not isinstance(err.value, tc.UnsupportedError)


def ok(query: Any, limits: tc.Limits) -> list[dict]:
    return tc.trends(STORE, query, now=NOW, limits=limits).to_dicts()


def test_max_buckets() -> None:
    lim = tc.Limits(max_buckets=10)
    assert len(ok({"events": [PV], "date_from": "-9d"}, lim)[0]["data"]) == 10
    fails({"events": [PV], "date_from": "-10d"}, lim, "max_buckets=10", ("interval",))
    fails({"events": [PV], "date_from": "-30d", "interval": "hour"}, tc.Limits(max_buckets=100), "max_buckets=100", ("interval",))


def test_max_series() -> None:
    lim = tc.Limits(max_series=2)
    assert len(ok({"events": [PV, PV]}, lim)) == 2
    fails({"events": [PV, PV, PV]}, lim, "max_series=2", ("events",))
    tq = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}] * 3}
    fails(tq, lim, "max_series=2", ("series",))
    fails({"events": [PV, PV], "compare": True}, tc.Limits(max_series=3), "max_series=3", ("events",))  # counted after compare


def test_max_breakdown_values() -> None:
    lim = tc.Limits(max_breakdown_values=3)
    assert len(ok({"events": [PV], "breakdown": "$browser", "breakdown_limit": 3}, lim)) == 4  # 3 + Other
    fails({"events": [PV], "breakdown": "$browser", "breakdown_limit": 4}, lim, "max_breakdown_values=3", ("breakdown_limit",))
    # the default breakdown_limit (25) is not an error by itself: only an answer above the cap is
    assert len(ok({"events": [PV], "breakdown": "plan"}, lim)) == 2
    fails({"events": [PV], "breakdown": "$browser"}, lim, "max_breakdown_values=3", ("breakdown_limit",))
    assert ok({"events": [PV]}, tc.Limits(max_breakdown_values=1))


def test_max_cells() -> None:
    q = {"events": [PV], "breakdown": "$browser", "date_from": "-9d"}  # 5 values x 10 buckets
    assert len(ok(q, tc.Limits(max_cells=50))) == 5
    # a breakdown matrix over max_cells is computed in blocks (here of 3 values): the same answer
    top2 = {**q, "breakdown_limit": 2}  # 5 x 10 cells computed, 3 series x 10 in the answer
    assert ok(top2, tc.Limits(max_cells=30)) == ok(top2, tc.Limits())
    fails(top2, tc.Limits(max_cells=29), "max_cells=29", ("events",))
    two = {"events": [PV, PV], "date_from": "-9d"}  # 2 series x 10 buckets in the answer
    assert len(ok(two, tc.Limits(max_cells=20))) == 2
    fails(two, tc.Limits(max_cells=19), "max_cells=19", ("events",))


def test_max_breakdown_cells() -> None:
    q = {"events": [PV], "breakdown": "$browser", "date_from": "-9d"}  # 5 values x 10 buckets
    assert len(ok(q, tc.Limits(max_breakdown_cells=50))) == 5
    fails(q, tc.Limits(max_breakdown_cells=49), "max_breakdown_cells=49", ("breakdown",))


def test_max_work() -> None:
    from trendcalc.engine.cost import BUCKET_COST, LEAF_OVERHEAD

    q = {"events": [PV], "date_from": "-9d", "properties": [{"key": "plan", "value": "pro"}]}
    rows = sum(1 for e in EVENTS if e["event"] == "$pageview")  # all within the range and its look-back
    work = rows * 2 + LEAF_OVERHEAD + 10 * BUCKET_COST  # each row read, and visited by the one leaf
    assert ok(q, tc.Limits(max_work=work))
    fails(q, tc.Limits(max_work=work - 1), f"max_work={work - 1}", ("events",))
    fails({**q, "events": [PV] * 2}, tc.Limits(max_work=work), f"max_work={work}", ("events",))


def test_cost_is_checked_before_rows_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from trendcalc.engine import trends

    q = {"events": [PV], "breakdown": "$browser", "date_from": "-9d"}  # 5 values x 10 buckets
    monkeypatch.setattr(trends, "select_rows", lambda *a: pytest.fail("rows read before the cost check"))
    fails(q, tc.Limits(max_cells=49), "max_cells=49", ("events",))
    fails(q, tc.Limits(max_breakdown_cells=49), "max_breakdown_cells=49", ("breakdown",))
    fails(q, tc.Limits(max_work=1_000), "max_work=1000", ("events",))


def test_max_formula_length_and_depth() -> None:
    q = {"events": [PV, PV], "formula": "A+B+A"}
    assert ok(q, tc.Limits(max_formula_length=5))
    fails(q, tc.Limits(max_formula_length=4), "4", ("formula",))
    assert ok({**q, "formula": "A+B*A"}, tc.Limits(max_formula_depth=3))
    fails({**q, "formula": "A+B*-A"}, tc.Limits(max_formula_depth=3), "deeper than 3", ("formula",))
    tq = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}] * 2, "trendsFilter": {"formula": "A+B*-A"}}
    fails(tq, tc.Limits(max_formula_depth=3), "deeper than 3", ("trendsFilter", "formula"))


def nested(depth: int) -> dict:
    node: dict = {"key": "plan", "value": "pro"}
    for _ in range(depth):
        node = {"type": "AND", "values": [node]}
    return node


def test_max_property_depth() -> None:
    lim = tc.Limits(max_property_depth=3)
    assert ok({"events": [PV], "properties": nested(3)}, lim)
    fails({"events": [PV], "properties": nested(4)}, lim, "max_property_depth=3", ("properties",) + ("values", 0) * 3)


def test_max_regex_length() -> None:
    lim = tc.Limits(max_regex_length=5)
    leaf = {"key": "$browser", "operator": "regex", "value": "^b[0-"}
    assert ok({"events": [PV], "properties": [{**leaf, "value": "^b[0]"}]}, lim) is not None
    fails({"events": [PV], "properties": [{**leaf, "value": "^b[01]"}]}, lim, "max_regex_length=5", ("properties", 0, "value"))


def test_max_string_length() -> None:
    lim = tc.Limits(max_string_length=10)
    leaf = {"key": "$browser", "operator": "icontains"}
    assert ok({"events": [PV], "properties": [{**leaf, "value": "b" * 10}]}, lim) is not None
    fails({"events": [PV], "properties": [{**leaf, "value": "b" * 11}]}, lim, "max_string_length=10", ("properties", 0, "value"))
    fails({"events": [{"id": "$pageview", "custom_name": "x" * 11}]}, lim, "max_string_length=10", ("events", 0, "custom_name"))


def test_max_list_length() -> None:
    lim = tc.Limits(max_list_length=3)
    leaf = {"key": "$browser", "operator": "exact"}
    assert ok({"events": [PV], "properties": [{**leaf, "value": ["b1", "b2", "b3"]}]}, lim) is not None
    fails({"events": [PV], "properties": [{**leaf, "value": ["b1", "b2", "b3", "b4"]}]}, lim, "max_list_length=3", ("properties", 0, "value", 3))
    fails({"events": [PV], "breakdown": [1, 2, 3, 4], "breakdown_type": "cohort"}, lim, "max_list_length=3", ("breakdown", 3))


def test_max_json_depth() -> None:
    lim = tc.Limits(max_json_depth=4)
    assert ok({"events": [PV], "result_customizations": {"a": {"b": 1}}}, lim) is not None
    fails({"events": [PV], "result_customizations": {"a": {"b": {"c": {"d": 1}}}}}, lim, "max_json_depth=4",
          ("result_customizations", "a", "b", "c"))  # fmt: skip
    fails({"events": "[[[[[[1]]]]]]"}, lim, "max_json_depth=4", ("events",) + (0,) * 4)


def test_max_json_values() -> None:
    lim = tc.Limits(max_json_values=12)
    # the filter, events, its node and name, properties, the leaf, its key, the value list: 8 + members
    assert ok({"events": [PV], "properties": [{"key": "$browser", "value": ["a", "b", "c", "d"]}]}, lim) is not None
    fails({"events": [PV], "properties": [{"key": "$browser", "value": ["a", "b", "c", "d", "e"]}]}, lim, "max_json_values=12",
          ("properties", 0, "value", 4))  # fmt: skip


def test_a_filter_that_shares_its_parts_is_refused_fast() -> None:
    """A Python-built filter nesting one shared group 30 times stands for 2^30 leaves: refused at
    max_json_values after a million, not walked (or serialised for the parse cache) as a tree.
    Found by the long fuzz profile (the parse cache's marshal hung)."""
    group: dict = {"key": "$browser", "value": "Chrome"}
    for _ in range(30):
        group = {"type": "AND", "values": [group, group]}
    with pytest.raises(tc.ValidationError, match="max_json_values=1000000"):
        tc.parse_filter({"events": [PV], "properties": group})


def test_max_name_length_in_filters() -> None:
    lim = tc.Limits(max_name_length=9)
    assert ok({"events": [{"id": "$pageview"}]}, lim) is not None
    fails({"events": [{"id": "$pageviews"}]}, lim, "max_name_length=9", ("events", 0, "id"))
    fails({"events": [PV], "properties": [{"key": "$browser_x", "value": "x"}]}, lim, "max_name_length=9", ("properties", 0, "key"))


def build(events: list[dict], limits: tc.Limits) -> tc.EventStore:
    return tc.EventStore.from_records(events, limits=limits)


def test_ingest_limits() -> None:
    ev = {"event": "e", "distinct_id": "d", "timestamp": 0}
    lim = tc.Limits(max_ingest_string_length=5, max_ingest_depth=2, max_name_length=4)
    assert len(build([{**ev, "properties": {"k": "abcde", "n": {"a": [1]}}}], lim)) == 1
    cases = [
        ({**ev, "properties": {"k": "abcdef"}}, "max_ingest_string_length=5", ("events", 0, "properties", "k")),
        ({**ev, "properties": {"n": {"a": [[1]]}}}, "max_ingest_depth=2", ("events", 0, "properties", "n", "a", 0)),
        ({**ev, "event": "event"}, "max_name_length=4", ("events", 0, "event")),
        ({**ev, "distinct_id": "did-1"}, "max_name_length=4", ("events", 0, "distinct_id")),
        ({**ev, "properties": {"kkkkk": 1}}, "max_name_length=4", ("events", 0, "properties")),
    ]
    for rec, limit, path in cases:
        with pytest.raises(tc.ValidationError) as err:
            build([rec], lim)
        assert limit in err.value.message and err.value.path == path, err.value


def test_max_ingest_values() -> None:
    ev = {"event": "e", "distinct_id": "d", "timestamp": 0}
    lim = tc.Limits(max_ingest_values=5)
    assert len(build([{**ev, "properties": {"k": [1, 2, 3, 4], "j": [1, 2, 3, 4]}}], lim)) == 1  # per value: 5 each
    with pytest.raises(tc.ValidationError) as err:
        build([ev, {**ev, "properties": {"k": [1, 2, [3, 4]]}}], lim)
    assert "max_ingest_values=5" in err.value.message and err.value.path == ("events", 1, "properties", "k")


def test_records_that_share_their_parts_are_refused_fast() -> None:
    """A Python-built property value nesting one shared list 40 times stands for 2^40 leaves:
    refused at max_ingest_values after a million steps, not walked (nor converted by Arrow, nor
    printed in a message) as a tree. Found by the long fuzz profile (from_records hung)."""
    tags: list = [1]
    for _ in range(40):
        tags = [tags, tags]
    ev = {"event": "e", "distinct_id": "d", "timestamp": 0}
    with pytest.raises(tc.ValidationError) as err:
        build([ev, {**ev, "properties": {"tags": tags}}], tc.Limits(max_ingest_depth=64))
    assert "max_ingest_values=1,000,000" in err.value.message and err.value.path == ("events", 1, "properties", "tags")
    with pytest.raises(tc.ValidationError) as err:  # where a name belongs: the message shows a few members
        build([{**ev, "event": {"type": "AND", "values": tags}}], tc.Limits())
    assert err.value.path == ("events", 0, "event") and len(str(err.value)) < 200
    with pytest.raises(tc.ValidationError):  # as a flat property (a top-level key) too
        build([{**ev, "tags": tags}], tc.Limits(max_ingest_depth=64))


def test_ingest_limits_from_files(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"event": "e", "distinct_id": "d", "timestamp": 0, "properties": {"k": "abcdef"}}\n')
    assert len(tc.EventStore.from_jsonl(path)) == 1
    with pytest.raises(tc.ValidationError) as err:
        tc.EventStore.from_jsonl(path, limits=tc.Limits(max_ingest_string_length=5))
    assert "max_ingest_string_length=5" in err.value.message
    with pytest.raises(tc.ValidationError):
        tc.EventStore.from_records([], limits="nope")  # type: ignore[arg-type]


def test_limits_apply_to_parse_filter_too() -> None:
    with pytest.raises(tc.ValidationError) as err:
        tc.parse_filter({"events": [PV, PV, PV]}, limits=tc.Limits(max_series=2))
    assert "max_series=2" in err.value.message
    with pytest.raises(tc.ValidationError):
        tc.parse_filter({"events": [PV]}, limits="nope")  # type: ignore[arg-type]
