"""Per-query context and the Frame: the selected rows of one series with bucket and group ids."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import attrs
import numpy as np

from ..limits import Limits
from ..project import Project
from ..query.displays import DisplayMode
from ..query.maths import MATH_SPECS
from ..query.model import Series, TrendsFilter
from ..store import EventStore
from . import cells
from .grouping import Grouping
from .property_types import with_inferred_types
from .select import Rows
from .timeaxis import TimeAxis


@attrs.define
class QueryContext:
    """Everything fixed for one ``trends()`` call."""

    store: EventStore
    filter: TrendsFilter
    project: Project
    now: dt.datetime
    limits: Limits
    display: DisplayMode
    cache: dict[Any, Any] = attrs.Factory(dict)
    given: dict[Any, Any] = attrs.Factory(dict)
    """Facts over the whole data set that replace what this store alone would give, computed by
    an earlier phase of a partitioned run (``partition/phases.py``): ``"earliest_us"`` (date_from
    "all", None when no event matches), ``"first_event_us"`` (stickiness' "all"), and
    ``("histogram_bounds", item)`` (a histogram breakdown's numeric (min, max) over the query's
    rows), ``"person_rows"`` (this partition's persons' rows in the whole store), ``"sessions"``
    (the session table with the global facts of sessions spanning partitions). Empty for a
    single store."""

    def __attrs_post_init__(self) -> None:
        self.project = with_inferred_types(self.project, self.store)  # (engine/property_types.py)

    def person_ids(self) -> list[str]:
        """The id text of every person row: its id, else ``person:<row>`` — with the row of the
        whole store when this store is one partition of it (``given["person_rows"]``)."""

        def build() -> list[str]:
            ids = self.store.persons.ids.tolist()
            if "person_rows" not in self.given:
                return [str(i) if i is not None else f"person:{k}" for k, i in enumerate(ids)]
            rows = self.given["person_rows"]
            if rows is None and any(i is None for i in ids):
                from ..errors import UnsupportedError

                raise UnsupportedError(("store",), "a person without an id is named by its row in the whole store, "
                                                   "which this partition was written without")
            return [str(i) if i is not None else f"person:{int(rows[k])}" for k, i in enumerate(ids)]

        return self.memo(("person_ids",), build)

    def sessions(self) -> Any:
        """The store's session table (``store/sessions.py``) — or, when this store is one
        partition, the one whose sessions spanning partitions read their global facts
        (``given["sessions"]``, ``partition/sessions.py``)."""
        if "sessions" in self.given:
            return self.given["sessions"]
        from ..store.sessions import session_table

        return session_table(self.store)

    def memo(self, key: Any, build: Callable[[], Any]) -> Any:
        """A value computed once per query (e.g. a cohort's membership mask)."""
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]

    def at_rows(self, column: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``column[rows]``: a view, not a gather, when ``rows`` is the index of the one slice
        being filtered (``mark_span``)."""
        span = self.cache.get("row_span")
        if span is not None and span[0] is rows:
            return column[span[1]]
        return column[rows]

    def mark_span(self, rows: np.ndarray, span: slice) -> None:
        """Declare ``rows`` (this very array) to be ``arange(span.start, span.stop)``."""
        self.cache["row_span"] = (rows, span)


class RowSource(Protocol):
    """How a math reads its series: candidate rows by time, and the query's filter mask."""

    @property
    def ctx(self) -> QueryContext:
        """The query the series belongs to."""
        ...

    @property
    def series(self) -> Series:
        """The series whose rows are read."""
        ...

    @property
    def axis(self) -> TimeAxis:
        """The time axis the rows are bucketed on."""
        ...

    def rows(self, lo_us: int, hi_us: int) -> np.ndarray | None:
        """Rows of the series' event(s)/action with lo <= ts < hi, sampled (None: no such action)."""
        ...

    def selection(self, lo_us: int, hi_us: int) -> Rows | None:
        """The same rows as time-ordered blocks (slices while nothing was dropped)."""
        ...

    def needs_mask(self) -> bool:
        """False when ``mask`` would keep every row (no filters apply)."""
        ...

    def mask(self, rows: np.ndarray) -> np.ndarray:
        """Test-account, global, series, group-math and cohort filters over ``rows``."""
        ...


class Frame:
    """Rows of one series query after selection and masking.

    ``selection`` holds the rows as blocks of the store in time order: slices while no mask has
    dropped rows, so ``take(column)`` is a view for a single block. ``rows`` is the same rows as
    an index array (materialised on first use). ``bucket`` and ``group`` are the time bucket and
    breakdown group per row; when the frame has bucket ``runs`` (each block's rows split by
    bucket with ``searchsorted``) the per-row bucket array is derived only if a math asks for it,
    and counts and distinct counts are taken per run. ``breakdown_rows`` (default: ``rows``) are
    the rows breakdown values are read from; the first-time maths read them from each person's
    first event, not the counted one.
    """

    def __init__(
        self,
        ctx: QueryContext,
        series: Series,
        axis: TimeAxis,
        selection: Rows,
        n_buckets: int,
        *,
        bucket: np.ndarray | None = None,
        runs: Sequence[np.ndarray] | None = None,
        breakdown_rows: np.ndarray | None = None,
    ):
        if bucket is None and runs is None:
            raise ValueError("a Frame needs per-row buckets or bucket runs")
        self.ctx = ctx
        self.series = series
        self.axis = axis
        self.selection = selection
        self.n_buckets = n_buckets
        self.n_groups = 1
        self.runs = runs
        self.breakdown_rows = breakdown_rows
        self._bucket = bucket
        self._group: np.ndarray | None = None
        self._grouping: Grouping | None = None  # row codes gathered on demand
        self._cache: dict[str, Any] = {}

    @classmethod
    def of(cls, src: RowSource, rows: np.ndarray, bucket: np.ndarray, n_buckets: int, **kw: Any) -> Frame:
        """A frame of one (not yet grouped) group over explicit rows and buckets."""
        return cls(src.ctx, src.series, src.axis, Rows([rows]), n_buckets, bucket=bucket, **kw)

    @classmethod
    def of_runs(cls, src: RowSource, selection: Rows, runs: Sequence[np.ndarray], n_buckets: int) -> Frame:
        """A frame whose rows are time-ordered blocks split into bucket runs."""
        return cls(src.ctx, src.series, src.axis, selection, n_buckets, runs=runs)

    # --- rows, buckets, groups ------------------------------------------------------------------
    @property
    def rows(self) -> np.ndarray:
        """Row indices (int64), blocks concatenated."""
        return self.selection.index()

    @property
    def row_key(self) -> slice | np.ndarray:
        """What to index store columns with: a slice for one unmasked block (a view), else rows."""
        return self.selection.key

    @property
    def n_rows(self) -> int:
        return len(self.selection)

    @property
    def n_cells(self) -> int:
        return self.n_groups * self.n_buckets

    @property
    def store(self) -> EventStore:
        return self.ctx.store

    @property
    def bucket(self) -> np.ndarray:
        """Bucket index per row (int32)."""
        if self._bucket is None:
            b = np.arange(self.n_buckets, dtype=np.int32)
            parts = [np.repeat(b, np.diff(r)) for r in self.runs or ()]
            self._bucket = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        return self._bucket

    @bucket.setter
    def bucket(self, value: np.ndarray) -> None:
        self._bucket, self.runs = value, None
        self._cache.clear()

    @property
    def group(self) -> np.ndarray:
        """Breakdown group per row (all 0 before grouping)."""
        if self._group is None and self._grouping is not None:
            self._group = self._grouping.row_codes()
        if self._group is None:
            return np.zeros(self.n_rows, dtype=np.int32)
        return self._group

    @group.setter
    def group(self, value: np.ndarray) -> None:
        self._group, self._grouping = value, None
        self._cache.clear()

    def repeat_rows(self, take: np.ndarray) -> None:
        """Re-select the rows at positions ``take`` (a row may repeat: a person in several
        cohorts counts in each); buckets and breakdown rows follow, bucket runs are dropped."""
        bucket = self.bucket[take]
        self.selection = Rows([self.rows[take]])
        self._bucket, self.runs = bucket, None
        if self.breakdown_rows is not None:
            self.breakdown_rows = self.breakdown_rows[take]
        self._group = self._grouping = None
        self._cache.clear()

    def subset(self, positions: np.ndarray, group: np.ndarray, n_groups: int) -> Frame:
        """A frame of the rows at ``positions`` (in that order) with their own group ids
        ``0..n_groups-1``: one block of a breakdown evaluated in parts (engine/blockwise.py)."""
        sub = Frame(self.ctx, self.series, self.axis, Rows([self.rows[positions]]), self.n_buckets,
                    bucket=self.bucket[positions],
                    breakdown_rows=None if self.breakdown_rows is None else self.breakdown_rows[positions])
        sub.group = group
        sub.n_groups = n_groups
        return sub

    def set_grouping(self, grouping: Grouping) -> None:
        """Group the rows by a breakdown ``Grouping`` (its row codes are read lazily, and the
        rows per cell it may have counted are reused)."""
        self._group, self._grouping = None, grouping
        self.n_groups = grouping.n_fine
        self._cache.clear()
        if grouping.cell_counts is not None:
            self._cache["count"] = grouping.cell_counts

    @property
    def grouped(self) -> bool:
        return self._group is not None or self._grouping is not None

    def take(self, column: np.ndarray) -> np.ndarray:
        """``column`` at the frame's rows (a view when the rows are one slice)."""
        return self.selection.take(column)

    def ts(self) -> np.ndarray:
        return self.take(self.store.ts)

    def cell_bounds(self) -> np.ndarray | None:
        """``bounds`` with cell k's rows at ``bounds[k]:bounds[k+1]``, when the frame is one
        time-ordered block of one group (its bucket runs are its cells); else None."""
        if self.runs is not None and len(self.runs) == 1 and not self.grouped and self.n_groups == 1:
            return self.runs[0]
        return None

    def cell(self) -> np.ndarray:
        """Flat (group, bucket) cell id per row (int64)."""
        if "cell" not in self._cache:
            b = self.bucket.astype(np.int64)
            self._cache["cell"] = self.group.astype(np.int64) * self.n_buckets + b if self.grouped else b
        return self._cache["cell"]

    # --- reductions that use the bucket runs when there are any ----------------------------------
    def count_per_cell(self) -> np.ndarray:
        """Rows per (group, bucket) cell, flat (float64)."""
        if "count" not in self._cache:
            if self.runs is not None and not self.grouped:
                out = cells.count_runs(self.runs, self.n_buckets)
            elif self.runs is not None:
                out = cells.count_grouped_runs(self.group, self.runs, self.n_groups, self.n_buckets)
            else:
                out = cells.count(self.cell(), self.n_cells)
            self._cache["count"] = out
        return self._cache["count"]

    def distinct_per_cell(self, key: np.ndarray, n_keys: int) -> np.ndarray:
        """Distinct ``key`` values (aligned with the rows, 0 <= key < n_keys) per cell, flat."""
        if self.runs is not None and not self.grouped:
            return cells.count_distinct_runs(key, self.runs, n_keys, self.n_buckets, threads=self.ctx.limits.threads)
        return cells.count_distinct(self.cell(), key, n_keys, self.n_cells)

    def actors(self) -> tuple[np.ndarray, int]:
        """Actor id per row and the number of possible actors: persons by default, distinct_ids
        with aggregate_users_by_distinct_id, group keys (code + 1) when the series aggregates
        groups."""
        s, store = self.series, self.store
        gti = s.math_group_type_index
        if gti is None and self.ctx.filter.aggregation_group_type_index is not None:
            gti = self.ctx.filter.aggregation_group_type_index
        if gti is not None and MATH_SPECS[s.math].counts_groups:
            col = store.column(f"$group_{gti}")
            if col is None:
                return np.zeros(self.n_rows, np.int64), 1
            return self.take(col.codes).astype(np.int64) + 1, len(col.dictionary) + 1
        return self.person_actors()

    def person_actors(self) -> tuple[np.ndarray, int]:
        """Persons (distinct_ids with aggregate_users_by_distinct_id) per row, and how many exist."""
        store = self.store
        if self.ctx.project.aggregate_users_by_distinct_id:
            return self.take(store.distinct_id), max(len(store.distinct_ids), 1)
        return self.take(store.person), max(len(store.persons), 1)
