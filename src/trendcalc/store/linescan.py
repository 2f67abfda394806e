"""Finding the text of given rows of a JSON-lines file, after a columnar reader has read it.

Arrow's JSON reader keeps a number, not its spelling, so the columnar JSON-lines path goes back
to the lines of the few rows whose spelling matters (``columnar._integer_spelled``). A row is a
non-blank line. The file is read in blocks into one reused buffer (never memory-mapped: a map's
pages count in the process's resident memory, the whole file at the end of the scan), and only
the wanted lines are read again, by position. When the file's blocks were read through
``linecount.CountingFile`` (``jsonblocks``), its newline counts replace the scan
(``row_lines(counted=...)``), and the scans here serve files with blank lines.

In the common file (no blank line) the scan is ``linecount``'s own: the file read through a
``CountingFile``, whose ``spans`` locates newlines only in the sub-blocks holding a wanted
line's end, with no array of every newline's position; a file with blank lines takes a scan
locating every newline, which skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .linecount import CountingFile

_BLOCK = 1 << 18  # bytes per block read by the scans (the size of linecount's sub-blocks)


def row_lines(path: str | Path, rows: np.ndarray, n_rows: int, counted: CountingFile | None = None) -> list[bytes] | None:
    """The text of each of ``rows`` (sorted 0-based row numbers) of the file at ``path``, whose
    non-blank lines are ``n_rows`` rows; None when the lines cannot be matched to the rows (the
    file holds another number of non-blank lines). ``counted``: the file as Arrow read it, its
    newlines counted (``linecount``): then no scan of the file is needed unless it has blank lines."""
    with open(path, "rb", buffering=0) as fh:
        spans = counted.spans(rows, n_rows) if counted is not None else None
        if spans is None and (counted is None or not counted.complete):  # (complete: its count is the scan's)
            spans = _without_blank_lines(fh, rows, n_rows)
        if spans is None:
            spans = _every_line(fh, rows, n_rows)
        if spans is None:
            return None
        out = []
        for start, end in spans:
            fh.seek(start)
            out.append(fh.read(end - start))
        return out


def _blocks(fh: object) -> Iterator[tuple[int, np.ndarray]]:
    """(offset, bytes) of each block of the open file, in one reused buffer: the bytes are valid
    until the next block is read."""
    buf = bytearray(_BLOCK)
    pos = 0
    while True:
        got = fh.readinto(buf)  # type: ignore[attr-defined]
        if not got:
            return
        yield pos, np.frombuffer(buf, dtype=np.uint8, count=got)
        pos += got


def _without_blank_lines(fh: Any, rows: np.ndarray, n_rows: int) -> list[tuple[int, int]] | None:
    """(start, end) byte span of each of ``rows`` when the file has exactly ``n_rows`` lines (so
    none is blank: the reader made one row of each non-blank line); None otherwise. The file is
    read through a ``CountingFile`` (newlines counted per sub-block), whose ``spans`` then
    locates them only in the sub-blocks holding one that bounds a wanted line."""
    with CountingFile(fh.name) as counting:  # (its own handle: it reads from the start)
        buf = bytearray(_BLOCK)
        while counting.readinto(buf):
            pass
        return counting.spans(rows, n_rows)


def _every_line(fh: object, rows: np.ndarray, n_rows: int) -> list[tuple[int, int]] | None:
    """``_without_blank_lines`` for any file: every newline located, lines of at most one byte
    (``""`` or ``"\\r"``) skipped as blank; None when the other lines are not ``n_rows``."""
    found = []
    size = 0
    for pos, data in _blocks(fh):
        found.append(np.flatnonzero(data == 10) + pos)
        size = pos + len(data)
    ends = np.concatenate(found) if found else np.zeros(0, np.int64)
    if not len(ends) or ends[-1] != size - 1:
        ends = np.append(ends, size)
    starts = np.concatenate(([0], ends[:-1] + 1))
    blank = (ends - starts) <= 1  # (other blank lines: the counts differ below)
    starts, ends = starts[~blank], ends[~blank]
    if len(starts) != n_rows:
        return None
    return [(int(starts[r]), int(ends[r])) for r in np.asarray(rows, dtype=np.int64).tolist()]


__all__ = ["row_lines"]
