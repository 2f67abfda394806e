"""EventStore from Apache Arrow tables and Parquet files (optional extra ``arrow``: pyarrow).

Columns are built with vectorised Arrow/NumPy operations only: strings are dictionary-encoded
(``unique`` + ``index_in``, or the Parquet reader's own dictionaries), timestamps become int64 µs
UTC, and Python touches each *distinct* value at most once, never each row. The result is the
store ``from_records`` builds from the same data (same codes, dictionaries and order).

Events table
    ``event``        string, non-empty (required)
    ``distinct_id``  string or integer, non-empty (required)
    ``timestamp``    timestamp of any unit (naive: in ``timezone=``, default UTC), date,
                     ISO-8601 string, or epoch seconds as a number (required)
    ``uuid``         string (optional)
    ``person_id``    string or integer (optional): the person of the row (PostHog's export
                     field), an alternative to persons with ``distinct_ids``. As in
                     ``from_records``: a distinct_id no persons record claims joins the person of
                     its latest event; a person_id equal to a person's ``id`` joins that person.
    properties, in any combination (a key given twice is an error; see ``columnrule``):
    ``properties``   a string column of JSON object text per row (PostHog's export form; parsed
                     once per distinct text), or a struct column with one field per key
    ``properties.<key>`` or any other column name: one flat column per property key
    Property values: string, integer, float (finite), boolean, timestamp or date (kept as ISO
    text); null = absent. Nested values (objects, lists) are carried by the JSON ``properties``
    column. ``person_properties`` columns (with ``person_id``) and ``errors="skip"`` take the
    record rules row by row.

Persons (``persons=``): records, a DataFrame or a JSON-lines/JSON path as for ``from_records``;
or a table (or ``.parquet`` path) with ``id`` (matched against the events' ``person_id``; one
person per row, built vectorised) or ``distinct_ids`` (list of strings; through the record
rules), plus optional ``created_at`` and properties as above. Groups (``groups=``): the same
forms, with ``group_type_index``, ``group_key``, optional ``created_at`` and properties.

Bad input raises ValidationError naming the column, and the row where there is one
(``events[12].timestamp``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ValidationError
from ..limits import DEFAULT_LIMITS, Limits
from ..timeutil import UTC
from . import columnrule
from .arrow_encode import (
    PREFIX,
    RESERVED,
    _as_table,
    _dictionary_codes,
    _encode_ids,
    _encode_strings,
    _first_row,
    _gather,
    _pa,
    _sort_order,
)
from .arrow_people import PersonIds, _persons_and_groups
from .arrow_properties import _ordered_column, _property_sources, with_int_rows
from .arrow_time import _timestamps, datetime_text, naive_in_zone
from .builder import check_errors_mode
from .columns import PropertyColumn
from .parquet_read import (
    _ColumnReader,
    _maybe_parquet,
    _read_parquet,
    _read_parquet_file,
    _release_arrow_memory,
)
from .report import IngestReport

if TYPE_CHECKING:  # pragma: no cover

    from .eventstore import EventStore



# --- public constructors ----------------------------------------------------------------------


def from_parquet(
    cls: type[EventStore],
    path: str | Path | Sequence[str | Path],
    persons: Any = None,
    groups: Any = None,
    *,
    rename: Mapping[str, str] | None = None,
    errors: str = "raise",
    progress: bool | None = None,
    timezone: Any = None,
    limits: Limits = DEFAULT_LIMITS,
) -> EventStore:
    """Build from a Parquet file of events (columns: ``columnrule``), or from its parts: a
    directory of ``.parquet`` files (read in name order) or a list of files, with the same
    columns (``parquet_files``). ``persons`` and ``groups`` may be records, Arrow tables or
    Parquet paths.

    A file of flat columns is read one column at a time on a thread of its own, in the order the
    build needs them, so that encoding overlaps reading; errors are those of reading the whole
    file first (a read error wins over a bad value), as with ``from_arrow(read_table(path))``."""
    check_errors_mode(errors)
    tz = columnrule.zone(timezone)
    reader = _ColumnReader.open(path, "events", [(persons, "persons"), (groups, "groups")])
    if reader is None or errors != "raise":
        if reader is not None:
            reader.raise_read_error()
            del reader
        return from_arrow(cls, _read_parquet(path, "events"), persons=_maybe_parquet(persons, "persons"),
                          groups=_maybe_parquet(groups, "groups"), rename=rename, errors=errors,
                          progress=progress, timezone=tz, limits=limits, kind="Parquet file")
    try:
        names, rows_needed = normalized_names(reader.column_names, rename, "Parquet file")
        if rows_needed:
            reader.raise_read_error()
            del reader
            return from_arrow(cls, _read_parquet(path, "events"), persons=_maybe_parquet(persons, "persons"),
                              groups=_maybe_parquet(groups, "groups"), rename=rename, errors=errors,
                              progress=progress, timezone=tz, limits=limits, kind="Parquet file")
        store = _build(cls, _Renamed(reader, names), reader.extra[0], reader.extra[1], limits, tz)
    except ValidationError:
        reader.raise_read_error()
        raise
    except BaseException:
        reader.stop()
        raise
    reader.raise_read_error()  # (columns the build does not use are read too, as read_table does)
    del reader
    _release_arrow_memory()
    return store


def from_arrow(
    cls: type[EventStore],
    table: Any,
    persons: Any = None,
    groups: Any = None,
    *,
    rename: Mapping[str, str] | None = None,
    errors: str = "raise",
    progress: bool | None = None,
    timezone: Any = None,
    limits: Limits = DEFAULT_LIMITS,
    kind: str = "Arrow table",
    int_rows: Mapping[str, Any] | None = None,
) -> EventStore:
    """Build from an Arrow table of events (or anything with ``__arrow_c_stream__``), columns
    as ``columnrule`` says; ``timezone``: the zone of naive timestamps (default UTC);
    ``limits``: the ingest caps (names, string sizes; see Limits). ``kind`` names the input in
    errors. Columnar all the way, except with ``errors="skip"`` or person property columns,
    which go through the record rules row by row (the same store)."""
    check_errors_mode(errors)
    _pa()
    tz = columnrule.zone(timezone)
    table = _as_table(table, "events")
    names, rows_needed = normalized_names(table.column_names, rename, kind)
    table = table.rename_columns(names)
    if rows_needed or errors != "raise":
        return _build_by_rows(cls, table, persons, groups, errors, progress, tz, limits, kind)
    return _build(cls, table, persons, groups, limits, tz, int_rows)


def normalized_names(header: list[str], rename: Mapping[str, str] | None, kind: str) -> tuple[list[str], bool]:
    """The columns' names under the column rule: recognised ones as they are, every event
    property as ``properties.<key>``, person properties as ``person_properties[.<key>]``; and
    whether the table needs the record rules (it has person property columns)."""
    try:
        roles = columnrule.layout(header, rename, kind)
    except ValidationError as exc:
        raise (exc if exc.path[:1] == ("rename",) else exc.prefixed(("events",))) from None
    out = []
    rows = False
    for what, key in roles:
        if what == "fixed":
            out.append(key)
        elif what == "event":
            out.append(PREFIX + key)
        elif what == "person":
            out.append(columnrule.PERSON_PREFIX + key)
            rows = True
        else:
            out.append(what)
            rows = rows or what == "person_properties"
    return out, rows


class _Renamed:
    """A _ColumnReader seen under the normalized column names."""

    def __init__(self, reader: Any, names: list[str]):
        self._reader = reader
        self._old = dict(zip(names, reader.column_names))
        self.num_rows = reader.num_rows
        self.column_names = names
        self.rank = {new: reader.rank.get(old, 0) for new, old in self._old.items()}

    def column(self, name: str) -> Any:
        return self._reader.column(self._old[name])


def _build_by_rows(cls: type[EventStore], table: Any, persons: Any, groups: Any, errors: str,
                   progress: bool | None, tz: dt.tzinfo, limits: Limits, kind: str) -> EventStore:
    """The record path for a (normalized) table: each row through the StoreBuilder's rules."""
    from .assemble import build_store
    from .builder import Source, StoreBuilder, counted
    from .readers import ColumnLayout

    pa, _ = _pa()
    cols = []
    for name in table.column_names:
        col = table.column(name)
        t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        if name.startswith((PREFIX, columnrule.PERSON_PREFIX)) and (pa.types.is_timestamp(t) or pa.types.is_date(t)):
            col = datetime_text(col)
        cols.append(col.to_pylist())
    layout = ColumnLayout(table.column_names, None, kind)

    def items() -> Iterator:
        for i, row in enumerate(zip(*cols)):
            try:
                yield i, layout.record(row, None), None
            except ValidationError as exc:
                yield i, exc, None

    b = StoreBuilder(errors=errors, copy=False, limits=limits, tz=tz)
    events = (Source("events"), counted(items(), table.num_rows, progress, "ingesting events"))
    return build_store(cls, b, events, persons, groups, progress)


