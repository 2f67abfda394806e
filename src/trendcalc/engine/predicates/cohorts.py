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
from ...query.model import PropertyFilter
from ..context import QueryContext
from .properties import PERSON_SOURCES, SOURCES, mask_rows

ALL = "all"


def _cohort(ctx: QueryContext, cohort_id: Any, path: tuple) -> Cohort:
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


def membership(ctx: QueryContext, cohort_id: Any, path: tuple = ("cohort",)) -> np.ndarray:
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


def _dependency_order(ctx: QueryContext, root: Cohort) -> list[Cohort]:
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


def _compute(ctx: QueryContext, cohort: Cohort) -> np.ndarray:
    persons = ctx.store.persons
    real = ~persons.synthetic
    if cohort.static:
        return _static_members(ctx, cohort) & real
    rows = np.arange(len(persons), dtype=np.int64)
    assert cohort.definition is not None  # a dynamic cohort without one kept its error
    return mask_rows(ctx, cohort.definition, rows, PERSON_SOURCES) & real


def _static_members(ctx: QueryContext, cohort: Cohort) -> np.ndarray:
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


# --- cohort leaves (registered in the property sources) ----------------------------------------


def _cohort_source(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    """A ``type: cohort`` leaf over event rows: the row's person is (not) in the cohort."""
    member = membership(ctx, leaf.value, leaf.path + ("value",))[ctx.store.person[rows]]
    return ~member if leaf.operator == "not_in" else member


def _person_scope_cohort(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    """A ``type: cohort`` leaf over person rows (inside a cohort definition)."""
    member = membership(ctx, leaf.value, leaf.path + ("value",))[rows]
    return ~member if leaf.operator == "not_in" else member


SOURCES["cohort"] = _cohort_source
PERSON_SOURCES["cohort"] = _person_scope_cohort
