"""Dictionary-encoding of many fixed-width strings by sorting instead of hashing.

Arrow's ``dictionary_encode`` hashes each string (~110 ns each for a million short ids, mostly
cache misses). When every string has the same byte length and at most 8 byte positions vary
(ids like ``d003299f`` or ``s001214dc``: a constant prefix and hex digits), the varying bytes
packed into a uint64 are an exact key, and one unstable sort of the keys finds the same distinct
values in ~half the time. The result is the one ``dictionary_encode`` gives: the distinct values
in first-seen order and each string's code among them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_ROWS = 1 << 16  # below this Arrow's hashing is as quick


def encode_fixed_width(arr: Any) -> tuple[Any, np.ndarray] | None:
    """(distinct values in first-seen order, int32 code per value) of a string Arrow array
    without nulls, or None when it is not one of fixed-width keys of ≤ 8 varying bytes."""
    import pyarrow as pa

    n = len(arr)
    if n < MIN_ROWS or arr.null_count or not pa.types.is_string(arr.type):
        return None
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset:arr.offset + n + 1]
    width = int(offsets[1] - offsets[0])
    if width == 0 or int(offsets[-1] - offsets[0]) != width * n:
        return None
    if not (np.diff(offsets) == width).all():
        return None
    data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(n, width)
    varying = np.flatnonzero((data != data[0]).any(axis=0))
    if len(varying) > 8:
        return None
    packed = np.zeros((n, 8), dtype=np.uint8)
    packed[:, :len(varying)] = data[:, varying]
    codes, firsts = first_seen_codes(packed.view(np.uint64).ravel())
    return arr.take(arrow_ints(firsts)), codes


def first_seen_codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int32 code per key numbering the distinct keys in order of first occurrence, the
    position of each distinct key's first occurrence, ascending)."""
    n = len(keys)
    order = np.argsort(keys)  # unstable: the first occurrence is the least position of a run
    ranked = keys[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(ranked[1:], ranked[:-1], out=starts[1:])
    group = np.cumsum(starts, dtype=np.int32) - 1  # run (distinct key in key order) per sorted slot
    first = np.minimum.reduceat(order, np.flatnonzero(starts))
    # number the runs by their first positions: mark them, count marks up to each
    is_first = np.zeros(n, dtype=bool)
    is_first[first] = True
    code_at = np.cumsum(is_first, dtype=np.int32) - 1
    codes = np.empty(n, dtype=np.int32)
    codes[order] = code_at[first][group]
    return codes, np.flatnonzero(is_first)


def arrow_ints(a: np.ndarray) -> Any:
    """An integer NumPy array as an Arrow array over the same memory. (``pa.array`` would do,
    but its first call imports pandas when installed: ~0.15 s of a fresh process.)"""
    import pyarrow as pa

    a = np.ascontiguousarray(a)
    return pa.Array.from_buffers(pa.from_numpy_dtype(a.dtype), len(a), [None, pa.py_buffer(a)])


def numpy_of(arr: Any) -> np.ndarray:
    """An Arrow array as NumPy: integers, floats and booleans without nulls directly from their
    buffers, strings as an object array of str; anything else through ``to_numpy``. (Arrow's
    ``to_numpy`` goes through its pandas conversion, which imports pandas, when installed, on
    first use: ~0.15 s of a fresh process.)"""
    import pyarrow as pa

    t = arr.type
    n, off = len(arr), arr.offset
    if not arr.null_count:
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            dt = np.dtype(t.to_pandas_dtype())
            if not n:
                return np.zeros(0, dtype=dt)
            return np.frombuffer(arr.buffers()[1], dtype=dt, count=n, offset=off * dt.itemsize)
        if pa.types.is_boolean(t):
            if not n:
                return np.zeros(0, dtype=bool)
            bits = np.frombuffer(arr.buffers()[1], dtype=np.uint8)
            return np.unpackbits(bits, count=off + n, bitorder="little")[off:].view(bool)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            out = np.empty(n, dtype=object)
            out[:] = arr.to_pylist()
            return out
    return arr.to_numpy(zero_copy_only=False)


def ints_or(arr: Any, missing: int) -> np.ndarray:
    """An integer Arrow array as NumPy with ``missing`` for null (``fill_null(missing)`` without
    its Python scalar, whose conversion imports pandas)."""
    if not arr.null_count:
        return numpy_of(arr)
    dt = np.dtype(arr.type.to_pandas_dtype())
    out = np.frombuffer(arr.buffers()[1], dtype=dt, count=len(arr), offset=arr.offset * dt.itemsize).copy()
    out[~numpy_of(arr.is_valid())] = missing  # (the values under nulls are undefined)
    return out
