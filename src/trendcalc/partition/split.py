"""Splitting one EventStore into person partitions by slicing its columnar arrays.

Person resolution (which person a distinct_id belongs to, the latest-event rule) has already
happened in the built store, so the split is global and exact: a person's rows, distinct_ids and
person-table row go to one partition. Rows stay in (event, timestamp) order, event names are
shared unchanged, and the group tables — groups span persons — are copied into every partition.
Property dictionaries are shared unchanged by partitions kept in memory (``subset``: a
partition's codes index the whole store's dictionaries); saved partitions get compact ones,
only the values they use (``compact.py``), and the manifest records the whole store's value
bounds for the cost check (``"dictionaries": "compact"``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.advice import personless_count
from ..errors import ValidationError
from ..store import EventStore
from ..store.columns import PropertyColumn
from ..store.tables import PersonTable
from .compact import COMPACT, compact_columns, value_bounds
from .facts import Facts, store_facts, write_sessions
from .layout import FORMAT, MANIFEST, VERSION, Assign, person_rows_file
from .resolve import splitmix64


def person_partitions(store: EventStore, k: int, assign: Assign | None) -> np.ndarray:
    """The partition of every person row (int32, 0..k-1)."""
    n = len(store.persons)
    if assign is None:
        with np.errstate(over="ignore"):
            return (splitmix64(np.arange(n, dtype=np.uint64)) % np.uint64(k)).astype(np.int32)
    part = np.asarray(assign(store, k))
    if part.shape != (n,) or part.dtype.kind not in "iu":
        raise ValidationError(("assign",), f"expected {n} integer partitions (one per person row), got shape "
                                           f"{part.shape} of {part.dtype}")
    if n and (part.min() < 0 or part.max() >= k):
        raise ValidationError(("assign",), f"partitions must be in 0..{k - 1}, got {part.min()}..{part.max()}")
    return part.astype(np.int32)


def subset(store: EventStore, in_part: np.ndarray, *, compact: bool = False) -> EventStore:
    """The store of the persons where ``in_part`` (a mask over person rows) is true: their events,
    distinct_ids and person rows, remapped to dense codes; dictionaries and groups shared
    (``compact``: event and person property dictionaries cut to the values the partition uses,
    ``compact.compact_column``, for a partition to be saved)."""
    persons = store.persons
    pod = np.asarray(persons.person_of_distinct_id)
    prows = np.flatnonzero(in_part)
    new_person = np.full(len(in_part), -1, dtype=np.int64)
    new_person[prows] = np.arange(len(prows))
    dcodes = np.flatnonzero(in_part[pod]) if len(pod) else np.zeros(0, np.int64)
    new_distinct = np.full(len(pod), -1, dtype=np.int64)
    new_distinct[dcodes] = np.arange(len(dcodes))
    rows = np.flatnonzero(in_part[store.person]) if len(store.person) else np.zeros(0, np.int64)
    person_properties = {k: PropertyColumn(np.asarray(c.codes)[prows], c.dictionary) for k, c in persons.properties.items()}
    properties = {k: PropertyColumn(np.asarray(c.codes)[rows], c.dictionary) for k, c in store.properties.items()}
    if compact:
        person_properties, properties = compact_columns(person_properties), compact_columns(properties)
    table = PersonTable(
        ids=np.asarray(persons.ids)[prows],
        created_at=np.asarray(persons.created_at)[prows],
        properties=person_properties,
        person_of_distinct_id=new_person[pod[dcodes]].astype(pod.dtype),
        synthetic=np.asarray(persons.synthetic)[prows],
    )
    return EventStore(
        ts=np.asarray(store.ts)[rows],
        event=np.asarray(store.event)[rows],
        event_names=store.event_names,
        distinct_id=new_distinct[np.asarray(store.distinct_id)[rows]].astype(store.distinct_id.dtype),
        distinct_ids=np.asarray(store.distinct_ids)[dcodes],
        properties=properties,
        persons=table,
        groups=store.groups,
        uuid=None if store.uuid is None else np.asarray(store.uuid)[rows],
    )


def write_partitions(store: EventStore, root: Path, k: int, assign: Assign | None, *, overwrite: bool,
                     durable: bool = True) -> None:
    """Write ``k`` partitions of ``store`` and the manifest under ``root``. An existing ``root``
    is replaced only with ``overwrite=True`` and only when it is a partitioned store."""
    if root.exists():
        if not overwrite:
            raise FileExistsError(f"{root} exists; pass overwrite=True to replace it")
        if not (root / MANIFEST).is_file() or json.loads((root / MANIFEST).read_text()).get("format") != FORMAT:
            raise FileExistsError(f"refusing to replace {root}: it is not a partitioned trendcalc store")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    part = person_partitions(store, k, assign)
    entries: list[dict[str, Any]] = []
    facts = Facts(types=False)
    for p in range(k):  # a loop over partitions, each a vectorised slice
        sub = subset(store, part == p, compact=True)  # (only its own values: k whole dictionaries cost k times)
        name = f"part-{p:03d}"
        sub.save(root / name, durable=durable)
        np.save(root / person_rows_file(name), np.flatnonzero(part == p).astype(np.int64))  # for tc.actors' order
        facts.add(sub)
        bounds = None if not len(sub) else [int(np.min(sub.ts)), int(np.max(sub.ts))]
        entries.append({"path": name, "events": len(sub), "persons": len(sub.persons),
                            "persons_without_rows": personless_count(sub), "time_bounds": bounds})
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "k": k,
        "split": "splitmix64(person row) mod k" if assign is None else "custom assign",
        "partitions": entries,
        "dictionaries": COMPACT,  # (each partition holds the values it uses, in the store's order; merges go by value)
        "value_bounds": value_bounds(store),  # (the single store's, for the cost check: partition/cost.py)
        "property_types": store_facts(store),
        "event_time_bounds": facts.bounds,
        "property_keys": facts.property_keys(),
        "shared_sessions": write_sessions(root, facts, [f"part-{p:03d}" for p in range(k)], durable),
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1))


