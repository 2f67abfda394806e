"""Formulas over the per-query results (spec §7, §3.3, §8.5).

PostHog's runner applies each formula to the list of *query results* (one list of rows per
query, in query order): letter A is the first query, B the second, ... With compare, the
current half and the previous half are separate inputs; with a cohort breakdown that contains
"all", each cohort's consecutive queries are. Rows of the inputs are aligned by breakdown value
(or by compare label), a missing row is a zero-filled filler, and the formula is evaluated point
by point with ``trendcalc.formula.evaluate`` (NumPy, never ``eval``).
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ..errors import ValidationError
from ..formatting import numbers
from ..formula import Binary, Number, check_refs, evaluate, series_refs
from ..formula.ast import walk
from ..query.model import Formula
from ..results import SeriesResult
from ..store.columns import BREAKDOWN_NULL, BREAKDOWN_OTHER
from .context import QueryContext
from .plan import Query

Rows = list[SeriesResult]


@attrs.frozen
class FillerFormulaResult(SeriesResult):
    """A formula result whose base row is PostHog's zero filler (series A lacked the value).

    PostHog builds that row from scratch, so its dict has no ``filter``, always carries
    ``breakdown_value``, ``compare_label``, ``labels`` and ``aggregated_value`` (0 for time series,
    which also drives the ordering of §7.4), and has no ``compare`` key."""

    def to_dict(self) -> dict[str, Any]:
        v = self.breakdown_value
        return {
            "label": self.label,
            "data": list(self.data) if self.data is not None else None,
            "count": self.count,
            "aggregated_value": self.aggregated_value if self.total_value else 0,
            "action": None,
            "breakdown_value": list(v) if isinstance(v, tuple) else v,
            "compare_label": self.compare_label,
            "days": list(self.days) if self.days is not None else None,
            "labels": list(self.labels) if self.labels is not None else None,
            "order": self.order,
        }


def apply_formulas(ctx: QueryContext, queries: Sequence[Query], per_query_results: Sequence[Rows]) -> list[SeriesResult]:
    """Every formula's results, in formula order; per formula the current then previous half."""
    filt = ctx.filter
    if filt.compare:
        halves = [[i for i, q in enumerate(queries) if q.period == period] for period in ("current", "previous")]
    else:
        halves = [list(range(len(queries)))]
    out: list[SeriesResult] = []
    for index, formula in enumerate(filt.formulas):
        for half in halves:
            for group in _cohort_groups(ctx, [per_query_results[i] for i in half]):
                out.extend(attrs.evolve(result, order=index) for result in apply_formula(ctx, formula, group))
    return out


def _cohort_groups(ctx: QueryContext, results: list[Rows]) -> list[list[Rows]]:
    """A cohort breakdown containing "all" runs one query per cohort × series; the formula is
    evaluated within each cohort's consecutive block (spec §7.3)."""
    b = ctx.filter.breakdown
    if b is None or b.items[0].type != "cohort" or "all" not in b.items[0].property:
        return [results]
    n_cohorts = len(b.items[0].property)
    if len(results) % n_cohorts:
        raise ValidationError(("breakdown",), "the number of series queries is not divisible by the number of cohorts")
    size = len(results) // n_cohorts
    return [results[k * size : (k + 1) * size] for k in range(n_cohorts)]


def apply_formula(ctx: QueryContext, formula: Formula, results: list[Rows]) -> list[SeriesResult]:
    """One formula over one group of query results (letters = positions in ``results``)."""
    if not results:
        return []
    check_refs(formula.expr, len(results), path=("formula",))
    filt = ctx.filter
    has_breakdown = filt.breakdown is not None
    if not (has_breakdown or filt.compare):
        missing = [i for i, rs in enumerate(results) if not rs]
        if missing:  # PostHog fails here too (it indexes every query's first row)
            letter = chr(ord("A") + missing[0])
            raise ValidationError(("formula",), f"series {letter} has no result (its action does not exist), so the formula cannot be applied")
        firsts: list[SeriesResult | None] = [rs[0] for rs in results]
        return [_evaluate(ctx, formula, firsts, rs_first(results), 0)]

    key: Callable[[SeriesResult], Any] = (lambda r: r.breakdown_value) if has_breakdown else (lambda r: r.compare_label)
    values = {key(r) for rows in results for r in rows}
    computed = []
    # natsort order; values it ties (``Chrome``/``chrome``) by repr — upstream keeps set order,
    # which would make the answer depend on the process's hash seed.
    for value in sorted(values, key=lambda v: (natural_key(v), repr(v))):
        rows: list[SeriesResult | None] = [next((r for r in rs if key(r) == value), None) for rs in results]
        present = next(r for r in rows if r is not None)
        first = results[0][0] if results[0] else None
        length = len((first.data if first is not None else None) or present.data or [])
        computed.append(_evaluate(ctx, formula, rows, present, length))
    if filt.compare:
        # multisort by (compare_label asc, count desc): one label per half, so count desc, stable.
        return sorted(computed, key=lambda r: -r.count)
    return sorted(computed, key=_breakdown_sort_key, reverse=True)


