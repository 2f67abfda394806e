"""The ActorsQuery columns: one registry entry per column (value and sort key), and ordering."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ...errors import UnsupportedError, ValidationError, brief
from ...query.actors_request import ActorsRequest
from ...query.suggest import suggest
from ...store.tables import NO_TIME
from .actor_set import ActorSet, _iso_local

# --- columns -----------------------------------------------------------------------------------


@attrs.frozen
class Column:
    """One selectable column. ``table``: read from the persons/groups table, so selecting (or
    ordering by) it joins that table and drops actors without a row there, as PostHog's INNER
    JOIN does; the other columns come from the actors' events alone."""

    name: str
    value: Callable[[ActorSet, np.ndarray], list[Any]]
    sort: Callable[[ActorSet], tuple[np.ndarray, np.ndarray]] | None
    table: bool = False
    strategies: tuple[str, ...] = ("person", "group")
    doc: str = ""


@attrs.frozen
class OrderTerm:
    column: str
    descending: bool
    key: Callable[[ActorSet], tuple[np.ndarray, np.ndarray]]  # (is NULL, sort value) per actor
    table: bool


# --- column registry ---------------------------------------------------------------------------


def _count_key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(len(a), bool), a.count


def _id_key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(len(a), bool), a.id_rank()


def _time_key(values: Callable[[ActorSet], np.ndarray]) -> Callable[[ActorSet], tuple[np.ndarray, np.ndarray]]:
    def key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
        v = values(a)
        return v == NO_TIME, v

    return key


def _const_key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(len(a), bool), np.zeros(len(a), np.int64)


def _property_key(name: str) -> Callable[[ActorSet], tuple[np.ndarray, np.ndarray]]:
    """Actor property ``name``: NULL when absent; numbers by value when the project defines the
    property Numeric, else by their text."""

    def key(a: ActorSet) -> tuple[np.ndarray, np.ndarray]:
        found = a.property_codes(name)
        if found is None:
            return np.ones(len(a), bool), np.zeros(len(a), np.int64)
        codes, col = found
        kind = "person" if a.strategy == "person" else "group"
        if a.ctx.project.property_type(name, kind, a.gti) == "Numeric":
            v = col.dictionary.floats()[codes]
            return np.isnan(v), np.nan_to_num(v)
        text = col.dictionary.text()[codes]
        null = np.array([t is None for t in text.tolist()], dtype=bool) if len(text) else np.zeros(0, bool)
        _, rank = np.unique(np.where(null, "", text).astype(object), return_inverse=True)
        return null, rank.reshape(-1)

    return key


def _property_value(name: str) -> Callable[[ActorSet, np.ndarray], list[Any]]:
    def value(a: ActorSet, idx: np.ndarray) -> list[Any]:
        found = a.property_codes(name)
        if found is None:
            return [None] * len(idx)
        codes, col = found
        return [copy.deepcopy(col.dictionary.values[c]) if c >= 0 else None for c in codes[idx].tolist()]

    return value


