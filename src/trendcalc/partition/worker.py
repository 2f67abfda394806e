"""Opening a partition where it is queried (this process, a pool worker, a Dask worker): the
saved store, memory-mapped, with the whole store's property types from the manifest
(``facts.py``), kept open for the next query while the manifest is unchanged."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import Any

from ..limits import Limits
from ..project import Project
from ..query.model import TrendsFilter
from ..store import EventStore
from ..store.inferred_types import preset_types
from .layout import MANIFEST

MAX_OPEN = 64
_open: dict[str, tuple[int, EventStore]] = {}
_lock = threading.Lock()


_manifests: dict[str, str] = {}


def manifest_stamp(manifest: str) -> int:
    """The manifest's modification time in ns (-1: it cannot be read): a store rewritten in
    place has a new one."""
    try:
        return os.stat(manifest).st_mtime_ns
    except OSError:
        return -1


def load_partition(path: str | Path, stamp: int | None = None) -> EventStore:
    """The saved partition at ``path`` (a directory beside the partitioned store's manifest).

    Every query checks the manifest's ``stamp`` (a store rewritten in place is opened afresh):
    the caller's when it sends one (it stats the manifest once per query for all partitions,
    ``PartitionedStore.stamp``), else this process stats it. The rest of a kept partition's
    lookup is string keys, no ``pathlib`` (which cost ~20 µs per partition per query, on the
    critical path of a few-millisecond DAU query)."""
    key = os.fspath(path)
    manifest = _manifests.get(key)
    if manifest is None:
        manifest = _manifests[key] = os.fspath(Path(key).parent / MANIFEST)
    if stamp is None:
        stamp = manifest_stamp(manifest)
    with _lock:
        hit = _open.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    store = EventStore.load(Path(key))
    if stamp >= 0:
        types = json.loads(Path(manifest).read_text()).get("property_types")
        if types:
            preset_types(store, types)
    with _lock:
        if len(_open) >= MAX_OPEN:
            _open.pop(next(iter(_open)))
        _open[key] = (stamp, store)
    return store


def answers_at(path: str, filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits) -> Any:
    """One partition's Partials (what the pool and Dask workers run)."""
    from .partials import partial_answers

    return partial_answers(load_partition(path), filt, project, now, limits)


def answers_at_many(paths: list[str], filt: TrendsFilter, project: Project, now: dt.datetime, limits: Limits) -> list[Any]:
    """``answers_at`` of several partitions, in order (one task for a pool worker's share)."""
    return [answers_at(p, filt, project, now, limits) for p in paths]


__all__ = ["answers_at", "answers_at_many", "load_partition", "manifest_stamp"]
