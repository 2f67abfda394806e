"""JSON lines read block by block: the file cut into blocks at newlines, each block parsed on its
own by Arrow on a small thread pool, the blocks' tables unified here.

Arrow's streaming reader (``pyarrow.json.open_json``, ``columnar._streamed``) takes the first
block's fields and types for the whole file and refuses any later block that differs (a property
that first appears after the first block, a field null in the first block, integers then
floats, ...). Such files went to the whole-file reader (``pyarrow.json.read_json``), which
unifies the blocks itself. With pyarrow 26 that reader crashes the process (SIGSEGV) when a
later block holds only booleans in a field that an earlier block holds as text or numbers (its
unification converts the boolean chunk as if it were text), and it turns numbers into their
text when a block holds only numbers in a text field (``"yes"`` then ``7`` gave ``"7"``), which
the row reader does not do. This module replaces that fallback. Reading the blocks here also
lets ``linecount.CountingFile`` count the newlines of each block while it is in memory. It is
not the common file's reader: at 10 M events it cost ~6% more CPU than the streaming reader
(fresh processes, 2 cores).

The blocks are ``_JSON_BLOCK`` bytes cut back to their last newline (the rest starts the next
block), each read by ``read_json`` as one chunk (nothing to unify inside Arrow: no crash), and
unified by these rules only; any other difference leaves the file to the row reader (None):

- a field missing from a block, or null throughout it, is null in its rows;
- integers in one block and floats in another are floats (an integer a float does not hold
  exactly: the row reader);
- a struct (``properties``) unifies field by field; fields keep their order of first appearance.

A value of another kind inside one block (``"7"`` and ``7``, text and ``true``) is an Arrow error,
and malformed JSON too: the row reader then reads the file and names the line. A block whose text
looks like dates (Arrow types it a timestamp) is read again with those fields as text
(``text_schema``: ``columnar._text_schema``).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..jsontext import deep_line

_THREADS = max(1, min(8, os.cpu_count() or 1))  # blocks parsed at once (each by one Arrow thread)
_AHEAD = _THREADS + 1  # blocks read but not yet parsed, at most (bounds the memory of the read)
_SLACK = 1 << 16  # bytes beyond a block in each buffer: room for the line the previous read cut


def read_blocks(stream: Any, block_size: int, text_schema: Callable[[Any], Any | None]) -> Any | None:
    """The JSON lines of the open binary ``stream`` (a ``readinto`` method) as one Arrow table,
    or None when its blocks cannot be unified by this module's rules. Arrow errors (malformed
    JSON, a value changing kind inside a block) propagate, as from ``read_json``. At most
    ``_AHEAD`` blocks are read ahead of the parse (the file is never all in memory). None too
    for a block with a line nested too deeply for Arrow (``jsontext.deep_line``): the row reader
    reports it."""
    import pyarrow as pa

    tables = []
    free: list[bytearray] = []  # block buffers whose parse is done, to read the next blocks into
    with ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="trendcalc-jsonblock") as pool:
        pending: deque[tuple[Any, bytearray]] = deque()

        def collect() -> None:
            job, buf = pending.popleft()
            tables.append(job.result())
            if _unshared(buf):
                free.append(buf)

        for buf, block in _cut(stream, block_size, free):
            if deep_line(memoryview(block)):  # (Arrow's reader would overflow its stack on it)
                return None
            pending.append((pool.submit(_parse, block, text_schema), buf))
            del block
            while len(pending) > _AHEAD:
                collect()
        while pending:
            collect()
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pa.table({})
    schema = _unified_schema([t.schema for t in tables])
    if schema is None:
        return None
    try:
        return pa.concat_tables([_conformed(t, schema) for t in tables])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # (an integer past float precision)
        return None


def _cut(stream: Any, block_size: int, free: list[bytearray]) -> Iterator[tuple[bytearray, Any]]:
    """The stream's bytes in blocks of about ``block_size``, each ending at a newline (the last
    one: at the end of the stream), so that no line is cut: (bytearray, Arrow buffer over its
    block) pairs, no copy but the few bytes of a line cut by the read. A bytearray is taken from
    ``free`` when one is there: fresh 16 MiB allocations cost a page fault per 4 KiB (~1 CPU-s
    at 10 M events)."""
    import pyarrow as pa

    rest = b""
    while True:
        size = len(rest) + block_size
        buf = free.pop() if free else None
        if buf is None or len(buf) < size:  # (a too small one is dropped: as many buffers as blocks in flight)
            buf = bytearray(size + _SLACK)
        buf[:len(rest)] = rest
        got = stream.readinto(memoryview(buf)[len(rest):size])
        if not got:
            break
        end = len(rest) + got
        cut = buf.rfind(b"\n", len(rest), end)
        if cut < 0:  # (a line longer than the block: read on)
            rest = bytes(buf[:end])
            continue
        rest = bytes(buf[cut + 1:end])
        yield buf, pa.py_buffer(memoryview(buf)[:cut + 1])  # (a blank block reads as no rows)
    if rest.strip():
        yield bytearray(), pa.py_buffer(rest)


def _unshared(buf: bytearray) -> bool:
    """No buffer over ``buf`` is alive any more (Arrow's table copied the values out of the block,
    so nothing should be): only then may the next block be read into it."""
    try:
        buf.append(0)  # (a bytearray with exported buffers refuses to change size)
    except BufferError:
        return False
    buf.pop()
    return True


def _parse(block: Any, text_schema: Callable[[Any], Any | None]) -> Any:
    """One block (an Arrow buffer) as a table (one chunk per column), date-like text kept as text."""
    import pyarrow as pa
    import pyarrow.json as pjson

    def read(schema: Any = None) -> Any:
        return pjson.read_json(
            pa.BufferReader(block),
            read_options=pjson.ReadOptions(use_threads=False, block_size=max(block.size, 1 << 10) + 1),
            parse_options=pjson.ParseOptions(newlines_in_values=False, explicit_schema=schema,
                                             unexpected_field_behavior="infer"))

    table = read()
    fixed = text_schema(table.schema)
    return table if fixed is None else read(fixed)


def _unified_type(types: list[Any]) -> Any | None:
    """The one type holding every block's values of a field (see the module docstring), or None."""
    import pyarrow as pa

    kinds = [t for t in types if not pa.types.is_null(t)]
    if not kinds:
        return pa.null()
    if all(pa.types.is_struct(t) for t in kinds):
        fields = _unified_fields(kinds)
        return None if fields is None else pa.struct(fields)
    first = kinds[0]
    if all(t.equals(first) for t in kinds):
        return first
    if all(pa.types.is_int64(t) or pa.types.is_float64(t) for t in kinds):
        return pa.float64()
    return None


