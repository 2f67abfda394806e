"""Assembling a store: persons, groups and events fed to a StoreBuilder from whatever form each
came in (records, a DataFrame, a file path), then built. Beside the builder so that the builder
knows no reader (the readers and frames build Items for it)."""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from typing import Any

from .builder import Item, Source, StoreBuilder, records
from .frames import frame_records
from .readers import read_records_file


def build_store(
    cls: type,
    builder: StoreBuilder,
    events: tuple[Source, Iterable[Item]],
    persons: Any = None,
    groups: Any = None,
    progress: bool | None = None,
) -> Any:
    """Feed persons, groups (records, a DataFrame, or a file path) and events, then build ``cls``
    with its ``ingest_report`` attached; warns (IngestWarning) when rows were skipped."""
    for kind, value in (("persons", persons), ("groups", groups)):
        if isinstance(value, (str, PathLike)):
            builder.feed(kind, *read_records_file(Path(value), kind, progress))
        else:
            builder.feed(kind, Source(kind), records(kind, frame_records(value, kind)))
    source, items = events
    builder.feed("events", source, items)
    store = cls(**builder.build())
    store.ingest_report = builder.report()
    store.ingest_report.warn()
    return store
