"""EventStore from Apache Arrow tables and Parquet files (optional extra ``arrow``: pyarrow).

Columns are built with vectorised Arrow/NumPy operations only: strings are dictionary-encoded
(``unique`` + ``index_in``, or the Parquet reader's own dictionaries), timestamps become int64 µs
UTC, and Python touches each *distinct* value at most once, never each row. The result is the
store ``from_records`` builds from the same data (same codes, dictionaries and order).

Events table
    ``event``        string, non-empty (required)
    ``distinct_id``  string or integer, non-empty (required)
    ``timestamp``    timestamp of any unit (naive = UTC), date, ISO-8601 string, or epoch
                     seconds as a number (required)
    ``uuid``         string (optional)
    ``person_id``    string or integer (optional): the person of the row (PostHog's export
                     field), an alternative to persons with ``distinct_ids``. As in
                     ``from_records``: a distinct_id no persons record claims joins the person of
                     its latest event; a person_id equal to a person's ``id`` joins that person.
    properties, in any combination (a key given twice is an error):
    ``properties``   a string column of JSON object text per row (PostHog's export form; parsed
                     once per distinct text), or a struct column with one field per key
    ``properties.<key>``  one flat column per property key
    Property values: string, integer, float (finite), boolean; null = absent. Nested values
    (objects, lists) are carried by the JSON ``properties`` column. Other columns are ignored.

Persons (``persons=``): records, a DataFrame or a JSON-lines/JSON path as for ``from_records``;
or a table (or ``.parquet`` path) with ``id`` (matched against the events' ``person_id``; one
person per row, built vectorised) or ``distinct_ids`` (list of strings; through the record
rules), plus optional ``created_at`` and properties as above. Groups (``groups=``): the same
forms, with ``group_type_index``, ``group_key``, optional ``created_at`` and properties.

Bad input raises ValidationError naming the column, and the row where there is one
(``events[12].timestamp``); there is no ``errors="skip"`` here.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ValidationError
from ..limits import DEFAULT_LIMITS, Limits
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
from .arrow_people import _encode_ids_nullable, _persons_and_groups
from .arrow_properties import _ordered_column, _property_sources
from .arrow_time import _timestamps
from .parquet_read import (
    _ColumnReader,
    _maybe_parquet,
    _read_parquet,
    _read_parquet_file,
    _release_arrow_memory,
)

if TYPE_CHECKING:  # pragma: no cover

    from .eventstore import EventStore



# --- public constructors ----------------------------------------------------------------------


def from_parquet(
    cls: type[EventStore],
    path: str | Path,
    persons: Any = None,
    groups: Any = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> EventStore:
    """Build from a Parquet file of events (schema: see module docstring). ``persons`` and
    ``groups`` may be records, Arrow tables or Parquet paths.

    A file of flat columns is read one column at a time on a thread of its own, in the order the
    build needs them, so that encoding overlaps reading; errors are those of reading the whole
    file first (a read error wins over a bad value), as with ``from_arrow(read_table(path))``."""
    reader = _ColumnReader.open(path, "events", [(persons, "persons"), (groups, "groups")])
    if reader is None:
        return cls.from_arrow(_read_parquet(path, "events"), persons=_maybe_parquet(persons, "persons"),
                              groups=_maybe_parquet(groups, "groups"), limits=limits)
    try:
        store = _build(cls, reader, reader.extra[0], reader.extra[1], limits)
    except ValidationError:
        reader.raise_read_error()
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
    limits: Limits = DEFAULT_LIMITS,
) -> EventStore:
    """Build from an Arrow table of events (or anything with ``__arrow_c_stream__``);
    ``limits``: the ingest caps (names, string sizes; see Limits)."""
    _pa()
    return _build(cls, _as_table(table, "events"), persons, groups, limits)


def _build(cls: type[EventStore], table: Any, persons: Any, groups: Any, limits: Limits) -> EventStore:
    """``table``: a pyarrow Table or a _ColumnReader; ``persons``/``groups`` may be Futures of
    what from_arrow takes."""
    if not isinstance(limits, Limits):
        raise ValidationError(("limits",), "expected a trendcalc.Limits")
    pa, pc = _pa()
    n = table.num_rows
    for name in ("event", "distinct_id", "timestamp"):
        if name not in table.column_names:
            raise ValidationError(("events", name), f"missing required column {name!r}")
    # Columns are independent apart from the (event, ts) order: they are built on a small thread
    # pool (Arrow compute and NumPy release the GIL) — the id columns while this thread orders
    # the rows — and collected in a fixed order, so the first error reported is too.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        # (columns are taken inside the jobs: from a _ColumnReader, each may still be being read)
        dids_job = pool.submit(lambda: _encode_ids(table.column("distinct_id"), "events", "distinct_id", limits.max_name_length))
        pids_job = (pool.submit(lambda: _encode_ids_nullable(table.column("person_id")))
                    if "person_id" in table.column_names else None)
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
        ts = _timestamps(table.column("timestamp"), "events", "timestamp")
        order, by_time = _sort_order(event, ts)
        dids, did_codes = dids_job.result()
        persons_job = pool.submit(_persons_and_groups, persons, groups, dids, did_codes, pids_job, by_time, limits)
        sources = _property_sources(table, "events", RESERVED, limits)
        # submitted in the order their columns are read (a _ColumnReader's), collected in table order
        rank = getattr(table, "rank", {})
        jobs = {k: pool.submit(_ordered_column, src, order)
                for k, src in sorted(sources, key=lambda s: rank.get(PREFIX + s[0], rank.get("properties", 0)))}
        prop_jobs = [(k, jobs[k]) for k, _ in sources]
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
    return cls(
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



__all__ = ["_ColumnReader", "_dictionary_codes", "_read_parquet_file", "from_arrow", "from_parquet"]
