"""Per-query context and the Frame: the selected rows of one series with bucket and group ids."""

from __future__ import annotations

import datetime as dt
from typing import Any

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


@attrs.define
class Frame:
    """Rows of one series query after selection and masking.

    ``rows`` index the store (ascending within each event block); ``bucket`` and ``group`` are
    the time bucket and breakdown group of each row. Column reads go through ``take``.
    """

    ctx: QueryContext
    series: Series
    axis: TimeAxis
    rows: np.ndarray
    bucket: np.ndarray
    group: np.ndarray
    n_buckets: int
    n_groups: int

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
        if self.ctx.project.aggregate_users_by_distinct_id:
            return store.distinct_id[self.rows].astype(np.int64), len(store.distinct_ids)
        return store.person[self.rows].astype(np.int64), max(len(store.persons), 1)
