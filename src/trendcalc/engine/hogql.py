"""HogQL expressions over the store: ``math: "hogql"`` and ``breakdown_type: "hogql"``.

A row expression is evaluated once per *distinct combination* of the values it reads, never per
row: each field is a column of dictionary codes, the rows' code tuples are made unique, the
scalar interpreter (``hogql.evaluate``) runs once per unique tuple, and the results are gathered
back with the inverse index. Property fields are typed as HogQL types them (the project's
property definitions: Numeric → Float, Boolean → Bool, otherwise the JSON text, NULL when
missing).

An aggregate expression (``math_hogql``) reduces each aggregate call per (breakdown group,
bucket) cell with the cell reducers, then evaluates the expression around them once per distinct
tuple of aggregate values. A cell without rows is 0 (PostHog fills missing buckets with zeros);
a NULL, NaN or infinite result is 0 too (the series are summed into ``ifNull(total, 0)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import UnsupportedError
from ..hogql import AGGREGATES, Call, Const, Expr, Field, evaluate, to_text, walk
from ..hogql.functions import is_virtual_person_field, normalize_chain, to_float, truthy
from ..store.columns import ValueDictionary, render_text
from ..store.columns import to_float as json_float
from . import cells
from .context import Frame, QueryContext
from .exactsum import split_sums

# --- fields --------------------------------------------------------------------------------------


def _typed_values(dictionary: ValueDictionary, prop_type: str | None) -> list[Any]:
    """The HogQL value of each dictionary entry under the property's declared type."""

    def build() -> list[Any]:
        if prop_type == "Numeric":
            return [None if (f := json_float(v)) != f else f for v in dictionary.values]
        if prop_type == "Boolean":
            # the JSON true/false or their text; 1 and 0 are not booleans (1 == True in Python)
            return [{"true": True, "false": False}.get(v if isinstance(v, str) else render_text(v)) if isinstance(v, (bool, str))
                    else None for v in dictionary.values]
        return [None if v is None else render_text(v) for v in dictionary.values]

    return dictionary.cached(("hogql_values", prop_type), build)


def field_codes(ctx: QueryContext, chain: tuple[str, ...], rows: np.ndarray | slice) -> tuple[np.ndarray, Sequence[Any]]:
    """(code per row, -1 for NULL; the value of each code) of one field over ``rows``."""
    from ..store.virtual import person_column

    store = ctx.store
    c = normalize_chain(chain)
    if c[0] == "properties" or (len(c) == 1 and c[0] in ("$session_id", "$window_id") or c[0].startswith("$group_")):
        key = c[-1]
        col = store.column(key)
        if col is None:
            return _nulls(rows), ()
        return col.codes[rows], _typed_values(col.dictionary, ctx.project.property_type(key, "event"))
    if c[0] == "person" and c[1] == "properties":
        col = person_column(store, c[2])
        if col is None:
            return _nulls(rows), ()
        return col.codes[store.person[rows]], _typed_values(col.dictionary, ctx.project.property_type(c[2], "person"))
    if is_virtual_person_field(c):  # person.$virt_…: text derived from the person's properties
        col = person_column(store, c[1])
        if col is None:
            return _nulls(rows), ()
        return col.codes[store.person[rows]], _typed_values(col.dictionary, None)
    if c in (("person_id",), ("person", "id")):
        ids = ctx.person_ids()
        return store.person[rows], ids
    if c == ("distinct_id",):
        return store.distinct_id[rows], store.distinct_ids.tolist()
    if c == ("event",):
        return store.event[rows], list(store.event_names)
    raise UnsupportedError(("hogql",), f"HogQL field {'.'.join(chain)} is not supported")


def _nulls(rows: np.ndarray | slice) -> np.ndarray:
    n = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
    return np.full(n, -1, np.int32)


# --- row expressions ------------------------------------------------------------------------------


