"""Filters every series of a query shares (test accounts, the global ``properties``), evaluated
once per store row per query run instead of once per series.

Why: a query of 200 series with 10,000 test-account filters evaluated 2,000,000 leaves (two
minutes on 500 events); the filters are the same for every series, and a row passes them or not
whatever series reads it. So the AND of the shared groups is evaluated over store rows once and
kept per event name as a row interval with its mask (the store is ordered by event, then time, so
the rows a series reads within one event name lie in one interval). A series' mask is then a
slice (one event, one contiguous block) or a gather of the kept masks.

When a series asks for rows that are not covered yet, the rows of every planned query *of the same
kind* (same time axis and same math row window, see ``register_plan``) are covered in the same
evaluation, over the requesting window: 200 series over 200 different events cost one evaluation,
not 200. Coverage only grows (new rows are evaluated, covered rows never again).

The answer cannot change: AND is per row, and every leaf's value at a row depends on that row
only (its event, person, group, session or element chain).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from ..query.model import PropertyGroup
from .context import QueryContext
from .cost import series_codes, shared_group
from .math import effective_series, math_type
from .plan import Query
from .predicates.properties import mask_rows

PLAN_KEY = ("shared_filters", "plan")


def query_kind(ctx: QueryContext, q: Query) -> Hashable:
    """Queries of one kind read the same time window: same axis, same math row selection."""
    s = effective_series(q.series, ctx.filter.interval)
    return (q.axis.lo_us, q.axis.hi_us, id(math_type(s.math).frame))


def register_plan(ctx: QueryContext, queries: Sequence[Query]) -> None:
    """Tell the shared filters which queries will run, so one evaluation covers them all."""
    ctx.cache[PLAN_KEY] = list(queries)


class SharedFilters:
    """The shared filters' mask over covered store rows: per event code ``c`` the rows
    ``lo[c] <= row < hi[c]``, flattened (``flat[row - base[c]]``)."""

    def __init__(self, ctx: QueryContext, group: PropertyGroup):
        self.ctx = ctx
        self.group = group
        n = len(ctx.store.event_names)
        self.lo = np.zeros(n, dtype=np.int64)
        self.hi = np.zeros(n, dtype=np.int64)
        self.parts: dict[int, np.ndarray] = {}
        self.flat = np.zeros(0, dtype=bool)
        self.base = np.zeros(n, dtype=np.int64)
        self.evaluations = 0  # how many times the filters were evaluated (tests read it)

    # --- the mask of a series' rows ---------------------------------------------------------------
    def mask(self, q: Query, rows: np.ndarray, window: tuple[int, int] | None) -> np.ndarray:
        """The shared filters at ``rows`` (event rows of ``q``'s series)."""
        if not len(rows):
            return mask_rows(self.ctx, self.group, rows)  # nothing to cover; errors raise as before
        store = self.ctx.store
        span = self.ctx.cache.get("row_span")
        if span is not None and span[0] is rows:  # one contiguous block of one event
            a, b = span[1].start, span[1].stop
            c = int(store.event[a])
            if not (self.lo[c] <= a and b <= self.hi[c]):
                self._cover(q, {c: (a, b)}, window)
            start = a - int(self.base[c])
            return self.flat[start:start + (b - a)]
        codes = store.event[rows].astype(np.int64)
        covered = (rows >= self.lo[codes]) & (rows < self.hi[codes])
        if not covered.all():
            miss_codes, miss_rows = codes[~covered], rows[~covered]
            first = np.full(len(self.lo), np.iinfo(np.int64).max, dtype=np.int64)
            last = np.full(len(self.lo), -1, dtype=np.int64)
            np.minimum.at(first, miss_codes, miss_rows)
            np.maximum.at(last, miss_codes, miss_rows)
            missing = np.flatnonzero(last >= 0).tolist()
            self._cover(q, {c: (int(first[c]), int(last[c]) + 1) for c in missing}, window)
        return self.flat[rows - self.base[codes]]

    # --- coverage -----------------------------------------------------------------------------------
    def _cover(self, q: Query, need: dict[int, tuple[int, int]], window: tuple[int, int] | None) -> None:
        """Extend coverage to ``need`` (code → row interval), and to the window of every planned
        query of ``q``'s kind; evaluate the filters once over all new rows."""
        ctx, store = self.ctx, self.ctx.store
        want = dict(need)
        planned = ctx.cache.get(PLAN_KEY)
        if planned and window is not None:
            kind = query_kind(ctx, q)
            codes: set[int] = set()
            for other in planned:
                if query_kind(ctx, other) == kind:
                    codes.update(series_codes(ctx, other.series).tolist())
            for c in codes:
                s = store.event_slice(c, window[0], window[1])
                if s.stop > s.start:
                    a, b = want.get(c, (s.start, s.stop))
                    want[c] = (min(a, s.start), max(b, s.stop))
        pieces: list[tuple[int, int, int]] = []  # (code, a, b) of rows not covered yet
        for c, (a, b) in sorted(want.items()):
            lo, hi = int(self.lo[c]), int(self.hi[c])
            if lo == hi:  # nothing covered yet for this code
                pieces.append((c, a, b))
                continue
            a, b = min(a, lo), max(b, hi)
            if a < lo:
                pieces.append((c, a, lo))
            if b > hi:
                pieces.append((c, hi, b))
        if not pieces:
            return
        rows = np.concatenate([np.arange(a, b, dtype=np.int64) for _, a, b in pieces])
        held = ctx.cache.pop("row_span", None)  # the series' own span mark, kept for its filters
        try:
            m = mask_rows(ctx, self.group, rows)
        finally:
            if held is not None:
                ctx.cache["row_span"] = held
        self.evaluations += 1
        pos = 0
        for c, a, b in pieces:
            part, pos = m[pos:pos + (b - a)], pos + (b - a)
            lo, hi = int(self.lo[c]), int(self.hi[c])
            if lo == hi:
                self.parts[c], self.lo[c], self.hi[c] = part, a, b
            elif b == lo:
                self.parts[c], self.lo[c] = np.concatenate([part, self.parts[c]]), a
            else:
                self.parts[c], self.hi[c] = np.concatenate([self.parts[c], part]), b
        order = sorted(self.parts)
        self.flat = np.concatenate([self.parts[c] for c in order]) if order else np.zeros(0, dtype=bool)
        self.flat.flags.writeable = False  # series masks may be views of it
        start = 0
        for c in order:
            self.base[c] = int(self.lo[c]) - start
            start += len(self.parts[c])


def shared_filters(ctx: QueryContext) -> SharedFilters | None:
    """The query run's shared filters (None when the query has none)."""
    group = shared_group(ctx)
    if group is None:
        return None
    return ctx.memo(("shared_filters",), lambda: SharedFilters(ctx, group))


__all__ = ["SharedFilters", "register_plan", "shared_filters"]
