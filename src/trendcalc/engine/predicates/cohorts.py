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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...errors import UnsupportedError, ValidationError
from ...query.model import BreakdownItem, PropertyGroup
from ...query.properties import parse_group, parse_leaf
from ..breakdown import NORMAL, Grouping
from .properties import PERSON_SOURCES, mask_rows

ALL = "all"
BEHAVIOURAL_GROUP_KEYS = ("action_id", "event_id")


def _cohort(ctx: Any, cohort_id: Any, path: tuple) -> tuple[int, Mapping[str, Any]]:
    """The project's cohort and its index, or ValidationError (unknown or deleted id)."""
    for i, c in enumerate(ctx.project.cohorts):
        if c.get("id") == cohort_id or str(c.get("id")) == str(cohort_id):
            if c.get("deleted"):
                raise ValidationError(path, f"cohort {cohort_id!r} is deleted")
            return i, c
    raise ValidationError(path, f"cohort {cohort_id!r} does not exist in this project")


def membership(ctx: Any, cohort_id: Any, path: tuple = ("cohort",)) -> np.ndarray:
    """Bool per person row: is the person a member of the cohort (computed once per query)."""
    index, cohort = _cohort(ctx, cohort_id, path)
    key = ("cohort_members", index)
    cached = ctx.cache.get(key) if hasattr(ctx, "cache") else None
    if cached is not None:
        if cached is _IN_PROGRESS:
            raise ValidationError(path, f"cohort {cohort_id!r} refers to itself")
        return cached
    ctx.cache[key] = _IN_PROGRESS
    try:
        members = _compute(ctx, index, cohort)
    except BaseException:
        ctx.cache.pop(key, None)
        raise
    ctx.cache[key] = members
    return members


_IN_PROGRESS = np.zeros(0, dtype=bool)


def _compute(ctx: Any, index: int, cohort: Mapping[str, Any]) -> np.ndarray:
    persons = ctx.store.persons
    real = ~persons.synthetic
    path = ("project", "cohorts", index)
    if cohort.get("is_static"):
        return _static_members(ctx, cohort, path) & real
    group = ctx.memo(("cohort_definition", index), lambda: cohort_definition(cohort, path, ctx.limits))
    rows = np.arange(len(persons), dtype=np.int64)
    return mask_rows(ctx, group, rows, PERSON_SOURCES) & real


def _static_members(ctx: Any, cohort: Mapping[str, Any], path: tuple) -> np.ndarray:
    persons = ctx.store.persons
    out = np.zeros(len(persons), dtype=bool)
    dids = cohort.get("distinct_ids") or ()
    pids = cohort.get("person_ids") or cohort.get("persons") or ()
    for name, items in (("distinct_ids", dids), ("person_ids", pids)):
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
            raise ValidationError(path + (name,), "expected a list")
    if dids:
        code = ctx.store.cached(("distinct_id_index",), lambda: {d: i for i, d in enumerate(ctx.store.distinct_ids.tolist())})
        idx = [code[str(d)] for d in dids if str(d) in code]
        out[persons.person_of_distinct_id[np.asarray(idx, dtype=np.int64)]] = True
    if pids:
        row = ctx.store.cached(("person_id_index",), lambda: {str(i): r for r, i in enumerate(persons.ids.tolist()) if i is not None})
        out[np.asarray([row[str(p)] for p in pids if str(p) in row], dtype=np.int64)] = True
    return out


def cohort_definition(cohort: Mapping[str, Any], path: tuple, limits: Any) -> PropertyGroup:
    """The person-property group that defines a dynamic cohort (``filters`` or legacy ``groups``)."""
    filters = cohort.get("filters")
    if isinstance(filters, Mapping) and filters.get("properties") is not None:
        props = filters["properties"]
        if not isinstance(props, Mapping):
            raise ValidationError(path + ("filters", "properties"), "expected an AND/OR property group")
        if not props.get("values"):
            return PropertyGroup("AND", ())
        return parse_group(props, path + ("filters", "properties"), limits, raw=True)
    groups = cohort.get("groups")
    if groups is None:
        raise ValidationError(path, "a dynamic cohort needs `groups` or `filters.properties` (or is_static with distinct_ids)")
    if isinstance(groups, (str, bytes)) or not isinstance(groups, Sequence):
        raise ValidationError(path + ("groups",), "expected a list of groups")
    return PropertyGroup("OR", tuple(_legacy_group(g, path + ("groups", i), limits) for i, g in enumerate(groups)))


def _legacy_group(group: Any, path: tuple, limits: Any) -> PropertyGroup:
    if not isinstance(group, Mapping):
        raise ValidationError(path, "expected a cohort group object")
    if any(group.get(k) is not None for k in BEHAVIOURAL_GROUP_KEYS):
        raise UnsupportedError(path, "behavioural cohort criteria (performed an event / action) are not supported")
    props = group.get("properties")
    if props is None:
        raise ValidationError(path + ("properties",), "a cohort group needs `properties` (behavioural groups are not supported)")
    if isinstance(props, Mapping):  # old style {key: value}: exact person filters
        props = [{"key": k, "value": v, "type": "person"} for k, v in props.items()]
    if isinstance(props, (str, bytes)) or not isinstance(props, Sequence):
        raise ValidationError(path + ("properties",), "expected a list of property filters")
    leaves = []
    for i, p in enumerate(props):
        if not isinstance(p, Mapping):
            raise ValidationError(path + ("properties", i), "expected a property filter object")
        if not p:
            continue
        if p.get("type") in (None, "event", "events"):
            p = {**p, "type": "person"}
        leaf = parse_leaf(p, path + ("properties", i), limits, raw=True)
        if leaf is not None:
            leaves.append(leaf)
    return PropertyGroup("AND", tuple(leaves))


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
    _, c = _cohort(ctx, cohort, ("breakdown",))
    name = c.get("name")
    return cohort, name if isinstance(name, str) else str(cohort)


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
