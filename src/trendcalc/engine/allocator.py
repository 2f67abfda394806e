"""Keep freed query temporaries in the process: glibc's malloc, tuned once for array work.

A query allocates a few temporaries the size of its touched rows (100 k rows: 800 kB each) and
frees them at the end. glibc's defaults return such memory to the kernel as soon as more than
128 kB is free at the top of the heap (and serve a block above its *dynamic* mmap threshold with a
fresh mapping), so the next query faults every page in again. On virtual machines a page fault
costs microseconds: measured on the benchmark host, two live 800 kB temporaries cost 0.9 ms of
faults against 0.03 ms of arithmetic, and a 10 M-event weekly sum went from 4.1 to 0.9 ms with
the thresholds below. DuckDB and Polars bring their own allocators and never pay this.

``tune()`` raises the trim threshold (free memory the heap keeps) to ``TRIM_BYTES`` and fixes the
mmap threshold at glibc's maximum, ``MMAP_BYTES`` (larger blocks, e.g. store columns, are still
mapped and unmapped on their own). Peak memory does not grow: only memory already used and freed
is kept, up to ``TRIM_BYTES``. It runs once, on the first query; nothing happens off glibc or
when the environment sets ``TRENDCALC_MALLOC_TUNE=0`` (or the process set glibc's own
``GLIBC_TUNABLES`` / ``MALLOC_*_`` variables, which take precedence by being left alone).
"""

from __future__ import annotations

import os
import sys
import threading

TRIM_BYTES = 128 << 20
"""Free bytes the heap keeps at its top before returning memory to the kernel."""
MMAP_BYTES = 32 << 20
"""Blocks from this size up get their own mapping (glibc's largest allowed threshold on 64 bits)."""
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_lock = threading.Lock()
_done = False
_applied = False


def _wanted() -> bool:
    if os.environ.get("TRENDCALC_MALLOC_TUNE", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") for k in os.environ):
        return False  # the process chose its own malloc settings
    return sys.platform.startswith("linux")


def tune() -> bool:
    """Apply the thresholds once per process (thread-safe); True when they are in effect."""
    global _done, _applied
    if _done:
        return _applied
    with _lock:
        if not _done:
            _applied = _apply() if _wanted() else False
            _done = True
    return _applied


def _apply() -> bool:
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES))


__all__ = ["MMAP_BYTES", "TRIM_BYTES", "tune"]
