"""Row selection per kind of math: which rows a series' math reads, and their time buckets.

Most maths read the query's date range ([start of date_from's interval, date_to], §1.6). The
orchestrated maths of PostHog build their own bounds (§4.2–4.4): per-actor counts start at the
raw date_from, weekly/monthly active look back 7/30 days, first-time maths look at every event
up to date_to. Each builder returns a Frame (None when the series' action does not exist).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .context import Frame, RowSource
from .localtime import floor_second_us, shift_days
from .select import Rows

FrameBuilder = Callable[[RowSource], "Frame | None"]
EARLIEST_US = np.iinfo(np.int64).min


def _selected(src: RowSource, lo_us: int, hi_us: int) -> Rows | None:
    """The series' rows in [lo, hi) that pass its filters, as time-ordered blocks."""
    sel = src.selection(lo_us, hi_us)
    if sel is not None and src.needs_mask():
        rows = sel.index()
        if len(sel.blocks) == 1 and isinstance(sel.blocks[0], slice):
            src.ctx.mark_span(rows, sel.blocks[0])  # filters read columns through views
        sel = sel.restrict(src.mask(rows))
    return sel


def _in_axis(src: RowSource, lo_us: int) -> Frame | None:
    """Rows from ``lo_us`` to the axis end, split into bucket runs (rows outside every bucket
    dropped): the runs come from ``searchsorted`` of the bucket edges into each time-ordered
    block, so no per-row bucket array is built unless a math asks for one."""
    axis = src.axis
    sel = _selected(src, lo_us, axis.hi_us)
    if sel is None:
        return None
    sel, runs = sel.bucket_runs(src.ctx.store.ts, axis.edges_us, src.ctx.store)
    return Frame.of_runs(src, sel, runs, axis.n_buckets)


def date_range(src: RowSource) -> Frame | None:
    """Rows in the query's range, bucketed (the default)."""
    return _in_axis(src, src.axis.lo_us)


def raw_date_from(src: RowSource) -> Frame | None:
    """Rows from the raw date_from (not its interval start): the per-actor count maths."""
    return _in_axis(src, max(src.axis.lo_us, floor_second_us(src.axis.range.date_from)))


def look_back(days: int) -> FrameBuilder:
    """Rows from ``days`` before date_from (before date_to on total-value displays) to date_to.

    Rows are not bucketed: the active-users maths assign them to rolling windows."""

    def build(src: RowSource) -> Frame | None:
        r = src.axis.range
        anchor = r.date_to if src.ctx.display.total_value else r.date_from
        lo = floor_second_us(shift_days(anchor, -days))
        sel = _selected(src, lo, src.axis.hi_us)
        if sel is None:
            return None
        return Frame(src.ctx, src.series, src.axis, sel, src.axis.n_buckets, bucket=np.zeros(len(sel), np.int32))

    return build


def first_event(matching: bool) -> FrameBuilder:
    """One row per person whose first event falls in range and passes the filters (§4.4).

    ``first``: min timestamp over every event of the series up to date_to (``matching``: only
    over events passing the filters); the person counts when that equals the min timestamp over
    the in-range, filter-passing events. The counted row is that first event; breakdown values
    come from the person's first event overall (PostHog's argMin over all rows) — or, for
    ``first_matching_event_for_user``, from that first *matching* event (the filters are in the
    WHERE clause the argMin reads)."""

    def build(src: RowSource) -> Frame | None:
        axis, store = src.axis, src.ctx.store
        rows = src.rows(EARLIEST_US, axis.hi_us)
        if rows is None:
            return None
        ts, person = store.ts[rows], store.person[rows].astype(np.int64)
        passes = src.mask(rows)
        order = np.lexsort((ts, person))
        n = max(len(store.persons), 1)
        overall = _first_rows(order, person, np.ones(len(rows), bool))
        basis = _first_rows(order, person, passes) if matching else overall
        in_range = _first_rows(order, person, passes & (ts >= axis.lo_us))
        t_basis = np.full(n, -1, np.int64)
        t_basis[person[basis]] = ts[basis]
        t_range = np.full(n, -2, np.int64)
        t_range[person[in_range]] = ts[in_range]
        kept = basis[t_basis[person[basis]] == t_range[person[basis]]]
        first_overall = np.full(n, -1, np.int64)
        first_overall[person[overall]] = overall
        bucket = axis.bucket_of(ts[kept])
        ok = bucket >= 0
        kept, bucket = kept[ok], bucket[ok]
        breakdown_rows = rows[kept] if matching else rows[first_overall[person[kept]]]
        return Frame.of(src, rows[kept], bucket, axis.n_buckets, breakdown_rows=breakdown_rows)

    return build


def _first_rows(order: np.ndarray, person: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """Index (into the row arrays) of each person's earliest selected row."""
    sub = order[sel[order]]
    if len(sub) == 0:
        return sub
    p = person[sub]
    head = np.ones(len(sub), dtype=bool)
    head[1:] = p[1:] != p[:-1]
    return sub[head]