def _unified_fields(groups: list[Any]) -> list[Any] | None:
    """The fields of every group (a schema or a struct type) in order of first appearance, each
    of its unified type; None when a field's types do not unify."""
    import pyarrow as pa

    names: dict[str, list[Any]] = {}
    for g in groups:
        for f in g:
            names.setdefault(f.name, []).append(f.type)
    fields = []
    for name, ts in names.items():
        u = _unified_type(ts)
        if u is None:
            return None
        fields.append(pa.field(name, u))
    return fields


def _unified_schema(schemas: list[Any]) -> Any | None:
    """The fields of every block in order of first appearance, each of its unified type."""
    import pyarrow as pa

    fields = _unified_fields(schemas)
    return None if fields is None else pa.schema(fields)


def _conformed(table: Any, schema: Any) -> Any:
    """``table`` with ``schema``'s columns: missing ones null, the others cast (safely) to it; the
    table itself (no copy) when it has the schema, as in the common file."""
    import pyarrow as pa

    if table.schema.equals(schema):
        return table
    cols = []
    for field in schema:
        if field.name not in table.column_names:
            cols.append(pa.nulls(table.num_rows, field.type))
        elif table.schema.field(field.name).type.equals(field.type):
            cols.append(table.column(field.name))
        else:
            cols.append(_cast(table.column(field.name).combine_chunks(), field.type))
    return pa.Table.from_arrays(cols, schema=schema)


def _cast(arr: Any, to: Any) -> Any:
    """One block's array as type ``to``: struct children matched by name (missing: null)."""
    import pyarrow as pa

    if arr.type.equals(to):
        return arr
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), to)
    if pa.types.is_struct(to):
        present = {arr.type.field(i).name: i for i in range(arr.type.num_fields)}
        children = [_cast(arr.field(present[f.name]), f.type) if f.name in present else pa.nulls(len(arr), f.type)
                    for f in to]
        return pa.StructArray.from_arrays(children, fields=list(to), mask=arr.is_null() if arr.null_count else None)
    return arr.cast(to, safe=True)


__all__ = ["read_blocks"]
