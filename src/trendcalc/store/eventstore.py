"""The immutable, indexed event store every query runs over.

Rows are ordered by (event code, timestamp), so ``offsets[k]:offsets[k+1]`` holds event k's rows in
time order and a series over a date range is a binary-searched slice. Strings are dictionary-encoded;
each property key is one PropertyColumn.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..limits import DEFAULT_LIMITS, Limits
from ..timeutil import us_to_datetime
from . import builder
from .columns import PropertyColumn
from .memo import Memo
from .readers import read_csv, read_records_file
from .report import IngestReport
from .tables import GroupTable, PersonTable

GROUP_KEYS = tuple(f"$group_{i}" for i in range(5))


class EventStore:
    """Events, persons and groups, indexed for trend queries. Build with a ``from_*`` constructor."""

    def __init__(
        self,
        *,
        ts: np.ndarray,
        event: np.ndarray,
        event_names: tuple[str, ...],
        distinct_id: np.ndarray,
        distinct_ids: np.ndarray,
        properties: Mapping[str, PropertyColumn],
        persons: PersonTable,
        groups: Mapping[int, GroupTable],
        uuid: np.ndarray | None = None,
    ):
        self.ts = ts
        self.event = event
        self.event_names = tuple(event_names)
        self.distinct_id = distinct_id
        self.distinct_ids = distinct_ids
        self.properties = dict(properties)
        self.persons = persons
        self.groups = dict(groups)
        self.uuid = uuid
        self.person = persons.person_of_distinct_id[distinct_id] if len(distinct_id) else np.zeros(0, np.int32)
        self.offsets = np.searchsorted(event, np.arange(len(event_names) + 1, dtype=event.dtype)).astype(np.int64)
        self._event_code = {name: i for i, name in enumerate(self.event_names)}
        self._memo = Memo()
        for arr in (self.ts, self.event, self.distinct_id, self.distinct_ids, self.person, self.offsets, self.uuid):
            if isinstance(arr, np.ndarray):
                arr.flags.writeable = False
        for col in self.properties.values():
            col.freeze()
        self.persons.freeze()
        for table in self.groups.values():
            table.freeze()

    # --- construction ---------------------------------------------------------------------------
    # Every constructor takes persons/groups as records, a DataFrame or a file path, and
    # ``errors="raise"`` (a bad row raises ValidationError naming where it is) or ``"skip"`` (bad
    # rows are left out and listed in ``store.ingest_report``, with an IngestWarning), and
    # ``limits`` (tc.Limits: max_ingest_string_length, max_ingest_depth, max_name_length). See
    # store/builder.py for the rules, readers.py for files and CSV columns, frames.py for frames.
    ingest_report: IngestReport | None = None  # what the constructor read, kept and skipped

    @classmethod
    def from_records(
        cls,
        events: Iterable[Mapping[str, Any]],
        persons: Iterable[Mapping[str, Any]] | None = None,
        groups: Iterable[Mapping[str, Any]] | None = None,
        *,
        errors: str = "raise",
        progress: bool | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from dict records (see DESIGN.md); bad input raises ValidationError naming
        ``events[i].field`` (or ``persons[i]...``/``groups[i]...``). Inputs are never mutated.

        Events may carry PostHog's export fields ``person_id`` and ``person_properties``: a
        distinct_id not listed in ``persons`` belongs to the person of its latest event."""
        items = builder.records("events", events)
        total = len(events) if hasattr(events, "__len__") else None
        items = builder.counted(items, total, progress, "ingesting events")
        b = builder.StoreBuilder(errors=errors, limits=limits)
        return builder.build_store(cls, b, (builder.Source("events"), items), persons, groups, progress)

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        persons: str | Path | Iterable[Mapping[str, Any]] | None = None,
        groups: str | Path | Iterable[Mapping[str, Any]] | None = None,
        *,
        errors: str = "raise",
        progress: bool | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from a JSON-lines file of events (``.gz`` is decompressed; a ``.json`` file may
        hold one array). Records are as in ``from_records``, ``properties`` may be JSON text.
        A bad line raises InputRowError (a ValidationError) naming the file, line and field."""
        b = builder.StoreBuilder(errors=errors, copy=False, limits=limits)
        return builder.build_store(cls, b, read_records_file(path, "events", progress), persons, groups, progress)

    @classmethod
    def from_csv(
        cls,
        path: str | Path,
        persons: str | Path | Iterable[Mapping[str, Any]] | None = None,
        groups: str | Path | Iterable[Mapping[str, Any]] | None = None,
        *,
        rename: Mapping[str, str] | None = None,
        delimiter: str = ",",
        errors: str = "raise",
        progress: bool | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from a CSV file with a header: ``event``, ``distinct_id``, ``timestamp``, then
        ``properties`` (JSON text) and/or one column per property (``$browser``,
        ``properties.plan``, ...); ``rename`` maps your column names to these. Details in
        ``trendcalc.store.readers``."""
        b = builder.StoreBuilder(errors=errors, copy=False, limits=limits)
        events = read_csv(path, rename=rename, delimiter=delimiter, progress=progress)
        return builder.build_store(cls, b, events, persons, groups, progress)

    @classmethod
    def from_pandas(
        cls, df: Any, persons: Any = None, groups: Any = None, *, rename: Mapping[str, str] | None = None,
        errors: str = "raise", progress: bool | None = None, limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from a pandas DataFrame with the CSV columns (typed cells are kept; null/NaN/NaT
        are absent). Needs ``trendcalc[pandas]``."""
        from .frames import pandas_items

        return cls._from_frame(pandas_items(_need(df, "pandas"), rename), len(df), persons, groups, errors, progress, limits)

    @classmethod
    def from_polars(
        cls, df: Any, persons: Any = None, groups: Any = None, *, rename: Mapping[str, str] | None = None,
        errors: str = "raise", progress: bool | None = None, limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from a Polars DataFrame with the CSV columns (typed cells are kept; nulls are
        absent). Needs ``trendcalc[polars]``."""
        from .frames import polars_items

        return cls._from_frame(polars_items(_need(df, "polars"), rename), len(df), persons, groups, errors, progress, limits)

    @classmethod
    def _from_frame(
        cls, events: Any, n: int, persons: Any, groups: Any, errors: str, progress: bool | None, limits: Limits
    ) -> EventStore:
        source, items = events
        items = builder.counted(items, n, progress, "ingesting events")
        b = builder.StoreBuilder(errors=errors, copy=False, limits=limits)
        return builder.build_store(cls, b, (source, items), persons, groups, progress)

    # --- persistence (store/persist.py) ---------------------------------------------------------
    def save(self, path: str | Path, *, overwrite: bool = False, durable: bool = True) -> Path:
        """Write the store to directory ``path`` atomically (see ``trendcalc.store.persist``);
        ``durable=False`` skips fsync (faster; safe against a crash of the process, not of the OS)."""
        from .persist import save_store

        return save_store(self, path, overwrite=overwrite, durable=durable)

    @classmethod
    def load(cls, path: str | Path, *, verify: bool = False) -> EventStore:
        """Open a saved store with memory-mapped columns; ``verify=True`` also checks every file's
        sha256 first. A missing, truncated, corrupted or other-version directory raises
        StoreFormatError."""
        from .persist import load_store

        return load_store(cls, path, verify=verify)

    @classmethod
    def from_arrow(cls, table: Any, persons: Any = None, groups: Any = None, *, limits: Limits = DEFAULT_LIMITS) -> EventStore:
        """Build from a pyarrow Table of events (extra ``arrow``); schema in ``store/arrow.py``."""
        from .arrow import from_arrow

        return from_arrow(cls, table, persons=persons, groups=groups, limits=limits)

    @classmethod
    def from_parquet(
        cls, path: str | Path, persons: Any = None, groups: Any = None, *, limits: Limits = DEFAULT_LIMITS
    ) -> EventStore:
        """Build from a Parquet file of events (extra ``arrow``); persons/groups may be records,
        Arrow tables or Parquet paths. Schema in ``store/arrow.py``."""
        from .arrow import from_parquet

        return from_parquet(cls, path, persons=persons, groups=groups, limits=limits)

    # --- access ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ts)

    def __repr__(self) -> str:
        if len(self):
            lo, hi = us_to_datetime(self.ts.min()), us_to_datetime(self.ts.max())
            span = f", {lo:%Y-%m-%d}..{hi:%Y-%m-%d}"
        else:
            span = ""
        return (
            f"<EventStore {len(self):,} events, {len(self.event_names)} event names, "
            f"{len(self.persons):,} persons, {len(self.properties)} event properties{span}>"
        )

    def event_code(self, name: str) -> int | None:
        """The code of an event name, None when no event has it."""
        return self._event_code.get(name)

    def event_slice(self, code: int, lo_us: int, hi_us: int) -> slice:
        """Rows of event ``code`` with ``lo_us <= ts < hi_us``: a binary search, no scan."""
        a, b = int(self.offsets[code]), int(self.offsets[code + 1])
        block = self.ts[a:b]
        return slice(a + int(np.searchsorted(block, lo_us, "left")), a + int(np.searchsorted(block, hi_us, "left")))

    def column(self, key: str) -> PropertyColumn | None:
        """The event property column of ``key`` (None when no event has it)."""
        return self.properties.get(key)

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """A value derived once per store (sessions, group row maps, ...), thread-safely."""
        return self._memo.get(key, build)

    def group_rows(self, group_type_index: int) -> np.ndarray:
        """Per event row: the row of its ``$group_N`` group in the group table (-1 = none)."""

        def build() -> np.ndarray:
            col = self.column(GROUP_KEYS[group_type_index])
            table = self.groups.get(group_type_index)
            if col is None:
                return np.full(len(self), -1, dtype=np.int32)
            index = table.index if table is not None else {}
            lut = np.array(
                [index.get(v if isinstance(v, str) else json.dumps(v), -1) for v in col.dictionary.values] + [-1],
                dtype=np.int32,
            )
            return lut[col.codes]

        return self.cached(("group_rows", group_type_index), build)

    def time_range(self) -> tuple[dt.datetime, dt.datetime] | None:
        if not len(self):
            return None
        return us_to_datetime(int(self.ts.min())), us_to_datetime(int(self.ts.max()))



def _need(df: Any, module: str) -> Any:
    """``df`` unchanged, after checking its library is importable (names the extra if not)."""
    try:
        __import__(module)
    except ImportError:
        raise ImportError(f"EventStore.from_{module} needs {module}: pip install 'trendcalc[{module}]'") from None
    return df
