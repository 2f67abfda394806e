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

import datetime as dt
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ValidationError
from ..limits import DEFAULT_LIMITS, Limits
from ..timeutil import MAX_YEAR, MIN_YEAR, UTC, datetime_to_us, to_us, us_to_datetime
from .builder import Source, StoreBuilder, records
from .columns import PropertyColumn, ValueDictionary
from .fixedkeys import arrow_ints, encode_fixed_width, ints_or, numpy_of
from .ingest import Interner, properties_of
from .readers import read_records_file
from .tables import NO_TIME, GroupTable, PersonTable
from .timerange import checked_us

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

    from .eventstore import EventStore

PREFIX = "properties."
RESERVED = ("event", "distinct_id", "timestamp", "uuid", "person_id", "properties")
_LO_US = datetime_to_us(dt.datetime(MIN_YEAR, 1, 1, tzinfo=UTC))
_HI_US = datetime_to_us(dt.datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC))


def _pa():
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("EventStore.from_arrow/from_parquet need pyarrow: pip install 'trendcalc[arrow]'") from exc
    return pa, pc


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


# --- reading ----------------------------------------------------------------------------------


def _read_parquet_file(path: str | Path, what: str) -> pa.Table:
    """_read_parquet of a single file of flat columns through ParquetFile (pq.read_table's
    dataset module imports pandas, when installed: ~0.15 s of a fresh process); anything else
    (a directory, nested columns, an error) through _read_parquet."""
    pa, _ = _pa()
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        if len(set(schema.names)) == len(schema.names) and not any(_nested(f.type) for f in schema):
            strings = [i for i, f in enumerate(schema)
                       if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)) and f.name not in ("uuid", "properties")]
            pf = pq.ParquetFile(path, memory_map=True, pre_buffer=False, read_dictionary=strings or None)
            if pf.metadata.num_columns == len(schema) and pf.schema_arrow.names == schema.names:
                return pf.read(use_threads=False)
    except (OSError, pa.ArrowException, TypeError, ValueError):
        pass
    return _read_parquet(path, what)


def _read_parquet(path: str | Path, what: str) -> pa.Table:
    """Read a Parquet file, string columns as Arrow dictionaries (no string materialisation)."""
    pa, _ = _pa()
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        strings = [s for s in strings if s not in ("uuid", "properties")]  # JSON text is mostly distinct
        # pre_buffer off: with a memory-mapped local file, coalescing reads ahead only adds copies
        return pq.read_table(path, read_dictionary=strings or None, use_threads=True, memory_map=True, pre_buffer=False)
    except (OSError, pa.ArrowException, TypeError, ValueError) as exc:  # (TypeError/ValueError: a bad path)
        raise ValidationError((what,), f"cannot read Parquet file {str(path)[:200]!r}: {exc}") from exc