def row_results(ctx: QueryContext, expr: Expr, rows: np.ndarray | slice) -> tuple[np.ndarray, list[Any]]:
    """(index per row into the results; the result per distinct input tuple) of a row expression."""
    fields = list(dict.fromkeys(n.chain for n in walk(expr) if isinstance(n, Field)))
    n_rows = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
    if not fields:
        return np.zeros(n_rows, np.int64), [evaluate(expr, _no_leaf)]
    columns = [field_codes(ctx, chain, rows) for chain in fields]
    sizes = [len(values) + 1 for _, values in columns]
    shifted = [np.asarray(codes, dtype=np.int64) + 1 for codes, _ in columns]  # NULL (-1) → 0
    if float(np.prod(sizes, dtype=np.float64)) < 2.0**62:
        key = np.ravel_multi_index(tuple(shifted), tuple(sizes)) if len(shifted) > 1 else shifted[0]
        uniq, inverse = np.unique(key, return_inverse=True)
        combos = np.unravel_index(uniq, tuple(sizes)) if len(shifted) > 1 else (uniq,)
        tuples = list(zip(*(c.tolist() for c in combos)))
    else:
        stacked = np.stack(shifted, axis=1)
        uniq_rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
        tuples = [tuple(r) for r in uniq_rows.tolist()]
    results = []
    for t in tuples:  # once per distinct input tuple
        env = {chain: (None if code == 0 else columns[i][1][code - 1]) for i, (chain, code) in enumerate(zip(fields, t))}
        results.append(evaluate(expr, _field_leaf(env)))
    return inverse.reshape(-1).astype(np.int64), results


def _field_leaf(env: dict[tuple[str, ...], Any]) -> Callable[[Expr], Any]:
    """The leaf callback of a row expression: a field's value in this combination."""

    def leaf(node: Expr) -> Any:
        if not isinstance(node, Field):
            return _no_leaf(node)
        return env[node.chain]

    return leaf


def _call_leaf(env: dict[Call, Any]) -> Callable[[Expr], Any]:
    """The leaf callback around aggregates: an aggregate call's value in this cell."""

    def leaf(node: Expr) -> Any:
        if not isinstance(node, Call):
            return _no_leaf(node)
        return env[node]

    return leaf


def _no_leaf(node: Expr) -> Any:
    raise UnsupportedError(("hogql",), f"cannot evaluate {node!r} here")


def breakdown_column(ctx: QueryContext, expr: Expr, rows: np.ndarray | slice) -> tuple[np.ndarray, ValueDictionary]:
    """A hogql breakdown: per row, a code (-1 for NULL) into the distinct ``toString`` texts."""
    inverse, results = row_results(ctx, expr, rows)
    texts = [to_text(r) for r in results]
    distinct = sorted({t for t in texts if t is not None})
    index = {t: i for i, t in enumerate(distinct)}
    lut = np.array([index[t] if t is not None else -1 for t in texts], dtype=np.int32)
    return lut[inverse], ValueDictionary(distinct)


# --- aggregate expressions (math_hogql) --------------------------------------------------------------


def hogql_math(frame: Frame) -> np.ndarray:
    """``math_hogql`` per (group, bucket) cell, shaped (n_groups, n_buckets)."""
    expr = frame.series.math_expr
    n_cells = frame.n_cells
    if frame.n_rows == 0:
        return np.zeros((frame.n_groups, frame.n_buckets), dtype=np.float64)
    rows, cell = frame.rows, frame.cell()
    present = cells.count(cell, n_cells) > 0
    calls = aggregate_calls(expr)
    per_cell = {call: reduce_inputs(call, aggregate_inputs(frame.ctx, call, rows, cell), n_cells) for call in calls}
    return expression_cells(expr, calls, per_cell, present).reshape(frame.n_groups, frame.n_buckets)


def aggregate_calls(expr: Expr) -> list[Call]:
    """The distinct aggregate calls of an expression, in order."""
    return list(dict.fromkeys(n for n in walk(expr) if isinstance(n, Call) and n.name in AGGREGATES))


def expression_cells(expr: Expr, calls: Sequence[Call], per_cell: dict[Call, tuple[np.ndarray, np.ndarray]],
                     present: np.ndarray) -> np.ndarray:
    """The expression around its aggregates per cell (flat; 0 where no row), from each call's
    (value, NULL) per cell: once per distinct tuple of aggregate values. A NULL aggregate (no
    non-NULL input) is told apart from a NaN one (a nan input, e.g. 0/0)."""
    out = np.zeros(len(present), dtype=np.float64)
    k = len(calls)
    cols = np.stack([per_cell[c][0] for c in calls] + [per_cell[c][1].astype(np.float64) for c in calls],
                    axis=1)[present]
    uniq, inverse = np.unique(cols, axis=0, return_inverse=True)
    values = np.empty(len(uniq), dtype=np.float64)
    for i, row in enumerate(uniq.tolist()):
        env = {c: (None if null else v) for c, v, null in zip(calls, row[:k], row[k:])}
        r = to_float(evaluate(expr, _call_leaf(env)))
        values[i] = r if r is not None and np.isfinite(r) else 0.0
    out[present] = values[inverse.reshape(-1)]
    return out


