"""A plain reference for trendcalc's HogQL features, written apart from ``trendcalc.hogql.functions``.

It evaluates the *parsed* HogQL tree (the tree is part of the filter model, so it is shared with
the engine; the semantics are not) one event dict at a time (row expressions, conditions) or over
the list of event dicts of one cell (aggregate expressions), by plain recursion, with ClickHouse's
rules as HogQL compiles them:

- fields: ``properties.<key>`` typed by the project's property definitions (``Numeric`` →
  Float64 = ``toFloat`` of the JSON text, ``Boolean`` → Bool from ``'true'``/``'false'``,
  otherwise the JSON text ``R(v)``); a missing property is NULL; ``person.properties.<key>``
  alike; ``event``, ``distinct_id``; ``person_id`` (only its identity is observable);
- NULL propagates through every function except ``and``/``or`` (three-valued logic),
  ``isNull``/``isNotNull``, ``if``/``multiIf`` (a NULL condition takes the else branch),
  ``ifNull``/``coalesce`` and ``concat`` (HogQL's ``concat`` reads NULL as ``''``);
- ``/`` divides as Float64 (``x/0`` is ±inf, ``0/0`` nan); comparisons give UInt8 1/0 and
  follow IEEE for nan (``nan = x`` is 0, ``nan != x`` is 1); text compares bytewise;
- trendcalc's documented leniency where ClickHouse would refuse the query: text that spells a
  number takes part in arithmetic and numeric aggregates (other text is NULL there); a number
  compared with text compares numerically when the text spells a number, else as text;
- aggregates skip NULL; over a cell whose values are all NULL, ``sum``/``avg``/``min``/``max``
  are NULL (ClickHouse's ``-Null`` combinator) and ``count``/``uniq`` are 0; a nan input makes
  ``sum``/``avg`` nan, while ``min``/``max`` skip it (ClickHouse's answer depends on row order);
- the math value of a cell is the expression's Float64, 0 when NULL, nan or infinite, and 0 for
  a bucket without rows.

``expected_hogql_trends`` runs a query that uses math ``hogql``, a ``hogql`` breakdown and/or
``hogql`` property filters through the reference's public helpers (ranges, buckets, ranking,
labels, non-HogQL filters) with these three rules swapped in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ...hogql.ast import Call, Const, Field
from ...limits import DEFAULT_LIMITS, Limits
from ...project import Project
from ...query.model import PropertyFilter, PropertyGroup, Series, TrendsFilter
from ...query.parse import parse_filter
from ...query.properties import parse_test_account_filters
from .actions import series_matches
from .breakdown import (
    NULL,
    breakdown_label,
    is_other,
    other_value,
    rank,
    raw_breakdown_value,
    render_breakdown_value,
    value_class,
)
from .maths import ACTOR_MATHS, bucketed_values
from .properties import check_group, leaf_holds
from .properties import group_holds as plain_group_holds
from .results import running_sum, series_dict
from .rows import group_key_present, query_filter_groups
from .supported import (
    BREAKDOWN_TYPES,
    CUMULATIVE_DISPLAY,
    DISPLAYS,
    FIXED_BREAKDOWN_LIMIT,
    TOTAL_VALUE_DISPLAYS,
)
from .timeaxis import Query, bucket_index, bucket_starts, current_range, lower_bound, whole_second
from .values import float_text, render_text, to_float
from .world import ReferenceUnsupported, World, load_world, resolve_now

BASE_AGGREGATES = ("count", "sum", "avg", "min", "max", "uniq", "uniqExact")
AGGREGATE_NAMES = BASE_AGGREGATES + tuple(f"{n}If" for n in ("count", "sum", "avg", "min", "max", "uniq"))
SCALAR_NAMES = (
    "plus", "minus", "multiply", "divide", "modulo", "negate",
    "equals", "notEquals", "less", "greater", "lessOrEquals", "greaterOrEquals",
    "and", "or", "not", "isNull", "isNotNull", "if", "multiIf", "ifNull", "coalesce",
    "toFloat", "toString", "lower", "upper", "concat", "length",
)  # fmt: skip
MATHS = ("total", "dau", "hogql")  # what expected_hogql_trends computes


# --- values --------------------------------------------------------------------------------------


def typed_property(raw: Any, prop_type: str | None) -> Any:
    """How HogQL reads a JSON property under its declared type (None = NULL)."""
    if raw is None:
        return None
    if prop_type == "Numeric":
        return to_float(raw)
    if prop_type == "Boolean":
        return {"true": True, "false": False}.get(render_text(raw))
    if prop_type == "DateTime":
        raise ReferenceUnsupported("DateTime properties in HogQL")
    return render_text(raw)


def person_key(person: Any) -> str:
    """person_id: any text that is the same for the same person and differs between persons."""
    return json.dumps(list(person))


def field_value(world: World, project: Project, chain: tuple[str, ...], event: dict[str, Any]) -> Any:
    """The value of one field chain on one event."""
    c = chain[1:] if len(chain) > 1 and chain[0] in ("events", "e") else chain
    if c[0] == "properties" and len(c) == 2:
        return typed_property(event["properties"].get(c[1]), project.property_type(c[1], "event"))
    if len(c) == 3 and c[:2] == ("person", "properties"):
        raw = world.person_properties.get(event["person"], {}).get(c[2])
        return typed_property(raw, project.property_type(c[2], "person"))
    if c in (("person_id",), ("person", "id")):
        return person_key(event["person"])
    if c in (("distinct_id",), ("event",)):
        return event[c[0]]
    if len(c) == 1 and (c[0] in ("$session_id", "$window_id") or c[0].startswith("$group_")):
        return typed_property(event["properties"].get(c[0]), project.property_type(c[0], "event"))
    raise ReferenceUnsupported(f"HogQL field {'.'.join(chain)}")


def number(v: Any) -> int | float | None:
    """A value in a numeric context: Bool is 0/1; text spelling a number parses (an integer
    spelling gives an integer); other text is NULL."""
    if v is None:
        return None
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, (int, float)):
        return v
    s = v.strip()
    body = s[1:] if s[:1] in "+-" else s
    if body and body.isascii() and body.isdigit():
        return int(s)
    return to_float(s)


def text(v: Any) -> str | None:
    """toString: Bool true/false, integers as digits, floats shortest (``10.0`` → ``10``)."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if math.isnan(v):
        return "nan"
    return float_text(v)