def rs_first(results: Sequence[Rows]) -> SeriesResult:
    """The first query's first row (every query has one here)."""
    return results[0][0]


def _evaluate(ctx: QueryContext, formula: Formula, rows: list[SeriesResult | None], present: SeriesResult, length: int) -> SeriesResult:
    """apply_formula_to_results_group: the base row (A's, or a filler) with the formula's values."""
    total = ctx.display.total_value
    base = rows[0]
    label = formula.custom_name or f"Formula ({formula.text})"
    if base is None:
        result: SeriesResult = FillerFormulaResult(
            label=label,
            order=0,
            action=None,
            filter={},
            days=present.days,
            labels=present.labels,
            breakdown_value=present.breakdown_value,
            has_breakdown=present.has_breakdown,
            compare_label=present.compare_label,
            total_value=total,
        )
    else:
        result = attrs.evolve(base, label=label, action=None, filter=copy.deepcopy(base.filter))
    if total:
        columns = [np.array([r.aggregated_value if r is not None else 0], dtype=np.float64) for r in rows]
        out = evaluate(formula.expr, columns)
        return attrs.evolve(result, aggregated_value=float(sum(out.tolist())), data=None, count=0)
    columns = [np.asarray(r.data if r is not None else np.zeros(length), dtype=np.float64) for r in rows]
    out = evaluate(formula.expr, columns)
    integer = _integer_result(formula, rows) and bool(np.all(np.isfinite(out))) and bool(np.all(out == np.round(out)))
    # float(sum(...)) upstream: left to right, not pairwise
    return attrs.evolve(result, data=numbers(out, integer), count=float(sum(out.tolist())))


def _refs(formula: Formula) -> set[int]:
    return set(series_refs(formula.expr))


def _integer_result(formula: Formula, rows: list[SeriesResult | None]) -> bool:
    """Whether Python arithmetic would give ints: int inputs, no ``/``, integral literals, and
    ``**`` only with a non-negative integer literal exponent."""
    for node in walk(formula.expr):
        if isinstance(node, Number) and not float(node.value).is_integer():
            return False
        if isinstance(node, Binary) and node.op == "/":
            return False
        if isinstance(node, Binary) and node.op == "**":
            if not (isinstance(node.right, Number) and node.right.value >= 0):
                return False
    used = _refs(formula)
    return all(r is None or all(isinstance(x, int) for x in r.data or []) for i, r in enumerate(rows) if i in used)


def _breakdown_sort_key(r: SeriesResult) -> tuple:
    """§7.4, sorted descending: (class, aggregated_value or sum(data), count, data, repr(value)).

    A list value (multiple breakdowns) never equals the markers, so it is always class 0; a
    filler-based time-series result carries aggregated_value 0 in PostHog and sorts by that."""
    v = r.breakdown_value
    cls = -1 if v == BREAKDOWN_NULL else -2 if v == BREAKDOWN_OTHER else 0
    if r.total_value or isinstance(r, FillerFormulaResult):
        magnitude = r.aggregated_value if r.total_value else 0
    else:
        magnitude = sum(r.data or [])
    return (cls, magnitude, r.count, r.data, repr(list(v) if isinstance(v, tuple) else v))


_DIGITS = re.compile(r"(\d+)")


def natural_key(v: Any) -> tuple:
    """natsort's key with ``ns.IGNORECASE`` (the order PostHog first puts breakdown values in):
    NFD-normalised, case-folded text split into text and unsigned-integer chunks; a value that
    starts with a number sorts before any text."""
    if isinstance(v, tuple):
        return tuple(natural_key(x) for x in v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return ("", v)
    if v is None:
        return ("",)
    text = unicodedata.normalize("NFD", str(v)).casefold()
    parts: list[Any] = [int(p) if p.isdecimal() else p for p in _DIGITS.split(text) if p]
    if parts and isinstance(parts[0], int):
        parts.insert(0, "")
    return tuple(parts)