def aggregate_inputs(ctx: QueryContext, call: Call, rows: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, Any]:
    """The rows one aggregate call reduces, after its condition (``-If``): (their cells, their
    inputs) — None for ``count()``, a bool mask of non-NULL for ``count(x)``, distinct-key ids
    and the keys for ``uniq``, the numbers (NaN for a nan input) for the numeric aggregates."""
    spec = AGGREGATES[call.name]
    args = call.args
    if spec.conditional:
        inverse, results = row_results(ctx, args[-1], rows)
        keep = np.array([truthy(r) for r in results], dtype=bool)[inverse]
        rows, cell, args = rows[keep], cell[keep], args[:-1]
    if spec.kind == "count" and not args:
        return cell, None
    inverse, results = row_results(ctx, args[0], rows)
    if spec.kind == "count":
        return cell, np.array([r is not None for r in results], dtype=bool)[inverse]
    if spec.kind == "uniq":
        keys: dict[Any, int] = {}
        ids = np.array([keys.setdefault(_distinct_key(r), len(keys)) if r is not None else -1 for r in results], dtype=np.int64)
        per_row = ids[inverse]
        ok = per_row >= 0
        return cell[ok], (per_row[ok], list(keys))
    nums = [to_float(r) for r in results]
    has = np.array([f is not None for f in nums], dtype=bool)[inverse]
    floats = np.array([np.nan if f is None else f for f in nums], dtype=np.float64)[inverse]
    return cell[has], floats[has]


def reduce_inputs(call: Call, inputs: tuple[np.ndarray, Any], n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """One aggregate call per cell: (value, NULL). As ClickHouse's ``-Null`` combinator, sum,
    avg, min, max and quantiles are NULL in a cell whose inputs are all NULL; a nan input
    makes sum and avg nan (min, max and quantiles skip it). Sums are exact (engine/exactsum.py)."""
    spec = AGGREGATES[call.name]
    cell, payload = inputs
    no_nulls = np.zeros(n_cells, dtype=bool)
    if spec.kind == "count":
        return cells.count(cell if payload is None else cell[payload], n_cells), no_nulls
    if spec.kind == "uniq":
        ids, keys = payload
        return cells.count_distinct(cell, ids, max(len(keys), 1), n_cells), no_nulls
    floats = payload
    n = np.bincount(cell, minlength=n_cells)
    null = n == 0
    if spec.kind in ("sum", "avg"):
        total = nan_sums(cell, floats, n_cells)
        if spec.kind == "sum":
            return total, null
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / np.maximum(n, 1), null
    if spec.kind == "min":
        out = cells.minimum(cell, floats, n_cells)
    elif spec.kind == "max":
        out = cells.maximum(cell, floats, n_cells)
    else:
        out = cells.quantile(cell, floats, n_cells, quantile_level(call))
    return out, null | (out != out)


def nan_sums(cell: np.ndarray, floats: np.ndarray, n_cells: int) -> np.ndarray:
    """Exact sums per cell; NaN in a cell with a nan input (as a float sum would be)."""
    total = split_sums(cell, floats, n_cells).values()
    nan = np.isnan(floats)
    if nan.any():
        total[np.bincount(cell[nan], minlength=n_cells) > 0] = np.nan
    return total


def quantile_level(call: Call) -> float:
    """A quantile's level: its literal parameter (checked by the parser), else the median."""
    if not call.params:
        return 0.5
    param = call.params[0]
    if not isinstance(param, Const):
        raise UnsupportedError(("hogql",), f"{call.name}: the level must be a literal number")
    return float(param.value)


def _distinct_key(v: Any) -> Any:
    """uniq() keys: numbers by value (1 and 1.0 are one value), text by itself."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v