def condition(v: Any) -> bool:
    """A condition holds when it is a non-zero number (NULL does not hold)."""
    n = number(v) if not isinstance(v, str) else None
    return n is not None and n != 0 and n == n


def order(a: Any, b: Any) -> int | None:
    """-1/0/1, or None for NULL; the string "nan" when a NaN takes part."""
    if isinstance(a, str) and isinstance(b, str):
        ea, eb = a.encode(), b.encode()
        return (ea > eb) - (ea < eb)
    x, y = number(a), number(b)
    if x is None or y is None:  # text that is not a number, against a number
        sa, sb = text(a).encode(), text(b).encode()  # type: ignore[union-attr]
        return (sa > sb) - (sa < sb)
    if x != x or y != y:
        return "nan"  # type: ignore[return-value]
    return (x > y) - (x < y)


COMPARISONS = {
    "equals": lambda c: c == 0, "notEquals": lambda c: c != 0, "less": lambda c: c < 0,
    "greater": lambda c: c > 0, "lessOrEquals": lambda c: c <= 0, "greaterOrEquals": lambda c: c >= 0,
}  # fmt: skip


def compare(name: str, a: Any, b: Any) -> int | None:
    if a is None or b is None:
        return None
    c = order(a, b)
    if c == "nan":  # IEEE: every comparison with nan is false, except !=
        return 1 if name == "notEquals" else 0
    return 1 if COMPARISONS[name](c) else 0


def arithmetic(name: str, a: Any, b: Any) -> Any:
    x, y = number(a), number(b)
    if x is None or y is None:
        return None
    if name == "plus":
        return x + y
    if name == "minus":
        return x - y
    if name == "multiply":
        return x * y
    if name == "divide":
        x, y = float(x), float(y)
        if y == 0:
            return math.nan if x == 0 or x != x else math.copysign(math.inf, x) * math.copysign(1.0, y)
        return x / y
    if y == 0:
        raise ReferenceUnsupported("modulo by zero (ClickHouse raises)")
    if not math.isfinite(x):
        return math.nan  # fmod(±inf or nan, y)
    if isinstance(x, int) and isinstance(y, int):
        return int(math.fmod(x, y))  # the sign of the dividend
    return math.fmod(x, y)


def ascii_case(s: str, upper: bool) -> str:
    """ClickHouse lower/upper: ASCII letters only (lowerUTF8 is another function)."""
    return "".join((ch.upper() if upper else ch.lower()) if ch.isascii() else ch for ch in s)


