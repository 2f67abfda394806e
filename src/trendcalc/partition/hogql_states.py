"""The partial state of a ``hogql`` expression math on a partitioned store.

The engine reduces each aggregate call of the expression per cell, then evaluates the
expression around the aggregates (``engine/hogql.py``). Every aggregate it supports decomposes
over rows, so a partition sends, per call, a state over its cells: counts (``count``,
``countIf``), the distinct keys as text (``uniq``), exact sums as integer limbs with the numbers
of values and of nan inputs (``sum``, ``avg``), the minimum/maximum (``min``, ``max``), value
counts (``median``, ``quantile``); plus the rows per cell. The coordinator merges each call's
states, rebuilds the engine's (value, NULL) per cell exactly, and evaluates the expression with
the engine's own ``expression_cells``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from ..engine import cells
from ..engine.exactsum import ExactSums, split_sums
from . import states as st


@attrs.frozen
class CallState:
    """One aggregate call's partial state: its kind (``AGGREGATES[name].kind``), its non-NULL
    inputs per cell (``n``), their nan inputs (``nan``), and the kind's own ``state``."""

    kind: str
    n: np.ndarray
    nan: np.ndarray
    state: Any


@attrs.frozen
class HogqlState:
    """The rows per cell and one CallState per aggregate call (in ``aggregate_calls`` order)."""

    rows: np.ndarray
    calls: tuple[CallState, ...]


def _kind(call: Any) -> str:
    from ..hogql import AGGREGATES

    return AGGREGATES[call.name].kind


def _key_text(v: Any) -> str:
    return f"{type(v).__name__}:{v!r}"


def partial_hogql(frame: Any) -> HogqlState:
    """A partition's HogqlState: each call's inputs reduced to a mergeable state."""
    from ..engine.hogql import aggregate_calls, aggregate_inputs

    n_cells = frame.n_cells
    rows, cell = frame.rows, frame.cell()
    out = []
    for call in aggregate_calls(frame.series.math_expr):
        c, payload = aggregate_inputs(frame.ctx, call, rows, cell) if len(rows) else (cell, None)
        kind = _kind(call)
        if kind == "count":
            counted = c if payload is None else c[payload]
            out.append(CallState(kind, np.bincount(counted, minlength=n_cells), np.zeros(n_cells, np.int64), None))
            continue
        if kind == "uniq":
            ids, keys = payload if payload is not None else (np.zeros(0, np.int64), [])
            texts = np.array([_key_text(k) for k in keys], dtype=object)
            out.append(CallState(kind, np.bincount(c, minlength=n_cells), np.zeros(n_cells, np.int64),
                                 st.key_cells(c, ids, len(keys), texts)))
            continue
        floats = payload if payload is not None else np.zeros(0)
        n = np.bincount(c, minlength=n_cells)
        nan = np.bincount(c[np.isnan(floats)], minlength=n_cells)
        if kind in ("sum", "avg"):
            state: Any = split_sums(c, floats, n_cells).exact()
        elif kind in ("min", "max"):
            state = (cells.minimum if kind == "min" else cells.maximum)(c, floats, n_cells)
        else:
            state = st.value_counts(c, floats)
        out.append(CallState(kind, n, nan, state))
    return HogqlState(np.bincount(cell, minlength=n_cells), tuple(out))


def merge_hogql(states: Sequence[HogqlState], maps: st.Maps, n_groups: int, n_buckets: int) -> HogqlState:
    """Each call's states merged across partitions (counts added, keys united, limbs added,
    min/max taken, value counts added)."""
    n_cells = n_groups * n_buckets
    cells_of = [st.merged_cells(np.arange(len(s.rows)), g, n_buckets) for s, g in zip(states, maps)]

    def added(arrays: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros(n_cells, dtype=np.int64)
        for a, at in zip(arrays, cells_of):
            np.add.at(out, at, a)
        return out

    merged = []
    for i, first in enumerate(states[0].calls):
        parts = [s.calls[i] for s in states]
        n, nan = added([p.n for p in parts]), added([p.nan for p in parts])
        state: Any = None
        if first.kind == "uniq":
            state = st.merge_keys([p.state for p in parts], maps, n_groups, n_buckets)
        elif first.kind in ("sum", "avg"):
            state = ExactSums.empty(n_cells)
            for p, at in zip(parts, cells_of):
                state = state.merge(p.state, at, n_cells)
        elif first.kind in ("min", "max"):
            state = np.full(n_cells, np.nan)
            for p, at in zip(parts, cells_of):
                (np.fmin if first.kind == "min" else np.fmax).at(state, at, p.state)
        elif first.kind == "quantile":
            state = st.merge_value_counts([p.state for p in parts], maps, n_groups, n_buckets)
        merged.append(CallState(first.kind, n, nan, state))
    return HogqlState(added([s.rows for s in states]), tuple(merged))


def finalize_hogql(state: HogqlState, n_groups: int, n_buckets: int, expr: Any) -> np.ndarray:
    """The engine's (value, NULL) per cell of every call from the merged states, then the
    expression with the engine's ``expression_cells``."""
    from ..engine.hogql import aggregate_calls, expression_cells, quantile_level

    n_cells = n_groups * n_buckets
    calls = aggregate_calls(expr)
    per_cell = {}
    for call, cs in zip(calls, state.calls):
        null = cs.n == 0
        if cs.kind == "count":
            per_cell[call] = (cs.n.astype(np.float64), np.zeros(n_cells, dtype=bool))
            continue
        if cs.kind == "uniq":
            ids, n_keys = st.key_ids(cs.state.key)
            per_cell[call] = (cells.count_distinct(cs.state.cell, ids, n_keys, n_cells), np.zeros(n_cells, dtype=bool))
            continue
        if cs.kind in ("sum", "avg"):
            total = cs.state.values()
            total[cs.nan > 0] = np.nan
            if cs.kind == "avg":
                with np.errstate(invalid="ignore", divide="ignore"):
                    total = total / np.maximum(cs.n, 1)
            per_cell[call] = (total, null)
            continue
        if cs.kind in ("min", "max"):
            out = cs.state
        else:
            out = st.raw_quantiles(cs.state, n_cells, quantile_level(call))
        per_cell[call] = (out, null | (out != out))
    if n_cells == 0:
        return np.zeros((n_groups, n_buckets))
    return expression_cells(expr, calls, per_cell, state.rows > 0).reshape(n_groups, n_buckets)
