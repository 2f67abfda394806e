"""The served stores: opened once, shared read-only by every request, replaced whole on reload.

A request takes the project's current ``Loaded`` (store + version) once, at its start, and uses
only that: a reload publishes a new ``Loaded`` and never touches the old one, so requests in
flight finish on the store they started with. That works for saved stores because columns are
memory-mapped (an mmap keeps its file alive after ``save(overwrite=True)`` removes it) and because
``open_store`` reads every lazily loaded part (property dictionaries, uuids) before publishing.

The version is the sha256 of the store's manifest (which lists every file's sha256), so it names
the store's content: it is part of every cache key.

A partitioned store (``trendcalc partition``) is served as well: its version hashes its manifest
and every partition's. Its partitions are opened where they are queried (in this process, or by
the workers of ``executor: "processes"``) and kept open while its manifest is unchanged, so a
store replaced in place is picked up by the next request; unlike a saved store, a request in
flight while partitions are replaced may read the new ones.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..errors import StoreFormatError, ValidationError
from ..partition.layout import is_partitioned_manifest
from ..partition.store import PartitionedStore
from ..store import EventStore
from ..store.persist import MANIFEST
from .config import ServerConfig

log = logging.getLogger("trendcalc.server")


@attrs.frozen
class Loaded:
    """One opened store and the version naming its content."""

    store: EventStore | PartitionedStore
    version: str
    signature: tuple[Any, ...]  # what the watcher compares to notice a replaced directory


def signature(path: Path) -> tuple[Any, ...]:
    """Cheap identity of the store at ``path`` now: its manifest's (inode, size, mtime); () when
    there is none (e.g. in the instant between the two renames of an overwrite)."""
    try:
        st = os.stat(path / MANIFEST)
    except OSError:
        return ()
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _materialize(store: EventStore) -> None:
    """Read every part a saved store loads on first use, so it no longer needs its directory."""
    tables = [store.properties, store.persons.properties, *(g.properties for g in store.groups.values())]
    for columns in tables:
        for col in columns.values():
            _ = col.dictionary.values
    if store.uuid is not None:
        np.asarray(store.uuid)


def open_store(path: Path, *, attempts: int = 3) -> Loaded:
    """Open the saved store at ``path``, fully read (see the module docstring).

    A directory replaced while it is being read is read again (up to ``attempts`` times): the
    manifest read before and after opening must be the same bytes."""
    if not path.is_dir():
        what = "an events file: save it as a store first (trendcalc save --events FILE --out DIR)" if path.exists() else "nothing"
        raise StoreFormatError((str(path),), f"expected a saved store directory, found {what}")
    last: Exception | None = None
    for _ in range(attempts):
        try:
            before = (path / MANIFEST).read_bytes()
            sig = signature(path)
            if is_partitioned_manifest(before):
                parts = PartitionedStore.open(path)
                content = before + b"".join((p / MANIFEST).read_bytes() for p in parts.paths)
                if (path / MANIFEST).read_bytes() == before:
                    return Loaded(parts, hashlib.sha256(content).hexdigest()[:16], sig)
                continue
            store = EventStore.load(path)
            _materialize(store)
            if (path / MANIFEST).read_bytes() == before:
                return Loaded(store, hashlib.sha256(before).hexdigest()[:16], sig)
        except (OSError, StoreFormatError) as exc:  # replaced mid-read: try again
            last = exc
    if isinstance(last, StoreFormatError):
        raise last
    raise StoreFormatError((str(path),), f"the store kept changing while it was read ({last})")


class Stores:
    """The current ``Loaded`` of every project; ``reload`` swaps in replaced stores."""

    def __init__(self, config: ServerConfig, *, preloaded: dict[int, EventStore | PartitionedStore] | None = None):
        self._config = config
        self._lock = threading.Lock()  # one reload at a time; readers never take it
        self._current: dict[int, Loaded] = {}
        preloaded = preloaded or {}
        for p in config.projects:
            if p.id in preloaded:
                self._current[p.id] = Loaded(preloaded[p.id], f"memory-{id(preloaded[p.id]):x}", ())
            else:
                try:
                    self._current[p.id] = open_store(p.store)
                except ValidationError as exc:
                    raise ValidationError(("projects", p.id, "store"), str(exc)) from None
            if p.executor is not None and not isinstance(self._current[p.id].store, PartitionedStore):
                raise ValidationError(("projects", p.id, "executor"), f"executor {p.executor!r} runs the partitions of a "
                                      "partitioned store (trendcalc partition); this project's store is one store")

    def get(self, project_id: int) -> Loaded:
        """The project's current store (a plain dict read: atomic under the GIL)."""
        return self._current[project_id]

    def versions(self) -> dict[int, str]:
        return {pid: loaded.version for pid, loaded in self._current.items()}

    def reload(self, *, only_changed: bool = True) -> list[int]:
        """Re-open the stores whose directory changed (or all, ``only_changed=False``); returns the
        project ids that now serve a new version. A store that fails to open keeps the old one
        (logged) and is tried again on the next reload."""
        changed = []
        with self._lock:
            for p in self._config.projects:
                old = self._current[p.id]
                if not old.signature and old.version.startswith("memory-"):
                    continue  # an in-memory store given to create_app: nothing to re-read
                if only_changed and signature(p.store) == old.signature:
                    continue
                try:
                    new = open_store(p.store)
                except (ValidationError, OSError) as exc:
                    log.warning("project %s: keeping store %s; reloading %s failed: %s", p.id, old.version, p.store, exc)
                    continue
                if new.version != old.version:
                    self._current[p.id] = new
                    changed.append(p.id)
                    log.warning("project %s: now serving store %s (was %s)", p.id, new.version, old.version)
                else:
                    self._current[p.id] = attrs.evolve(old, signature=new.signature)
        return changed


class Watcher:
    """A daemon thread that calls ``stores.reload()`` every ``interval`` seconds until stopped."""

    def __init__(self, stores: Stores, interval: float):
        self._stores = stores
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trendcalc-store-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._stores.reload()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one bad reload
                log.exception("store reload failed")
