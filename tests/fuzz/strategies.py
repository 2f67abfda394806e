"""Hostile-input strategies: junk values, and mutations of valid inputs (so the fuzzer gets past
the first check and reaches deep code paths).

``mutated(seed)`` copies a valid JSON tree (a filter, a project, an event) and applies one to
three mutations at random nodes: replace with junk, replace with a *valid value from elsewhere*
(a vocabulary of real field values), delete, add an unknown or known key, duplicate, wrap,
nest deeply, or turn into JSON text.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import fractions
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from trendcalc.engine.math import MATHS
from trendcalc.query.displays import DISPLAYS
from trendcalc.query.maths import KNOWN_MATHS, PROPERTY_MATHS
from trendcalc.query.operators import KNOWN_OPERATORS, OPERATORS

from . import world

CASES_DIR = Path(__file__).resolve().parents[1] / "conformance" / "cases"


def _load_cases() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(CASES_DIR.glob("*/*.json"))]


CASES = _load_cases()
LEGACY_CASES = [c for c in CASES if c["query_kind"] == "trends"]
QUERY_CASES = [c for c in CASES if c["query_kind"] == "trends_query"]


def _deep(kind: str, n: int) -> Any:
    v: Any = "x"
    for _ in range(n):
        v = [v] if kind == "list" else {"type": "AND", "values": [v]} if kind == "group" else {"k": v}
    return v


# --- junk ---------------------------------------------------------------------------------------
STRANGE_STRINGS = [
    "", " ", "\x00", "\t\n\r", "\u202e\u200b", "\ufeff", "💥🙂", "\ud800", "a\udfffb", "é", "ß",
    "ﬀ", "İ", "²", "١٢", "٣d", "-٣d", "null", "None", "true", "True", "false", "NaN", "nan",
    "Infinity", "-inf", "1e999", "-1e999", "9" * 4299, "9" * 4301, "-" + "9" * 30 + "d", "0", "-0", "1.5",
    " 12 ", "0x1f", "[", "[[[[", "{", "[]", "{}", '{"a": 1}', "[1, 2]", '["$pageview"]',
    "%s%d%n", "{0}{__class__}", "{x.__globals__}", "__import__('os')", "A+B", "a" * 2049,
    "(a+)+$", "(?<=x)y", "\\", "[a-", "(?P<n>a)(?P=n)", "x{1000}{1000}", ".*" * 50,
    "all", "-7d", "-1dStart", "mStart", "yStart", "-99999999999y", "-9999999999999999999999w",
    "2020-01-01", "2020-02-30", "0001-01-01", "9999-12-31T23:59:59-14:00", "2020-01-01T00:00:00+99:00",
    "1900-01-01", "2299-12-31T23:59:59Z", "2020-01-01T25:61:61", "-1h", "-48h", "-1M",
    "$pageview", "$browser", "sign up", "$$_posthog_breakdown_null_$$", "$group_0",
    "events", "actions", "AND", "OR", "and", "or", "day", "hour", "minute", "week", "month",
    "second", "dau", "total", "hogql", "cohort", "person", "group", "session", "event",
]


def _odd_objects() -> list[Any]:
    class Weird:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("comparing a weird object")

        __hash__ = object.__hash__

    return [
        b"bytes", bytearray(b"ba"), {1, 2}, frozenset(), complex(1, 2), decimal.Decimal("NaN"),
        decimal.Decimal("1.5"), fractions.Fraction(1, 3), np.int64(5), np.float64("nan"),
        np.float32(1.5), np.bool_(True), np.array([1, 2]), np.array([]), object(), Weird(),
        dt.datetime(2020, 1, 1), dt.datetime(1, 1, 1), dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc),
        dt.date(2020, 1, 1), dt.time(12), dt.timedelta(days=1), range(3), ..., type, len,
    ]


ODD_OBJECTS = _odd_objects()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63, -(2**63), 2**64, 10**400, -(10**4200)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324, 1e-300]),
    st.text(max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=10),
    st.sampled_from(STRANGE_STRINGS),
)

junk = st.recursive(
    st.one_of(scalars, st.sampled_from(ODD_OBJECTS)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(STRANGE_STRINGS)), inner, max_size=4),
        st.dictionaries(st.one_of(st.integers(), st.none(), st.booleans(), st.floats(), st.tuples(st.integers())), inner, max_size=2),
        st.tuples(inner, inner),
    ),
    max_leaves=8,
)

_BIG_BUILDERS = [
    lambda: "x" * 70_000, lambda: "é" * 300_000, lambda: "9" * 200_000,
    lambda: _deep("list", 50), lambda: _deep("list", 5_000), lambda: _deep("group", 40),
    lambda: _deep("group", 3_000), lambda: _deep("dict", 100), lambda: _deep("dict", 5_000),
    lambda: [0] * 100_000, lambda: ["x"] * 20_000, lambda: {f"k{i}": i for i in range(20_000)},
    lambda: "[" * 100_000, lambda: "[" * 3_000 + "]" * 3_000,
]  # fmt: skip
# Built fresh on every draw: mutations edit trees in place, so shared objects would leak state.
big_junk = st.integers(0, len(_BIG_BUILDERS) - 1).map(lambda i: _BIG_BUILDERS[i]())


# --- vocabulary: valid field values, so mutations stay partly meaningful ------------------------
VOCAB = [
    # maths, displays, intervals
    "total", "dau", "weekly_active", "monthly_active", "unique_group", "unique_session", "sum",
    "avg", "min", "max", "median", "p75", "p90", "p95", "p99", "avg_count_per_actor",
    "max_count_per_actor", "first_time_for_user", "hogql", "ActionsLineGraph", "ActionsTable",
    "ActionsPie", "ActionsBarValue", "WorldMap", "BoldNumber", "ActionsLineGraphCumulative",
    "ActionsBar", "ActionsStackedBar", "CalendarHeatmap", "BoxPlot", "minute", "hour", "day",
    "week", "month",
    # operators and property/breakdown types
    "exact", "is_not", "icontains", "not_icontains", "regex", "not_regex", "gt", "gte", "lt",
    "lte", "between", "not_between", "is_set", "is_not_set", "is_date_exact", "is_date_before",
    "is_date_after", "in", "not_in", "semver_gt", "semver_caret", "is_cleaned_path_exact",
    "icontains_multi", "flag_evaluates_to", "event", "person", "group", "cohort", "session",
    "element", "events", "actions", "hogql", "event_metadata", "precalculated-cohort",
    "static-cohort", "data_warehouse", "AND", "OR",
    # dates, names, misc
    "-7d", "-14d", "-1h", "-24h", "-30d", "-90d", "-1w", "-1m", "-1y", "all", "dStart", "mStart",
    "-1mStart", "2020-01-01", "2020-01-04T13:00:01Z", "2019-12-24", "$pageview", "sign up",
    "$browser", "$current_url", "$pathname", "$session_id", "$session_duration", "$group_0",
    "name", "email", "$os", "A", "A+B", "A/B", "A*2-B", "(A+B)/C", 0, 1, 2, 3, 4, 5, 25, -1, 1.5,
    True, False, None, [], {}, ["a", "b"], ["1", "2"], [0, 1], [1], ["all"], {"type": "AND", "values": []},
]  # fmt: skip
KNOWN_KEYS = [
    # legacy filter fields
    "insight", "interval", "date_from", "date_to", "explicit_date", "display", "formula",
    "compare", "compare_to", "smoothing_intervals", "sampling_factor", "breakdown",
    "breakdown_type", "breakdowns", "breakdown_limit", "breakdown_histogram_bin_count",
    "breakdown_normalize_url", "breakdown_group_type_index", "breakdown_hide_other_aggregation",
    "events", "actions", "properties", "filter_test_accounts", "aggregation_group_type_index",
    "shown_as", "limit", "offset", "result_customizations",
    # series and property leaves
    "id", "type", "math", "math_property", "math_group_type_index", "custom_name", "order",
    "key", "value", "operator", "group_type_index", "negation", "values",
    # TrendsQuery
    "kind", "series", "dateRange", "trendsFilter", "breakdownFilter", "compareFilter",
    "filterTestAccounts", "aggregation_group_type_index", "samplingFactor", "formula",
    "formulaNodes", "display", "breakdown_type", "event", "properties",
]  # fmt: skip
vocab = st.sampled_from(VOCAB).map(copy.deepcopy)  # fresh: trees are edited in place


# --- mutation -----------------------------------------------------------------------------------
def nodes(tree: Any, limit: int = 400) -> list[tuple[Any, ...]]:
    """Paths of the nodes of a JSON tree, root first, breadth-first (capped)."""
    out: list[tuple[Any, ...]] = [()]
    frontier: list[tuple[tuple[Any, ...], Any]] = [((), tree)]
    while frontier and len(out) < limit:
        nxt = []
        for path, node in frontier:
            children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
            for k, v in children:
                out.append(path + (k,))
                nxt.append((path + (k,), v))
        frontier = nxt
    return out[:limit]


def _get(tree: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        tree = tree[p]
    return tree


def _set(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(tree, path[:-1])[path[-1]] = value
    return tree


HOSTILE_OPS = (
    ["vocab"] * 6 + ["junk"] * 3 + ["delete"] * 2 + ["add_known_key"] * 3 + ["retype"] * 2
    + ["add_key", "duplicate", "wrap_list", "nest", "json_text", "big", "empty"]
)
GENTLE_OPS = ["vocab"] * 4 + ["add_known_key"] * 3 + ["delete", "empty", "duplicate"]


@st.composite
def _mutation(draw: st.DrawFn, tree: Any, ops: list[str]) -> Any:
    paths = nodes(tree)
    # The root is rarely the interesting place to break: mostly mutate below it.
    root = len(paths) == 1 or draw(st.sampled_from([False] * 29 + [True]))
    path = () if root else draw(st.sampled_from(paths[1:]))
    node = _get(tree, path)
    op = draw(st.sampled_from(ops))
    gentle = ops is GENTLE_OPS
    if gentle and op == "vocab" and isinstance(node, (dict, list)) and node:
        op = draw(st.sampled_from(["add_known_key", "delete", "duplicate"]))
    if op == "junk":
        return _set(tree, path, draw(junk))
    if op == "vocab":
        return _set(tree, path, draw(vocab))
    if op == "big":
        return _set(tree, path, draw(big_junk))
    if op == "empty":
        return _set(tree, path, draw(st.sampled_from([None, "", [], {}, 0])))
    if op == "delete" and path:
        parent = _get(tree, path[:-1])
        if isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, list):
            del parent[path[-1]]
        return tree
    if op in ("add_key", "add_known_key") and isinstance(node, dict):
        key = draw(st.sampled_from(KNOWN_KEYS)) if op == "add_known_key" else draw(st.one_of(st.text(max_size=10), st.sampled_from(STRANGE_STRINGS), st.integers(), st.none()))
        node[key] = draw(vocab if gentle else st.one_of(vocab, junk)) if op == "add_known_key" else draw(junk)
        return tree
    if op == "duplicate" and isinstance(node, list) and node:
        times = draw(st.sampled_from([2, 3, 30, 300, 30_000]))
        times = max(2, min(times, 60_000 // len(node)))  # the fuzzer's own memory stays bounded
        return _set(tree, path, node * times)
    if op == "wrap_list":
        return _set(tree, path, [node])
    if op == "nest":
        depth = draw(st.sampled_from([2, 15, 17, 100, 2_000]))
        v = node
        for _ in range(depth):
            v = {"type": draw(st.sampled_from(["AND", "OR"])), "values": [v]}
        return _set(tree, path, v)
    if op == "json_text":
        try:
            return _set(tree, path, json.dumps(node))
        except (TypeError, ValueError, RecursionError):
            return tree
    if op == "retype":
        if isinstance(node, str):
            alts = [lambda: len(node), lambda: node.encode("utf-8", "replace"), lambda: [node], lambda: {"value": node}, node.upper, lambda: node * 3]
        elif isinstance(node, bool):
            alts = [lambda: str(node), lambda: int(node), lambda: str(node).lower()]
        elif isinstance(node, (int, float)):
            alts = [lambda: str(node), lambda: float(node), lambda: -node, lambda: node * 10**12, lambda: [node], lambda: bool(node)]
        else:
            alts = [lambda: str(node), lambda: len(node) if hasattr(node, "__len__") else 0]
        try:
            return _set(tree, path, draw(st.sampled_from(alts))())
        except (ValueError, OverflowError, TypeError, RecursionError):
            return tree
    return _set(tree, path, draw(vocab if gentle else junk))


@st.composite
def mutated(draw: st.DrawFn, seed: Any, max_mutations: int = 3, *, gentle: bool = False) -> Any:
    """A copy of ``seed`` with 1..max_mutations mutations (never the seed object itself).

    ``gentle``: only valid values from the vocabulary, known keys, deletions and duplicates, so
    most examples stay valid enough to run through the whole engine."""
    tree = copy.deepcopy(seed)
    ops = GENTLE_OPS if gentle else HOSTILE_OPS
    for _ in range(draw(st.integers(1, max_mutations))):
        tree = draw(_mutation(tree, ops))
    return tree


# --- a grammar of valid-looking filters over the fuzz world ----------------------------------------

DATE_FROM = ["-7d", "-14d", "-30d", "-90d", "all", "-1h", "-24h", "-48h", "-1w", "-1m", "-3m", "-1y",
             "dStart", "-1dStart", "mStart", "-1mStart", "yStart", "2020-01-01", "2020-01-10T05:30:00",
             "2019-12-25T00:00:00+05:00", "2020-01-19", None, ""]  # fmt: skip
DATE_TO = [None, None, None, "2020-01-15", "2020-01-20T23:00:00Z", "-1d", "-1dEnd", "dEnd", "2019-12-01"]
INTERVALS = ["minute", "hour", "day", "day", "week", "month", None]
VALUE_ATOMS = [
    "Chrome", "chrome", "Mac", "pro", "free", "", "1", "3", "abc", 1, 2.5, 0, -4, True, False,
    "true", "posthog", "@posthog.com", "/pricing", "https://a.com/", "^https?://", "(a+)+$", ".*",
    "[", "(?i)CHROME", "1.2.3", "2020-01-05", "-3d", "2020-01-10T00:00:00Z", "💥", "%", "_",
    "a.btn", "button#go", "div > a", "a[href='/pricing']", "[[[]", "a:nth-child(1)", "form.f *", "/pricing",
]  # fmt: skip

def implemented_mostly(implemented: Any, known: Any) -> st.SearchStrategy[Any]:
    """Mostly names trendcalc implements (read from its registries, so the fuzzer follows new
    features as they land), sometimes any name PostHog knows."""
    impl = sorted(implemented) or sorted(known)
    return st.one_of(st.sampled_from(impl), st.sampled_from(impl), st.sampled_from(impl), st.sampled_from(sorted(known)))


maths = implemented_mostly(MATHS, KNOWN_MATHS)
operators = implemented_mostly(OPERATORS, KNOWN_OPERATORS)
values = st.one_of(
    st.sampled_from(VALUE_ATOMS),
    st.lists(st.sampled_from(VALUE_ATOMS), max_size=4),
    st.sampled_from([None, [], ["1", "5"], [1, 10], ["5", "1"], ["a"]]),
)


@st.composite
def property_leaf(draw: st.DrawFn) -> dict[str, Any]:
    typ = draw(st.sampled_from(["event", "event", "person", "group", "cohort", "session", "element", "events", None]))
    leaf: dict[str, Any] = {}
    if typ == "cohort":
        leaf = {"type": "cohort", "key": "id", "value": draw(st.sampled_from([1, 2, 3, 99, "1", "all"]))}
        if draw(st.booleans()):
            leaf["negation"] = True
        return leaf
    keys = {"person": world.PERSON_KEYS, "group": world.GROUP_KEYS, "element": ["selector", "tag_name", "href", "text"],
            "session": ["$session_duration", "$entry_current_url", "$channel_type"]}.get(typ, world.EVENT_KEYS)  # fmt: skip
    leaf["key"] = draw(st.sampled_from(keys + ["missing_key"]))
    if typ is not None:
        leaf["type"] = typ
    if draw(st.booleans()):
        leaf["operator"] = draw(operators)
    leaf["value"] = draw(values)
    if typ == "group":
        leaf["group_type_index"] = draw(st.sampled_from([0, 1, 2, None]))
    return leaf


property_tree = st.recursive(
    property_leaf(),
    lambda inner: st.fixed_dictionaries({"type": st.sampled_from(["AND", "OR"]), "values": st.lists(inner, max_size=3)}),
    max_leaves=5,
)
global_properties = st.one_of(
    st.none(),
    st.lists(property_leaf(), max_size=3),
    st.fixed_dictionaries({"type": st.sampled_from(["AND", "OR"]), "values": st.lists(property_tree, max_size=3)}),
)


@st.composite
def series_entity(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["events", "events", "events", "actions"]))
    e: dict[str, Any] = {"id": draw(st.sampled_from([*world.EVENT_NAMES, None, "no such event"]))} if kind == "events" else {"id": draw(st.sampled_from([1, 2, 3, 99])), "type": "actions"}
    math = draw(st.one_of(st.none(), maths))
    if math is not None:
        e["math"] = math
    if math in PROPERTY_MATHS or draw(st.booleans()) and math is not None and "count_per_actor" in math:
        e["math_property"] = draw(st.sampled_from(["amount", "$browser", "missing_key", "$session_duration"]))
    if math in ("unique_group", "dau", "weekly_active") and draw(st.booleans()):
        e["math_group_type_index"] = draw(st.sampled_from([0, 1, 3]))
    if draw(st.booleans()):
        e["properties"] = draw(st.lists(property_leaf(), max_size=2))
    if draw(st.booleans()):
        e["custom_name"] = draw(st.sampled_from(["My series", "", "💥"]))
    return e


@st.composite
def breakdown_fields(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["none", "none", "event", "person", "group", "cohort", "session", "multi"]))
    out: dict[str, Any] = {}
    if kind == "event":
        out = {"breakdown": draw(st.sampled_from(world.EVENT_KEYS + ["missing_key"])), "breakdown_type": draw(st.sampled_from(["event", None]))}
        if draw(st.booleans()):
            out["breakdown_normalize_url"] = True
    elif kind == "person":
        out = {"breakdown": draw(st.sampled_from(world.PERSON_KEYS)), "breakdown_type": "person"}
    elif kind == "group":
        out = {"breakdown": draw(st.sampled_from(world.GROUP_KEYS)), "breakdown_type": "group", "breakdown_group_type_index": draw(st.sampled_from([0, 1, 4]))}
    elif kind == "cohort":
        out = {"breakdown": draw(st.lists(st.sampled_from([1, 2, 3, "all", 99]), min_size=1, max_size=3)), "breakdown_type": "cohort"}
    elif kind == "session":
        out = {"breakdown": draw(st.sampled_from(["$session_duration", "$entry_current_url"])), "breakdown_type": "session"}
    elif kind == "multi":
        items = draw(st.lists(st.fixed_dictionaries({"property": st.sampled_from(world.EVENT_KEYS + world.PERSON_KEYS), "type": st.sampled_from(["event", "person"])}), min_size=1, max_size=3))
        out = {"breakdowns": items}
    if kind != "none":
        if draw(st.booleans()):
            out["breakdown_limit"] = draw(st.sampled_from([1, 2, 5, 25, 0]))
        if draw(st.booleans()):
            out["breakdown_histogram_bin_count"] = draw(st.sampled_from([None, 3]))
        if draw(st.booleans()):
            out["breakdown_hide_other_aggregation"] = True
    return out


@st.composite
def legacy_filter(draw: st.DrawFn) -> dict[str, Any]:
    """A plausible legacy filter over the fuzz world (valid or near-valid)."""
    series = draw(st.lists(series_entity(), min_size=1, max_size=4))
    q: dict[str, Any] = {
        "events": [s for s in series if s.get("type") != "actions"],
        "actions": [s for s in series if s.get("type") == "actions"],
    }
    q["date_from"] = draw(st.sampled_from(DATE_FROM))
    to = draw(st.sampled_from(DATE_TO))
    if to is not None:
        q["date_to"] = to
    if (iv := draw(st.sampled_from(INTERVALS))) is not None:
        q["interval"] = iv
    if draw(st.booleans()):
        q["display"] = draw(st.sampled_from(list(DISPLAYS)))
    if (props := draw(global_properties)) is not None:
        q["properties"] = props
    q.update(draw(breakdown_fields()))
    extras = draw(st.sets(st.sampled_from(["formula", "compare", "compare_to", "smoothing", "test", "sampling", "agg", "explicit"]), max_size=3))
    if "formula" in extras:
        q["formula"] = draw(st.sampled_from(["A", "A+B", "A/B", "A*2-B/3", "(A+B)/C", "-A", "A**2", "A%B", "B", "Z", "A/0"]))
    if "compare" in extras:
        q["compare"] = True
    if "compare_to" in extras:
        q["compare"] = True
        q["compare_to"] = draw(st.sampled_from(["-1w", "-7d", "-1m", "-1y", "-30h"]))
    if "smoothing" in extras:
        q["smoothing_intervals"] = draw(st.sampled_from([1, 3, 7, 28]))
    if "test" in extras:
        q["filter_test_accounts"] = True
    if "sampling" in extras:
        q["sampling_factor"] = draw(st.sampled_from([0.1, 1, "0.5"]))
    if "agg" in extras:
        q["aggregation_group_type_index"] = draw(st.sampled_from([0, 1]))
    if "explicit" in extras:
        q["explicit_date"] = True
    return q


def as_trends_query(q: dict[str, Any]) -> dict[str, Any]:
    """The TrendsQuery form of a legacy filter from ``legacy_filter`` (best effort)."""
    series = []
    for e in q.get("events", []):
        node = {"kind": "EventsNode", "event": e.get("id"), **{k: v for k, v in e.items() if k in ("math", "math_property", "math_group_type_index", "properties", "custom_name")}}
        series.append(node)
    for a in q.get("actions", []):
        series.append({"kind": "ActionsNode", "id": a["id"], **{k: v for k, v in a.items() if k in ("math", "math_property", "math_group_type_index", "properties", "custom_name")}})
    tq: dict[str, Any] = {"kind": "TrendsQuery", "series": series, "dateRange": {"date_from": q.get("date_from"), "date_to": q.get("date_to"), "explicitDate": q.get("explicit_date", False)}}
    if "interval" in q:
        tq["interval"] = q["interval"]
    if q.get("properties") is not None:
        tq["properties"] = q["properties"]
    tf: dict[str, Any] = {}
    for src, dst in (("display", "display"), ("formula", "formula"), ("smoothing_intervals", "smoothingIntervals")):
        if src in q:
            tf[dst] = q[src]
    if tf:
        tq["trendsFilter"] = tf
    bf = {k: q[k] for k in ("breakdown", "breakdown_type", "breakdown_limit", "breakdowns", "breakdown_normalize_url", "breakdown_group_type_index", "breakdown_histogram_bin_count", "breakdown_hide_other_aggregation") if k in q}
    if bf:
        tq["breakdownFilter"] = bf
    if q.get("compare"):
        tq["compareFilter"] = {"compare": True, **({"compare_to": q["compare_to"]} if "compare_to" in q else {})}
    if q.get("filter_test_accounts"):
        tq["filterTestAccounts"] = True
    if "sampling_factor" in q:
        tq["samplingFactor"] = q["sampling_factor"]
    if "aggregation_group_type_index" in q:
        tq["aggregation_group_type_index"] = q["aggregation_group_type_index"]
    return tq


trends_query = legacy_filter().map(as_trends_query)
