"""Warnings for queries PostHog answers with zeros or text comparisons that were likely mistakes.

The numbers stay PostHog's; the result carries ``warnings`` saying what probably went wrong and
the nearest fix. Every check reads the store's ``Outline`` — its event names, property keys and
types, whether it has sessions, its time span — never its rows, so advice costs microseconds
whatever the data size, and a partitioned store gives the same advice from its manifest
(``partition/outline.py``). A registry: one function per check, each yielding warnings; adding
a check is one function in ``CHECKS``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping

import attrs
import numpy as np

from ..errors import QueryWarning, brief
from ..project import Project
from ..query.dates import is_absolute
from ..query.model import PropertyFilter, TrendsFilter, iter_leaves
from ..store import EventStore
from ..store.columns import ValueDictionary
from ..store.virtual import VIRTUAL
from ..timeutil import us_to_datetime
from .math import REDUCERS, SPECIAL_PROPERTIES, reads_person
from .property_types import with_inferred_types

NUMERIC_OPERATORS = ("gt", "gte", "lt", "lte", "min", "max", "between", "not_between")
SESSION_MATHS = ("unique_session",)
SESSION_MATH_PROPERTIES = ("$session_duration",)  # a property math reads it from the event's session
# Event keys the engine reads without a column (elements, AI ids, metadata): never "unknown".
IMPLICIT_EVENT_KEYS = ("$elements_chain", "$elements", "distinct_id", "event", "timestamp", "person_id", "$session_id",
                       "$group_0", "$group_1", "$group_2", "$group_3", "$group_4")  # fmt: skip


def nearest(value: str, choices: Iterable[str]) -> str | None:
    """The closest name, or None when nothing is close."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    if close:
        return close[0]
    low = value.lower()
    return next((c for c in choices if c.lower() == low), None)


def _hint(value: str, choices: Iterable[str]) -> str:
    near = nearest(value, choices)
    return f"; did you mean {near!r}?" if near is not None else ""


class Keys:
    """The property keys a store has, by where they are read."""

    def __init__(self, event: Iterable[str], person: Iterable[str], group: Mapping[int, Iterable[str]]):
        self.event = set(event)
        self.person = set(person) | set(VIRTUAL)
        self.group = {int(gti): set(keys) for gti, keys in group.items()}

    def known(self, kind: str, key: str, gti: int | None = None) -> bool:
        if kind == "event":
            return key in self.event or key in IMPLICIT_EVENT_KEYS
        if kind == "person":
            return key in self.person
        return key in self.group.get(gti if gti is not None else -1, set())

    def all(self) -> set[str]:
        return self.event | self.person | set().union(*self.group.values())

    def kinds_of(self, key: str) -> list[str]:
        """Where ``key`` is a property, by kind (``event``, ``person``, ``group type N``)."""
        where = (["event"] if key in self.event else []) + (["person"] if key in self.person else [])
        return where + [f"group type {gti}" for gti, keys in sorted(self.group.items()) if key in keys]


@attrs.frozen
class Outline:
    """What advice reads of a store: never its rows.

    ``keys`` None: the property keys are not known (a partitioned store written before its
    manifest listed them), so nothing is said about unknown keys. ``inferred_type(name, kind,
    group_type_index)``: the type the store infers for a property, as ``EventStore.inferred_type``.
    ``persons_without_rows``: how many persons are distinct_ids with no person row (None: not
    known, a partitioned store written before its manifest counted them). ``dictionary(kind,
    key, group_type_index)``: a property's distinct values (None: no such column, or not known:
    a partitioned store's manifest does not hold them)."""

    event_names: frozenset[str]
    keys: Keys | None
    has_sessions: bool
    span: tuple[dt.datetime, dt.datetime] | None
    inferred_type: Callable[[str, str, int | None], str | None]
    persons_without_rows: int | None = None
    dictionary: Callable[[str, str, int | None], ValueDictionary | None] = lambda kind, key, gti: None  # noqa: E731

    def has_event(self, name: str) -> bool:
        return name in self.event_names


def store_outline(store: EventStore) -> Outline:
    """The Outline of one store (kept with it)."""
    ref = weakref.ref(store)  # (kept in the store's memo: no cycle back to it)

    def inferred_type(name: str, kind: str, group_type_index: int | None) -> str | None:
        held = ref()
        return None if held is None else held.inferred_type(name, kind, group_type_index)

    def dictionary(kind: str, key: str, group_type_index: int | None) -> ValueDictionary | None:
        held = ref()
        if held is None:
            return None
        if kind == "event":
            col = held.column(key)
        elif kind == "person":
            col = None if key in VIRTUAL else held.persons.column(key)
        else:
            table = held.groups.get(group_type_index) if group_type_index is not None else None
            col = table.column(key) if table is not None else None
        return col.dictionary if col is not None else None

    def build() -> Outline:
        keys = Keys(store.properties, store.persons.properties, {gti: t.properties for gti, t in store.groups.items()})
        return Outline(frozenset(store.event_names), keys, store.column("$session_id") is not None, _span(store),
                       inferred_type, personless_count(store), dictionary)

    return store.cached(("advice_outline",), build)  # type: ignore[no-any-return]


