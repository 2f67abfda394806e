"""Finding the text of given rows of a JSON-lines file, after a columnar reader has read it.

Arrow's JSON reader keeps a number, not its spelling, so the columnar JSON-lines path goes back
to the lines of the few rows whose spelling matters (``columnar._integer_spelled``). A row is a
non-blank line. In the common file (no blank line) newlines are counted per block and located
only in the blocks holding a wanted line, with no array of every newline's position; a file
with blank lines takes a scan locating every newline, which skips them.
"""

from __future__ import annotations

import mmap
from typing import Any

import numpy as np

_BLOCK = 1 << 24  # bytes per block of the scan (rounded up to a line end)


def row_lines(buf: Any, rows: np.ndarray, n_rows: int) -> list[bytes] | None:
    """The text of each of ``rows`` (sorted 0-based row numbers) of the file in ``buf`` (an
    mmap), whose non-blank lines are ``n_rows`` rows; None when the lines cannot be matched to
    the rows (the file holds another number of non-blank lines)."""
    found = _without_blank_lines(buf, rows, n_rows)
    return found if found is not None else _numpy_scan(buf, rows, n_rows)


def _without_blank_lines(buf: Any, rows: np.ndarray, n_rows: int) -> list[bytes] | None:
    """``row_lines`` when the file has exactly ``n_rows`` lines (so none is blank: the reader
    made one row of each non-blank line); None otherwise. Newlines are counted per block, then
    located only in the blocks where a wanted line starts or ends."""
    data = np.frombuffer(buf, dtype=np.uint8)
    size = len(data)
    bounds = list(range(0, size, _BLOCK)) + [size]
    counts = np.array([np.count_nonzero(data[a:b] == 10) for a, b in zip(bounds, bounds[1:])], dtype=np.int64)
    newlines = int(counts.sum())
    lines = newlines + (size > 0 and data[-1] != 10)
    if lines != n_rows:
        return None
    cum = np.cumsum(counts)
    located: dict[int, np.ndarray] = {}

    def newline(k: int) -> int:
        """The position of the ``k``-th (0-based) newline; ``size`` past the last one."""
        if k >= newlines:
            return size
        b = int(np.searchsorted(cum, k, side="right"))
        if b not in located:
            located[b] = np.flatnonzero(data[bounds[b]:bounds[b + 1]] == 10)
        return bounds[b] + int(located[b][k - (int(cum[b - 1]) if b else 0)])

    return [bytes(buf[(newline(r - 1) + 1 if r else 0):newline(r)]) for r in rows.tolist()]


def _numpy_scan(buf: Any, rows: np.ndarray, n_rows: int) -> list[bytes] | None:
    """``row_lines`` for any file: every newline located, lines of at most one byte (``""`` or
    ``"\\r"``) skipped as blank; None when the other lines are not ``n_rows``."""
    data = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    if not len(ends) or ends[-1] != len(data) - 1:
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    blank = (ends - starts) <= 1  # (other blank lines: the counts differ below)
    starts, ends = starts[~blank], ends[~blank]
    del data
    if len(starts) != n_rows:
        return None
    return [buf[int(starts[r]):int(ends[r])] for r in rows.tolist()]


def open_map(fh: Any) -> Any | None:
    """A read-only mmap of the open file ``fh`` (None: an empty file cannot be mapped)."""
    try:
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:
        return None


__all__ = ["open_map", "row_lines"]
