"""The immutable, indexed event store every query runs over.

Rows are ordered by (event code, timestamp), so ``offsets[k]:offsets[k+1]`` holds event k's rows in
time order and a series over a date range is a binary-searched slice. Strings are dictionary-encoded;
each property key is one PropertyColumn.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..limits import DEFAULT_LIMITS, Limits
from ..timeutil import us_to_datetime
from . import builder, columnar, columnrule, readers
from .assemble import build_store
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
        self.properties = dict(sorted(properties.items()))  # by key: the same store whatever the column order
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
        rename: Mapping[str, str] | None = None,
        errors: str = "raise",
        progress: bool | None = None,
        timezone: Any = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from dict records (columns as ``store/columnrule.py`` says: keys besides the
        recognised ones are event properties); bad input raises ValidationError naming
        ``events[i].field`` (or ``persons[i]...``/``groups[i]...``). Inputs are never mutated.

        Events may carry PostHog's export fields ``person_id`` and ``person_properties``: a
        distinct_id not listed in ``persons`` belongs to the person of its latest event."""
        builder.check_errors_mode(errors)
        if errors == "raise" and columnar.have_pyarrow() and isinstance(events, list):
            read = columnar.records_table(events, rename)  # one pass into columns (store/columnar.py)
            if read is not None:
                store = _columnar_or_none(cls, read[0], persons, groups, rename, columnrule.zone(timezone), limits,
                                          "record", read[1])
                if store is not None:
                    return store
        items = builder.records("events", events)
        if rename:
            items = _renamed_items(items, columnrule.check_rename(rename))
        total = len(events) if isinstance(events, Sized) else None
        items = builder.counted(items, total, progress, "ingesting events")
        b = builder.StoreBuilder(errors=errors, limits=limits, tz=columnrule.zone(timezone))
        return build_store(cls, b, (builder.Source("events"), items), persons, groups, progress)

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        persons: str | Path | Iterable[Mapping[str, Any]] | None = None,
        groups: str | Path | Iterable[Mapping[str, Any]] | None = None,
        *,
        rename: Mapping[str, str] | None = None,
        errors: str = "raise",
        progress: bool | None = None,
        timezone: Any = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from a JSON-lines file of events (``.gz`` is decompressed; a ``.json`` file may
        hold one array). Records are as in ``from_records``, ``properties`` may be JSON text.
        A bad line raises InputRowError (a ValidationError) naming the file, line and field.
        With pyarrow, read columnar when the file allows it (``store/columnar.py``)."""
        tz = columnrule.zone(timezone)
        builder.check_errors_mode(errors)
        if errors == "raise" and columnar.have_pyarrow():
            with _reading(path, progress):
                read = columnar.jsonl_table(readers.file_path(path, "events"), rename)
            if read is not None:
                store = _columnar_or_none(cls, read[0], persons, groups, rename, tz, limits, "JSON lines", read[1])
                if store is not None:
                    return store
        b = builder.StoreBuilder(errors=errors, copy=False, limits=limits, tz=tz)
        items = read_records_file(path, "events", progress)
        if rename:
            items = (items[0], _renamed_items(items[1], columnrule.check_rename(rename)))
        return build_store(cls, b, items, persons, groups, progress)

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
        timezone: Any = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from a CSV file with a header: ``event``, ``distinct_id``, ``timestamp``, then
        ``properties`` (JSON text) and/or one column per property (``$browser``,
        ``properties.plan``, ...); ``rename`` maps your column names to these. Property columns
        of numbers/booleans are read as such (``store/celltypes.py``). With pyarrow, read
        columnar (``store/columnar.py``); details in ``trendcalc.store.readers``."""
        tz = columnrule.zone(timezone)
        builder.check_errors_mode(errors)
        if errors == "raise" and columnar.have_pyarrow():
            with _reading(path, progress):
                read = columnar.csv_table(readers.file_path(path, "events"), rename, delimiter)
            if read is not None:
                store = _columnar_or_none(cls, read[0], persons, groups, None, tz, limits, "CSV")
                if store is not None:
                    return store
        b = builder.StoreBuilder(errors=errors, copy=False, limits=limits, tz=tz)
        events = read_csv(path, rename=rename, delimiter=delimiter, progress=progress)
        return build_store(cls, b, events, persons, groups, progress)

    @classmethod
    def from_pandas(
        cls, df: Any, persons: Any = None, groups: Any = None, *, rename: Mapping[str, str] | None = None,
        errors: str = "raise", progress: bool | None = None, timezone: Any = None, limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from a pandas DataFrame (columns as ``store/columnrule.py`` says; typed cells are
        kept; null/NaN/NaT are absent). Goes over Arrow (``pa.Table.from_pandas``) when pyarrow
        is installed and the frame converts; else row by row. Needs ``trendcalc[pandas]``."""
        from .frames import pandas_items, pandas_table

        _need(df, "pandas")
        return cls._from_dataframe(df, pandas_table, pandas_items, persons, groups, rename, errors, progress, timezone, limits)

    @classmethod
    def from_polars(
        cls, df: Any, persons: Any = None, groups: Any = None, *, rename: Mapping[str, str] | None = None,
        errors: str = "raise", progress: bool | None = None, timezone: Any = None, limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from a Polars DataFrame (columns as ``store/columnrule.py`` says; typed cells are
        kept; nulls are absent), over Arrow (``df.to_arrow()``) when pyarrow is installed.
        Needs ``trendcalc[polars]``."""
        from .frames import polars_items, polars_table

        _need(df, "polars")
        return cls._from_dataframe(df, polars_table, polars_items, persons, groups, rename, errors, progress, timezone, limits)

    @classmethod
    def _from_dataframe(cls, df: Any, to_table: Any, to_items: Any, persons: Any, groups: Any,
                        rename: Mapping[str, str] | None, errors: str, progress: bool | None, timezone: Any,
                        limits: Limits) -> EventStore:
        """A DataFrame over Arrow when pyarrow is installed and the frame converts (errors="raise"),
        else row by row through ``to_items``."""
        tz = columnrule.zone(timezone)
        table = to_table(df) if columnar.have_pyarrow() and errors == "raise" else None
        if table is not None:
            store = _columnar_or_none(cls, table, persons, groups, rename, tz, limits, "DataFrame")
            if store is not None:
                return store
        return cls._from_frame(to_items(df, rename, tz), len(df), persons, groups, errors, progress, limits, tz)

    @classmethod
    def _from_frame(
        cls, events: Any, n: int, persons: Any, groups: Any, errors: str, progress: bool | None, limits: Limits,
        tz: Any = None,
    ) -> EventStore:
        source, items = events
        items = builder.counted(items, n, progress, "ingesting events")
        b = builder.StoreBuilder(errors=errors, copy=False, limits=limits, tz=tz or columnrule.zone(None))
        return build_store(cls, b, (source, items), persons, groups, progress)

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
    def from_arrow(
        cls, table: Any, persons: Any = None, groups: Any = None, *, rename: Mapping[str, str] | None = None,
        errors: str = "raise", progress: bool | None = None, timezone: Any = None, limits: Limits = DEFAULT_LIMITS,
        kind: str = "Arrow table",
    ) -> EventStore:
        """Build from a pyarrow Table of events (extra ``arrow``); columns as
        ``store/columnrule.py`` says, types in ``store/arrow.py``."""
        from .arrow import from_arrow

        return from_arrow(cls, table, persons=persons, groups=groups, rename=rename, errors=errors,
                          progress=progress, timezone=timezone, limits=limits, kind=kind)

    @classmethod
    def from_parquet(
        cls, path: str | Path | Sequence[str | Path], persons: Any = None, groups: Any = None, *,
        rename: Mapping[str, str] | None = None,
        errors: str = "raise", progress: bool | None = None, timezone: Any = None, limits: Limits = DEFAULT_LIMITS,
    ) -> EventStore:
        """Build from a Parquet file of events (extra ``arrow``), or a directory or list of its
        parts (same columns; read as one table, column by column, so the build holds one column
        of the input at a time); persons/groups may be records, Arrow tables or Parquet paths.
        Columns as ``store/columnrule.py`` says."""
        from .arrow import from_parquet

        return from_parquet(cls, path, persons=persons, groups=groups, rename=rename, errors=errors,
                            progress=progress, timezone=timezone, limits=limits)

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
        return slice(a + int(block.searchsorted(lo_us)), a + int(block.searchsorted(hi_us)))

    def column(self, key: str) -> PropertyColumn | None:
        """The event property column of ``key`` (None when no event has it)."""
        return self.properties.get(key)

    @property
    def property_definitions(self) -> tuple[dict[str, Any], ...]:
        """The property types inferred from the data, as PostHog's ingestion would record them
        (``store/inferred_types.py``): a definition ``{"name", "type", "kind"}`` (plus
        ``group_type_index`` for groups) per event, person and group property whose values have a
        type — the shape ``Project(property_definitions=...)`` takes. A query uses them where the project declares none
        (``Project(infer_property_types=True)``, the default)."""
        from .inferred_types import store_definitions

        return self.cached("property definitions", lambda: store_definitions(self))

    def inferred_type(self, name: str, kind: str = "event", group_type_index: int | None = None) -> str | None:
        """The inferred type of one property (see ``property_definitions``); None: no type."""
        from .inferred_types import store_column_type

        return store_column_type(self, name, kind, group_type_index)

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



def _renamed_items(items: Iterable[Any], rename: dict[str, str]) -> Iterator[Any]:
    """Feed items with their records' keys renamed (``rename=`` of the record readers)."""
    for row, rec, ts in items:
        if isinstance(rec, Mapping):
            rec = {rename.get(k, k): v for k, v in rec.items()}
        yield row, rec, ts


@contextlib.contextmanager
def _reading(path: Any, progress: bool | None) -> Iterator[None]:
    """The progress bar of a columnar read: the file's bytes, done when Arrow is."""
    from .progress import LARGE_BYTES, progress_bar

    p = readers.file_path(path, "events")
    try:
        size = p.stat().st_size
    except OSError:
        size = None
    bar = progress_bar(progress, size, LARGE_BYTES, f"reading {p.name}", "B")
    try:
        yield
        bar.update(size or 0)
    finally:
        bar.close()


def _columnar_or_none(cls: type[EventStore], table: Any, persons: Any, groups: Any, rename: Any, tz: Any,
                      limits: Limits, kind: str, int_rows: Any = None) -> EventStore | None:
    """The store of a columnar read (``columnar.py``), or None when its build raised: the caller
    then reads the file row by row, which raises the same problem naming the file and line."""
    from .arrow import from_arrow

    try:
        return from_arrow(cls, table, persons, groups, rename=rename, timezone=tz, limits=limits, kind=kind,
                          int_rows=int_rows)
    except (ValidationError, UnicodeDecodeError):  # (invalid UTF-8 that Arrow's reader let through)
        return None
    except columnar.UnmatchedLines:  # (JSON lines whose lines are not the rows Arrow read)
        return None


def _need(df: Any, module: str) -> Any:
    """``df`` unchanged, after checking its library is importable (names the extra if not)."""
    try:
        __import__(module)
    except ImportError:
        raise ImportError(f"EventStore.from_{module} needs {module}: pip install 'trendcalc[{module}]'") from None
    return df