def personless_count(store: EventStore) -> int:
    """How many of ``store``'s persons are distinct_ids with no person row (made up at load)."""
    return int(np.count_nonzero(store.persons.synthetic))


def legacy_lifecycle_advice(store: EventStore | Outline) -> list[QueryWarning]:
    """The legacy lifecycle engine joins events to person rows, so a store with distinct_ids
    that have none (built without ``persons=``) loses their events there: often all of them, a
    chart of zeros. PostHog always has a person row; the numbers stay the legacy engine's."""
    n = _outline(store).persons_without_rows
    if not n:
        return []
    return [QueryWarning("personless_dropped", (),
                         f"{n:,} of the store's persons are distinct_ids without a person row; the legacy lifecycle "
                         "engine, which answers this filter form, drops their events (its person join). Pass "
                         "persons= when building the store, or ask in the LifecycleQuery form, which counts them")]


def _query_leaves(filt: TrendsFilter) -> Iterator[PropertyFilter]:
    yield from iter_leaves(filt.properties)
    for s in filt.series:
        yield from iter_leaves(s.properties)
        if s.kind == "group":
            for m in s.id.members:
                yield from iter_leaves(m.properties)


def unknown_events(store: Outline, filt: TrendsFilter, project: Project) -> Iterator[QueryWarning]:
    field = "event" if filt.source == "query" else "id"
    for s in filt.series:
        if s.kind == "events" and isinstance(s.id, str) and not store.has_event(s.id):
            yield QueryWarning("unknown_event", s.path + (field,),
                               f"no event {s.id!r} in this store{_hint(s.id, sorted(store.event_names))} (the series answers zeros)")
        if s.kind == "actions" and project.action(s.id) is None:
            yield QueryWarning("unknown_action", s.path + ("id",), f"no action {s.id!r} in the project (the series is dropped)")
        if s.kind == "group":
            for i, m in enumerate(s.id.members):
                path = s.path + ("nodes", i)
                if m.kind == "events" and isinstance(m.id, str) and not store.has_event(m.id):
                    yield QueryWarning("unknown_event", path + ("event",), f"no event {m.id!r} in this store"
                                       f"{_hint(m.id, sorted(store.event_names))} (the node selects no event)")
                if m.kind == "actions" and project.action(m.id) is None:
                    yield QueryWarning("unknown_action", path + ("id",), f"no action {m.id!r} in the project (the node selects no event)")


def unknown_property_keys(store: Outline, filt: TrendsFilter, project: Project) -> Iterator[QueryWarning]:
    keys = store.keys
    if keys is None:
        return

    def check(kind: str, key: object, gti: int | None, path: tuple, what: str) -> Iterator[QueryWarning]:
        if isinstance(key, str) and kind in ("event", "person", "group") and not keys.known(kind, key, gti):
            where = {"event": "event", "person": "person", "group": f"group type {gti}"}[kind]
            elsewhere = keys.kinds_of(key)  # the same key of another kind: name it, not "did you mean" itself
            hint = (f"; {key!r} is a{'n' if elsewhere[0] == 'event' else ''} {' and '.join(elsewhere)} property"
                    if elsewhere else _hint(key, keys.all()))
            yield QueryWarning("unknown_property", path, f"no {where} property {key!r} in this store{hint} ({what})")

    for leaf in _query_leaves(filt):
        if leaf.operator not in ("is_not_set", "is_not", "not_icontains", "not_regex", "not_in"):
            yield from check(leaf.type, leaf.key, leaf.group_type_index, leaf.path + ("key",), "the filter matches no event")
    if filt.breakdown is not None:
        for i, item in enumerate(filt.breakdown.items):
            path: tuple[str | int, ...] = ("breakdowns", i, "property") if filt.breakdown.multi else ("breakdown",)
            if filt.source == "query":
                path = ("breakdownFilter",) + path
            yield from check(item.type, item.property, item.group_type_index, path, "every event falls into the null breakdown value")
    for s in filt.series:
        if s.math_property is None:
            continue
        if reads_person(s):
            yield from check("person", s.math_property, None, s.path + ("math_property",), "the math reads no value")
        elif s.math_property not in SESSION_MATH_PROPERTIES:  # read from the sessions, not an event key
            yield from check("event", s.math_property, None, s.path + ("math_property",), "the math reads no value")