def _property_jobs(pool: ThreadPoolExecutor, table: Any, order: Future[np.ndarray], rank: Mapping[str, int],
                   limits: Limits, int_rows: Mapping[str, Any] | None) -> list[tuple[str, Future[PropertyColumn]]]:
    """(key, job building its column in ``order``) per event property, in table order; submitted
    in the order a _ColumnReader reads their columns (``rank``)."""
    sources = _property_sources(table, "events", RESERVED, limits)
    if int_rows:  # (JSON lines: whole floats written as integers; columnar.py)
        # (a key's rows are asked for in its own job: they may still be being found)
        sources = [(k, partial(with_int_rows, src, partial(int_rows.__getitem__, k)) if k in int_rows else src)
                   for k, src in sources]
    jobs = {k: pool.submit(_ordered_column, src, order)
            for k, src in sorted(sources, key=lambda s: rank.get(PREFIX + s[0], rank.get("properties", 0)))}
    return [(k, jobs[k]) for k, _ in sources]


def _event_order(table: Any, tz: dt.tzinfo, limits: Limits) -> tuple[np.ndarray, np.ndarray | None, list[str], list[int], np.ndarray, np.ndarray]:
    """(the rows' stable (event, ts) order, their time order or None, the event names, the names'
    string order, event codes in that order per row, µs timestamps per row)."""
    n = table.num_rows
    # event names: codes in string order, as from_records
    names_arr, ev_codes = _encode_strings(table.column("event"), "events", "event", max_len=limits.max_name_length)
    names = names_arr.to_pylist()
    if "" in names:
        raise ValidationError(("events", _first_row(ev_codes == names.index("")), "event"),
                              "expected a non-empty event name, got ''")
    order_names = sorted(range(len(names)), key=names.__getitem__)
    new_of_old = np.empty(len(names) + 1, dtype=np.int32)
    new_of_old[np.asarray(order_names, dtype=np.int64)] = np.arange(len(names), dtype=np.int32)
    event = new_of_old[ev_codes] if n else np.zeros(0, np.int32)
    del ev_codes
    ts = _timestamps(naive_in_zone(table.column("timestamp"), tz), "events", "timestamp")
    order, by_time = _sort_order(event, ts)
    return order, by_time, names, order_names, event, ts


