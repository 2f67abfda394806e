"""Global facts of a partitioned store, gathered partition by partition while they are written,
and written to the manifest (or a side file beside it):

- **property types**: the types the single store infers (``store/inferred_types.py``), because
  each partition's own inference sees only its rows (its dictionaries hold its values only, and
  its latest event is not the store's). Event properties are merged from
  per-partition summaries: the set of types their values get and the typed value seen first; a
  column whose type may depend on "now" (a date-like key holding integers) keeps every value's
  first sighting, so its types are computed from the global first sightings. Person and group
  properties are typed over the global persons and groups tables, with the store's latest event
  as "now". Queries on a partition read these types (``preset_inferred_types``).
- **event time bounds**: per event name, the earliest and latest timestamp (µs) over all partitions;
- **shared sessions**: the ``$session_id`` values whose events lie in more than one partition
  (a session's events may belong to several persons), in ``sessions.json``, and those
  sessions' events as a saved store beside the partitions;
- **property keys**: every event, person and group property key of any partition, typed or not
  (what advice needs to say "no such property": ``partition/outline.py``).

Ties: when two values of one event property with different types are first seen at the same
microsecond in different partitions, the single store picks the one first in its input; here
the one of the lower partition. Nothing else differs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..store import EventStore
from ..store.columns import render_text
from ..store.inferred_types import column_type, first_seen_seconds
from ..store.sessions import UUID7
from ..typedetect import detect, has_datetime_keyword

SESSION_KEY = "$session_id"
SESSIONS_FILE = "sessions.json"


def _vkey(v: Any) -> tuple[str, Any]:
    return (type(v).__name__, v if not isinstance(v, (list, dict)) else json.dumps(v, sort_keys=True))


class Facts:
    """Accumulates the global facts of the partitions added in order (see the module docstring)."""

    def __init__(self, types: bool = True) -> None:
        self.types = types  # (False: the types come from the whole store)
        self.bounds: dict[str, list[int]] = {}
        self.summaries: dict[str, list[tuple[set[str], float, str | None]]] = {}
        self.by_value: dict[str, dict[tuple[str, Any], list[Any]]] = {}  # date-like keys: value → [value, first s]
        self.person_types: dict[str, str] = {}
        self.sessions: list[Any] = []
        self.session_texts: list[Any] = []  # per partition its session keys as text (Arrow arrays: compact)
        self.session_ids: list[Any] = []  # per partition its session-table ids (UUIDv7, lower case)
        self.latest_us: int | None = None
        self.event_keys: set[str] = set()
        self.person_keys: set[str] = set()
        self.group_keys: dict[int, set[str]] = {}

    def add(self, store: EventStore) -> None:
        """Fold one partition in (call in partition order)."""
        ts = np.asarray(store.ts)
        if len(ts):
            hi = int(ts.max())
            self.latest_us = hi if self.latest_us is None else max(self.latest_us, hi)
        offsets = store.offsets
        for code, name in enumerate(store.event_names):
            a, b = int(offsets[code]), int(offsets[code + 1])
            if b > a:
                lo, hi = int(ts[a]), int(ts[b - 1])
                have = self.bounds.get(name)
                self.bounds[name] = [lo, hi] if have is None else [min(have[0], lo), max(have[1], hi)]
        self.event_keys.update(store.properties)
        self.person_keys.update(store.persons.properties)
        for gti, table in store.groups.items():
            self.group_keys.setdefault(int(gti), set()).update(table.properties)
        col = store.properties.get(SESSION_KEY)
        if col is not None and len(col.dictionary):
            used = np.unique(col.codes[col.codes >= 0])
            self.sessions.append(np.asarray(col.dictionary.values, dtype=object)[used])
            import pyarrow as pa

            used_values = self.sessions[-1].tolist()
            self.session_texts.append(pa.array(sorted({render_text(v) for v in used_values}), pa.string()))
            # the session table's ids (store/sessions.py), from the values alone: no table built here
            ids = {v.lower() for v in used_values if isinstance(v, str) and UUID7.match(v)}
            self.session_ids.append(pa.array(sorted(ids), pa.string()))
        if self.types:
            self._add_types(store, ts)

    def _add_types(self, store: EventStore, ts: np.ndarray) -> None:
        for key, col in store.properties.items():
            values = col.dictionary.values
            if not values:
                continue
            if has_datetime_keyword(key) and any(type(v) is int and v >= 0 for v in values):
                first = first_seen_seconds(col, ts)
                merged = self.by_value.setdefault(key, {})
                for v, f in zip(values, first.tolist()):
                    got = merged.get(_vkey(v))
                    if got is None:
                        merged[_vkey(v)] = [v, f]
                    elif f < got[1]:
                        got[1] = f
                continue
            types = [detect(key, v, 0.0) for v in values]  # (now matters for date-like keys only)
            typed = [i for i, t in enumerate(types) if t is not None]
            if not typed:
                continue
            kinds = {str(types[i]) for i in typed}
            if len(kinds) == 1:
                self.summaries.setdefault(key, []).append((kinds, math.inf, types[typed[0]]))
                continue
            first = first_seen_seconds(col, ts)
            win = min(typed, key=lambda i: (first[i], i))
            self.summaries.setdefault(key, []).append((kinds, float(first[win]), types[win]))
        for key, col in store.persons.properties.items():
            if key not in self.person_types:  # (persons named on events only: see definitions)
                t = column_type(key, col, None, 0.0 if not len(ts) else float(ts.max()) / 1e6)
                if t is not None:
                    self.person_types[key] = t

    def event_types(self) -> dict[str, str]:
        """Event property → inferred type, merged over the partitions."""
        out: dict[str, str] = {}
        for key, parts in self.summaries.items():
            kinds = set().union(*(k for k, _, _ in parts))
            if len(kinds) == 1:
                out[key] = next(iter(kinds))
            else:
                out[key] = min(((f, i, t) for i, (_, f, t) in enumerate(parts)), key=lambda x: (x[0], x[1]))[2]  # type: ignore[assignment]
        for key, merged in self.by_value.items():
            items = list(merged.values())
            types = [detect(key, v, f) for v, f in items]
            typed = [i for i, t in enumerate(types) if t is not None]
            if not typed:
                continue
            if all(types[i] == types[typed[0]] for i in typed):
                out[key] = types[typed[0]]  # type: ignore[assignment]
            else:
                out[key] = types[min(typed, key=lambda i: (items[i][1], i))]  # type: ignore[assignment]
        return out

    def property_keys(self) -> dict[str, Any]:
        """The manifest's ``property_keys``: sorted keys by kind, group keys by group type."""
        return {"event": sorted(self.event_keys), "person": sorted(self.person_keys),
                "group": {str(gti): sorted(keys) for gti, keys in sorted(self.group_keys.items())}}

    def shared_session_texts(self) -> list[str]:
        """The ``$session_id`` values as the session maths key them (``render_text``) that occur
        in more than one partition: a session counted by ``unique_session`` merges by key across
        partitions only when its key is one of these (``partition/merge.py``)."""
        return _in_several(self.session_texts)

    def shared_session_ids(self) -> list[str]:
        """The sessions (the session table's ids) with events in more than one partition: the
        ones whose facts a query gathers from all partitions (``sessions.shared_sessions``)."""
        return _in_several(self.session_ids)

    def shared_sessions(self) -> list[Any]:
        """The ``$session_id`` values held by more than one partition."""
        present = [v for v in self.sessions if len(v)]
        if len(present) < 2:
            return []
        import pyarrow as pa

        try:
            arrays = [pa.array(v) for v in present]
            pa.chunked_array(arrays)
        except (pa.ArrowException, TypeError):  # (values of several types: compared as text)
            arrays = [pa.array([str(x) for x in v], pa.string()) for v in present]
        return _in_several(arrays, key=str)


