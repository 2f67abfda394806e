"""How per-partition answers merge: one registry entry per math — its partial state, how the
partitions' states merge and how the merged state becomes cell values — and the check that
refuses (UnsupportedError, with the field's JSON path) everything not merged exactly, before
any partition runs.

Partitions hold disjoint sets of persons, every event of a person in one. A math whose value in
a cell (series × breakdown value × bucket) is a *sum over persons* — events counted, persons
counted, a person's first event counted — is the sum of the partitions' values (``ADD``).
Per-actor maths are exact per partition too (a person is in one), but their cell is an average
or quantile over actors: partitions send the multiset of per-actor counts. Property maths send
exact states: integer limbs of the exact sum (sum, avg), the minimum or maximum, the value
counts (quantiles). Sessions and groups span persons: partitions send their (cell, key) pairs
as text, merged by union (``unique_session`` only for the sessions the manifest lists in more
than one partition; the others are counted where they are); ``$session_duration`` also sends every session's first and last
event time, merged by min/max; weekly/monthly active groups send (group, key, day) triples.
The finalize of each state is the engine's own reduction (``states.py``), so the answer is the
single store's. The engine's shaping (ranking, top-N and Other, cumulative, smoothing, labels)
then runs once on the merged values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import numpy as np

from ..engine.math import effective_series, reads_person
from ..engine.series_parts import selection_groups
from ..errors import UnsupportedError
from ..project import Project
from ..query.maths import MATH_SPECS, QUANTILES
from ..query.model import PropertyFilter, PropertyGroup, Series, TrendsFilter
from . import hogql_states as hq
from . import states as st

Partial = Callable[[Any], Any]
Merge = Callable[[Sequence[Any], st.Maps, int, int], Any]
Finalize = Callable[[Any, int, int, Any, Any], np.ndarray]


@attrs.frozen
class MathMerge:
    """One math's exact merge across partitions.

    ``partial(frame)`` is a partition's state over its frame's cells (None: the engine's own
    cell values, which add up); ``merge(states, maps, n_groups, n_buckets)`` combines the
    partitions' states (``maps[i]``: partition i's groups → merged groups);
    ``finalize(state, n_groups, n_buckets, ctx, q)`` gives the (groups × buckets) values of the
    query ``q``."""

    state: str
    merge: Merge
    finalize: Finalize
    partial: Partial | None = None


def _plain(f: Callable[[Any, int, int], np.ndarray]) -> Finalize:
    return lambda state, n_groups, n_buckets, ctx, q: f(state, n_groups, n_buckets)


# --- the partial states of one partition (frame → state) --------------------------------------------


def _property_rows(frame: Any) -> tuple[np.ndarray, np.ndarray]:
    from ..engine.math import property_values

    return property_values(frame)


def _sum_partial(frame: Any) -> st.SumState:
    cell, values = _property_rows(frame)
    return st.partial_sum(cell, values, frame.n_cells)


def _extreme_partial(name: str) -> Partial:
    def partial(frame: Any) -> np.ndarray:
        from ..engine import cells

        cell, values = _property_rows(frame)
        return (cells.minimum if name == "min" else cells.maximum)(cell, values, frame.n_cells)

    return partial


def _quantile_partial(frame: Any) -> st.ValueCounts:
    cell, values = _property_rows(frame)
    return st.value_counts(cell, values)


def _per_actor_partial(frame: Any) -> st.ValueCounts:
    """The per-actor event counts of each cell (as ``engine.math.per_actor``), as value counts."""
    actors, n = frame.person_actors()
    cell = frame.cell()
    uniq, counts = np.unique(cell * n + actors, return_counts=True)
    return st.value_counts(uniq // n, counts.astype(np.float64))


def _session_keys(frame: Any) -> tuple[np.ndarray, int, np.ndarray]:
    """(key id per row, number of ids, text of each id) of ``engine.math.session_keys``."""
    from ..engine.math import session_keys
    from ..store.columns import render_text

    keys, n = session_keys(frame)
    col = frame.store.column("$session_id")
    if col is None:
        return keys, n, np.array([""], dtype=object)
    texts = col.dictionary.cached("session_key_texts", lambda: np.unique(np.array(
        [render_text(v) for v in col.dictionary.values] + [""], dtype=object)))
    return keys, n, texts


def _unique_session_partial(frame: Any) -> st.SessionKeys:
    """Sessions only this partition has are counted here; the others' pairs go by key. Which
    keys more partitions have comes from the manifest (``shared_session_texts``; rows without a
    session are the one session ``''`` of every partition)."""
    from ..engine.math import math_type

    keys, n, texts = _session_keys(frame)
    shared = frame.ctx.given.get("shared_session_texts")
    col = frame.store.column("$session_id")
    spans = None
    if shared is not None:
        spans = _spans(texts, shared) if col is None else col.dictionary.cached(
            ("session_spans", shared), lambda: _spans(texts, shared))
    first = bool(frame.ctx.display.cumulative and math_type(frame.series.math).new_actors_cumulative)
    return st.session_keys_state(frame.cell(), keys, n, texts, spans, frame.n_cells, frame.n_buckets, first,
                                 lambda: frame.distinct_per_cell(keys, n))


def _spans(texts: np.ndarray, shared: frozenset[str]) -> np.ndarray:
    """Per session key (``texts``: sorted), whether more partitions have it: one of ``shared``,
    or ``''`` (the session-less rows' one session). Binary searches for the (few) shared keys,
    not a pass over the dictionary's (many)."""
    spans = np.zeros(len(texts), dtype=bool)
    wanted = np.array(sorted(shared | {""}), dtype=object)
    at = np.searchsorted(texts, wanted)
    inside = at < len(texts)
    at, wanted = at[inside], wanted[inside]
    spans[at[texts[at] == wanted]] = True
    return spans


def _session_duration_partial(frame: Any) -> st.SessionDurations:
    keys, n, texts = _session_keys(frame)
    return attrs.evolve(_sessions_of(frame.store), pairs=st.key_cells(frame.cell(), keys, n, texts))


def _sessions_of(store: Any) -> st.SessionDurations:
    """Every session of a partition with its first and last event time, and no (cell, key) pairs."""
    from ..store.sessions import session_table

    none = st.KeyCells(np.zeros(0, np.int64), np.zeros(0, dtype=object))
    if len(store) == 0:
        return st.SessionDurations(none, np.zeros(0, dtype=object), np.zeros(0, np.int64), np.zeros(0, np.int64))
    table = session_table(store)
    has = np.asarray(table.entry_row) >= 0  # the shared dictionary also holds other partitions' sessions
    return st.SessionDurations(none,
                               np.array(table.ids, dtype=object)[has], np.asarray(table.start_us, dtype=np.int64)[has],
                               np.asarray(table.end_us, dtype=np.int64)[has])


def _group_key_text(v: Any) -> str:
    """A group key as text that keeps keys of different types apart ("" is no group)."""
    return "s" + v if isinstance(v, str) else "r" + repr(v)


def _group_actors(frame: Any) -> tuple[np.ndarray, int, np.ndarray]:
    """(group-key actor per row, how many, text of each actor id) of ``Frame.actors``."""
    actors, n = frame.actors()
    gti = frame.series.math_group_type_index
    if gti is None:
        gti = frame.ctx.filter.aggregation_group_type_index
    col = frame.store.column(f"$group_{gti}")
    if col is None:
        return actors, n, np.array([""], dtype=object)
    texts = col.dictionary.cached("partition_group_key_texts", lambda: np.array(
        [""] + [_group_key_text(v) for v in col.dictionary.values], dtype=object))
    return actors, n, texts


def _group_keys_partial(frame: Any) -> st.KeyCells:
    actors, n, texts = _group_actors(frame)
    return st.key_cells(frame.cell(), actors, n, texts)


def _active_groups_partial(frame: Any) -> st.ActiveKeys:
    from ..engine.math import activity_times

    actors, _, texts = _group_actors(frame)
    return st.active_keys(frame.group, actors, texts, activity_times(frame))


# --- the registry ---------------------------------------------------------------------------------


def _reducer(name: str) -> Callable[[np.ndarray, np.ndarray, int], np.ndarray]:
    from ..engine.math import REDUCERS

    return REDUCERS[name]


def _session_finalize(name: str) -> Finalize:
    return lambda state, g, b, ctx, q: st.session_finalize(_reducer(name))(state, g, b)


ADD = MathMerge("the cell values (sums over persons)", st.merge_add, _plain(lambda v, g, b: v))
KEYS = MathMerge("distinct (cell, key) pairs, keys as text", st.merge_keys, _plain(st.finalize_distinct))
KEYS_FIRST_SEEN = attrs.evolve(KEYS, finalize=_plain(st.finalize_first_seen))


def _registry() -> dict[str, MathMerge]:
    out = {name: ADD for name in ("total", "dau", "weekly_active", "monthly_active", "unique_group",
                                  "first_time_for_user", "first_matching_event_for_user")}
    out["unique_session"] = MathMerge("sessions of one partition counted there; the others' (cell, key) pairs, "
                                      "keys as text", st.merge_session_keys, _plain(st.finalize_session_keys),
                                      _unique_session_partial)
    out["sum"] = MathMerge("exact sums as integer limbs, and counts", st.merge_sum, _plain(st.finalize_sum), _sum_partial)
    out["avg"] = MathMerge("exact sums as integer limbs, and counts", st.merge_sum, _plain(st.finalize_avg), _sum_partial)
    for name, ufunc in (("min", np.fmin), ("max", np.fmax)):
        out[name] = MathMerge(f"the {name}imum per cell", st.merge_extreme(ufunc),
                              _plain(lambda v, g, b: st.as_cells(v, g, b)), _extreme_partial(name))
    for name, level in QUANTILES.items():
        out[name] = MathMerge("value counts per cell", st.merge_value_counts,
                              _plain(st.reduce_counts(name, level)), _quantile_partial)
    for name in ("avg", "min", "max", *QUANTILES):
        out[f"{name}_count_per_actor"] = MathMerge("value counts of the per-actor counts", st.merge_value_counts,
                                                   _plain(st.reduce_counts(name, QUANTILES.get(name))), _per_actor_partial)
    return out


MERGES: dict[str, MathMerge] = _registry()
"""Math → its merge when it counts persons or events (a math not listed raises on a
partitioned store). Group-counting and ``$session_duration`` forms: ``merge_of``."""

GROUP_MERGES: dict[str, MathMerge] = {
    "dau": attrs.evolve(KEYS, partial=_group_keys_partial),
    "unique_group": attrs.evolve(KEYS, partial=_group_keys_partial),
    "weekly_active": MathMerge("distinct (group, key, day) triples", st.merge_active, st.active_finalize(7),
                               _active_groups_partial),
    "monthly_active": MathMerge("distinct (group, key, day) triples", st.merge_active, st.active_finalize(30),
                                _active_groups_partial),
}
"""Maths counting groups (``math_group_type_index``, or ``aggregation_group_type_index`` with a
group-counting math): groups span persons, so their keys merge by union."""

SESSION_DURATION_MERGES: dict[str, MathMerge] = {
    name: MathMerge("(cell, session) pairs and every session's first/last event time", st.merge_sessions,
                    _session_finalize(name), _session_duration_partial)
    for name in ("sum", "avg", "min", "max", *QUANTILES)
}
"""Property maths of ``$session_duration``: a session's duration spans partitions."""

EXPRESSION_MERGES: dict[str, MathMerge] = {
    "hogql": MathMerge("per aggregate call: counts, keys, exact sums, min/max or value counts", hq.merge_hogql,
                       lambda state, g, b, ctx, q: hq.finalize_hogql(state, g, b, q.series.math_expr),
                       hq.partial_hogql),
}
"""``math: hogql``: every aggregate the engine evaluates decomposes over rows (``hogql_states.py``)."""

def merge_of(series: Series, filt: TrendsFilter, cumulative: bool = False) -> MathMerge | None:
    """The merge of a series' math (its effective math: ``engine.math.effective_series``);
    ``cumulative``: a cumulative display counting each actor once (``first_seen``)."""
    entry = _entry(series, filt)
    if entry is not None and cumulative and entry.merge is st.merge_keys:
        entry = attrs.evolve(entry, finalize=KEYS_FIRST_SEEN.finalize)
    elif entry is not None and cumulative and entry.merge is st.merge_session_keys:
        entry = attrs.evolve(entry, finalize=_plain(st.finalize_session_keys_first_seen))
    return entry


def _entry(series: Series, filt: TrendsFilter) -> MathMerge | None:
    spec = MATH_SPECS.get(series.math)
    gti = series.math_group_type_index if series.math_group_type_index is not None else filt.aggregation_group_type_index
    if spec is not None and gti is not None and spec.counts_groups:
        return GROUP_MERGES.get(series.math)
    if (series.math_property == "$session_duration" and not reads_person(series)
            and series.math in SESSION_DURATION_MERGES):
        return SESSION_DURATION_MERGES[series.math]
    return MERGES.get(series.math) or EXPRESSION_MERGES.get(series.math)


def folds_numbers(filt: TrendsFilter) -> bool:
    """Whether a histogram is among the breakdown items: then a non-additive math's partials are
    per fine group (the numbers, beside the other items' labels), merged by fine group and
    folded into the bins at the coordinator."""
    b = filt.breakdown
    return b is not None and any(item.histogram_bin_count is not None for item in b.items)


def check_partitionable(filt: TrendsFilter, project: Project) -> None:
    """UnsupportedError naming the first field a partitioned run cannot answer exactly."""
    for s in filt.series:
        entry = merge_of(effective_series(s, filt.interval), filt)
        if entry is None:
            raise UnsupportedError(s.path + ("math",), f"math {s.math!r} is not supported on a partitioned store: it "
                                                       "has no exact partial state")


def needs_sessions(filt: TrendsFilter, project: Project) -> bool:
    """Whether the query reads session facts by row (session filters or breakdowns)."""
    if filt.breakdown is not None and any(item.type == "session" for item in filt.breakdown.items):
        return True
    return any(leaf.type == "session" for leaf in _leaves_of(filt, project))


def _leaves_of(filt: TrendsFilter, project: Project) -> Iterator[PropertyFilter]:
    groups: list[PropertyGroup] = [filt.properties]
    if filt.filter_test_accounts and project.test_account_filters:
        groups.append(project.test_accounts)
    for s in filt.series:
        groups.append(s.properties)
        groups.extend(selection_groups(project, s))
    for g in groups:
        yield from _leaves(g)


def _leaves(group: PropertyGroup) -> Iterator[PropertyFilter]:
    for v in group.values:
        if isinstance(v, PropertyGroup):
            yield from _leaves(v)
        else:
            yield v
