"""Columnar reading of the row formats (CSV, JSON lines, records) into the Arrow build Parquet uses.

With pyarrow installed, ``from_csv`` reads the file with Arrow's multi-threaded CSV reader,
``from_jsonl`` with Arrow's streaming JSON reader (a file whose blocks differ: ``jsonblocks``),
``from_records`` converts its dicts with one ``pa.array`` call, and the store is built by
``arrow._build``: no Python object per row in trendcalc's code. The row readers (``readers.py``
+ ``builder.StoreBuilder``) stay the reference and the fallback, and both build the same store
from the same file. The columnar path is not taken (``None``), and the row path reads the file,
when:

- pyarrow is not installed, or ``errors="skip"`` is asked (only the row path skips rows);
- JSON lines: the file is a ``.json`` array; a value changes type within a field (Arrow cannot
  hold ``"7"`` and ``7`` in one column; ``jsonblocks`` says which blocks unify); a property
  holds an object or a list; a ``person_properties`` field; a gzipped file whose float property
  holds a whole number (see below);
- Arrow cannot read the file (malformed CSV/JSON: the row reader names the line).

A float column holding whole numbers is ambiguous in Arrow: JSON ``10`` and ``10.0`` are
different values to PostHog's text comparisons (and to the row reader), and Arrow keeps only the
number. ``jsonl_table`` then finds those rows' lines (``linescan``: a NumPy scan for newlines
over the file read in blocks; when ``jsonblocks`` read the file, through
``linecount.CountingFile``, its counts replace the scan), reads their text, and gives the
rows spelled as integers; the build keeps them integers (``arrow_properties.with_int_rows``).
The lookup runs on a thread of its own while the store is built (``SpelledInts``): only the jobs
of those float properties wait for it, and when the lines cannot be matched to the rows the
build stops (``UnmatchedLines``) and the row reader reads the file.

And any ValidationError of the columnar build is re-raised by re-reading with the row path, so
errors always name the file and line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator, Mapping
from itertools import chain, compress
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from ..jsontext import file_has_deep_line
from . import columnrule
from .arrow_encode import have_pyarrow
from .arrow_properties import struct_fields
from .celltypes import type_arrow_column
from .fixedkeys import numpy_of


def _compression(path: Path) -> str | None:
    return "gzip" if path.suffix == ".gz" else None


_EXACT = 2 ** 53  # integers a float holds exactly
_CSV_BLOCK = 1 << 24  # bytes per block of Arrow's CSV reader
_JSON_BLOCK = 1 << 24  # bytes per block of the JSON lines (Arrow's streaming reader, jsonblocks):
# a block holding only numbers in a text field leaves the file to the row reader


def _complete_text(head: bytes) -> str:
    """The start of a file as text: its complete lines (all of it when it holds no newline),
    so a character cut at the end of the sample does not fail the decoding."""
    cut = head.rfind(b"\n")
    return (head[:cut + 1] if cut >= 0 else head).decode("utf-8-sig", errors="strict")


def _quoted_newline(head: bytes, delimiter: str) -> bool:
    """Whether a value in the complete lines of ``head`` holds a newline (or they do not parse)."""
    try:
        text = _complete_text(head)
        return any("\n" in c or "\r" in c for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
                   for c in row)
    except (UnicodeDecodeError, csv.Error):
        return True


def _carriage_return(table: Any) -> bool:
    """A value holding ``\r``: Arrow's CSV reader with newlines_in_values can drop the ``\n`` of
    a quoted ``\r\n`` that a block boundary falls into (pyarrow 26, seen with 4 KiB blocks),
    so such a file is left to the row reader."""
    import pyarrow.compute as pc

    return any(pc.any(pc.match_substring(col, "\r")).as_py() for col in table.columns)


def csv_table(path: Path, rename: Any, delimiter: str) -> tuple[Any, list[str]] | None:
    """The CSV as an Arrow table of text columns (empty cell = null), property columns typed by
    ``celltypes``; with its normalized column names. None: leave it to the row reader."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        return None
    try:
        with pa.input_stream(str(path), compression=_compression(path)) as fh:
            head = fh.read(1 << 16)
        first = next(csv.reader(io.StringIO(_complete_text(head).splitlines()[0] if head else ""),
                                delimiter=delimiter), None)
    except (OSError, UnicodeDecodeError, csv.Error, pa.ArrowException, IndexError):
        return None
    if not first or len(set(first)) != len(first):
        return None  # (no header, repeated names: the row reader's messages)
    try:
        roles = columnrule.layout(first, rename, "CSV")
    except ValidationError:
        return None  # the row reader raises it, naming the file and line 1
    # Arrow reads much faster when no value holds a newline (newlines_in_values=False: blocks
    # are cut at any newline). That read is exact or fails: a block cut inside a quoted value
    # leaves its parser out of sync with the cut, which Arrow reports. So: without, unless the
    # file's first 64 KiB show a quoted newline; read again with it when Arrow says so.
    multiline = _quoted_newline(head, delimiter)
    table = None
    for newlines_in_values in ((True,) if multiline else (False, True)):
        try:
            table = pcsv.read_csv(
                pa.input_stream(str(path), compression=_compression(path)),
                read_options=pcsv.ReadOptions(use_threads=True, block_size=_CSV_BLOCK, encoding="utf8"),
                parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines_in_values),
                convert_options=pcsv.ConvertOptions(
                    column_types={c: pa.string() for c in first}, strings_can_be_null=True,
                    quoted_strings_can_be_null=True, null_values=[""]),
            )
            break
        except (OSError, pa.ArrowException):
            continue
    if table is None or (newlines_in_values and _carriage_return(table)):
        return None
    if table.column_names != first:
        return None
    from .arrow import normalized_names

    names, rows_needed = normalized_names(first, rename, "CSV")
    if rows_needed:
        return None
    cols = []
    for (what, _), col in zip(roles, table.columns):
        if what in ("event", "person"):
            col = type_arrow_column(col)
        cols.append(col)
    ts = names.index("timestamp")
    cols[ts] = _epoch_or_text(cols[ts])
    return pa.table(cols, names=names), names


