"""Per-query context and the Frame: the selected rows of one series with bucket and group ids."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import attrs
import numpy as np

from ..filters.model import Series, TrendsFilter
from ..limits import Limits
from ..project import Project
from ..store import EventStore
from .display import DisplayMode
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

    def memo(self, key: Any, build: Any) -> Any:
        """A value computed once per query (e.g. a cohort's membership mask)."""
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]


class RowSource(Protocol):
    """How a math reads its series: candidate rows by time, and the query's filter mask."""

    ctx: QueryContext
    series: Series
    axis: TimeAxis

    def rows(self, lo_us: int, hi_us: int) -> np.ndarray | None:
        """Rows of the series' event(s)/action with lo <= ts < hi, sampled (None: no such action)."""
        ...

    def mask(self, rows: np.ndarray) -> np.ndarray:
        """Test-account, global, series, group-math and cohort filters over ``rows``."""
        ...


@attrs.define
class Frame:
    """Rows of one series query after selection and masking.

    ``rows`` index the store (ascending within each event block); ``bucket`` and ``group`` are
    the time bucket and breakdown group of each row. Column reads go through ``take``.
    ``breakdown_rows`` (default: ``rows``) are the rows breakdown values are read from; the
    first-time maths read them from each person's first event, not the counted one.
    """

    ctx: QueryContext
    series: Series
    axis: TimeAxis
    rows: np.ndarray
    bucket: np.ndarray
    group: np.ndarray
    n_buckets: int
    n_groups: int
    breakdown_rows: np.ndarray | None = None

    @classmethod
    def of(cls, src: RowSource, rows: np.ndarray, bucket: np.ndarray, n_buckets: int, **kw: Any) -> Frame:
        """A frame of one (not yet grouped) group."""
        return cls(src.ctx, src.series, src.axis, rows, bucket, np.zeros(len(rows), np.int32), n_buckets, 1, **kw)

    @property
    def n_cells(self) -> int:
        return self.n_groups * self.n_buckets

    @property
    def store(self) -> EventStore:
        return self.ctx.store

    def take(self, column: np.ndarray) -> np.ndarray:
        return column[self.rows]

    def ts(self) -> np.ndarray:
        return self.store.ts[self.rows]

    def cell(self) -> np.ndarray:
        """Flat (group, bucket) cell id per row."""
        return self.group.astype(np.int64) * self.n_buckets + self.bucket

    def actors(self) -> tuple[np.ndarray, int]:
        """Actor id per row and the number of possible actors: persons by default, distinct_ids
        with aggregate_users_by_distinct_id, group rows when the series aggregates groups."""
        s, store = self.series, self.store
        gti = s.math_group_type_index
        if gti is None and self.ctx.filter.aggregation_group_type_index is not None:
            gti = self.ctx.filter.aggregation_group_type_index
        if gti is not None and s.math in ("dau", "unique_group", "weekly_active", "monthly_active"):
            col = store.column(f"$group_{gti}")
            if col is None:
                return np.zeros(len(self.rows), np.int64), 1
            return col.codes[self.rows].astype(np.int64), len(col.dictionary) + 1
        return self.person_actors()

    def person_actors(self) -> tuple[np.ndarray, int]:
        """Persons (distinct_ids with aggregate_users_by_distinct_id) per row, and how many exist."""
        store = self.store
        if self.ctx.project.aggregate_users_by_distinct_id:
            return store.distinct_id[self.rows].astype(np.int64), max(len(store.distinct_ids), 1)
        return store.person[self.rows].astype(np.int64), max(len(store.persons), 1)
