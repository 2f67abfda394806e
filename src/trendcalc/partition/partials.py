"""The worker side: one partition's answer to every query of a Trends filter, before shaping.

Each partition runs the engine's own pipeline (plan → frame → breakdown grouping → math) up to
the per-cell values, without ranking, top-N or Other; ``run.py`` merges them. This module is
what ``"processes"`` and Dask workers import.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import numpy as np

from ..engine import breakdown as bd
from ..engine.context import QueryContext
from ..engine.math import effective_series, first_seen, math_type
from ..engine.trends import build_frame, plan_queries
from ..errors import UnsupportedError
from ..limits import Limits
from ..project import Project
from ..query.displays import DISPLAYS
from ..query.model import TrendsFilter
from ..store import EventStore
from .merge import merge_of
from .messages import array_of, reduces_with


def context(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits) -> Any:
    """The engine's QueryContext of a query over ``store``."""
    return QueryContext(store, filt, project, now, limits, DISPLAYS[filt.display])


_EMPTY: list[EventStore] = []


def empty_store() -> EventStore:
    """The store the coordinator's QueryContexts read: none (planning and shaping read no rows)."""
    if not _EMPTY:
        _EMPTY.append(EventStore.from_records([]))
    return _EMPTY[0]


@attrs.frozen
class Partial:
    """One partition's answer to one query before shaping: its math's partial state over the
    (breakdown value, bucket) cells — the cell values for additive maths, else the state of
    the math's ``merge.MathMerge`` entry.

    ``values`` is None when the series does not exist in this partition; ``groups``/``kinds`` are
    the breakdown values and their classes (None without a breakdown grouping) — for a
    non-additive math over a histogram, the fine groups before binning (``fine_group_keys``:
    numbers, None where not a number, beside the other items' labels), which the coordinator
    merges and then folds into the bins (``run.fold_histogram``)."""

    values: Any
    groups: tuple[Any, ...] | None = None
    kinds: np.ndarray | None = None
    has_rows: bool = False


def partial_of(data: bytes, dtype: str, shape: tuple[int, ...], groups: tuple[Any, ...] | None,
               kinds: np.ndarray | None, has_rows: bool) -> Partial:
    """A Partial whose values array travelled as its bytes (``_reduce_partial``)."""
    return Partial(array_of(data, dtype, shape), groups, kinds, has_rows)


def _reduce_partial(p: Partial) -> Any:
    """How a pool worker's answer pickles a Partial: values of numbers inline as their bytes
    (one call to rebuild it, not one for the Partial and one for its array: a DAU answer is
    a few Partials, on the critical path of every pool query), else by its fields."""
    v = p.values
    if type(v) is np.ndarray and v.dtype.kind in "biuf" and v.flags.c_contiguous:
        return partial_of, (v.tobytes(), v.dtype.str, v.shape, p.groups, p.kinds, p.has_rows)
    return Partial, (v, p.groups, p.kinds, p.has_rows)


reduces_with(Partial, _reduce_partial)


def partial_answers(store: EventStore, filt: TrendsFilter, project: Project, now: dt.datetime,
                    limits: Limits, given: Any = None) -> list[Partial]:
    """Every query's Partial over one partition (the engine's run_query up to the cell values).
    ``given``: the first phases' global values (``phases.Given``), if any."""
    ctx = context(store, filt, project, now, limits)
    if given is not None:
        given.apply(ctx)
    out = []
    for i, q in enumerate(plan_queries(ctx)):
        if given is not None:
            given.apply_query(ctx, i)
        out.append(_partial_query(ctx, q))
    return out


def _partial_query(ctx: Any, q: Any) -> Partial:
    series = effective_series(q.series, ctx.filter.interval)
    if series is not q.series:
        q = attrs.evolve(q, series=series)
    math = math_type(series.math)
    first = ctx.display.cumulative and math.new_actors_cumulative
    entry = merge_of(series, ctx.filter, first)
    if entry is None:  # check_partitionable refused it before any partition ran
        raise UnsupportedError(series.path + ("math",), f"math {series.math!r} is not supported on a partitioned store")
    frame = build_frame(ctx, q)
    if frame is None:
        return Partial(None)  # the series does not exist (a missing action): in no partition
    grouping = None
    if ctx.filter.breakdown is not None and q.cohort is None:
        if frame.breakdown_rows is None:
            grouping = bd.group_rows(ctx, ctx.filter.breakdown, frame.row_key, frame.runs)
        else:
            grouping = bd.group_rows(ctx, ctx.filter.breakdown, frame.breakdown_rows)
        if grouping.take is not None:
            frame.repeat_rows(grouping.take)
        frame.set_grouping(grouping)
    if entry.partial is not None:
        state = entry.partial(frame)  # (per fine group: a histogram's numbers)
        if grouping is not None and grouping.fine_keys is not None:  # (merged by number, then binned)
            keys = fine_group_keys(grouping.fine_keys, ctx.filter.breakdown.multi)
            return Partial(state, keys, np.zeros(len(keys), dtype=np.int8), frame.n_rows > 0)
        if grouping is not None and not _one_to_one(grouping):  # check_partitionable refused it before any ran
            raise UnsupportedError(("breakdown",), f"math {series.math!r} over a folded breakdown is not supported "
                                                   "on a partitioned store")
    else:
        compute = first_seen if first else math.compute
        state = np.asarray(compute(frame), dtype=np.float64)
        state = grouping.fold(state) if grouping is not None else state
    if grouping is None:
        return Partial(state, has_rows=frame.n_rows > 0)
    return Partial(state, tuple(grouping.values), np.asarray(grouping.kinds), frame.n_rows > 0)


def fine_group_keys(columns: tuple[np.ndarray, ...], multi: bool) -> tuple[Any, ...]:
    """Each fine group of a histogram breakdown as the coordinator merges it: its number (None:
    not a number) for one histogram, else the tuple of its items' numbers and labels."""
    cols = [[None if x != x else x for x in c.tolist()] if c.dtype.kind == "f" else c.tolist() for c in columns]
    return tuple(cols[0]) if len(cols) == 1 and not multi else tuple(zip(*cols))


def _one_to_one(grouping: Any) -> bool:
    """Whether every fine group is its own final group (all but histogram bins)."""
    f = grouping.fine_to_final
    return len(f) == len(grouping.values) and bool(np.array_equal(f, np.arange(len(f))))