# --- expressions ---------------------------------------------------------------------------------


def scalar(name: str, args: list[Any]) -> Any:
    """One scalar function on evaluated arguments."""
    if name == "and":
        if any(a is not None and not condition(a) for a in args):
            return 0
        return None if any(a is None for a in args) else 1
    if name == "or":
        if any(a is not None and condition(a) for a in args):
            return 1
        return None if any(a is None for a in args) else 0
    if name == "isNull":
        return 1 if args[0] is None else 0
    if name == "isNotNull":
        return 0 if args[0] is None else 1
    if name in ("ifNull", "coalesce"):
        return next((a for a in args if a is not None), None)
    if name == "concat":
        return "".join(text(a) or "" for a in args)
    if name == "if":
        return args[1] if condition(args[0]) else args[2]
    if name == "multiIf":  # CASE WHEN c1 THEN v1 ... ELSE e END
        for i in range(0, len(args) - 1, 2):
            if condition(args[i]):
                return args[i + 1]
        return args[-1]
    if any(a is None for a in args):
        return None
    if name == "not":
        return 0 if condition(args[0]) else 1
    if name in COMPARISONS:
        return compare(name, *args)
    if name in ("plus", "minus", "multiply", "divide", "modulo"):
        return arithmetic(name, *args)
    if name == "negate":
        n = number(args[0])
        return None if n is None else -n
    if name == "toFloat":
        n = number(args[0])
        return None if n is None else float(n)
    if name == "toString":
        return text(args[0])
    if name in ("lower", "upper"):
        return ascii_case(text(args[0]), name == "upper")  # type: ignore[arg-type]
    if name == "length":
        return len(text(args[0]).encode("utf-8"))  # type: ignore[union-attr]
    raise ReferenceUnsupported(f"HogQL function {name}()")


def evaluate_row(world: World, project: Project, node: Any, event: dict[str, Any]) -> Any:
    """A row expression (no aggregates) on one event."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Field):
        return field_value(world, project, node.chain, event)
    if isinstance(node, Call):
        if node.name in AGGREGATE_NAMES:
            raise ReferenceUnsupported(f"aggregate {node.name}() in a row expression")
        return scalar(node.name, [evaluate_row(world, project, a, event) for a in node.args])
    raise ReferenceUnsupported(f"HogQL node {node!r}")


def distinct_key(v: Any) -> Any:
    """uniq: numbers by value (1, 1.0 and true are one value), text by itself."""
    if isinstance(v, str):
        return ("s", v)
    return ("n", float(number(v)))  # type: ignore[arg-type]


def aggregate(world: World, project: Project, call: Call, events: list[dict[str, Any]]) -> Any:
    """One aggregate call over the events of a cell."""
    if call.params:
        raise ReferenceUnsupported("parametric aggregates")
    name, args = call.name, call.args
    if name.endswith("If"):  # fooIf(args..., cond): foo over the rows where cond holds
        events = [e for e in events if condition_holds(world, project, args[-1], e)]
        name, args = name[:-2], args[:-1]
    if name == "count" and not args:
        return len(events)
    values = [evaluate_row(world, project, args[0], e) for e in events]
    present = [v for v in values if v is not None]
    if name == "count":
        return len(present)
    if name in ("uniq", "uniqExact"):
        return len({distinct_key(v) for v in present})
    nums = [float(n) for n in (number(v) for v in present) if n is not None]
    if not nums:
        return None
    if name == "sum":
        return math.fsum(nums) if all(math.isfinite(n) for n in nums) else sum(nums)
    if name == "avg":
        return (math.fsum(nums) if all(math.isfinite(n) for n in nums) else sum(nums)) / len(nums)
    if name in ("min", "max"):  # nan inputs are skipped (ClickHouse's answer depends on row order)
        finite = [n for n in nums if n == n]
        return None if not finite else min(finite) if name == "min" else max(finite)
    raise ReferenceUnsupported(f"HogQL aggregate {name}()")


def evaluate_cell(world: World, project: Project, node: Any, events: list[dict[str, Any]]) -> Any:
    """An aggregate expression over the events of one cell."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Call) and node.name in AGGREGATE_NAMES:
        return aggregate(world, project, node, events)
    if isinstance(node, Call):
        return scalar(node.name, [evaluate_cell(world, project, a, events) for a in node.args])
    raise ReferenceUnsupported(f"bare HogQL node {node!r} in an aggregate expression")


