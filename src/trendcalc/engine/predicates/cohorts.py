"""Cohorts: membership per person row, cohort filters, and cohort breakdowns (filters.md §6).

Membership is computed once per query (``ctx.memo``) against the store at the query's ``now``
(upstream reads the last precomputed version; this is the only consistent choice in process):

- static cohorts (``is_static``): the persons listed by ``distinct_ids`` and/or ``person_ids``;
- dynamic cohorts: ``filters: {"properties": <nested AND/OR group>}`` of person and cohort
  filters, or the legacy ``groups`` list (groups OR-ed, each an AND of its ``properties``; leaves
  without a type or typed ``event`` are person filters; a ``{key: value}`` dict is exact filters).

Only real persons are members: events of distinct_ids without a person row are never "in" a
cohort and always "not in" it. Behavioural criteria raise UnsupportedError.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ValidationError
from ...query.cohorts import Cohort
from ...query.model import BreakdownItem
from ..breakdown import NORMAL, Grouping
from .properties import PERSON_SOURCES, mask_rows

ALL = "all"


def _cohort(ctx: Any, cohort_id: Any, path: tuple) -> Cohort:
    """The project's parsed cohort, or ValidationError (unknown, deleted, or a definition that did
    not parse: PostHog fails only when a broken cohort is used)."""
    cohort = ctx.project.cohort(cohort_id)
    if cohort is None:
        raise ValidationError(path, f"cohort {cohort_id!r} does not exist in this project")
    if cohort.deleted:
        raise ValidationError(path, f"cohort {cohort_id!r} is deleted")
    if cohort.error is not None:
        raise cohort.error
    return cohort


def membership(ctx: Any, cohort_id: Any, path: tuple = ("cohort",)) -> np.ndarray:
    """Bool per person row: is the person a member of the cohort (computed once per query).

    The cohorts a definition reads are computed first, in dependency order and without
    recursion, so a long chain of cohorts over cohorts costs no stack; a cycle is an error."""
    cohort = _cohort(ctx, cohort_id, path)
    key = ("cohort_members", cohort.index)
    cached = ctx.cache.get(key)
    if cached is None:
        for dep in _dependency_order(ctx, cohort):
            ctx.cache[("cohort_members", dep.index)] = _compute(ctx, dep)
        cached = ctx.cache[key]
    return cached


def _dependency_order(ctx: Any, root: Cohort) -> list[Cohort]:
    """Not-yet-computed cohorts reachable from ``root`` (itself included), dependencies first.
    Unknown, deleted or broken dependencies are left to the leaf that reads them (its path)."""
    order: list[Cohort] = []
    state: dict[int, str] = {}
    stack: list[tuple[Cohort, bool]] = [(root, False)]
    while stack:
        cohort, expanded = stack.pop()
        if expanded:
            state[cohort.index] = "done"
            order.append(cohort)
            continue
        if state.get(cohort.index) == "done" or ("cohort_members", cohort.index) in ctx.cache:
            continue
        state[cohort.index] = "open"
        stack.append((cohort, True))
        for ref in cohort.referenced_cohorts():
            dep = ctx.project.cohort(ref)
            if dep is None or dep.deleted or dep.error is not None:
                continue
            if state.get(dep.index) == "open":
                raise ValidationError(dep.path, f"cohort {dep.id!r} refers to itself (through cohort {cohort.id!r})")
            stack.append((dep, False))
    return order


def _compute(ctx: Any, cohort: Cohort) -> np.ndarray:
    persons = ctx.store.persons
    real = ~persons.synthetic
    if cohort.static:
        return _static_members(ctx, cohort) & real
    rows = np.arange(len(persons), dtype=np.int64)
    assert cohort.definition is not None  # a dynamic cohort without one kept its error
    return mask_rows(ctx, cohort.definition, rows, PERSON_SOURCES) & real


def _static_members(ctx: Any, cohort: Cohort) -> np.ndarray:
    persons = ctx.store.persons
    out = np.zeros(len(persons), dtype=bool)
    if cohort.distinct_ids:
        code = ctx.store.cached(("distinct_id_index",), lambda: {d: i for i, d in enumerate(ctx.store.distinct_ids.tolist())})
        idx = [code[d] for d in cohort.distinct_ids if d in code]
        out[persons.person_of_distinct_id[np.asarray(idx, dtype=np.int64)]] = True
    if cohort.person_ids:
        row = ctx.store.cached(("person_id_index",), lambda: {str(i): r for r, i in enumerate(persons.ids.tolist()) if i is not None})
        out[np.asarray([row[p] for p in cohort.person_ids if p in row], dtype=np.int64)] = True
    return out


# --- cohort breakdowns ------------------------------------------------------------------------------


def cohort_row_mask(ctx: Any, cohort: Any, rows: np.ndarray) -> np.ndarray:
    """Rows whose person is in the breakdown cohort (``"all"``: every row)."""
    if cohort == ALL:
        return np.ones(len(rows), dtype=bool)
    return membership(ctx, cohort, ("breakdown",))[ctx.store.person[rows]]


def cohort_breakdown_value(ctx: Any, cohort: Any) -> tuple[Any, str]:
    """(breakdown_value, label): ``("all", "all users")`` or (the id, the cohort's name)."""
    if cohort == ALL:
        return ALL, "all users"
    c = _cohort(ctx, cohort, ("breakdown",))
    return cohort, c.name if c.name is not None else str(cohort)


def split_per_cohort(item: BreakdownItem) -> bool:
    """One cohort, or a list containing "all": one query per cohort × series (spec §6.7)."""
    cohorts = item.property
    return len(cohorts) == 1 or ALL in cohorts


def cohort_grouping(ctx: Any, item: BreakdownItem, rows: np.ndarray) -> Grouping:
    """Several cohorts in one query: each row once per cohort its person is in (rows in none are
    dropped); ``take`` repeats rows accordingly. A cohort without rows has no group (upstream
    groups the joined rows, so it gets no result row)."""
    persons = ctx.store.person[rows]
    takes, codes, present = [], [], []
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


def cohort_label(ctx: Any, cohort: Any) -> str:
    return cohort_breakdown_value(ctx, cohort)[1]