def _epoch_or_text(col: Any) -> Any:
    """A CSV timestamp column: numbers when every cell is epoch seconds, else the text."""
    typed = type_arrow_column(col)
    import pyarrow as pa

    return typed if pa.types.is_integer(typed.type) or pa.types.is_floating(typed.type) else col


def jsonl_table(path: Path, rename: Any = None) -> tuple[Any, Mapping[str, Any]] | None:
    """The JSON lines as an Arrow table whose every value is what the row reader reads, and per
    property key the rows whose whole float was written as a JSON integer (see the module
    docstring for when the file is left to the row reader: None)."""
    import pyarrow as pa
    import pyarrow.json as pjson

    ext = path.suffixes[-2] if path.suffix == ".gz" and len(path.suffixes) > 1 else path.suffix
    if ext in (".json", ".csv"):
        return None

    def options(schema: Any = None) -> dict[str, Any]:
        parse = pjson.ParseOptions(newlines_in_values=False, explicit_schema=schema,
                                   unexpected_field_behavior="infer")
        return {"read_options": pjson.ReadOptions(use_threads=True, block_size=_JSON_BLOCK),
                "parse_options": parse}

    def source() -> Any:
        return pa.input_stream(str(path), compression=_compression(path))

    counted = None  # the file's newlines, counted while jsonblocks read it (linecount; not gzip)
    compressed = _compression(path) is not None
    try:
        # A line nested deeper than Arrow's reader recurses safely (it would crash the process):
        # measured first in an uncompressed file; a compressed one is read by jsonblocks, which
        # measures each block it holds (one decompression)
        if not compressed and file_has_deep_line(path):
            return None
        table = None if compressed else _streamed(source, options)
        if table is None:  # (a later block differs from the first one in fields or types)
            # each block read on its own and unified by jsonblocks' rules, not by pjson.read_json,
            # which crashes on a boolean-only block in a text field (pyarrow 26)
            from .jsonblocks import read_blocks

            if compressed:
                stream: Any = source()
            else:
                from .linecount import CountingFile

                stream = counted = CountingFile(path)
            with stream:
                table = read_blocks(stream, _JSON_BLOCK, _text_schema)
    except (OSError, pa.ArrowException):
        return None
    if table is None or not table.num_rows or not _faithful(table):
        return None
    whole = _whole_floats(table)
    if not whole:
        return table, {}
    if path.suffix == ".gz":
        return None
    try:
        rename = columnrule.check_rename(rename)
    except ValidationError:
        return None
    keys: dict[tuple[str, str | None], str] = {
        (col, field): field if field is not None else columnrule.role(rename.get(col, col))[1] for col, field in whole}
    n_rows = table.num_rows

    def scan() -> dict[str, Any] | None:
        try:
            int_rows = _integer_spelled(path, n_rows, whole, counted)
        except OSError:
            return None
        return None if int_rows is None else {keys[c]: rows for c, rows in int_rows.items()}

    return table, SpelledInts(list(keys.values()), scan)