def group_property_maths(store: Outline, filt: TrendsFilter, project: Project) -> Iterator[QueryWarning]:
    """``math_property_type: group_properties`` reads the *event's* property of that name, as
    PostHog's query runner does (engine/math.py PROPERTY_READS): say so, and name the group
    types that do have the key, since the user most likely meant one of them."""
    for s in filt.series:
        if s.math_property is None or s.math_property_type != "group_properties":
            continue
        groups = store.keys.group if store.keys is not None else {}
        holders = sorted(gti for gti, names in groups.items() if s.math_property in names)
        also = (f"; the property {s.math_property!r} of group type {', '.join(map(str, holders))} is not read "
                "(PostHog's property maths never read group properties)") if holders else ""
        yield QueryWarning("group_property_math", s.path + ("math_property_type",),
                           f"math_property_type 'group_properties' reads the event property {s.math_property!r}, "
                           f"as PostHog does (only person_properties reads elsewhere){also}")


def session_maths(store: Outline, filt: TrendsFilter, project: Project) -> Iterator[QueryWarning]:
    if store.has_sessions:
        return
    for s in filt.series:
        if s.math in SESSION_MATHS:
            yield QueryWarning("no_sessions", s.path + ("math",),
                               f"math {s.math!r} counts $session_id values, and no event in this store has one "
                               "(rename your session column: rename={'session_id': '$session_id'})")


def text_comparisons(store: Outline, filt: TrendsFilter, project: Project) -> Iterator[QueryWarning]:
    for leaf in _query_leaves(filt):
        if leaf.operator in NUMERIC_OPERATORS and leaf.type in ("event", "person", "group"):
            kind = leaf.type
            # the type the query will use: declared, else inferred from the data (property_types)
            declared = with_inferred_types(project, store).property_type(leaf.key, kind, leaf.group_type_index)
            if declared in (None, "String"):
                yield QueryWarning("text_comparison", leaf.path + ("operator",),
                                   f"{leaf.key!r} is a String property, so {leaf.operator!r} compares text ('9' > '10'); "
                                   f"declare it Numeric: Project(property_definitions=[{{'name': {leaf.key!r}, "
                                   f"'type': 'Numeric', 'kind': {kind!r}}}])")


def text_maths(store: Outline, filt: TrendsFilter, project: Project) -> Iterator[QueryWarning]:
    """A property math (sum, avg, p90, ...) over a property none of whose values reads as a
    number: PostHog's toFloat gives NULL for each, so the series is zeros."""
    for s in filt.series:
        prop = s.math_property
        if s.math not in REDUCERS or not prop or prop in SPECIAL_PROPERTIES or prop in SESSION_MATH_PROPERTIES:
            continue
        kind = "person" if reads_person(s) else "event"
        values = store.dictionary(kind, prop, None)
        if values is None or not len(values) or not bool(np.isnan(values.floats()[:-1]).all()):
            continue
        sample = ", ".join(brief(v, 20) for v in values.values[:3]) + (", …" if len(values) > 3 else "")
        yield QueryWarning("text_math", s.path + ("math_property",),
                           f"no value of the {kind} property {prop!r} reads as a number ({sample}); math {s.math!r} "
                           "reads numbers (PostHog's toFloat: text that is not a number is NULL), so the series "
                           "answers zeros")


ABSENT_VALUE_MAX = 200_000
"""``absent_values`` looks at properties with at most this many distinct values (a set of their
texts is kept with the dictionary; session ids and the like are left alone)."""


def absent_values(store: Outline, filt: TrendsFilter, project: Project) -> Iterator[QueryWarning]:
    """An ``exact`` filter on a text property naming only values no event (person, group) has:
    it matches nothing, often for a value that differs in case from a stored one."""
    typed = None
    for leaf in _query_leaves(filt):
        if leaf.operator not in (None, "exact") or leaf.type not in ("event", "person", "group"):
            continue
        wanted = leaf.value if isinstance(leaf.value, (list, tuple)) else [leaf.value]
        if not wanted or not all(isinstance(v, str) for v in wanted):
            continue
        typed = typed or with_inferred_types(project, store)  # (only for a query with such a filter)
        if typed.property_type(leaf.key, leaf.type, leaf.group_type_index) not in (None, "String"):
            continue
        values = store.dictionary(leaf.type, leaf.key, leaf.group_type_index)
        if values is None or len(values) > ABSENT_VALUE_MAX:
            continue  # (no such key: unknown_property says so; ids and the like: not worth a set)
        texts = _texts(values)
        if any(v in texts for v in wanted):
            continue
        where = {"event": "event", "person": "person", "group": f"group of type {leaf.group_type_index}"}[leaf.type]
        shown = wanted[0] if len(wanted) == 1 else list(wanted)
        yield QueryWarning("absent_value", leaf.path + ("value",),
                           f"no {where} has {leaf.key!r} = {shown!r}{_value_hint(wanted[0], texts, values)} "
                           "(the filter matches no event)")