class _ColumnReader:
    """A Parquet file of flat columns read column by column on a thread of its own (Arrow's
    decoding releases the GIL), in the order the build needs them; ``column(name)`` waits for
    its column. Like ``_read_parquet``: string columns as dictionaries, errors as
    ValidationError naming the file. ``extra``: Futures of further inputs (persons, groups:
    ``.parquet`` paths are read after the events' columns)."""

    num_rows: int
    column_names: list[str]

    @classmethod
    def open(cls, path: str | Path, what: str, extra: list[tuple[Any, str]]) -> _ColumnReader | None:
        """None when the file is not one of flat, uniquely named columns (or cannot be opened):
        the caller reads it whole then."""
        pa, _ = _pa()
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
            if len(set(schema.names)) != len(schema.names) or any(_nested(f.type) for f in schema):
                return None
            strings = [i for i, f in enumerate(schema)
                       if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)) and f.name not in ("uuid", "properties")]
            pf = pq.ParquetFile(path, memory_map=True, pre_buffer=False, read_dictionary=strings or None)
            if pf.metadata.num_columns != len(schema) or pf.schema_arrow.names != schema.names:
                return None
        except (OSError, pa.ArrowException, TypeError, ValueError):
            return None  # the whole-file read reports it
        return cls(pf, path, what, extra)

    def __init__(self, pf: Any, path: str | Path, what: str, extra: list[tuple[Any, str]]):
        import threading

        self._pf, self._path, self._what = pf, path, what
        self.num_rows = pf.metadata.num_rows
        self.column_names = list(pf.schema_arrow.names)
        self._cols: dict[str, Future] = {name: Future() for name in self.column_names}
        self._taken: set[str] = set()
        self.extra: list[Any] = [Future() if isinstance(x, (str, Path)) and Path(x).suffix == ".parquet" else x
                                 for x, _ in extra]
        first = [c for c in ("event", "timestamp", "distinct_id", "person_id") if c in self._cols]
        props = [c for c in self.column_names if c == "properties" or (c.startswith(PREFIX) and c not in RESERVED)]
        # the properties with the largest dictionaries (the most to hash) first, so that the last
        # column read is a quick one to encode
        size = _dictionary_bytes(pf.metadata)
        props.sort(key=lambda c: -size[self.column_names.index(c)])
        rest = [c for c in self.column_names if c not in first and c not in props]
        # persons (small) before the properties: the persons job must not hold a worker waiting
        self.rank = {c: i for i, c in enumerate(first + props + rest)}
        jobs: list[tuple[Future, Callable[[], Any]]] = [
            (self._cols[c], partial(self._read, self.column_names.index(c))) for c in first]
        jobs += [(f, partial(_read_parquet_file, x, w)) for f, (x, w) in zip(self.extra, extra) if isinstance(f, Future)]
        jobs += [(self._cols[c], partial(self._read, self.column_names.index(c))) for c in props + rest]
        self._thread = threading.Thread(target=self._run, args=(jobs,), name="trendcalc-parquet", daemon=True)
        self._thread.start()

    def _read(self, i: int) -> pa.ChunkedArray:
        pa, _ = _pa()
        try:
            return self._pf.reader.read_all(column_indices=[i], use_threads=False).column(0)
        except (OSError, pa.ArrowException, TypeError, ValueError) as exc:
            raise ValidationError((self._what,), f"cannot read Parquet file {str(self._path)[:200]!r}: {exc}") from exc

    @staticmethod
    def _run(jobs: list[tuple[Future, Callable[[], Any]]]) -> None:
        jobs.reverse()
        while jobs:  # each read on its own: raise_read_error reports the first in file order
            fut, job = jobs.pop()  # (kept no longer than needed: see column())
            try:
                fut.set_result(job())
            except BaseException as exc:  # handed to whoever waits for this input
                fut.set_exception(exc)
            del fut, job

    def column(self, name: str) -> pa.ChunkedArray:
        """The column, handed over once: the reader forgets it (its memory goes back to Arrow's
        pool for the next columns as soon as its encoding is done); asked again, it is read again."""
        fut = self._cols[name]
        col = fut.result()
        if name not in self._taken:
            self._taken.add(name)
            done: Future = Future()
            done.set_result(None)
            self._cols[name] = done
            return col
        return self._read(self.column_names.index(name))

    def raise_read_error(self) -> None:
        """Wait for the reads; raise the first one's error, if any (in the order of the
        whole-file reads: the events, then persons, then groups)."""
        self._thread.join()
        for fut in [*self._cols.values(), *(f for f in self.extra if isinstance(f, Future))]:
            exc = fut.exception()
            if exc is not None:
                raise exc


def _release_arrow_memory() -> None:
    """Hand the memory the file's columns took back from Arrow's pool to the system (mimalloc and
    jemalloc keep freed pages for reuse: ~0.4 GiB after a 10 M build, with the store holding none)."""
    pa, _ = _pa()
    try:
        pa.default_memory_pool().release_unused()
    except (AttributeError, NotImplementedError, pa.ArrowException):  # pragma: no cover - older pyarrow
        pass


def _dictionary_bytes(meta: Any) -> list[int]:
    """Per column of a flat file, the bytes of its dictionary pages (compressed; 0 without)."""
    out = [0] * meta.num_columns
    try:
        for r in range(meta.num_row_groups):
            rg = meta.row_group(r)
            for i in range(meta.num_columns):
                c = rg.column(i)
                if c.has_dictionary_page and c.dictionary_page_offset is not None:
                    out[i] += max(0, c.data_page_offset - c.dictionary_page_offset)
    except Exception:  # noqa: BLE001 - only an ordering hint
        pass
    return out


def _nested(t: Any) -> bool:
    pa, _ = _pa()
    return pa.types.is_nested(t) or (pa.types.is_dictionary(t) and pa.types.is_nested(t.value_type))


def _resolve(x: Any) -> Any:
    return x.result() if isinstance(x, Future) else x


def _maybe_parquet(x: Any, what: str) -> Any:
    """A ``.parquet`` path read as a table; other paths (JSON lines, JSON) are left to the record
    readers."""
    return _read_parquet(x, what) if isinstance(x, (str, Path)) and Path(x).suffix == ".parquet" else x


def _as_table(x: Any, what: str) -> pa.Table:
    pa, _ = _pa()
    if isinstance(x, pa.Table):
        return x
    if isinstance(x, pa.RecordBatch):
        return pa.Table.from_batches([x])
    if hasattr(x, "__arrow_c_stream__"):
        return pa.table(x)
    raise ValidationError((what,), f"expected a pyarrow Table, got {type(x).__name__}")