def _registry() -> dict[str, Column]:
    def dicts(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return a.dicts(idx)

    def ids(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return a.ids(idx)

    def counts(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return a.count[idx].tolist()

    def event_dids(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return a.distinct_ids(idx)

    def recordings(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return [[] for _ in range(len(idx))]

    def last_seen(a: ActorSet, idx: np.ndarray) -> list[Any]:
        tz = a.ctx.project.tz
        return [_iso_local(v, tz) for v in a.last_seen()[idx].tolist()]

    def created_at(a: ActorSet, idx: np.ndarray) -> list[Any]:
        tz = a.ctx.project.tz
        return [_iso_local(v, tz) for v in a.created_at()[idx].tolist()]

    def delete(a: ActorSet, idx: np.ndarray) -> list[Any]:
        return [1] * len(idx)

    entries = [
        Column("actor", dicts, _id_key, doc="the actor dict (person or group)"),
        Column("person", dicts, _id_key, strategies=("person",), doc="the person dict"),
        Column("group", dicts, _id_key, strategies=("group",), doc="the group dict"),
        Column("id", ids, _id_key, doc="the actor's id"),
        Column("actor_id", ids, _id_key, doc="the actor's id"),
        Column("event_count", counts, _count_key, doc="the point's events of the actor"),
        Column("event_distinct_ids", event_dids, None, strategies=("person",), doc="distinct_ids on those events"),
        Column("matched_recordings", recordings, None, doc="session recordings of those events (always [])"),
        Column("last_seen", last_seen, _time_key(lambda a: a.last_seen()), doc="the actor's last event of the point"),
        Column("created_at", created_at, _time_key(lambda a: a.created_at()), table=True, doc="the person's/group's created_at"),
        Column("person.$delete", delete, _const_key, strategies=("person",), doc="the constant 1"),
    ]
    return {c.name: c for c in entries}


COLUMNS: dict[str, Column] = _registry()
PROPERTY_PREFIX = "properties."


def resolve_column(name: str, strategy: str, path: tuple) -> Column:
    """The column ``name`` selects (``properties.<key>`` reads an actor property)."""
    text = name.strip()
    col = COLUMNS.get(text)
    if col is None and text.startswith(PROPERTY_PREFIX) and len(text) > len(PROPERTY_PREFIX):
        key = text[len(PROPERTY_PREFIX):]
        col = Column(text, _property_value(key), _property_key(key), table=True)
    if col is None:
        known = ", ".join(COLUMNS) + ", properties.<key>"
        raise UnsupportedError(path, f"column {brief(name)} is not supported{suggest(text, COLUMNS)} (columns: {known})")
    if strategy not in col.strategies:
        raise ValidationError(path, f"column {col.name!r} does not exist when the actors are {strategy}s")
    return col


def parse_order(req: ActorsRequest, strategy: str, columns: Sequence[Column]) -> list[OrderTerm]:
    """ORDER BY terms: the request's ``order_by`` (``"<column> [ASC|DESC]"``, several per string
    separated by commas), PostHog's strategy order for ``["person"]``/``["group"]`` (by email /
    name), or its default: created_at DESC when selected, else the first column ascending."""
    if req.order_by is None:
        created_sort = COLUMNS["created_at"].sort
        if created_sort is not None and any(c.name == "created_at" for c in columns):
            return [OrderTerm("created_at", True, created_sort, True)]
        first = columns[0]
        if first.sort is None:
            return []
        return [OrderTerm(first.name, False, first.sort, first.table)]
    special = {(strategy, ""): False, (strategy, "ASC"): False, (strategy, "DESC"): True}
    if len(req.order_by) == 1:
        word, _, direction = req.order_by[0].strip().partition(" ")
        if (word, direction.strip().upper()) in special and word in ("person", "group"):
            prop = "email" if strategy == "person" else "name"
            return [OrderTerm(f"properties.{prop}", special[(word, direction.strip().upper())], _property_key(prop), True)]
    terms = []
    for i, text in enumerate(req.order_by):
        for part in text.split(","):
            tokens = part.split()
            path = req.path("order_by") + (i,)
            if not tokens or len(tokens) > 2 or (len(tokens) == 2 and tokens[1].upper() not in ("ASC", "DESC")):
                raise ValidationError(path, f"expected '<column> [ASC|DESC]', got {brief(part.strip())}")
            col = resolve_column(tokens[0], strategy, path)
            if col.sort is None:
                raise UnsupportedError(path, f"ordering by {col.name!r} is not supported")
            terms.append(OrderTerm(col.name, len(tokens) == 2 and tokens[1].upper() == "DESC", col.sort, col.table))
    return terms


def order_actors(actors: ActorSet, terms: Sequence[OrderTerm], tiebreak: np.ndarray | None = None) -> np.ndarray:
    """Positions of the actors in order: the terms (NULLs last, as ClickHouse), then person row /
    group key ascending so that ties are deterministic (``tiebreak``: other rows to break ties
    by, e.g. a partition's persons' rows in the whole store)."""
    keys: list[np.ndarray] = [actors.key if tiebreak is None else np.asarray(tiebreak, dtype=np.int64)]  # last key is primary
    for term in reversed(terms):
        null, value = term.key(actors)
        value = np.asarray(value)
        if term.descending:
            value = -value.astype(np.float64) if value.dtype.kind == "f" else -value.astype(np.int64)
        keys.append(value)
        keys.append(np.asarray(null).astype(np.int8))
    return np.lexsort(keys)