def _texts(values: ValueDictionary) -> frozenset[str]:
    """The values as the filter compares them (their JSON text), kept with the dictionary."""
    found: frozenset[str] = values.cached("advice texts", lambda: frozenset(t for t in values.text()[:-1] if t is not None))
    return found


def _value_hint(value: str, texts: frozenset[str], values: ValueDictionary) -> str:
    """The stored value that differs only in case, else (in a dictionary of at most 10,000
    values) the nearest one."""
    lower: dict[str, str] = values.cached("advice lower", lambda: {t.lower(): t for t in sorted(texts)})
    same = lower.get(value.lower())
    if same is not None:
        return f"; {same!r} differs only in case (exact compares case; icontains does not)"
    if len(lower) > 10_000:
        return ""
    near = nearest(value.lower(), list(lower))  # (case aside: 'tema' is near 'Team')
    return f"; did you mean {lower[near]!r}?" if near is not None else ""


CHECKS: tuple[Callable[[Outline, TrendsFilter, Project], Iterator[QueryWarning]], ...] = (
    unknown_events, unknown_property_keys, group_property_maths, session_maths, text_comparisons, text_maths,
    absent_values,
)


def _outline(store: EventStore | Outline) -> Outline:
    return store if isinstance(store, Outline) else store_outline(store)


def advise(store: EventStore | Outline, filt: TrendsFilter, project: Project) -> list[QueryWarning]:
    """Warnings about the query itself (names, keys, types), from the store's outline."""
    outline = _outline(store)
    return [w for check in CHECKS for w in check(outline, filt, project)]


def range_advice(store: EventStore | Outline, filt: TrendsFilter, date_from: str | None, date_to: str | None,
                 now: dt.datetime) -> list[QueryWarning]:
    """A warning when the resolved query range holds none of the store's events."""
    span = _outline(store).span
    if span is None or date_from is None or date_to is None:
        return []
    lo, hi = dt.datetime.fromisoformat(date_from), dt.datetime.fromisoformat(date_to)
    first, last = span
    path = ("dateRange", "date_from") if filt.source == "query" else ("date_from",)
    if hi >= first and lo <= last:
        if filt.date_to is None and hi - last > dt.timedelta(days=30):
            to_path = ("dateRange", "date_to") if filt.source == "query" else ("date_to",)
            return [QueryWarning("range_past_data", to_path,
                                 f"the range runs to now ({hi:%Y-%m-%d}), {(hi - last).days} days after the store's last "
                                 f"event ({last:%Y-%m-%d}); pass date_to or now= (e.g. now='{last:%Y-%m-%d}')")]
        return []
    return [QueryWarning("range_outside_data", path,
                         f"the query range {lo:%Y-%m-%d %H:%M} – {hi:%Y-%m-%d %H:%M} holds none of the store's events "
                         f"({first:%Y-%m-%d} – {last:%Y-%m-%d}); {_range_hint(filt, last)}")]


def _range_hint(filt: TrendsFilter, last: dt.datetime) -> str:
    """What to change when the range misses the data: a relative range moves with ``now``; an
    hourly range's date-only ``date_to`` is that day's first hour (as PostHog reads it); an
    absolute range is as given."""
    date_to = filt.date_to
    if filt.interval == "hour" and date_to is not None and _DAY_ONLY.fullmatch(date_to):
        return (f"with interval 'hour', date_to {date_to!r} means that day's first hour: pass "
                f"'{date_to}T23:59:59' for the whole day")
    if filt.date_from is not None and is_absolute(filt.date_from) and date_to is not None and is_absolute(date_to):
        return "both dates are absolute: compare them with the store's"
    return f"pass now= (e.g. now='{last:%Y-%m-%d}') or absolute dates"


_DAY_ONLY = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")


def _span(store: EventStore) -> tuple[dt.datetime, dt.datetime] | None:
    """First and last event time from each event name's sorted block: no scan of the rows."""
    starts, ends = store.offsets[:-1], store.offsets[1:]
    full = ends > starts
    if not full.any():
        return None
    first = int(store.ts[starts[full]].min())
    last = int(store.ts[ends[full] - 1].max())
    return us_to_datetime(first), us_to_datetime(last)


__all__ = ["CHECKS", "Keys", "Outline", "advise", "nearest", "range_advice", "store_outline"]
