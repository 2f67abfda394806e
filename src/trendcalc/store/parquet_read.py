"""Reading Parquet files for the Arrow build: whole-file reads and the column-by-column reader."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from .arrow_encode import PREFIX, RESERVED, _pa

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa



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


def _read_parquet(path: str | Path | Sequence[str | Path], what: str) -> pa.Table:
    """Read a Parquet file (or a directory or list of its parts), string columns as Arrow
    dictionaries (no string materialisation)."""
    pa, _ = _pa()
    import pyarrow.parquet as pq

    from .parquet_files import check_same_schema, parquet_parts

    parts = parquet_parts(path, what)
    try:
        if parts:
            check_same_schema([pq.read_schema(p) for p in parts], parts, what)
        schema = pq.read_schema(parts[0] if parts else path)
        strings = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        strings = [s for s in strings if s not in ("uuid", "properties")]  # JSON text is mostly distinct
        # pre_buffer off: with a memory-mapped local file, coalescing reads ahead only adds copies
        source = [str(p) for p in parts] if parts else path
        return pq.read_table(source, read_dictionary=strings or None, use_threads=True, memory_map=True, pre_buffer=False)
    except ValidationError:  # (parts with other columns)
        raise
    except (OSError, pa.ArrowException, TypeError, ValueError) as exc:  # (TypeError/ValueError: a bad path)
        raise ValidationError((what,), f"cannot read Parquet file {str(path)[:200]!r}: {exc}") from exc


class _ColumnReader:
    """A Parquet input of flat columns (one file, or the parts of a data set: see
    ``parquet_files``) read column by column on a thread of its own (Arrow's decoding releases
    the GIL), in the order the build needs them; ``column(name)`` waits for its column, the
    chunks of every part in order. Like ``_read_parquet``: string columns as dictionaries, errors
    as ValidationError naming the file. ``extra``: Futures of further inputs (persons, groups:
    ``.parquet`` paths are read after the events' columns).

    The reader stays at most ``AHEAD`` columns ahead of the furthest one asked for, so that the
    file's columns do not pile up in memory while the build encodes the first ones (at 50 M
    events a column is ~0.2–0.4 GB)."""

    AHEAD = 1
    num_rows: int
    column_names: list[str]

    @classmethod
    def open(cls, path: Any, what: str, extra: list[tuple[Any, str]]) -> _ColumnReader | None:
        """None when the input is not of flat, uniquely named columns (or cannot be opened): the
        caller reads it whole then. Parts with other columns than the first: ValidationError."""
        pa, _ = _pa()
        import pyarrow.parquet as pq

        from .parquet_files import check_same_schema, parquet_parts

        parts = parquet_parts(path, what)
        paths: list[Any] = parts if parts is not None else [path]
        try:
            schemas = [pq.read_schema(p) for p in paths]
        except (OSError, pa.ArrowException, TypeError, ValueError):
            return None  # the whole-file read reports it
        if parts is not None:
            check_same_schema(schemas, parts, what)
        schema = schemas[0]
        if len(set(schema.names)) != len(schema.names) or any(_nested(f.type) for f in schema):
            return None
        strings = [i for i, f in enumerate(schema)
                   if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)) and f.name not in ("uuid", "properties")]
        try:
            pfs = [pq.ParquetFile(p, memory_map=True, pre_buffer=False, read_dictionary=strings or None) for p in paths]
        except (OSError, pa.ArrowException, TypeError, ValueError):
            return None
        if any(pf.metadata.num_columns != len(schema) or pf.schema_arrow.names != schema.names for pf in pfs):
            return None
        return cls(pfs, paths, what, extra)

    def __init__(self, pfs: list[Any], paths: list[Any], what: str, extra: list[tuple[Any, str]]):
        import threading

        self._pfs, self._paths, self._what = pfs, paths, what
        self.num_rows = sum(pf.metadata.num_rows for pf in pfs)
        self.column_names = list(pfs[0].schema_arrow.names)
        self._cols: dict[str, Future] = {name: Future() for name in self.column_names}
        self._taken: set[str] = set()
        self.extra: list[Any] = [Future() if isinstance(x, (str, Path)) and Path(x).suffix == ".parquet" else x
                                 for x, _ in extra]
        first = [c for c in ("event", "timestamp", "distinct_id", "person_id") if c in self._cols]
        props = [c for c in self.column_names if c == "properties" or (c.startswith(PREFIX) and c not in RESERVED)]
        # the properties with the largest dictionaries (the most to hash) first, so that the last
        # column read is a quick one to encode
        size = [sum(b) for b in zip(*(_dictionary_bytes(pf.metadata) for pf in pfs))]
        props.sort(key=lambda c: -size[self.column_names.index(c)])
        rest = [c for c in self.column_names if c not in first and c not in props]
        order = first + props + rest
        self.rank = {c: i for i, c in enumerate(order)}
        # read-ahead gate: column jobs wait until the furthest asked-for rank is close enough
        self._gate = threading.Condition()
        self._asked = -1
        self._finishing = self._stopped = False
        # persons (small) before the properties: the persons job must not hold a worker waiting
        jobs: list[tuple[Future, Callable[[], Any], int]] = [
            (self._cols[c], partial(self._read, self.column_names.index(c)), self.rank[c]) for c in first]
        jobs += [(f, partial(_read_parquet_file, x, w), -1) for f, (x, w) in zip(self.extra, extra) if isinstance(f, Future)]
        jobs += [(self._cols[c], partial(self._read, self.column_names.index(c)), self.rank[c]) for c in props + rest]
        self._thread = threading.Thread(target=self._run, args=(jobs,), name="trendcalc-parquet", daemon=True)
        self._thread.start()

    def _read(self, i: int) -> pa.ChunkedArray:
        pa, _ = _pa()
        parts = []
        for pf, path in zip(self._pfs, self._paths):
            try:
                parts.append(pf.reader.read_all(column_indices=[i], use_threads=False).column(0))
            except (OSError, pa.ArrowException, TypeError, ValueError) as exc:
                raise ValidationError((self._what,), f"cannot read Parquet file {str(path)[:200]!r}: {exc}") from exc
        if len(parts) == 1:
            return parts[0]
        return pa.chunked_array([c for p in parts for c in p.chunks], type=parts[0].type)

    def _run(self, jobs: list[tuple[Future, Callable[[], Any], int]]) -> None:
        jobs.reverse()
        while jobs:  # each read on its own: raise_read_error reports the first in file order
            fut, job, rank = jobs.pop()  # (kept no longer than needed: see column())
            with self._gate:
                self._gate.wait_for(partial(self._may_read, rank))
            if self._stopped:
                return
            try:
                fut.set_result(job())
            except BaseException as exc:  # handed to whoever waits for this input
                fut.set_exception(exc)
            del fut, job

    def _may_read(self, rank: int) -> bool:
        return self._finishing or rank <= self._asked + self.AHEAD

    def column(self, name: str) -> pa.ChunkedArray:
        """The column, handed over once: the reader forgets it (its memory goes back to Arrow's
        pool for the next columns as soon as its encoding is done); asked again, it is read again."""
        with self._gate:
            if self.rank[name] > self._asked:
                self._asked = self.rank[name]
                self._gate.notify_all()
        fut = self._cols[name]
        col = fut.result()
        if name not in self._taken:
            self._taken.add(name)
            done: Future = Future()
            done.set_result(None)
            self._cols[name] = done
            return col
        return self._read(self.column_names.index(name))

    def stop(self) -> None:
        """Read no further (the build failed: nobody will ask for the remaining columns)."""
        with self._gate:
            self._finishing = self._stopped = True
            self._gate.notify_all()

    def raise_read_error(self) -> None:
        """Wait for the reads; raise the first one's error, if any (in the order of the
        whole-file reads: the events, then persons, then groups)."""
        with self._gate:
            self._finishing = True  # the columns nobody asks for are read too, as read_table does
            self._gate.notify_all()
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



def _maybe_parquet(x: Any, what: str) -> Any:
    """A ``.parquet`` path read as a table; other paths (JSON lines, JSON) are left to the record
    readers."""
    return _read_parquet(x, what) if isinstance(x, (str, Path)) and Path(x).suffix == ".parquet" else x


