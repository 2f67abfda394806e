"""The partitioned store on disk: ``k`` saved EventStores (``part-000`` ...) and a
``manifest.json`` that says how many there are, where, and each one's event time bounds."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..errors import StoreFormatError, ValidationError
from ..recent import Recent
from ..store import EventStore
from .layout import FORMAT, MANIFEST, VERSION, Assign, person_rows_file


@attrs.frozen
class PartitionedStore:
    """A directory of ``k`` person-partitioned saved stores: every event of a person lives in one
    partition. Open with ``PartitionedStore.open(path)``; query with ``trendcalc.trends``."""

    root: Path
    paths: tuple[Path, ...]
    events: tuple[int, ...]
    time_bounds: tuple[tuple[int, int] | None, ...]  # (min ts, max ts) in µs per partition
    manifest: Mapping[str, Any] = attrs.field(eq=False, repr=False)
    _memo: dict[Any, Any] = attrs.field(factory=dict, eq=False, repr=False, init=False)
    """Facts of these files computed once per opened store (the person-row handles)."""

    @property
    def partitions(self) -> int:
        return len(self.paths)

    @property
    def property_types(self) -> tuple[dict[str, Any], ...]:
        """The whole store's inferred property types (definition dicts, as
        ``EventStore.property_definitions``); every partition answers with these."""
        return tuple(dict(d) for d in self.manifest.get("property_types", ()))

    @property
    def event_time_bounds(self) -> dict[str, tuple[int, int]]:
        """Per event name, its earliest and latest timestamp (µs UTC) over all partitions."""
        return {k: (int(v[0]), int(v[1])) for k, v in self.manifest.get("event_time_bounds", {}).items()}

    @property
    def shared_sessions(self) -> tuple[Any, ...]:
        """The ``$session_id`` values whose events lie in more than one partition."""
        return tuple(self._session_listing("shared") or ())

    def shared_session_texts(self) -> frozenset[str] | None:
        """The session keys (``$session_id`` as the session maths key it) in more than one
        partition; None when the manifest predates this list (every key then merges by text)."""
        texts = self._session_listing("shared_texts")
        return None if texts is None else self.kept("shared session texts", lambda: frozenset(texts))  # type: ignore[no-any-return]

    def shared_session_ids(self) -> tuple[str, ...] | None:
        """The sessions (session-table ids) with events in more than one partition; None when the
        manifest predates this list (a query then finds them in a first phase)."""
        ids = self._session_listing("shared_ids")
        return None if ids is None else self.kept("shared session ids", lambda: tuple(ids))  # type: ignore[no-any-return]

    def _session_listing(self, key: str) -> list[Any] | None:
        """One list of ``sessions.json``; None: not written."""
        found = self._sessions_file().get(key)
        return found if isinstance(found, list) else None

    def _sessions_file(self) -> dict[str, Any]:
        """``sessions.json`` (read once per opened store); empty when the manifest names none."""

        def read() -> dict[str, Any]:
            name = self.manifest.get("shared_sessions")
            return json.loads((self.root / name).read_text()) if name else {}

        return self.kept("sessions listing", read)  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return sum(self.events)

    @classmethod
    def open(cls, path: str | os.PathLike) -> PartitionedStore:
        """Read ``path/manifest.json``; the partitions themselves are loaded when queried (each
        with ``EventStore.load``, memory-mapped). A missing or foreign manifest raises
        StoreFormatError."""
        root = Path(path)
        try:
            manifest = json.loads((root / MANIFEST).read_text())
        except (OSError, ValueError) as e:
            raise StoreFormatError((str(root), MANIFEST), f"no readable partitioned-store manifest ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise StoreFormatError((str(root), MANIFEST), "not a trendcalc partitioned store")
        if manifest.get("version") != VERSION:
            raise StoreFormatError((str(root), MANIFEST), f"format version {manifest.get('version')!r}, expected {VERSION}")
        parts = manifest["partitions"]
        return cls(
            root=root,
            paths=tuple(root / p["path"] for p in parts),
            events=tuple(int(p["events"]) for p in parts),
            time_bounds=tuple(None if p["time_bounds"] is None else (int(p["time_bounds"][0]), int(p["time_bounds"][1]))
                              for p in parts),
            manifest=manifest,
        )

    def person_rows_handles(self) -> tuple[str | None, ...]:
        """Per partition, the path of its persons' rows in the whole store (``tc.actors`` breaks
        ties by them; a person without an id is named by them), or None when it was written
        without them. (Looked up once per opened store: they are written with the partitions.)"""
        found = self._memo.get("person_rows")
        if found is None:
            out = []
            for p in self.paths:
                path = p.with_name(person_rows_file(p.name))
                out.append(str(path) if path.is_file() else None)
            found = self._memo["person_rows"] = tuple(out)
        return found

    def path_strings(self) -> tuple[str, ...]:
        """The partitions' paths as strings, then the manifest's (what workers are sent; made
        once per opened store: ``str`` of a ``Path`` costs a few µs, per query per partition)."""
        found = self._memo.get("path_strings")
        if found is None:
            found = self._memo["path_strings"] = tuple(str(p) for p in self.paths) + (str(self.root / MANIFEST),)
        return found

    def stamp(self) -> int:
        """The manifest's modification time in ns (-1: unreadable), read now: the partitions are
        (re)opened, and memos kept, while it is unchanged."""
        from .worker import manifest_stamp

        return manifest_stamp(self.path_strings()[-1])

    def kept(self, key: str, build: Callable[[], Any]) -> Any:
        """``build()`` of this opened store's manifest, computed once (the manifest was read at
        ``open``; a store rewritten in place is a new ``open``)."""
        if ("kept", key) not in self._memo:
            self._memo[("kept", key)] = build()
        return self._memo[("kept", key)]

    def shared_session_events(self, run: Callable[[Any], list[Any]]) -> list[dict[str, Any]] | str:
        """The events of the sessions with events in more than one partition, which a query with
        session filters or breakdowns splices into every partition's session table
        (``sessions.spliced_sessions``): the path of the store of them saved while partitioning
        (``sessions.json``'s ``events``; none when no session spans partitions). A store written
        before that gathers them as records with the Map ``run`` at its first such query and
        keeps them while the manifest is unchanged: they depend on the data, not on the query."""
        listing = self._sessions_file()
        if "events" in listing:
            return str(self.root / listing["events"]) if listing["events"] else []
        from .sessions import shared_sessions

        return self.memo("sessions", 1).get("events", lambda: shared_sessions(run, self.shared_session_ids()))

    def memo(self, name: str, size: int = 64) -> Recent[Any]:
        """A memo named ``name`` kept with this opened store (``partition/cost.py``'s facts), valid
        while the manifest is unchanged (a store rewritten in place starts afresh)."""
        stamp = self.stamp()
        found = self._memo.get(("memo", name))
        if found is None or found[0] != stamp:
            found = self._memo[("memo", name)] = (stamp, Recent(size))
        return found[1]

    def load(self, i: int, stamp: int | None = None) -> EventStore:
        """Partition ``i`` as an EventStore (memory-mapped columns, the whole store's property
        types; kept open for the next query while the manifest is unchanged; ``stamp``: its
        ``stamp()`` read for this query, else read here)."""
        from .worker import load_partition

        return load_partition(self.path_strings()[i], stamp)

    def __repr__(self) -> str:
        return f"<PartitionedStore {len(self):,} events in {self.partitions} partitions at {str(self.root)!r}>"


def partition(
    source: EventStore | str | os.PathLike | Sequence[str | os.PathLike],
    path: str | os.PathLike,
    partitions: int = 4,
    *,
    persons: Any = None,
    groups: Any = None,
    rename: Mapping[str, str] | None = None,
    timezone: Any = None,
    assign: Assign | None = None,
    overwrite: bool = False,
    durable: bool = True,
    chunk_rows: int = 1 << 20,
) -> PartitionedStore:
    """Split ``source`` by person into ``partitions`` saved stores under ``path`` plus a manifest,
    and return the PartitionedStore.

    ``source`` is an EventStore (sliced in memory), or input files: a path, a glob pattern
    (``"events/*.parquet"``, matches in name order) or a list of them, all JSON lines, CSV or
    Parquet, read as one input in that order and **streamed**: peak memory is about one
    partition plus one entry per distinct_id and person, not the data (``stream.py``).
    ``persons``, ``groups``, ``rename`` and ``timezone`` mean what they mean for
    ``EventStore.from_*``; ``chunk_rows`` is the rows read at a time. Persons are resolved over
    all files first (a distinct_id's person, the latest-event rule), so every event of a person
    is in one partition and each partition equals the single store's. ``assign`` (tests, an
    EventStore source only) overrides the person → partition map: ``assign(store, k)`` returns
    one partition per person row. Default: a fixed 64-bit mix of the person, mod ``k``.
    ``overwrite`` replaces an existing partitioned store at ``path``; ``durable=False`` skips
    fsyncs (faster).
    """
    from .resolve import check_assign
    from .split import write_partitions
    from .stream import stream_partitions

    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise ValidationError(("partitions",), f"expected a positive int, got {partitions!r}")
    if isinstance(source, EventStore):
        if persons is not None or groups is not None or rename is not None or timezone is not None:
            raise ValidationError(("persons",), "persons/groups/rename/timezone apply to input files, not to an EventStore")
        write_partitions(source, Path(path), partitions, assign, overwrite=overwrite, durable=durable)
    else:
        check_assign(assign)
        stream_partitions(source, Path(path), partitions, persons=persons, groups=groups, rename=rename,
                          timezone=timezone, overwrite=overwrite, durable=durable, chunk_rows=chunk_rows)
    return PartitionedStore.open(path)