class UnmatchedLines(Exception):
    """The JSON lines could not be matched to the rows Arrow read: the file is read row by row."""


class SpelledInts(Mapping[str, Any]):
    """Per property key of a float column holding whole numbers, the rows whose JSON wrote an
    integer (an int64 array, maybe empty). The keys are known at once; the rows come from
    ``find()`` (the line scan), started on a thread of its own at once, so that it overlaps the
    build, which asks for a key's rows only in that property's job. A key's rows raise
    UnmatchedLines when ``find()`` gave None."""

    def __init__(self, keys: list[str], find: Callable[[], dict[str, Any] | None]):
        from concurrent.futures import ThreadPoolExecutor

        self._keys = keys
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trendcalc-linescan")
        self._job = pool.submit(find)
        pool.shutdown(wait=False)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        found = self._job.result()
        if found is None:
            raise UnmatchedLines(key)
        import numpy as np

        return found.get(key, np.zeros(0, dtype=np.int64))

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` has rows to find, at once (Mapping's own test would wait for them)."""
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def _streamed(source: Callable[[], Any], options: Callable[..., dict[str, Any]]) -> Any | None:
    """The JSON lines read block by block (Arrow's streaming reader, blocks parsed on every core)
    when every block holds the first block's fields with its types (a whole number in a float
    field aside: Arrow reads it as the float); None otherwise.

    Its schema is the first block's and it refuses a later block that holds a new field, a value
    of another JSON kind than the field's (a number among text, booleans after text, ...) or a
    float in an integer field: then ``jsonblocks`` reads the file. The streaming reader is the
    common file's path: ``jsonblocks`` costs ~6% more CPU at 10 M events (measured, fresh
    processes, 2 cores). Text that looks like a date (typed a timestamp by Arrow) is re-read as
    text from the start."""
    import pyarrow as pa
    import pyarrow.json as pjson

    try:
        reader = pjson.open_json(source(), **options())
        fixed = _text_schema(reader.schema)
        if fixed is not None:
            reader.close()
            reader = pjson.open_json(source(), **options(fixed))
        batches = list(reader)
        return pa.Table.from_batches(batches, schema=reader.schema)
    except pa.ArrowInvalid:
        return None


def _whole_floats(table: Any) -> dict[tuple[str, str | None], Any]:
    """(column, struct field or None) → rows holding a whole number, of every float property column."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def rows(col: Any) -> Any:
        if not pa.types.is_floating(col.type):
            return None
        # (null → False by coalescing with is_valid, not fill_null(False): a Python scalar's
        # conversion imports pandas, ~0.2 s of a fresh process; see fixedkeys.arrow_ints)
        mask = pc.coalesce(pc.equal(pc.floor(col), col), pc.is_valid(col))
        found = np.flatnonzero(np.concatenate([numpy_of(c) for c in mask.chunks] or [np.zeros(0, bool)]))
        return found if len(found) else None

    out = {}
    for name in table.column_names:
        col = table.column(name)
        if name == "properties" and pa.types.is_struct(col.type):
            for field, child in struct_fields(col):
                r = rows(child) if pa.types.is_floating(field.type) else None
                if r is not None:
                    out[("properties", field.name)] = r
        elif name not in columnrule.FIXED and name != "properties":
            r = rows(col)
            if r is not None:
                out[(name, None)] = r
    return out


def _integer_spelled(path: Path, n_rows: int, whole: dict, counted: Any = None) -> dict | None:
    """Per (column, field), those of its ``whole`` rows whose JSON wrote an integer (None: the
    lines cannot be matched to the rows). Each wanted line is found (``linescan``, from the
    newline counts of ``counted``, the ``linecount.CountingFile`` Arrow read, when given) and
    decoded once, whichever columns want it."""
    import json

    import numpy as np

    from .linescan import row_lines

    wanted = np.unique(np.concatenate(list(whole.values())))
    lines = row_lines(path, wanted, n_rows, counted)
    if lines is None:
        return None
    records = {}
    for r, text in zip(wanted.tolist(), lines):
        try:
            rec = json.loads(text)
        except ValueError:  # (e.g. an integer too long to convert): the row reader reports it
            return None
        if not isinstance(rec, dict):
            return None  # (not the row we think it is)
        records[r] = rec
    out = {}
    for (col, field), rows in whole.items():
        keep = []
        for r in rows.tolist():
            rec = records[r]
            v = rec.get(col) if field is None else (rec.get(col) or {}).get(field)
            if type(v) is int and abs(v) <= _EXACT:
                keep.append(r)
            elif type(v) is not float:
                return None  # (not the row we think it is, or an integer the float rounded)
        out[(col, field)] = np.asarray(keep, dtype=np.int64)
    return out


def records_table(events: Any, rename: Any = None) -> tuple[Any, dict[str, Any]] | None:
    """In-memory event records as an Arrow table in one pass (``pa.array`` over the dicts, in C),
    with the rows whose whole float was a Python int (as ``jsonl_table``); None: the records are
    left to the row builder (a value changing type, nested or non-JSON values, ...)."""
    import pyarrow as pa

    if not isinstance(events, list) or not events or not all(type(e) is dict for e in events[:1]):
        return None
    if _nested(events):
        return None
    try:
        table = pa.Table.from_struct_array(pa.array(events))
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    if set(table.column_names) & {"person_properties"} or not _faithful(table) or _has_time(table):
        return None
    try:
        renamed = columnrule.check_rename(rename)
    except ValidationError:
        return None
    out: dict[str, Any] = {}
    for (col, field), rows in _whole_floats(table).items():
        if field is None:
            values = [events[r].get(col) for r in rows.tolist()]
            key = columnrule.role(renamed.get(col, col))[1]
        else:
            values = [(events[r].get(col) or {}).get(field) for r in rows.tolist()]
            key = field
        keep = [r for r, v in zip(rows.tolist(), values) if type(v) is int]
        if any(type(v) is int and abs(v) > _EXACT for v in values):
            return None  # (an integer the float column rounded: the row builder keeps it exact)
        if keep:
            import numpy as np

            out[key] = np.asarray(keep, dtype=np.int64)
    return table, out


def _nested(events: list) -> bool:
    """Whether a record holds anything but scalars and objects of scalars (its ``properties``,
    ``person_properties``, or a property whose value is an object), or is not a dict. Such
    records are the row builder's, which reads nested values and bounds them
    (``ingest.check_json_value``): Arrow's conversion would walk a value built in Python that
    shares its parts as the tree it stands for (a list holding the same list twice, nested:
    2^depth steps), and nested values leave the columnar path anyway. The types are gathered in
    C (about a third of Arrow's conversion), then the few distinct ones are judged."""
    try:
        values = list(chain.from_iterable(map(dict.values, events)))
    except TypeError:  # (a record that is not a dict)
        return True
    types = list(map(type, values))
    kinds = set(types)
    if all(map(_scalar, kinds)):
        return False
    if not all(k is dict or _scalar(k) for k in kinds):
        return True
    objects = compress(values, map(_DICT.__contains__, types))
    return not all(map(_scalar, set(map(type, chain.from_iterable(map(dict.values, objects))))))


def _scalar(kind: type) -> bool:
    """A type Arrow converts without looking inside (text, numbers, booleans, None, dates)."""
    import numpy as np

    return kind is type(None) or issubclass(kind, (str, int, float, dt.date, np.generic))


_DICT = frozenset({dict})


def _has_time(table: Any) -> bool:
    """A datetime value outside ``timestamp`` (the row builder refuses one in properties)."""
    import pyarrow as pa

    def timeish(t: Any) -> bool:
        if pa.types.is_struct(t):
            return any(timeish(f.type) for f in t)
        return pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_duration(t)

    return any(timeish(f.type) for f in table.schema if f.name != "timestamp")


def _text_schema(schema: Any) -> Any | None:
    """``schema`` with every timestamp/date field but the top-level ``timestamp`` as text (None
    when there is none)."""
    import pyarrow as pa

    def fix(t: Any) -> Any:
        if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t):
            return pa.string()
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, fix(f.type)) for f in t])
        return t

    fields = [f if f.name == "timestamp" else pa.field(f.name, fix(f.type)) for f in schema]
    new = pa.schema(fields)
    return None if new.equals(schema) else new


def _faithful(table: Any) -> bool:
    """Every property column holds scalars the row reader reads the same (whole floats aside:
    ``_whole_floats``): no nested values, no person property columns."""
    import pyarrow as pa

    def scalar(t: Any) -> bool:
        return (pa.types.is_string(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
                or pa.types.is_boolean(t) or pa.types.is_null(t))

    for name in table.column_names:
        col = table.column(name)
        if name == "person_properties" or name.startswith(columnrule.PERSON_PREFIX):
            return False
        if name == "properties" and pa.types.is_struct(col.type):
            if not all(scalar(f.type) for f in col.type):
                return False
        elif name not in columnrule.FIXED and name != "properties" and not scalar(col.type):
            return False
    return True


__all__ = ["SpelledInts", "UnmatchedLines", "csv_table", "have_pyarrow", "jsonl_table"]
