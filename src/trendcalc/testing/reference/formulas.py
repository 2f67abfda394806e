"""Formulas (time-math-breakdown.md §7): evaluation over the parsed formula tree, alignment of
series rows by breakdown value or compare label, and the order of formula results."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from ...errors import ValidationError
from ...formula.ast import Binary, Number, SeriesRef, Unary, children
from ...query.model import TrendsFilter
from .breakdown import NULL, OTHER
from .supported import TOTAL_VALUE_DISPLAYS


def formula_value(node: Any, point: list[float]) -> float:
    """§7.1: one point of a formula: + - * / % ** and unary ±; x/0 and x%0 are 0, 0**-n is 0."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, SeriesRef):
        return point[node.index]
    if isinstance(node, Unary):
        v = formula_value(node.operand, point)
        return -v if node.op == "-" else v
    a, b = formula_value(node.left, point), formula_value(node.right, point)
    if node.op == "+":
        return a + b
    if node.op == "-":
        return a - b
    if node.op == "*":
        return a * b
    if node.op in ("/", "%"):
        if b == 0:
            return 0.0
        return a / b if node.op == "/" else a % b
    try:
        r = a**b
    except ZeroDivisionError:
        return 0.0
    return math.nan if isinstance(r, complex) else r


def formula_nodes(node: Any) -> list[Any]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(children(n))
    return out


def formula_gives_ints(expr: Any, inputs: list[dict[str, Any]]) -> bool:
    """Python arithmetic keeps ints: int inputs, no ``/``, integral literals, ``**`` only with a
    non-negative literal exponent."""
    nodes = formula_nodes(expr)
    for n in nodes:
        if isinstance(n, Number) and not float(n.value).is_integer():
            return False
        if isinstance(n, Binary) and n.op == "/":
            return False
        if isinstance(n, Binary) and n.op == "**" and not (isinstance(n.right, Number) and n.right.value >= 0):
            return False
    used = {n.index for n in nodes if isinstance(n, SeriesRef)}
    return all(isinstance(x, int) for i in used for x in inputs[i]["data"])


def apply_formulas(filt: TrendsFilter, results: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """§7.3/§8.5: each formula in turn over the current half of the query results, then over the
    previous half (compare); within a half, over each cohort's block of queries when a cohort
    breakdown contains "all". Every result of formula i gets ``order`` i."""
    halves = [results[: len(results) // 2], results[len(results) // 2:]] if filt.compare else [results]
    out = []
    for index, formula in enumerate(filt.formulas):
        for half in halves:
            for block in cohort_blocks(filt, half):
                out += [{**d, "order": index} for d in formula_results(filt, formula, block)]
    return out


def cohort_blocks(filt: TrendsFilter, results: list[list[dict[str, Any]]]) -> list[list[list[dict[str, Any]]]]:
    """A cohort breakdown with "all" runs cohort-major queries: one block of series per cohort."""
    b = filt.breakdown
    if b is None or b.items[0].type != "cohort" or "all" not in b.items[0].property:
        return [results]
    size = len(results) // len(b.items[0].property)
    return [results[k * size:(k + 1) * size] for k in range(len(b.items[0].property))]


def formula_results(filt: TrendsFilter, formula: Any, results: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """§7.3: letters are the queries in order. Without breakdown or compare, each query's first
    row; else rows are matched by breakdown value (compare: by compare label), a query without
    the value gives a zero filler, and the results are sorted (§7.4; compare: count desc)."""
    if not results:
        return []
    refs = [n.index for n in formula_nodes(formula.expr) if isinstance(n, SeriesRef)]
    if any(i >= len(results) for i in refs):
        raise ValidationError(("formula",), "the formula names a series that does not exist")
    if filt.breakdown is None and not filt.compare:
        if any(not rows for rows in results):
            raise ValidationError(("formula",), "a series has no result (its action does not exist)")
        return [formula_row(filt, formula, [dict(rows[0]) for rows in results])]

    def key(d: dict[str, Any]) -> Any:
        v = d.get("breakdown_value") if filt.breakdown is not None else d.get("compare_label")
        return tuple(v) if isinstance(v, list) else v

    computed = []
    for value in sorted({key(d) for rows in results for d in rows}, key=lambda v: (natural_key(v), repr(v))):
        matches = [next((d for d in rows if key(d) == value), None) for rows in results]
        present = next(d for d in matches if d is not None)
        # upstream sizes the filler by A's first row (failing when A has none); then by the row found
        length = len((results[0][0]["data"] if results[0] else None) or present["data"] or [])
        group = [dict(d) if d is not None else filler(present, length) for d in matches]
        computed.append(formula_row(filt, formula, group))
    if filt.compare:
        return sorted(computed, key=lambda d: -d["count"])
    return sorted(computed, key=formula_sort_key, reverse=True)


def filler(present: dict[str, Any], length: int) -> dict[str, Any]:
    """The zero row standing in for a query that lacks a breakdown value: no ``compare`` key,
    always ``breakdown_value``, ``compare_label``, ``labels`` and ``aggregated_value`` 0."""
    return {"data": [0] * length, "count": 0, "aggregated_value": 0, "breakdown_value": present.get("breakdown_value"),
            "compare_label": present.get("compare_label"), "days": present.get("days"), "labels": present.get("labels")}


def formula_row(filt: TrendsFilter, formula: Any, group: list[dict[str, Any]]) -> dict[str, Any]:
    """§3.3: the group's first row (A's, or a filler) with the formula's values and label."""
    out = dict(group[0], label=formula.custom_name or f"Formula ({formula.text})")
    if filt.display in TOTAL_VALUE_DISPLAYS:
        out.update(aggregated_value=float(formula_value(formula.expr, [float(r["aggregated_value"]) for r in group])),
                   data=None, count=0)
        return out
    n = min(len(r["data"]) for r in group)
    values = [formula_value(formula.expr, [float(r["data"][i]) for r in group]) for i in range(n)]
    integral = all(math.isfinite(v) and v == int(v) for v in values)
    out["data"] = [int(v) for v in values] if integral and formula_gives_ints(formula.expr, group) else values
    out["count"] = float(sum(values))
    return out


def formula_sort_key(d: dict[str, Any]) -> tuple:
    """§7.4 (sorted descending): class (normal, null, Other — a list value is always normal),
    aggregated_value (a filler's 0) else sum(data), count, data, repr(value)."""
    v = d.get("breakdown_value")
    cls = -1 if v == NULL else -2 if v == OTHER else 0
    return cls, d.get("aggregated_value", sum(d.get("data") or [])), d["count"], d["data"], repr(v)


def natural_key(v: Any) -> tuple:
    """natsort with IGNORECASE: NFD, case-folded, digit runs compared as numbers (a leading number
    sorts before text); tuples element-wise. Values natsort ties are taken by repr (upstream:
    set order)."""
    if isinstance(v, tuple):
        return tuple(natural_key(x) for x in v)
    if isinstance(v, int):
        return ("", v)
    text = unicodedata.normalize("NFD", str(v)).casefold()
    parts: list[Any] = [int(p) if p.isdecimal() else p for p in re.split(r"(\d+)", text) if p]
    return tuple(([""] if parts and isinstance(parts[0], int) else []) + parts)