def _build(cls: type[EventStore], table: Any, persons: Any, groups: Any, limits: Limits, tz: dt.tzinfo = UTC,
           int_rows: Mapping[str, Any] | None = None) -> EventStore:
    """``table``: a pyarrow Table or a _ColumnReader; ``persons``/``groups`` may be Futures of
    what from_arrow takes."""
    if not isinstance(limits, Limits):
        raise ValidationError(("limits",), "expected a trendcalc.Limits")
    pa, pc = _pa()
    n = table.num_rows
    for name in columnrule.REQUIRED:
        if name not in table.column_names:
            raise columnrule.missing_columns_error("Arrow table", [name], list(table.column_names))
    # Columns are independent apart from the (event, ts) order: they are built on a small thread
    # pool (Arrow compute and NumPy release the GIL) — the id columns while this thread orders
    # the rows — and collected in a fixed order, so the first error reported is too.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        # (columns are taken inside the jobs: from a _ColumnReader, each may still be being read)
        dids_job = pool.submit(lambda: _encode_ids(table.column("distinct_id"), "events", "distinct_id", limits.max_name_length))
        pids_job = (pool.submit(lambda: PersonIds(table.column("person_id")))
                    if "person_id" in table.column_names else None)
        # A table in memory has its properties' codes built from the start, beside the
        # (event, time) order this thread computes: each job waits for the order only to gather
        # its codes by it. A _ColumnReader's are submitted after the order, as their columns
        # arrive (asking for one earlier would hold this thread until it is read).
        ordered: Future[np.ndarray] = Future()
        rank = getattr(table, "rank", {})
        prop_jobs: list[tuple[str, Future[PropertyColumn]]] = []
        deferred = None  # (a property's error is reported after the event, time and id columns')
        if not rank:
            try:
                prop_jobs = _property_jobs(pool, table, ordered, rank, limits, int_rows)
            except ValidationError as exc:
                deferred = exc
        try:
            order, by_time, names, order_names, event, ts = _event_order(table, tz, limits)
        except BaseException as exc:  # (the jobs waiting for the order end, with this error)
            for _, job in prop_jobs:
                job.cancel()
            ordered.set_exception(exc)
            raise
        ordered.set_result(order)
        dids, did_codes = dids_job.result()
        if deferred is not None:
            raise deferred
        persons_job = pool.submit(_persons_and_groups, persons, groups, dids, did_codes, pids_job, by_time, limits)
        if rank:
            prop_jobs = _property_jobs(pool, table, ordered, rank, limits, int_rows)
        # this thread's share while the jobs run (their workers may be waiting for columns):
        # rows ordered by event have the sorted event codes, counted out
        event = np.repeat(np.arange(len(names), dtype=np.int32), np.bincount(event, minlength=len(names)))
        ts = _gather(ts, order)  # (the unordered arrays go as soon as they are done with)
        did_sorted = _gather(did_codes, order)
        del did_codes
        person_table, distinct_ids, group_tables = persons_job.result()
        props = {k: job.result() for k, job in prop_jobs}
        did_codes = did_sorted
    uuid = None
    if "uuid" in table.column_names:
        col = table.column("uuid")
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_null(col.type)):
            raise ValidationError(("events", "uuid"), f"expected a string column, got {col.type}")
        if col.null_count < n:
            uuid = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)[order]
    store = cls(
        ts=ts,
        event=event,
        event_names=tuple(names[i] for i in order_names),
        distinct_id=did_codes,
        distinct_ids=distinct_ids,
        properties=props,
        persons=person_table,
        groups=group_tables,
        uuid=uuid,
    )
    kept = {"events": n, "persons": int((~person_table.synthetic).sum()),
            "groups": sum(len(g.keys) for g in group_tables.values())}
    store.ingest_report = IngestReport(dict(kept), kept, ())
    return store



__all__ = ["_ColumnReader", "_dictionary_codes", "_read_parquet_file", "from_arrow", "from_parquet"]
