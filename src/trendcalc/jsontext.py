"""Decoding JSON text from outside (ingested lines and properties, filter fields, request bodies)
without nesting deep enough to exhaust Python's stack.

``json.loads`` of ``[[[[…`` recurses once per level until it raises RecursionError; on the way
any finalizer the garbage collector runs at that depth fails too (printed as an "exception
ignored"), and a caller that forgets RecursionError lets it escape. So text with more brackets
than ``MAX_TEXT_DEPTH`` is measured first — its nesting outside strings, vectorised — and text
nested deeper is refused before it is parsed (no input within trendcalc's limits comes near:
``Limits.max_ingest_depth`` and ``max_json_depth`` are 32 and 64).
"""

from __future__ import annotations

import json
import mmap
import os
import re
from typing import Any

import numpy as np

MAX_TEXT_DEPTH = 512
_ESCAPE = re.compile(rb"\\.", re.DOTALL)


class TooDeep(ValueError):
    """JSON text nested deeper than MAX_TEXT_DEPTH (a ValueError, as json's own decode errors)."""

    def __init__(self) -> None:
        super().__init__(f"nested too deeply (more than {MAX_TEXT_DEPTH} levels)")


def nesting_exceeds(text: str | bytes | bytearray | memoryview, limit: int = MAX_TEXT_DEPTH) -> bool:
    """Whether ``text`` nests arrays/objects deeper than ``limit`` (brackets inside strings aside)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    a = np.frombuffer(_ESCAPE.sub(b"", raw), dtype=np.uint8)  # (an escaped quote or bracket is text)
    inside = np.cumsum(a == ord('"')) % 2 == 1  # (a quote opens or closes a string)
    step = (((a == ord("[")) | (a == ord("{"))).astype(np.int32) - ((a == ord("]")) | (a == ord("}")))) * ~inside
    return bool(len(step)) and int(np.cumsum(step).max()) > limit


LONG_LINE = 4096
"""Lines up to this many bytes cannot nest deeper than Arrow's JSON reader recurses safely (it
overflowed its stack between 16,000 and 20,000 levels here); longer ones are measured."""


def deep_line(block: bytes | memoryview) -> bool:
    """Whether a line of ``block`` (JSON lines) longer than LONG_LINE bytes nests deeper than
    MAX_TEXT_DEPTH. Arrow's JSON reader recurses once per level in C++ and overflows its stack on
    a line nested deeply enough (a crash, not an error), so a file is measured before Arrow reads
    it: its newlines found vectorised, and only the long lines looked into (about 4 ms per 16 MiB).
    A shorter line cannot nest deep enough to crash Arrow; the row reader refuses one nested
    deeper than MAX_TEXT_DEPTH (``loads``)."""
    a = np.frombuffer(block, dtype=np.uint8)
    ends = np.flatnonzero(a == 10)
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(a)]))
    for i in np.flatnonzero(ends - starts > LONG_LINE).tolist():
        if nesting_exceeds(bytes(block[int(starts[i]):int(ends[i])])):
            return True
    return False


def file_has_deep_line(path: str | os.PathLike, window: int = 1 << 24) -> bool:
    """``deep_line`` over an uncompressed file, read memory-mapped window by window (each cut
    back to its last newline)."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return False
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            pos = 0
            while pos < size:
                end = min(size, pos + window)
                if end < size:
                    cut = m.rfind(b"\n", pos, end)
                    end = cut + 1 if cut >= pos else end
                view = memoryview(m)[pos:end]
                try:
                    if deep_line(view):
                        return True
                finally:
                    view.release()
                pos = end
    return False


def loads(text: str | bytes | bytearray, **kw: Any) -> Any:
    """``json.loads(text, **kw)``, raising TooDeep (a ValueError) for text nested too deeply
    instead of recursing into it, and for a RecursionError all the same."""
    if nesting_exceeds(text):
        raise TooDeep()
    try:
        return json.loads(text, **kw)
    except RecursionError:
        raise TooDeep() from None


__all__ = ["LONG_LINE", "MAX_TEXT_DEPTH", "TooDeep", "deep_line", "file_has_deep_line", "loads", "nesting_exceeds"]
