"""``tc.actors`` over a PartitionedStore: the persons behind one data point (Trends, Stickiness
or Lifecycle), ordered and paged exactly as one store orders and pages them.

Every event of a person lives in one partition, so a person's row in the point — its event
count, last seen, distinct_ids — is that partition's. Each partition runs the engine's own
actors query (``engine/actors/route.py``) up to its ordered ActorSet and returns its first
``offset + limit + 1`` actors: their sort keys in a form comparable across partitions (numbers,
or the texts the engine ranks), their column values, and their person rows. Any actor of the
global page is among those candidates, because a partition orders its persons as the whole
store does — ties broken by the person's row in the whole store (``PartitionedStore.
person_rows_handles``: a partition streamed from files may number its own persons in another
order). The coordinator orders the candidates with the same terms and ties, as ``order_actors``
breaks them by row, and takes the page.

Groups span partitions: every partition returns all its groups of the point, which merge by key
(event counts added, last event the latest; the table columns are the same in every
partition's copy of the group table). A Trends point's groups are each partition's own; a
stickiness or lifecycle point's are chosen first from every partition's per-key states
(``group_actors.py``). Session filters and breakdowns read the facts of sessions spanning
partitions (``insights.session_facts``).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ..errors import UnsupportedError
from ..limits import Limits
from ..project import Project
from ..results import ActorsResult
from ..store import EventStore
from .phases import earliest_us_of, min_or_none
from .tasks import Map, Task, load_rows

if TYPE_CHECKING:
    from .insights import Gather

ID_COLUMNS = ("actor", "person", "group", "id", "actor_id")
"""Order terms by the actor's id: the engine ranks the id texts within its store; the texts compare
across partitions."""


@attrs.frozen
class Candidates:
    """One partition's first actors of the point in order: person row (in the partition), per
    order term (is NULL, comparable value), per column the values, whether each has a table row."""

    local: np.ndarray
    keys: list[tuple[np.ndarray, np.ndarray]]
    values: list[list[Any]]
    has_row: np.ndarray
    joined: bool
    group_keys: np.ndarray | None = None  # groups: the key texts, their event counts, last events (µs)
    counts: np.ndarray | None = None
    last_seen: np.ndarray | None = None


@attrs.frozen
class Shape:
    """What the coordinator needs of the request: column names, order terms, actor strategy."""

    names: tuple[str, ...]
    terms: tuple[tuple[str, bool], ...]
    strategy: str
    joined: bool


def actors_partitioned(run: Map, plan: Any, project: Project, now: dt.datetime, limits: Limits,
                       handles: tuple[Any, ...], *, shared_sessions: Gather | None = None) -> ActorsResult:
    """One page of the point's actors over the partitions (``plan``: an engine ActorsPlan;
    ``shared_sessions``: as for ``insights.stickiness_partitioned``)."""
    from ..engine.actors.route import answer_actors
    from ..engine.actors.run import ActorHooks
    from .insights import session_facts

    given = session_facts(run, plan.base, project, shared_sessions)
    if plan.base.date_from == "all":
        if plan.kind == "stickiness":
            from .insights import first_event_us_of

            given["first_event_us"] = min_or_none(run(Task(first_event_us_of)))
        else:
            given["earliest_us"] = min_or_none(run(Task(earliest_us_of, (plan.base, project, now, limits))))
    # the request checked and its shape read on an empty store (reads no rows; raises what one store raises)
    shape: Shape = answer_actors(EventStore.from_records([]), plan, project, now, limits,
                                 ActorHooks({k: v for k, v in given.items() if k != "shared_sessions"}, _shape))
    if shape.strategy != "person":
        point = None
        if plan.kind != "trends":  # a group's intervals / statuses need all its events: a first phase
            from .group_actors import point_groups

            point = point_groups(run, plan, project, now, limits, given, tuple(handles))
        groups: list[Candidates] = run(Task(group_candidates_of, (plan, project, now, limits, given, point),
                                            each=tuple(handles)))
        return merge_groups(plan.request, shape, groups, project)
    rows = [load_rows(h) for h in handles]
    missing = [i for i, r in enumerate(rows) if r is None]
    if missing:
        raise UnsupportedError(("store",), f"partition {missing[0]} was written without its persons' rows in the whole "
                                           "store, which tc.actors orders by")
    found: list[Candidates] = run(Task(candidates_of, (plan, project, now, limits, given), each=tuple(handles)))
    return merge_candidates(plan.request, shape, found, [r for r in rows if r is not None])


def _shape(actors: Any, req: Any, columns: list[Any], names: list[str], terms: list[Any]) -> Shape:
    joined = any(c.table for c in columns) or any(t.table for t in terms)
    return Shape(tuple(names), tuple((t.column, t.descending) for t in terms), actors.strategy, joined)


# --- the worker side ------------------------------------------------------------------------------


def candidates_of(store: EventStore, plan: Any, project: Project, now: dt.datetime, limits: Limits,
                  given: dict[str, Any], handle: Any) -> Candidates:
    """This partition's first ``offset + limit + 1`` actors of the point, in the engine's order
    (``handle``: a ``tasks.RowsHandle`` of its persons' rows in the whole store)."""
    from ..engine.actors.route import answer_actors
    from ..engine.actors.run import ActorHooks
    from .insights import with_rows

    given = with_rows(given, (handle,), store)
    global_rows = given["person_rows"]
    assert global_rows is not None  # actors_partitioned refuses partitions without them
    named = with_global_person_ids(store, global_rows)
    return answer_actors(store, plan, project, now, limits,
                         ActorHooks(given, lambda *a: _candidates(named, np.asarray(global_rows), *a)))


def group_candidates_of(store: EventStore, plan: Any, project: Project, now: dt.datetime, limits: Limits,
                        given: dict[str, Any], point: Any, handle: Any) -> Candidates:
    """Every group of the point in this partition (a group's event count adds up over the
    partitions): of a Trends point by the engine's actors query; of a stickiness or lifecycle
    point, the rows of the groups the first phase chose (``group_actors.Point``)."""
    from ..engine.actors.route import answer_actors
    from ..engine.actors.run import ActorHooks
    from .insights import with_rows

    given = with_rows(given, (handle,), store)
    if point is None:
        return answer_actors(store, plan, project, now, limits, ActorHooks(given, _group_candidates))
    from .group_actors import point_candidates

    return point_candidates(store, plan, project, now, limits, given, point, _group_candidates)


def with_global_person_ids(store: EventStore, global_rows: np.ndarray) -> EventStore:
    """``store`` whose persons without an id are named ``person:<row in the whole store>`` (what
    one store calls them), for the actors' ids and id order only: person filters read ``store``,
    where such a person's id is empty."""
    from ..store.tables import PersonTable

    persons = store.persons
    ids = np.asarray(persons.ids, dtype=object)
    missing = np.flatnonzero(ids == None)  # noqa: E711  (element-wise over the object array)
    if not len(missing):
        return store
    filled = ids.copy()
    filled[missing] = np.char.add("person:", np.asarray(global_rows)[missing].astype(str)).astype(object)
    view = copy.copy(store)
    view.persons = PersonTable(ids=filled, created_at=persons.created_at, properties=persons.properties,
                               person_of_distinct_id=persons.person_of_distinct_id, synthetic=persons.synthetic)
    view._memo = type(store._memo)()  # nothing cached from the store's own person ids
    return view


def _candidates(named: EventStore, global_rows: np.ndarray, actors: Any, req: Any, columns: list[Any], names: list[str],
                terms: list[Any]) -> Candidates:
    from ..engine.actors.actor_set import ActorSet

    actors = ActorSet(attrs.evolve(actors.ctx, store=named, cache={}), actors.strategy, actors.gti, actors.rows,
                      actors.key[actors.of_row])
    joined = any(c.table for c in columns) or any(t.table for t in terms)
    if joined:
        actors.keep(actors.has_row())
    top = order_by_rows(actors, terms, global_rows[actors.key])[: req.offset + req.limit + 1]
    keys = []
    for term in terms:
        null, value = comparable_key(actors, term)
        keys.append((np.asarray(null)[top], np.asarray(value)[top]))
    return Candidates(actors.key[top].astype(np.int64), keys, [c.value(actors, top) for c in columns],
                      actors.has_row()[top], joined)


def order_by_rows(actors: Any, terms: list[Any], rows: np.ndarray) -> np.ndarray:
    """``engine.actors.columns.order_actors`` with ties broken by ``rows`` (each person's row in
    the whole store) instead of the partition's own rows, which a partition streamed from files
    may number in another order: a partition's first actors are then the whole store's."""
    from ..engine.actors.columns import order_actors

    return order_actors(actors, terms, tiebreak=rows)


def _group_candidates(actors: Any, req: Any, columns: list[Any], names: list[str], terms: list[Any]) -> Candidates:
    """Every group of the point in this partition (a group's count adds up over partitions, so
    no partition can cut its list), with its key text, event count and last event."""
    from ..engine.actors.actor_set import group_key_texts

    joined = any(c.table for c in columns) or any(t.table for t in terms)
    if joined:
        actors.keep(actors.has_row())
    every = np.arange(len(actors))
    keys = [comparable_key(actors, term) for term in terms]
    return Candidates(actors.key.astype(np.int64), [(np.asarray(n), np.asarray(v)) for n, v in keys],
                      [c.value(actors, every) for c in columns], actors.has_row(), joined,
                      group_key_texts(actors.store, actors.group_type)[actors.key].astype(object), actors.count.copy(),
                      actors.last_seen().copy())


def comparable_key(actors: Any, term: Any) -> tuple[np.ndarray, np.ndarray]:
    """(is NULL, value) of an order term, comparable across partitions: numbers as the engine's
    key has them; where the engine ranks texts within its store (ids, text properties), the
    texts (person ids as object array, None for ``person:<row>``)."""
    name = term.column
    if name in ID_COLUMNS:  # persons: ids are the whole store's (with_global_person_ids); groups: key texts
        from ..engine.actors.actor_set import group_key_texts, person_id

        if actors.strategy == "person":
            texts = [str(person_id(actors.store, k)) for k in actors.key.tolist()]
        else:
            texts = group_key_texts(actors.store, actors.group_type)[actors.key].tolist()
        return np.zeros(len(actors), bool), np.array(texts, dtype=object).reshape(-1)
    if name.startswith("properties."):
        prop = name[len("properties."):]
        found = actors.property_codes(prop)
        kind = "person" if actors.strategy == "person" else "group"
        if actors.ctx.project.property_type(prop, kind, actors.gti) != "Numeric":
            if found is None:
                return np.ones(len(actors), bool), np.full(len(actors), "", dtype=object)
            codes, col = found
            text = col.dictionary.text()[codes]
            null = np.array([t is None for t in text.tolist()], dtype=bool)
            return null, np.where(null, "", text).astype(object)
    return term.key(actors)  # numbers: counts, µs, floats, constants


# --- the coordinator ------------------------------------------------------------------------------


def merge_candidates(req: Any, shape: Shape, found: list[Candidates], person_rows: list[np.ndarray]) -> ActorsResult:
    """The page of the union of every partition's candidates, ordered as one store orders them."""
    rows = np.concatenate([np.asarray(person_rows[i])[c.local] for i, c in enumerate(found)]) if found else np.zeros(0, np.int64)
    rows = rows.astype(np.int64)
    keys: list[np.ndarray] = [rows]  # np.lexsort: last key is primary; ties by the person's row, as order_actors
    for j in reversed(range(len(shape.terms))):
        column, descending = shape.terms[j]
        null = np.concatenate([c.keys[j][0] for c in found]).astype(bool)
        parts = [c.keys[j][1] for c in found]
        if any(p.dtype == object for p in parts):
            value = _ranks(np.concatenate([p.astype(object) for p in parts]))
        else:
            value = np.concatenate(parts)
        if descending:
            value = -value.astype(np.float64) if value.dtype.kind == "f" else -value.astype(np.int64)
        keys.append(value)
        keys.append(null.astype(np.int8))
    order = np.lexsort(keys) if len(rows) else np.zeros(0, np.int64)
    page = order[req.offset:req.offset + req.limit + 1]
    has_more = len(page) > req.limit
    page = page[: req.limit]
    columns = [[v for c in found for v in c.values[j]] for j in range(len(shape.names))]
    out_rows = [[values[p] for values in columns] for p in page.tolist()]
    has_row = np.concatenate([c.has_row for c in found]) if found else np.zeros(0, bool)
    missing = None if shape.joined else int(np.count_nonzero(~has_row[page]))
    return ActorsResult(columns=shape.names, rows=out_rows, has_more=has_more, limit=req.limit, offset=req.offset,
                        missing_actors_count=missing)


def _ranks(texts: np.ndarray) -> np.ndarray:
    _, rank = np.unique(texts, return_inverse=True)
    return rank.reshape(-1).astype(np.int64)


MERGED = ("event_count", "last_seen")
"""Group columns whose value adds up over partitions (the others come from the group table, a
copy of which every partition holds, or from the key)."""


def merge_groups(req: Any, shape: Shape, found: list[Candidates], project: Project) -> ActorsResult:
    """The page of the groups of every partition, merged by key: event counts added, last
    events the latest; ordered as one store orders them (ties by key text)."""
    from ..engine.actors.actor_set import _iso_local
    from ..store.tables import NO_TIME

    texts = np.concatenate([c.group_keys for c in found if c.group_keys is not None]).astype(object) if found else np.zeros(0, object)
    if not len(texts):
        return ActorsResult(columns=shape.names, rows=[], has_more=False, limit=req.limit, offset=req.offset,
                            missing_actors_count=None if shape.joined else 0)
    uniq, first, inverse = np.unique(texts, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, weights=np.concatenate([c.counts for c in found if c.counts is not None]),
                         minlength=len(uniq)).astype(np.int64)
    last_seen = np.full(len(uniq), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_seen, inverse, np.concatenate([c.last_seen for c in found if c.last_seen is not None]))
    keys: list[np.ndarray] = [np.arange(len(uniq))]  # ties by the key text, as order_actors by key id
    for j in reversed(range(len(shape.terms))):
        column, descending = shape.terms[j]
        value: np.ndarray
        if column == "event_count":
            null, value = np.zeros(len(uniq), bool), counts
        elif column == "last_seen":
            null, value = last_seen == NO_TIME, last_seen
        else:
            null = np.concatenate([c.keys[j][0] for c in found]).astype(bool)[first]
            parts = [c.keys[j][1] for c in found]
            value = (_ranks(np.concatenate([p.astype(object) for p in parts])) if any(p.dtype == object for p in parts)
                     else np.concatenate(parts))[first]
        if descending:
            value = -value.astype(np.float64) if value.dtype.kind == "f" else -value.astype(np.int64)
        keys.append(value)
        keys.append(null.astype(np.int8))
    order = np.lexsort(keys)
    page = order[req.offset:req.offset + req.limit + 1]
    has_more = len(page) > req.limit
    page = page[: req.limit]
    columns = [[v for c in found for v in c.values[j]] for j in range(len(shape.names))]
    out_rows = []
    for g in page.tolist():
        row: list[Any] = []
        for name, values in zip(shape.names, columns):
            if name == "event_count":
                row.append(int(counts[g]))
            elif name == "last_seen":
                row.append(_iso_local(int(last_seen[g]), project.tz))
            else:
                row.append(values[int(first[g])])
        out_rows.append(row)
    has_row = np.concatenate([c.has_row for c in found])[first]
    missing = None if shape.joined else int(np.count_nonzero(~has_row[page]))
    return ActorsResult(columns=shape.names, rows=out_rows, has_more=has_more, limit=req.limit, offset=req.offset,
                        missing_actors_count=missing)