def _in_several(per_partition: list[Any], key: Any = None) -> list[Any]:
    """The values in more than one of the partitions' Arrow arrays (each without repeats, all of
    one type), sorted (by ``key``)."""
    present = [a for a in per_partition if len(a)]
    if len(present) < 2:
        return []
    import pyarrow as pa
    import pyarrow.compute as pc

    counts = pc.value_counts(pa.chunked_array(present))
    return sorted(counts.field("values").filter(pc.greater(counts.field("counts"), 1)).to_pylist(), key=key)


def definitions(facts: Facts, people: EventStore | None, latest_us: int | None) -> list[dict[str, Any]]:
    """The global property definitions ``{"name", "type", "kind"[, "group_type_index"]}``:
    event properties from ``facts``, person and group properties over ``people`` (the global
    persons and groups, no events) with the latest event as "now"; person properties only on
    events (``person_properties``) from the partitions' summaries."""
    out: list[dict[str, Any]] = [{"name": k, "type": t, "kind": "event"} for k, t in sorted(facts.event_types().items())]
    latest = 0.0 if latest_us is None else latest_us / 1e6
    person: dict[str, str] = {}
    if people is not None:
        for key, col in people.persons.properties.items():
            t = column_type(key, col, None, latest)
            if t is not None:
                person[key] = t
    for key, t in facts.person_types.items():
        person.setdefault(key, t)
    out += [{"name": k, "type": t, "kind": "person"} for k, t in sorted(person.items())]
    if people is not None:
        for gti in sorted(people.groups):
            for key, col in sorted(people.groups[gti].properties.items()):
                t = column_type(key, col, None, latest)
                if t is not None:
                    out.append({"name": key, "type": t, "kind": "group", "group_type_index": gti})
    return out


def store_facts(store: EventStore) -> list[dict[str, Any]]:
    """The property definitions of a whole store (the partitions of an in-memory store)."""
    return [dict(d) for d in store.property_definitions]


def write_sessions(root: Path, facts: Facts, names: list[str], durable: bool = True) -> str:
    """``sessions.json``: the ``$session_id`` values in more than one partition (``shared``), the
    same as the session maths key them (``shared_texts``), the sessions the session table forms
    from them (``shared_ids``: UUIDv7 ids, lower case) that span partitions, and ``events``: the
    saved store (a directory beside the partitions ``names``) of those sessions' events, which
    every partition's session table reads their facts from (``sessions.py``); None when no
    session spans partitions."""
    from .sessions import save_shared_events

    ids = facts.shared_session_ids()
    body = {"property": SESSION_KEY, "shared": facts.shared_sessions(), "shared_texts": facts.shared_session_texts(),
            "shared_ids": ids, "events": save_shared_events(root, names, ids, durable)}
    (root / SESSIONS_FILE).write_text(json.dumps(body))
    return SESSIONS_FILE


__all__ = ["Facts", "SESSIONS_FILE", "definitions", "store_facts", "write_sessions"]
