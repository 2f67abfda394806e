"""Sessions that span partitions: their facts from all their events.

A session (``$session_id``) may hold events of several persons, so of several partitions; its
facts (``$session_duration``, entry and exit URL, attribution, counts, bounce, channel) are
functions of all its events. While partitioning, ``save_shared_events`` saves the events of the
sessions seen in more than one partition — only the columns the session table reads — as one
small store beside the partitions; ``spliced_sessions`` gives a partition the store's session
table with those sessions' facts computed over all their events (``store/sessions.SessionTable``
of that store). For a store written before that, ``shared_sessions`` (one or two phases on the
partitions) finds those sessions and gathers their events as records. Sessions inside one
partition keep that partition's facts, which are already exact.

The entry and exit event of a session are its first and last in time, ties broken by event
name, then distinct_id, then input order (``store/sessions.py``): events of one distinct_id are
in one partition, in their input order, so the gathered events give the single store's entry and
exit event whatever partitions they came from.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..store import EventStore
from ..store.columns import PropertyColumn, ValueDictionary
from ..store.sessions import CHANNEL_KEYS, ENTRY_PROPERTIES, SessionTable, session_table
from ..timeutil import us_to_datetime
from .tasks import Map, Task

KEYS = tuple(dict.fromkeys(("$session_id", "$current_url", "$external_click_url", *ENTRY_PROPERTIES.values(), *CHANNEL_KEYS)))
"""The event properties the session table reads."""


def shared_sessions(run: Map, known: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The events (as records) of every session seen in more than one partition, partition by
    partition in row order (empty: no session spans partitions). ``known``: those sessions, as
    the manifest lists them (``PartitionedStore.shared_session_ids``), else found here in a
    first phase."""
    if known is None:
        seen: Counter[str] = Counter()
        for ids in run(Task(session_ids_of)):
            seen.update(ids)
        shared = sorted(s for s, n in seen.items() if n > 1)
    else:
        shared = sorted(known)
    if not shared:
        return []
    return [r for found in run(Task(session_events_of, (tuple(shared),))) for r in _records(found)]


def _records(found: list[tuple[str, int, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """``session_events_of``'s events as event records."""
    return [{"event": event, "distinct_id": distinct_id, "timestamp": us_to_datetime(ts).isoformat(),
             "properties": props} for distinct_id, ts, event, props in found]


SHARED_EVENTS = "shared-sessions"
"""The directory (beside the partitions) of the saved store of the shared sessions' events."""


def save_shared_events(root: Path, names: Sequence[str], shared: Sequence[str], durable: bool = True) -> str | None:
    """Save the events of the sessions ``shared`` (those with events in more than one partition)
    of the saved partitions ``names`` under ``root`` as one store, ``root/shared-sessions``, and
    return its name (None: no session is shared). Written while partitioning, so a query reads
    their facts from it (``spliced_sessions``) instead of gathering them; each partition is
    opened memory-mapped, one at a time."""
    if not shared:
        return None
    records: list[dict[str, Any]] = []
    for name in names:
        records += _records(session_events_of(EventStore.load(root / name), shared))
    EventStore.from_records(records).save(root / SHARED_EVENTS, durable=durable)
    return SHARED_EVENTS


# --- the worker side ------------------------------------------------------------------------------


def session_ids_of(store: EventStore) -> list[str]:
    """This partition's session ids with events here (lower-cased UUIDv7 ``$session_id``)."""
    table = session_table(store)
    present = np.unique(table.session_of_row[table.session_of_row >= 0])
    return [table.ids[i] for i in present.tolist()]


def session_events_of(store: EventStore, shared: Sequence[str]) -> list[tuple[str, int, str, dict[str, Any]]]:
    """(distinct_id, ts µs, event name, the session table's properties) of this partition's
    events of the ``shared`` sessions, in row order."""
    table = session_table(store)
    if not len(table):
        return []
    in_shared = np.isin(np.asarray(table.ids, dtype=object), np.asarray(list(shared), dtype=object))
    s = table.session_of_row
    rows = np.flatnonzero((s >= 0) & in_shared[np.maximum(s, 0)])
    columns = [(k, store.column(k)) for k in KEYS]
    out = []
    for r in rows.tolist():  # the events of shared sessions only
        props = {}
        for key, col in columns:
            if col is not None and col.codes[r] >= 0:
                props[key] = col.dictionary.values[int(col.codes[r])]
        out.append((str(store.distinct_ids[int(store.distinct_id[r])]), int(store.ts[r]),
                    store.event_names[int(store.event[r])], props))
    return out


class SplicedSessions(SessionTable):
    """A partition's session table whose shared sessions read the facts of ``shared`` (the
    table of a store of all their events): same interface, the engine cannot tell."""

    def __init__(self, own: SessionTable, shared: SessionTable):  # noqa: D107  (no SessionTable.__init__: nothing to scan)
        pairs = []  # (own index, shared index): both id lists are sorted; a loop over the shared ones only
        for j, sid in enumerate(shared.ids):
            at = bisect_left(own.ids, sid)
            if at < len(own.ids) and own.ids[at] == sid:
                pairs.append((at, j))
        self._local = np.array([a for a, _ in pairs], dtype=np.int64)
        self._remote = np.array([b for _, b in pairs], dtype=np.int64)
        self._own, self._shared = own, shared
        self.store = own.store
        self.ids = own.ids
        self.session_of_row = own.session_of_row
        self.entry_row, self.exit_row = own.entry_row, own.exit_row
        self._rows_by_session = own._rows_by_session
        self.start_us = self._splice_values(own.start_us, shared.start_us)
        self.end_us = self._splice_values(own.end_us, shared.end_us)
        self.duration = self._splice_values(own.duration, shared.duration)
        self._columns = {}

    def _splice_values(self, own: np.ndarray, shared: np.ndarray) -> np.ndarray:
        out = np.array(own, copy=True)
        if len(self._local):
            out[self._local] = shared[self._remote]
        return out

    def column(self, name: str) -> PropertyColumn | None:
        """The field over this partition's sessions, the shared ones' values from ``shared``."""
        if name not in self._columns:
            own, other = self._own.column(name), self._shared.column(name)
            self._columns[name] = own if own is None or other is None else self._splice_column(own, other)
        return self._columns[name]

    def _splice_column(self, own: PropertyColumn, other: PropertyColumn) -> PropertyColumn:
        values = list(own.dictionary.values)
        index = {(type(v), v): i for i, v in enumerate(values)}
        remap = np.empty(len(other.dictionary) + 1, dtype=np.int32)
        for j, v in enumerate(other.dictionary.values):  # once per distinct value of the shared sessions
            remap[j] = index.setdefault((type(v), v), len(values))
            if remap[j] == len(values):
                values.append(v)
        remap[-1] = -1
        codes = np.array(own.codes, dtype=np.int32, copy=True)
        if len(self._local):
            codes[self._local] = remap[other.codes[self._remote]]
        return PropertyColumn(codes, ValueDictionary(values))


def spliced_sessions(store: EventStore, shared: list[dict[str, Any]] | str) -> SessionTable:
    """``store``'s session table with the shared sessions computed over all their events:
    ``shared`` is their events as records (``shared_sessions``), or the path of the store of
    them saved with the partitions (``save_shared_events``; opened once per process and kept,
    with its session table, ``worker.load_partition``)."""
    own = session_table(store)
    if not shared:
        return own
    if isinstance(shared, str):
        from .worker import load_partition

        return SplicedSessions(own, session_table(load_partition(shared)))
    return SplicedSessions(own, SessionTable(EventStore.from_records(shared)))