def cell_math(world: World, project: Project, expr: Any, events: list[dict[str, Any]]) -> float:
    """The math value of one cell: 0 without rows, and for a NULL, nan or infinite result."""
    if not events:
        return 0.0
    v = number(evaluate_cell(world, project, expr, events))
    return float(v) if v is not None and math.isfinite(v) else 0.0


def breakdown_text(world: World, project: Project, expr: Any, event: dict[str, Any]) -> str:
    """A hogql breakdown value: the expression's toString; NULL and '' give the null marker."""
    return text(evaluate_row(world, project, expr, event)) or NULL


def condition_holds(world: World, project: Project, expr: Any, event: dict[str, Any]) -> bool:
    return condition(evaluate_row(world, project, expr, event))


# --- property groups with hogql leaves --------------------------------------------------------------


def group_holds(world: World, project: Project, group: PropertyGroup, event: dict[str, Any]) -> bool:
    """AND/OR over leaves and groups; hogql leaves by ``condition_holds``, others by the reference."""
    if not group.values:
        return True
    results = []
    for n in group.values:
        if isinstance(n, PropertyGroup):
            results.append(group_holds(world, project, n, event))
        elif isinstance(n, PropertyFilter) and n.type == "hogql":
            results.append(condition_holds(world, project, n.expr, event))
        else:
            results.append(leaf_holds(world, project, n, event))
    return all(results) if group.type == "AND" else any(results)


def row_filters_pass(world: World, filt: TrendsFilter, series: Series, project: Project, event: dict[str, Any]) -> bool:
    """The reference's row filters, with hogql leaves in the global and series groups."""
    if filt.filter_test_accounts and project.test_account_filters:
        if not plain_group_holds(world, project, parse_test_account_filters(project.test_account_filters, DEFAULT_LIMITS), event):
            return False
    if not group_holds(world, project, filt.properties, event):
        return False
    if not group_holds(world, project, series.properties, event):
        return False
    gti = series.math_group_type_index if series.math in ACTOR_MATHS else None
    return all(group_key_present(event, idx) for idx in {gti, filt.aggregation_group_type_index} if idx is not None)


# --- the query ------------------------------------------------------------------------------------------


def check_supported(filt: TrendsFilter) -> None:
    """What ``expected_hogql_trends`` computes; anything else is ReferenceUnsupported."""
    for s in filt.series:
        if s.math not in MATHS:
            raise ReferenceUnsupported(f"math {s.math!r} next to HogQL")
    if filt.display not in DISPLAYS:
        raise ReferenceUnsupported(f"display {filt.display!r}")
    if filt.formulas or filt.compare:
        raise ReferenceUnsupported("formulas and compare next to HogQL")
    if filt.sampling_factor not in (None, 1):
        raise ReferenceUnsupported("sampling next to HogQL")
    if filt.breakdown is not None:
        for item in filt.breakdown.items:
            if item.histogram_bin_count is not None or item.type not in (*BREAKDOWN_TYPES, "hogql"):
                raise ReferenceUnsupported(f"{item.type} breakdown next to HogQL")
            if item.type == "hogql" and item.normalize_url:
                raise ReferenceUnsupported("breakdown_normalize_url on a hogql breakdown")


def breakdown_value(world: World, filt: TrendsFilter, project: Project, event: dict[str, Any]) -> Any:
    parts = []
    for item in filt.breakdown.items:  # type: ignore[union-attr]
        if item.type == "hogql":
            parts.append(breakdown_text(world, project, item.expr, event))
        else:
            ptype = project.property_type(item.property, item.type, item.group_type_index)
            parts.append(render_breakdown_value(raw_breakdown_value(world, item, event), ptype, item.normalize_url))
    return tuple(parts) if filt.breakdown.multi else parts[0]  # type: ignore[union-attr]


