"""Cohort breakdowns (filters.md §6.7): one query per cohort, or rows attributed to every cohort
their person is in."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..query.model import BreakdownItem
from .context import QueryContext
from .grouping import NORMAL, Grouping
from .predicates.cohorts import ALL, _cohort, membership
from .select import RowKey


def cohort_row_mask(ctx: QueryContext, cohort: Any, rows: np.ndarray) -> np.ndarray:
    """Rows whose person is in the breakdown cohort (``"all"``: every row)."""
    if cohort == ALL:
        return np.ones(len(rows), dtype=bool)
    return membership(ctx, cohort, ("breakdown",))[ctx.store.person[rows]]


def cohort_breakdown_value(ctx: QueryContext, cohort: Any) -> tuple[Any, str]:
    """(breakdown_value, label): ``("all", "all users")`` or (the id, the cohort's name)."""
    if cohort == ALL:
        return ALL, "all users"
    c = _cohort(ctx, cohort, ("breakdown",))
    return cohort, c.name if c.name is not None else str(cohort)


def split_per_cohort(item: BreakdownItem) -> bool:
    """One cohort, or a list containing "all": one query per cohort × series (spec §6.7)."""
    cohorts = item.property
    return len(cohorts) == 1 or ALL in cohorts


def cohort_grouping(ctx: QueryContext, item: BreakdownItem, rows: RowKey) -> Grouping:
    """Several cohorts in one query: each row once per cohort its person is in (rows in none are
    dropped); ``take`` repeats rows accordingly. A cohort without rows has no group (upstream
    groups the joined rows, so it gets no result row)."""
    persons = ctx.store.person[rows]
    takes: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    present: list[Any] = []
    for cohort in item.property:
        hit = np.flatnonzero(membership(ctx, cohort, ("breakdown",))[persons])
        if len(hit):
            takes.append(hit)
            codes.append(np.full(len(hit), len(present), dtype=np.int32))
            present.append(cohort)
    take = np.concatenate(takes) if takes else np.zeros(0, dtype=np.int64)
    order = np.argsort(take, kind="stable")
    group = np.concatenate(codes)[order] if codes else np.zeros(0, dtype=np.int32)
    values = tuple(present)
    return Grouping(group, np.arange(len(values)), values, np.full(len(values), NORMAL, dtype=np.int8), take=take[order])


def cohort_label(ctx: QueryContext, cohort: Any) -> str:
    return cohort_breakdown_value(ctx, cohort)[1]