def _is_table(x: Any) -> bool:
    if x is None or isinstance(x, (list, tuple, Mapping)):
        return False
    try:
        pa, _ = _pa()
    except ImportError:  # pragma: no cover
        return False
    return isinstance(x, (pa.Table, pa.RecordBatch)) or hasattr(x, "__arrow_c_stream__")


# --- column builders --------------------------------------------------------------------------


def _first_row(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _dictionary_codes(col: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """(distinct non-null values in first-seen order, int32 code per row with -1 for null).

    Dictionary-typed columns (Parquet's, read as such) keep their dictionaries, unified across
    chunks; entries no row uses are dropped (a dictionary written from Arrow keeps them)."""
    pa, pc = _pa()
    if pa.types.is_dictionary(col.type):
        if col.num_chunks == 0:
            return pa.array([], col.type.value_type), np.zeros(0, np.int32)
        dictionary, dicts, which, maps = _unify(col.chunks)
        idxs = [ints_or(c.indices, -1) for c in col.chunks]
        # which entries of each chunk dictionary rows use (the last slot: null), scanning a
        # dictionary's chunks only until every entry is seen
        seen = [np.zeros(len(d) + 1, dtype=bool) for d in dicts]
        left = [len(d) for d in dicts]
        for w, idx in zip(which, idxs):
            if left[w]:
                left[w] = _mark_used(seen[w], idx, left[w])
        used = np.zeros(len(dictionary), dtype=bool)
        for w, m in enumerate(maps):
            if left[w] == 0:
                used[m[:-1]] = True
            else:
                used[m[:-1][seen[w][:-1]]] = True
        identity = len(dicts) == 1  # codes are the chunks' own indices
        if not used.all():
            identity = False
            # drop unused entries (an Arrow dictionary may carry them); the rest keep their order
            remap = np.full(len(dictionary) + 1, -1, dtype=np.int32)
            remap[:-1][used] = np.arange(int(used.sum()), dtype=np.int32)
            maps = [remap[m] for m in maps]
            dictionary = dictionary.take(arrow_ints(np.flatnonzero(used)))
        raw = np.empty(len(col), dtype=np.int32)
        pos = 0
        for w, idx in zip(which, idxs):
            if identity:
                raw[pos:pos + len(idx)] = idx
            else:
                np.take(maps[w], idx, out=raw[pos:pos + len(idx)], mode="wrap")  # -1 (null) → the last slot
            pos += len(idx)
        return dictionary, raw
    uniq = pc.unique(col)
    if uniq.null_count:
        uniq = uniq.drop_null()
    codes = pc.index_in(col, value_set=uniq)
    out = ints_or(codes, -1) if isinstance(codes, pa.Array) else np.concatenate(
        [ints_or(c, -1) for c in codes.chunks] or [np.zeros(0, np.int32)])
    return uniq, out.astype(np.int32, copy=False)


def _mark_used(seen: np.ndarray, idx: np.ndarray, left: int) -> int:
    """Mark ``seen[idx]`` (-1 → the last slot) in growing slices until all but the last slot
    are marked; returns how many are still unmarked."""
    k, pos, step = len(seen) - 1, 0, 1 << 12
    while pos < len(idx):
        seen[idx[pos:pos + step]] = True
        pos += step
        step <<= 1
        left = k - int(np.count_nonzero(seen[:k]))
        if not left:
            break
    return left


def _unify(chunks: list) -> tuple[Any, list, list[int], list[np.ndarray]]:
    """One dictionary for dictionary-encoded chunks: (it, the distinct chunk dictionaries, per
    chunk the index of its dictionary among them, per distinct dictionary the map of its codes
    into the unified one, with a last slot -1 = null).

    The Parquet reader gives every batch of a row group the row group's whole dictionary, so
    dictionaries are compared by buffer identity first and each distinct one is hashed once."""
    pa, pc = _pa()
    distinct: dict[tuple, int] = {}
    dicts: list = []
    which = []
    for c in chunks:
        d = c.dictionary
        key = (len(d), d.offset) + tuple(b.address if b is not None else 0 for b in d.buffers())
        if key not in distinct:
            distinct[key] = len(dicts)
            dicts.append(d)
        which.append(distinct[key])
    if len(dicts) == 1:
        m = np.arange(len(dicts[0]) + 1, dtype=np.int32)
        m[-1] = -1
        return dicts[0], dicts, which, [m]
    together = pa.concat_arrays(dicts)
    fixed = encode_fixed_width(together)  # fixed-width ids: a sort, quicker than hashing
    if fixed is not None:
        dictionary, codes = fixed
    else:
        enc = pc.dictionary_encode(together)  # one hash pass over all dictionaries
        dictionary, codes = enc.dictionary, numpy_of(enc.indices).astype(np.int32, copy=False)
    maps, pos = [], 0
    for d in dicts:
        m = np.empty(len(d) + 1, dtype=np.int32)
        m[:-1] = codes[pos:pos + len(d)]
        m[-1] = -1
        pos += len(d)
        maps.append(m)
    return dictionary, dicts, which, maps


def _check_nulls(codes: np.ndarray, what: str, name: str, message: str) -> None:
    if len(codes) and codes.min() < 0:
        raise ValidationError((what, _first_row(codes < 0), name), message)


def _encode_strings(col: pa.ChunkedArray, what: str, name: str, *, max_len: int) -> tuple[pa.Array, np.ndarray]:
    """(distinct strings as an Arrow array, int32 code per row); nulls and overlong strings are
    errors naming the first row."""
    pa, pc = _pa()
    vtype = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if not (pa.types.is_string(vtype) or pa.types.is_large_string(vtype)):
        if pa.types.is_null(vtype) and len(col):
            raise ValidationError((what, 0, name), f"expected a non-empty {name}")
        if not pa.types.is_null(vtype):
            raise ValidationError((what, name), f"expected a string column, got {col.type}")
    uniq, codes = _dictionary_codes(col)
    _check_nulls(codes, what, name, f"expected a non-empty {name}, got None")
    if len(uniq):
        lengths = numpy_of(pc.utf8_length(uniq))
        if lengths.max() > max_len:
            bad = int(np.argmax(lengths > max_len))
            raise ValidationError((what, _first_row(codes == bad), name), f"{name} longer than {max_len} characters")
    return uniq, codes


def _empty_string_row(uniq: pa.Array, codes: np.ndarray) -> int | None:
    """The first row holding ``""`` (None when no row does)."""
    _, pc = _pa()
    if not len(uniq):
        return None
    empty = numpy_of(pc.binary_length(uniq)) == 0
    return _first_row(codes == int(np.argmax(empty))) if empty.any() else None


def _encode_ids(col: pa.ChunkedArray, what: str, name: str, max_len: int = DEFAULT_LIMITS.max_name_length) -> tuple[pa.Array, np.ndarray]:
    """String ids (integers are rendered as their decimal text, as from_records does)."""
    pa, pc = _pa()
    vtype = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if pa.types.is_integer(vtype):
        col = pc.cast(col, pa.string())
    uniq, codes = _encode_strings(col, what, name, max_len=max_len)
    row = _empty_string_row(uniq, codes)
    if row is not None:
        raise ValidationError((what, row, name), f"expected a non-empty string {name}, got ''")
    return uniq, codes


def _timestamps(col: pa.ChunkedArray, what: str, name: str) -> np.ndarray:
    """int64 µs UTC per row; ValidationError naming the first bad row."""
    pa, pc = _pa()
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = col.cast(t.value_type), t.value_type
    if col.null_count:
        mask = np.asarray(col.is_null().to_numpy(zero_copy_only=False))
        raise ValidationError((what, _first_row(mask), name), "missing timestamp")
    if pa.types.is_timestamp(t) or pa.types.is_date(t):  # range-checked before scaling (timerange.py)
        date32 = t == pa.date32()
        unit = t.unit if pa.types.is_timestamp(t) else "D" if date32 else "ms"
        return checked_us(_int64(col.cast(pa.int32() if date32 else pa.int64())), unit, (what, name))
    elif pa.types.is_integer(t) or pa.types.is_floating(t):
        # unsigned 64-bit values above int64 (not castable) are out of range anyway: read as floats
        as_float = pa.types.is_floating(t) or t == pa.uint64()
        x = _int64(col.cast(pa.float64(), safe=False)) if as_float else None
        if x is None:
            us = checked_us(_int64(col.cast(pa.int64())), "s", (what, name), "epoch seconds")
        else:
            bad = ~np.isfinite(x) | (x < -2_208_988_800) | (x > 10_413_792_000)
            if bad.any():
                raise ValidationError((what, _first_row(bad), name), "expected finite epoch seconds within years 1900..2299")
            us = np.round(x * 1_000_000).astype(np.int64)
        return us
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        us = _iso_strings(col, what, name)
    else:
        raise ValidationError((what, name), f"expected a timestamp, date, ISO-8601 string or epoch seconds column, got {t}")
    if len(us) and (int(us.min()) < _LO_US or int(us.max()) >= _HI_US):
        bad = (us < _LO_US) | (us >= _HI_US)
        raise ValidationError((what, _first_row(bad), name), f"timestamp outside years {MIN_YEAR}..{MAX_YEAR}")
    return us


def _int64(col: pa.ChunkedArray) -> np.ndarray:
    chunks = [numpy_of(c) for c in col.chunks]
    if not chunks:
        return np.zeros(0, dtype=np.int64)
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def _iso_strings(col: pa.ChunkedArray, what: str, name: str) -> np.ndarray:
    """ISO-8601 text: Arrow's parser when it can (all with offsets, or all naive = UTC), else
    the same parser as from_records once per distinct string."""
    pa, pc = _pa()
    for target in (pa.timestamp("us", "UTC"), pa.timestamp("us")):
        try:
            return _int64(col.cast(target).cast(pa.int64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    uniq, codes = _dictionary_codes(col)
    values = uniq.to_pylist()
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        try:
            out[i] = to_us(v, ())
        except ValidationError as exc:
            raise ValidationError((what, _first_row(codes == i), name), exc.message) from None
    return out[codes]


def _sort_order(event: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The stable (event, ts) order: a sort by time (skipped when already sorted) followed by a
    radix sort of the small event codes. Ties keep input order, as ``np.lexsort`` does. Also
    returns the time order alone (None when the rows already are in time order)."""
    n = len(ts)
    if n == 0:
        return np.zeros(0, dtype=np.int64), None
    if bool(np.all(ts[1:] >= ts[:-1])):
        by_time = None
        ev = event
    else:
        by_time = np.argsort(ts, kind="stable")
        ev = event[by_time]
    small = ev.astype(np.uint16) if len(ev) and int(ev.max()) < 65536 else ev
    by_event = np.argsort(small, kind="stable")
    return (by_event if by_time is None else by_time[by_event]), by_time


# --- properties -------------------------------------------------------------------------------


def _property_sources(
    table: pa.Table, what: str, reserved: tuple[str, ...], limits: Limits = DEFAULT_LIMITS
) -> list[tuple[str, Callable[[], tuple]]]:
    """(key, build) per property of a table — flat ``properties.<key>``, a struct's fields, or the
    keys of JSON text — where ``build()`` returns (codes, dictionary). Keys given twice are an
    error naming the column."""
    pa, pc = _pa()
    out: list[tuple[str, Callable[[], tuple]]] = []
    seen: set[str] = set()

    def add(key: str, build: Callable[[], tuple], path: tuple) -> None:
        if key in seen:
            raise ValidationError(path, f"property {key!r} is given twice")
        if len(key) > limits.max_name_length:
            raise ValidationError(path, f"property key longer than max_name_length={limits.max_name_length}")
        seen.add(key)
        out.append((key, build))

    if "properties" in table.column_names:
        col = table.column("properties")
        t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        if pa.types.is_struct(t):
            flat = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
            for i in range(t.num_fields):
                field = t.field(i)
                child = flat.field(i)
                if flat.null_count:  # a null struct row means no properties at all
                    child = pc.if_else(flat.is_null(), pa.scalar(None, child.type), child)
                add(field.name, partial(_typed_column, pa.chunked_array([child]), what, f"properties.{field.name}", limits),
                    (what, "properties", field.name))
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
            for key, built in _json_columns(col, what, limits).items():
                add(key, partial(lambda b: b, built), (what, "properties", key))
        else:
            raise ValidationError((what, "properties"), f"expected JSON text or a struct column, got {col.type}")
    for name in table.column_names:
        if name.startswith(PREFIX) and name not in reserved:
            add(name[len(PREFIX):], partial(_typed_column_of, table, what, name, limits), (what, name))
    return out


def _property_columns(
    table: pa.Table, what: str, reserved: tuple[str, ...], limits: Limits = DEFAULT_LIMITS
) -> dict[str, tuple[np.ndarray, ValueDictionary]]:
    """Property columns of a table, in table row order."""
    return {k: build() for k, build in _property_sources(table, what, reserved, limits)}


def _ordered_column(build: Callable[[], tuple], order: np.ndarray) -> PropertyColumn:
    codes, dictionary = build()
    return PropertyColumn(_gather(codes, order), dictionary)


def _gather(a: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``a[order]`` (``order`` a permutation) by Arrow's take: ~10% quicker than NumPy's for
    int32, ~30% for int64, and into Arrow's pool, whose pages the columns already read and
    released left (the result is a read-only array over an Arrow buffer, as the store wants)."""
    pa, pc = _pa()
    if not len(a):
        return a.copy()
    return numpy_of(pc.take(arrow_ints(a), arrow_ints(order), boundscheck=False))


def _typed_column_of(table: Any, what: str, name: str, limits: Limits) -> tuple[np.ndarray, ValueDictionary]:
    return _typed_column(table.column(name), what, name, limits)


def _typed_column(col: pa.ChunkedArray, what: str, name: str, limits: Limits = DEFAULT_LIMITS) -> tuple[np.ndarray, ValueDictionary]:
    """One scalar-typed Arrow column → (codes, dictionary of Python values in first-seen order)."""
    pa, pc = _pa()
    t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if pa.types.is_null(t):
        return np.full(len(col), -1, dtype=np.int32), ValueDictionary(())
    scalar = (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
              or pa.types.is_floating(t) or pa.types.is_boolean(t))
    if not scalar:
        raise ValidationError((what, name), f"unsupported property column type {col.type}: use string, "
                              "integer, float or boolean (nested values go in a JSON 'properties' column)")
    if not pa.types.is_dictionary(col.type) and col.null_count > len(col) // 2:
        return _sparse_column(col, what, name, limits)
    if pa.types.is_floating(t) and not pa.types.is_dictionary(col.type):
        finite = pc.is_finite(col)
        if pc.any(pc.invert(finite)).as_py():  # (null: absent, not a bad value)
            mask = ~np.asarray(pc.fill_null(finite, True).to_numpy(zero_copy_only=False))
            raise ValidationError((what, _first_row(mask), name), "expected a finite number")
    if pa.types.is_floating(t) and t != pa.float64():
        col = col.cast(pa.float64())
    uniq, codes = _dictionary_codes(col)
    if (pa.types.is_string(t) or pa.types.is_large_string(t)) and len(uniq):
        if pc.max(pc.utf8_length(uniq)).as_py() > limits.max_ingest_string_length:
            raise ValidationError((what, name), f"string longer than max_ingest_string_length={limits.max_ingest_string_length}")
    return codes, ValueDictionary(uniq.to_pylist())


def _sparse_column(col: pa.ChunkedArray, what: str, name: str, limits: Limits) -> tuple[np.ndarray, ValueDictionary]:
    """_typed_column of a column mostly null: built over its values alone (the same dictionary:
    nulls are never in it), then spread over the rows; an error's row is the row in ``col``."""
    rows = np.flatnonzero(np.concatenate([numpy_of(c.is_valid()) for c in col.chunks]))
    try:
        dense, dictionary = _typed_column(col.drop_null(), what, name, limits)
    except ValidationError as exc:
        if len(exc.path) == 3 and isinstance(exc.path[1], int):
            raise ValidationError((what, int(rows[int(exc.path[1])]), name), exc.message) from None
        raise
    codes = np.full(len(col), -1, dtype=np.int32)
    codes[rows] = dense
    return codes, dictionary


def _json_columns(col: pa.ChunkedArray, what: str, limits: Limits = DEFAULT_LIMITS) -> dict[str, tuple[np.ndarray, ValueDictionary]]:
    """JSON object text per row → one column per key; each distinct text is parsed once and each
    key gets a look-up table text-code → value-code, gathered over the rows."""
    uniq, blob = _dictionary_codes(col)
    texts = uniq.to_pylist()
    keys: dict[str, tuple[Interner, np.ndarray]] = {}
    for j, text in enumerate(texts):
        try:
            props = properties_of({"properties": text}, (), limits=limits)
        except ValidationError as exc:
            raise ValidationError((what, _first_row(blob == j)) + exc.path, exc.message) from None
        for k, v in props.items():
            if v is None:  # JSON null = absent, as from_records
                continue
            interner, lut = keys.get(k) or keys.setdefault(k, (_ValueInterner(), np.full(len(texts) + 1, -1, np.int32)))
            lut[j] = interner(v)
    return {k: (lut[blob], ValueDictionary(interner.values)) for k, (interner, lut) in keys.items()}


class _ValueInterner(Interner):
    """Interns JSON values with ``intern_key`` (1, 1.0, True and "1" stay distinct)."""

    def __call__(self, v: Any) -> int:  # type: ignore[override]
        from .columns import intern_key
        from .ingest import _frozen_copy

        k = intern_key(v)
        c = self.index.get(k)
        if c is None:
            c = self.index[k] = len(self.values)
            self.values.append(_frozen_copy(v))
        return c


# --- persons and groups -----------------------------------------------------------------------


def _persons_and_groups(
    persons: Any, groups: Any, dids: pa.Array, did_codes: np.ndarray, person_ids: Future | None,
    by_time: np.ndarray | None, limits: Limits = DEFAULT_LIMITS,
) -> tuple[PersonTable, np.ndarray, dict[int, GroupTable]]:
    """The person table, the distinct_id universe (the events' distinct_ids first) and the group
    tables, with ``from_records``' rules:

    - persons given as records (or a table with ``distinct_ids``, or a JSON-lines/JSON path) go
      through the record builder; a table with ``id`` gives one person per row, vectorised;
    - a distinct_id no person claims joins the person_id of its latest event (``by_time``: the
      rows in time order; ties go to the later row); a person_id equal to a person's ``id``
      joins that person, any other starts a new person (in the order of its distinct_ids);
    - distinct_ids left without a person get one of their own.

    ``person_ids``: the events' ``person_id`` column being encoded (a Future of (ids, codes)),
    or None without one."""
    persons, groups = _resolve(persons), _resolve(groups)  # (Futures of Parquet files being read)
    b = StoreBuilder(limits=limits)
    indexed = False

    def index_dids() -> None:  # only the record path looks distinct_ids up (Python objects)
        nonlocal indexed
        b.dids.values = dids.to_pylist()
        b.dids.index = {d: i for i, d in enumerate(b.dids.values)}
        indexed = True

    table = None
    if _is_table(persons):
        table = _as_table(persons, "persons")
        if "distinct_ids" in table.column_names:
            recs = _table_records(table, "persons", PERSON_FIELDS, limits)
            index_dids()
            b.feed("persons", Source("persons"), records("persons", recs))
            table = None
        elif "id" not in table.column_names:
            raise ValidationError(("persons", "id"), "missing required column 'id' (or 'distinct_ids')")
    elif isinstance(persons, (str, Path)):
        src, items = read_records_file(persons, "persons")
        index_dids()
        b.feed("persons", src, items)
    elif persons is not None:
        index_dids()
        b.feed("persons", Source("persons"), records("persons", persons))
    if _is_table(groups):
        b.feed("groups", Source("groups"), records("groups", _table_records(_as_table(groups, "groups"), "groups", GROUP_FIELDS, limits)))
    elif isinstance(groups, (str, Path)):
        b.feed("groups", *read_records_file(groups, "groups"))
    elif groups is not None:
        b.feed("groups", Source("groups"), records("groups", groups))

    pa, pc = _pa()
    n_dids = len(b.dids.values) if indexed else len(dids)
    if table is not None:
        id_arr, n_rows = _table_ids(table)
        ids = [numpy_of(id_arr)]
    else:
        n_rows = len(b.p_ids)
        id_arr = pa.array([None if i is None else str(i) for i in b.p_ids], pa.string())
        ids = [np.array(b.p_ids + [None], dtype=object)[:-1]]
    person_of = np.full(n_dids, -1, dtype=np.int32)
    if b.owner:
        person_of[np.fromiter(b.owner.keys(), np.int64, len(b.owner))] = np.fromiter(b.owner.values(), np.int32, len(b.owner))
    if person_ids is not None:
        pids, pcodes = person_ids.result()
        pid_of_did = _latest_per_did(did_codes, pcodes, by_time, n_dids)
        # person row per distinct person_id: a person with that id, else new rows in the order
        # of the distinct_ids that name them
        row_of = np.full(len(pids) + 1, -1, dtype=np.int32)
        if len(pids) and len(id_arr):
            row_of[:-1] = ints_or(pc.index_in(pids, value_set=id_arr.cast(pids.type)), -1)
        claims = (person_of < 0) & (pid_of_did >= 0)
        named = pid_of_did[claims]
        fresh = named[row_of[named] < 0]
        if len(fresh):
            firsts = np.unique(fresh, return_index=True)[1]
            new = fresh[np.sort(firsts)]
            row_of[new] = np.arange(n_rows, n_rows + len(new), dtype=np.int32)
            ids.append(numpy_of(pids.take(arrow_ints(new))))
            n_rows += len(new)
        person_of[claims] = row_of[named]
    orphans = np.flatnonzero(person_of < 0)
    person_of[orphans] = np.arange(n_rows, n_rows + len(orphans), dtype=np.int32)
    n = n_rows + len(orphans)
    all_ids = np.empty(n, dtype=object)
    all_ids[:n_rows] = np.concatenate(ids) if len(ids) > 1 else ids[0]
    created_at = np.full(n, NO_TIME, dtype=np.int64)
    props: dict[str, PropertyColumn] = {}
    if table is not None:
        n_table = table.num_rows
        if "created_at" in table.column_names and table.column("created_at").null_count < n_table:
            col = table.column("created_at")
            ok = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            filled = pc.fill_null(col, pa.scalar(0, pa.int64()).cast(col.type)) if not ok.all() else col
            created_at[:n_table][ok] = _timestamps(filled, "persons", "created_at")[ok]
        for k, (codes, d) in _property_columns(table, "persons", PERSON_FIELDS, limits).items():
            full = np.full(n, -1, dtype=np.int32)
            full[:n_table] = codes
            props[k] = PropertyColumn(full, d)
    else:
        created_at[:len(b.p_created)] = b.p_created
        props = {k: bld.build(n) for k, bld in b.p_builders.items()}
    synthetic = np.zeros(n, dtype=bool)
    synthetic[n_rows:] = True
    if indexed:
        distinct_ids = np.array(b.dids.values, dtype=object)
    else:
        distinct_ids = np.empty(len(dids), dtype=object)
        if len(dids):
            distinct_ids[:] = numpy_of(dids)
    return PersonTable(all_ids, created_at, props, person_of, synthetic), distinct_ids, b._group_tables()


def _table_ids(table: Any) -> tuple[pa.Array, int]:
    """The ``id`` of each row of a persons table, as strings; duplicates are an error."""
    pa, _ = _pa()
    uniq, codes = _encode_ids(table.column("id"), "persons", "id")
    if len(uniq) != table.num_rows:
        dup = int(np.flatnonzero(np.bincount(codes, minlength=len(uniq)) > 1)[0])
        raise ValidationError(("persons", int(np.flatnonzero(codes == dup)[1]), "id"),
                              f"duplicate person id {uniq[dup].as_py()!r}")
    return uniq.take(arrow_ints(codes)), table.num_rows


def _latest_per_did(did_codes: np.ndarray, pcodes: np.ndarray, by_time: np.ndarray | None, n_dids: int) -> np.ndarray:
    """Per distinct_id, the person_id code of its latest row that has one (-1: none).
    ``by_time``: the rows in (stable) time order (None: they already are)."""
    has = pcodes >= 0
    it = np.int32 if len(did_codes) < 2**31 else np.int64
    if by_time is None:
        pos = np.arange(len(did_codes), dtype=it)
    else:
        pos = np.empty(len(by_time), dtype=it)
        pos[by_time] = np.arange(len(by_time), dtype=it)
    last = np.full(n_dids, -1, dtype=it)
    if has.all():
        np.maximum.at(last, did_codes, pos)  # the latest position; ties: the later row
    else:
        np.maximum.at(last, did_codes[has], pos[has])
    out = np.full(n_dids, -1, dtype=np.int64)
    seen = last >= 0
    out[seen] = pcodes[last[seen] if by_time is None else by_time[last[seen]]]
    return out


def _encode_ids_nullable(col: Any) -> tuple[pa.Array, np.ndarray]:
    pa, pc = _pa()
    vtype = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    if pa.types.is_integer(vtype):
        col = pc.cast(col, pa.string())
    elif not (pa.types.is_string(vtype) or pa.types.is_large_string(vtype) or pa.types.is_null(vtype)):
        raise ValidationError(("events", "person_id"), f"expected a string or integer column, got {col.type}")
    uniq, codes = _dictionary_codes(col)
    if pa.types.is_null(uniq.type):
        uniq = uniq.cast(pa.string())
    row = _empty_string_row(uniq, codes)
    if row is not None:
        raise ValidationError(("events", row, "person_id"), "expected a non-empty person_id")
    return uniq, codes


def _table_records(table: Any, what: str, fields: tuple[str, ...], limits: Limits = DEFAULT_LIMITS) -> list[dict[str, Any]]:
    """Rows of a small table (persons by distinct_ids, groups) as records for the record path."""
    props = _property_columns(table, what, fields, limits)
    cols = {f: _pylist(table.column(f), what, f) for f in fields if f in table.column_names and f != "properties"}
    n = table.num_rows
    out = []
    for i in range(n):
        rec: dict[str, Any] = {f: v[i] for f, v in cols.items() if v[i] is not None}
        rec["properties"] = {k: d.values[c] for k, (codes, d) in props.items() if (c := int(codes[i])) >= 0}
        out.append(rec)
    return out


def _pylist(col: Any, what: str, name: str) -> list[Any]:
    """A column's values for the record path; timestamps and dates are range-checked first
    (Arrow's ``as_py`` overflows on an out-of-range one) and given as datetimes."""
    pa, pc = _pa()
    if not (pa.types.is_timestamp(col.type) or pa.types.is_date(col.type)):
        return col.to_pylist()
    ok = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(ok)
    try:
        us = _timestamps(col.filter(pa.array(ok)), what, name)
    except ValidationError as exc:
        if len(exc.path) == 3:
            raise ValidationError((what, int(rows[int(exc.path[1])]), name), exc.message) from None
        raise
    out: list[Any] = [None] * len(col)
    for i, u in zip(rows.tolist(), us.tolist()):
        out[i] = us_to_datetime(u)
    return out


PERSON_FIELDS = ("id", "distinct_ids", "created_at", "properties")
GROUP_FIELDS = ("group_type_index", "group_key", "created_at", "properties")


__all__ = ["from_arrow", "from_parquet"]