def series_values(world: World, filt: TrendsFilter, project: Project, q: Query) -> dict[Any, list[float]]:
    """Per breakdown value (None without one): the series' value per bucket (one bucket for
    total-value displays)."""
    s = q.series
    total_value = filt.display in TOTAL_VALUE_DISPLAYS
    lo = whole_second(lower_bound(q.range, project.week_start_day))
    hi = whole_second(q.range.date_to)
    rows = [e for e in world.events if series_matches(world, s, project, e) and lo <= e["ts"] <= hi
            and row_filters_pass(world, filt, s, project, e)]
    by_value: dict[Any, list[dict[str, Any]]] = {} if filt.breakdown is not None else {None: []}
    for e in rows:
        key = None if filt.breakdown is None else breakdown_value(world, filt, project, e)
        by_value.setdefault(key, []).append(e)
    out = {}
    for key, evs in by_value.items():
        if s.math != "hogql":
            out[key] = bucketed_values(world, s.math, filt, s, project, q, evs, total_value)
            continue
        n = 1 if total_value else len(q.starts)
        cells: list[list[dict[str, Any]]] = [[] for _ in range(n)]
        for e in evs:
            k = 0 if total_value else bucket_index(e["ts"], q.starts, q.range.interval, project.week_start_day)
            if k is not None:
                cells[k].append(e)
        out[key] = [cell_math(world, project, s.math_expr, c) for c in cells]
    return out


def without_hogql(group: Any) -> Any:
    """The group with its hogql leaves left out (the main reference does not know them)."""
    kept = tuple(without_hogql(n) if isinstance(n, PropertyGroup) else n
                 for n in group.values if isinstance(n, PropertyGroup) or n.type != "hogql")
    return attrs.evolve(group, values=kept)


def run_series(world: World, filt: TrendsFilter, project: Project, q: Query, n_series: int) -> list[dict[str, Any]]:
    """One series: values per breakdown value → rank and Other → result dicts (reference helpers)."""
    if q.series.kind == "actions" and project.action_source(q.series.id) is None:
        return []
    for group in query_filter_groups(filt, project, q.series):
        check_group(world, project, without_hogql(group))  # hogql leaves: checked when parsed
    values = series_values(world, filt, project, q)
    if filt.breakdown is None:
        return [series_dict(filt, project, q, values[None], label_text=q.series.label, forward_fill=True)]
    limit = FIXED_BREAKDOWN_LIMIT.get(filt.display) or filt.breakdown.limit
    totals = {v: sum(vals) for v, vals in values.items()}
    kept, folded = rank(totals, limit, total_value=filt.display in TOTAL_VALUE_DISPLAYS)
    if filt.display == CUMULATIVE_DISPLAY:  # shown by the sum of the running totals (top N on raw totals)
        kept.sort(key=lambda v: (value_class(v), -sum(running_sum(values[v])), v))
    out = []
    for v in kept + ([other_value(filt.breakdown)] if folded else []):
        vals = values[v] if v in values else [sum(values[f][i] for f in folded) for i in range(len(values[folded[0]]))]
        label_text = breakdown_label(v)
        if n_series > 1:
            label_text = f"{q.series.label} - {label_text}"
        out.append(series_dict(filt, project, q, vals, label_text=label_text, breakdown=v, has_breakdown=True,
                                   forward_fill=False))
    return out


def expected_hogql_trends(
    events: Iterable[Mapping[str, Any]],
    persons: Iterable[Mapping[str, Any]] | None = None,
    groups: Iterable[Mapping[str, Any]] | None = None,
    *,
    query: Mapping[str, Any] | TrendsFilter,
    project: Project,
    now: Any,
    limits: Limits = DEFAULT_LIMITS,
) -> list[dict[str, Any]]:
    """``trends(...).to_dicts()`` (without ``filter``/``action``) of a query with math ``hogql``
    (``total``/``dau`` otherwise), ``hogql`` breakdowns and/or ``hogql`` property filters; no
    compare, formulas, sampling or histogram bins."""
    filt = parse_filter(query, limits=limits)
    check_supported(filt)
    if not filt.series:
        return []  # no series: an empty answer, as the runner gives
    world = load_world(events, persons, groups)
    world.now = resolve_now(now)  # relative is_date_* values (cohorts, filters) count from it
    r = current_range(world, filt, project, world.now)
    total_value = filt.display in TOTAL_VALUE_DISPLAYS
    starts = [] if total_value else bucket_starts(r, project.week_start_day, limits.max_buckets)
    queries = [Query(s, r, starts, None, max_buckets=limits.max_buckets) for s in filt.series]
    out = [d for q in queries for d in run_series(world, filt, project, q, len(queries))]
    if filt.breakdown is not None and filt.breakdown.hide_other:
        out = [d for d in out if not is_other(d.get("breakdown_value"))]
    return out


__all__ = [
    "AGGREGATE_NAMES",
    "MATHS",
    "SCALAR_NAMES",
    "aggregate",
    "breakdown_text",
    "cell_math",
    "condition_holds",
    "evaluate_cell",
    "evaluate_row",
    "expected_hogql_trends",
    "field_value",
]
