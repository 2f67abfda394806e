"""What a saved store must satisfy before any query reads it.

A store whose checksums agree can still be crafted to be wrong: codes past the end of their
dictionary, rows out of (event, time) order, arrays whose lengths disagree. The engine indexes
with these arrays, so such a store would fail deep inside a query (IndexError) or, worse, answer
from the wrong rows. These checks run at load and raise StoreFormatError naming the file:

- the manifest's structure: every field of the expected JSON type (``Shape``);
- ``.npy`` files: a plain numeric dtype of the kind the column needs, C order, exactly the bytes
  the header implies (``npy_array``);
- the invariants between arrays (``check_core``): lengths agree, event codes and distinct_id codes
  within their name lists, rows ordered by (event, timestamp), timestamps and created_at within
  years 1900..2299, each person row reachable, names unique.

Property code ranges are checked when a column is first used (``checked_codes``), so opening a
store stays cheap: that check reads the whole column.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import StoreFormatError
from ..timeutil import MAX_YEAR, MIN_YEAR, datetime_to_us
from .tables import NO_TIME

_LO_US = datetime_to_us(dt.datetime(MIN_YEAR, 1, 1, tzinfo=dt.timezone.utc))
_HI_US = datetime_to_us(dt.datetime(MAX_YEAR + 1, 1, 1, tzinfo=dt.timezone.utc))
MAX_NPY_HEADER = 1 << 16

Fail = Callable[[str, str], StoreFormatError]  # (file name, message) -> the error to raise


# --- the manifest's JSON structure -----------------------------------------------------------------
def need(value: Any, kind: type | tuple[type, ...], where: str, fail: Fail) -> Any:
    """``value`` when it is a ``kind`` (bools are not ints); else StoreFormatError."""
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
        names = "/".join(k.__name__ for k in _tuple(kind))
        raise fail("manifest.json", f"{where}: expected {names}, got {type(value).__name__}")
    return value


def count(value: Any, where: str, fail: Fail) -> int:
    """A non-negative int."""
    n = need(value, int, where, fail)
    if n < 0:
        raise fail("manifest.json", f"{where}: expected a count, got {n}")
    return n


def field(m: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, fail: Fail) -> Any:
    if key not in m:
        raise fail("manifest.json", f"{where}.{key}: missing")
    return need(m[key], kind, f"{where}.{key}", fail)


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


# --- .npy files ----------------------------------------------------------------------------------
def npy_array(buf: Any, name: str, meta: Mapping[str, Any], kinds: str, fail: Fail, itemsize: int | None = None) -> np.ndarray:
    """The read-only array in ``buf`` (an .npy file's bytes or map), checked against its header,
    the manifest's dtype and shape, and the dtype the column needs: one of ``kinds`` (``"i"``,
    ``"iu"``, ``"b"``), of ``itemsize`` bytes when given."""
    size = len(buf)
    try:
        fp = io.BytesIO(bytes(buf[: min(size, MAX_NPY_HEADER)]))
        version = np.lib.format.read_magic(fp)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fp, max_header_size=MAX_NPY_HEADER)
        offset = fp.tell()
    except Exception as exc:  # noqa: BLE001 - NumPy's header parser (ast.literal_eval, tokenize, np.dtype) can
        # raise nearly anything on crafted text (TokenError was found by tests/fuzz/test_fuzz_saved_store.py)
        raise fail(name, f"unreadable column: {type(exc).__name__}: {str(exc)[:200]}") from None
    if (dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None
            or (itemsize is not None and dtype.itemsize != itemsize)):
        raise fail(name, f"holds {dtype.str}: expected a column of kind {kinds!r}")
    if dtype.str != meta.get("dtype") or list(shape) != meta.get("shape"):
        raise fail(name, f"holds {dtype.str}{list(shape)}, the manifest says {meta.get('dtype')}{meta.get('shape')}")
    if len(shape) != 1 or (fortran and len(shape) > 1):
        raise fail(name, f"expected a 1-dimensional column, got shape {list(shape)}")
    n = int(shape[0])
    if offset + n * dtype.itemsize != size:
        raise fail(name, f"{size} bytes do not hold the {n} values its header announces")
    if n == 0:
        arr = np.empty(0, dtype=dtype)
    else:
        arr = np.frombuffer(buf, dtype=dtype, count=n, offset=offset)
    arr.flags.writeable = False
    return arr


# --- invariants between arrays ---------------------------------------------------------------------
def rows(arr: np.ndarray, n: int, name: str, what: str, fail: Fail) -> np.ndarray:
    """``arr`` when it has ``n`` rows."""
    if arr.shape != (n,):
        raise fail(name, f"expected {n} {what}, got {arr.shape[0]}")
    return arr


def codes_within(arr: np.ndarray, lo: int, hi: int, name: str, what: str, fail: Fail) -> None:
    """Every value in ``lo <= v < hi``."""
    if len(arr) and (int(arr.min()) < lo or int(arr.max()) >= hi):
        bad = int(np.flatnonzero((arr < lo) | (arr >= hi))[0])
        raise fail(name, f"row {bad}: {what} {int(arr[bad])} outside {lo}..{hi - 1}")


def check_times(arr: np.ndarray, name: str, fail: Fail, *, unknown_ok: bool) -> None:
    """Timestamps (µs) within years 1900..2299; ``NO_TIME`` allowed where it means unknown."""
    known = arr[arr != NO_TIME] if unknown_ok else arr
    if len(known) and (int(known.min()) < _LO_US or int(known.max()) >= _HI_US):
        raise fail(name, f"holds a time outside years {MIN_YEAR}..{MAX_YEAR}")


def check_order(event: np.ndarray, ts: np.ndarray, fail: Fail) -> None:
    """Rows sorted by event code, then by timestamp within each event (what every slice assumes)."""
    if len(event) < 2:
        return
    step = event[1:] != event[:-1]
    if (event[1:] < event[:-1]).any():
        raise fail("event.npy", "rows are not ordered by event")
    back = (ts[1:] < ts[:-1]) & ~step
    if back.any():
        raise fail("ts.npy", f"row {int(np.flatnonzero(back)[0]) + 1}: timestamps of one event are not in order")


def unique_names(values: Sequence[Any], kinds: type | tuple[type, ...], name: str, what: str, fail: Fail) -> None:
    """``values`` all of ``kinds`` and distinct (a name must mean one code)."""
    for i, v in enumerate(values):
        if not isinstance(v, kinds) or isinstance(v, bool):
            raise fail(name, f"{what} [{i}]: expected a string, got {type(v).__name__}")
    if len(set(values)) != len(values):
        raise fail(name, f"{what} are not unique")


def checked_codes(codes: np.ndarray, n_values: int, name: str, fail: Fail) -> np.ndarray:
    """Property codes: -1 (absent) or an index into a dictionary of ``n_values`` values."""
    codes_within(codes, -1, n_values, name, "code", fail)
    return codes
