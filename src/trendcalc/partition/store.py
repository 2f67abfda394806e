"""The partitioned store on disk: ``k`` saved EventStores (``part-000`` ...) and a
``manifest.json`` that says how many there are, where, and each one's event time bounds."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..errors import StoreFormatError, ValidationError
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

    @property
    def partitions(self) -> int:
        return len(self.paths)

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
        without them."""
        out = []
        for p in self.paths:
            path = p.with_name(person_rows_file(p.name))
            out.append(str(path) if path.is_file() else None)
        return tuple(out)

    def load(self, i: int) -> EventStore:
        """Partition ``i`` as an EventStore (memory-mapped columns)."""
        return EventStore.load(self.paths[i])

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
    assign: Assign | None = None,
    overwrite: bool = False,
    durable: bool = True,
) -> PartitionedStore:
    """Split ``source`` by person into ``partitions`` saved stores under ``path`` plus a manifest,
    and return the PartitionedStore.

    ``source`` is an EventStore, or input file paths (``.jsonl``/``.json``/``.csv``/``.parquet``;
    several files are read into one store first — person resolution is global, so the whole
    store is built in memory before splitting; streaming is not done yet). ``persons``,
    ``groups`` and ``rename`` are passed to the reader as for ``EventStore.from_*``. ``assign``
    (tests) overrides the person → partition map: ``assign(store, k)`` returns one partition per
    person row. Default: a fixed 64-bit mix of the person row, mod ``k``. ``overwrite`` replaces
    an existing partitioned store at ``path``; ``durable=False`` skips fsyncs (faster).
    """
    from .split import build_source, write_partitions

    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1:
        raise ValidationError(("partitions",), f"expected a positive int, got {partitions!r}")
    if isinstance(source, EventStore) and (persons is not None or groups is not None or rename is not None):
        raise ValidationError(("persons",), "persons/groups/rename apply to input files, not to an EventStore")
    store = source if isinstance(source, EventStore) else build_source(source, persons, groups, rename)
    write_partitions(store, Path(path), partitions, assign, overwrite=overwrite, durable=durable)
    return PartitionedStore.open(path)
