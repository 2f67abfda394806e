"""Counting a JSON-lines file's newlines while it is read for Arrow, so that given rows' lines are
found later without reading the file again.

Arrow's JSON reader keeps a number, not its spelling, so the columnar JSON-lines path needs the
text of the few rows whose whole float may have been written as an integer
(``columnar._integer_spelled``). Finding a row's line needs the count of newlines before it: a
second pass over the file (``linescan``) takes about 2.3 s of a 10 M-event build (2.7 GiB) after
Arrow's parse. ``CountingFile`` is the file ``jsonblocks`` reads its blocks from (the files
Arrow's streaming reader refuses), so that such a file needs no second pass: each
block is counted while it is in memory (NumPy, about 2 ms per 16 MiB block, on the reading
thread while the parse threads work), per sub-block of ``_SUB`` bytes, and ``spans`` then reads
back only the sub-blocks that hold a wanted line's ends. Nothing but the counts is kept (one
int per 256 KiB: 11 k at 10 M events).

(Giving it to Arrow's streaming reader through ``pyarrow.PythonFile`` was tried first: Arrow's
I/O threads then call into Python, and a process can abort at exit, "terminate called without
an active exception", pyarrow 26, seen in 3 of ~20 short runs.)

A row is a non-blank line: when the file's lines are not exactly the rows Arrow read (blank
lines), ``spans`` gives None and ``linescan``'s scan of every newline is the fallback.
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

import numpy as np

_SUB = 1 << 18  # bytes per counted sub-block: a wanted line costs at most two re-read sub-blocks


class CountingFile:
    """A raw file read front to back whose ``read``/``readinto`` count the newlines of what they
    return, per sub-block of ``_SUB`` bytes at fixed file offsets (so the counts do not depend on
    the sizes read)."""

    def __init__(self, path: str | Path):
        self._fh = open(path, "rb", buffering=0)  # noqa: SIM115  (closed by close(), as a file)
        self._pos = 0
        self._counts = array("q")  # newlines per sub-block
        self._last = 10  # the last byte read (a newline: no unterminated line yet)
        self._eq = np.empty(_SUB, dtype=bool)
        self.complete = False  # read to the end of the file

    # --- the file interface the reader uses --------------------------------------------------------
    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all the rest for ``n < 0``), their newlines counted."""
        data = self._fh.read() if n is None or n < 0 else self._fh.read(n)
        self._count(np.frombuffer(data, dtype=np.uint8))
        return data

    def readinto(self, buf: Any) -> int:
        """Read into the writable buffer ``buf`` (no copy), counting the newlines; the byte count."""
        got = self._fh.readinto(buf)
        self._count(np.frombuffer(buf, dtype=np.uint8, count=got or 0))
        return got or 0

    def _count(self, view: np.ndarray) -> None:
        """Count the newlines of ``view``, the next bytes of the file."""
        if not len(view):
            self.complete = True
            return
        start, end = self._pos, self._pos + len(view)
        counts, sub, eq = self._counts, _SUB, self._eq
        while len(counts) < (end - 1) // sub + 1:
            counts.append(0)
        for i in range(start // sub, (end - 1) // sub + 1):  # (64 sub-blocks per 16 MiB: not a row loop)
            lo, hi = max(start, i * sub) - start, min(end, (i + 1) * sub) - start
            # (== into one reused sub-block buffer that stays in cache: 2 ms per 16 MiB, where
            # bytes.count takes 7 and an == over the whole block 4)
            counts[i] += int(np.count_nonzero(np.equal(view[lo:hi], 10, out=eq[:hi - lo])))
        self._pos, self._last = end, int(view[-1])

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what the counts give ------------------------------------------------------------------------
    def spans(self, rows: np.ndarray, n_rows: int) -> list[tuple[int, int]] | None:
        """(start, end) byte span of each of ``rows`` (sorted 0-based row numbers) when the file
        was read to its end and its lines are exactly ``n_rows`` (no blank line); None otherwise.
        Newline k ends line k: line r spans (newline r-1) + 1 .. newline r."""
        counts = np.frombuffer(self._counts, dtype=np.int64) if len(self._counts) else np.zeros(0, np.int64)
        total = int(counts.sum())
        size = self._pos
        if not self.complete or total + (size > 0 and self._last != 10) != n_rows:
            return None
        rows = np.asarray(rows, dtype=np.int64)
        needed = np.unique(np.concatenate([rows - 1, rows]))
        needed = needed[(needed >= 0) & (needed < total)]
        cum = np.cumsum(counts)  # newlines up to the end of each sub-block
        where: dict[int, int] = {}
        if len(needed):
            sub_of = np.searchsorted(cum, needed, side="right")
            subs, first = np.unique(sub_of, return_index=True)
            with open(self._fh.name, "rb", buffering=0) as fh:
                # only the sub-blocks holding a wanted line's end are read again
                for i, ks in zip(subs.tolist(), np.split(needed, first[1:])):
                    fh.seek(i * _SUB)
                    located = np.flatnonzero(np.frombuffer(fh.read(_SUB), dtype=np.uint8) == 10)
                    before = int(cum[i - 1]) if i else 0
                    for k in ks.tolist():
                        where[k] = i * _SUB + int(located[k - before])
        return [(where[r - 1] + 1 if r else 0, where.get(r, size)) for r in rows.tolist()]


__all__ = ["CountingFile"]
