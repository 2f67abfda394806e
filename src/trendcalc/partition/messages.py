"""The messages of the warm pool (``pipes.py``), pickled with the query's immutable parts memoised.

A dashboard asks the same query again and again, and every call sends each worker its share:
the filter, the project, the limits and the partitions' paths. Pickling the filter and the
project (and limits) cost the caller ~90 µs and unpickling them the worker ~70 µs per call
(measured on a busy 2-core machine) — on the critical path of a DAU query whose share is ~2 ms:
the worker cannot start before it has its message. The filter, project and limits are frozen values (``parse_filter`` already returns
the same object for the same JSON), so:

- the caller pickles each such object once, keyed by the object itself (held by the memo, so
  the key stays its), and puts the bytes into the message as ``(shared_value, (bytes,))``;
- the worker's ``shared_value`` unpickles a given byte string once and returns the same object
  for the same bytes afterwards.

Everything else in a message (tasks, paths, per-partition arguments) and every answer is pickled
as usual, with three cheaper reductions found by exact type in the pickler's dispatch table (a
C-level lookup, where a ``reducer_override`` method was a Python call per pickled object):

- a plain NumPy array of numbers travels as its bytes, dtype and shape (``ndarray``'s own
  reduction costs ~7 µs an array, most of a partition's answer);
- UTC (the engine's clock is always UTC) as a reference, not as a timezone of a timedelta;
- an attrs value of this package that ``reduces_by_fields`` names, as its class and field values
  (``reduces_with`` gives a class a reduction of its own: a partition's ``Partial`` sends its
  values array inline, one call to rebuild both).

Only between this process and the workers it started (as ``multiprocessing`` does), never from
stored data.
"""

from __future__ import annotations

import copyreg
import datetime as dt
import io
import pickle
from collections.abc import Callable
from multiprocessing.reduction import ForkingPickler
from typing import Any, TypeVar

import attrs
import numpy as np

from ..limits import Limits
from ..project import Project
from ..query.model import TrendsFilter
from ..recent import Recent

SHARED_TYPES: frozenset[type] = frozenset({TrendsFilter, Project, Limits})
"""Frozen query values that are pickled once per object and unpickled once per byte string."""

MEMO_SIZE = 64
MEMO_BYTES = 1 << 16
"""The largest message a worker keeps (``message_of``) or the caller keeps the pickled shares of
(``executors._shares``): the memos stay small whatever the queries."""

_dumped: Recent[tuple[Any, bytes]] = Recent(MEMO_SIZE)
_loaded: Recent[Any] = Recent(MEMO_SIZE)


def shared_value(data: bytes) -> Any:
    """The object pickled as ``data`` (the worker's side): unpickled once, the same object after."""
    hit = _loaded.find(data)
    if hit is None:
        hit = pickle.loads(data)
        _loaded.put(data, hit)
    return hit


_messages: Recent[Any] = Recent(16)


def message_of(data: bytes) -> Any:
    """A worker's message from its bytes, the same objects again for the same bytes: a dashboard
    sends the very same share again and again (same query, clock and partitions), and looking
    its bytes up (~1 µs) is cheaper than unpickling them (~12 µs, on the critical path: the
    worker computes after it). A task never changes its arguments, so reusing them is safe.
    Messages over ``MEMO_BYTES`` (first-phase facts such as sessions spanning partitions, which
    change with every query) are not kept."""
    hit = _messages.find(data)
    if hit is None:
        hit = pickle.loads(data)
        if len(data) <= MEMO_BYTES:
            _messages.put(data, hit)
    return hit


def _bytes_of(obj: Any) -> bytes:
    """``obj`` pickled (the caller's side), once per object while it is remembered."""
    hit = _dumped.find(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    _dumped.put(id(obj), (obj, data))
    return data


def _shared(obj: Any) -> tuple[Any, ...]:
    return shared_value, (_bytes_of(obj),)


def array_of(data: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """The (writable) array pickled by ``_array``."""
    return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)


def _array(a: np.ndarray) -> Any:
    if a.dtype.kind in "biuf" and a.flags.c_contiguous:
        return array_of, (a.tobytes(), a.dtype.str, a.shape)
    return a.__reduce_ex__(pickle.HIGHEST_PROTOCOL)


def utc() -> dt.tzinfo:
    """``datetime.timezone.utc`` (what ``_timezone`` pickles it as)."""
    return dt.timezone.utc


def _timezone(tz: dt.timezone) -> Any:
    return (utc, ()) if tz is dt.timezone.utc else tz.__reduce__()


_TABLE: dict[type, Callable[[Any], Any]] = {**copyreg.dispatch_table, **getattr(ForkingPickler, "_extra_reducers", {}),
                                            **{t: _shared for t in SHARED_TYPES},
                                            np.ndarray: _array, dt.timezone: _timezone}


C = TypeVar("C", bound=type)


def reduces_by_fields(cls: C) -> C:
    """Class decorator: pickle this attrs class's instances as their field values in order (its
    ``__init__`` must take them positionally, as a plain ``attrs`` class does) — cheaper than
    attrs' own state for the small frozen values every message and answer holds."""

    def reduce(obj: Any) -> Any:
        return cls, attrs.astuple(obj, recurse=False)

    reduces_with(cls, reduce)
    return cls


def reduces_with(cls: type, reduce: Callable[[Any], Any]) -> None:
    """Pickle ``cls``'s instances (exact type) as ``reduce(obj)``, a ``(callable, args)`` pair:
    for a value that a message or answer holds many of, or whose arrays are better sent inline
    (``partials.Partial``)."""
    _TABLE[cls] = reduce


class _Pickler(pickle.Pickler):
    dispatch_table = _TABLE


def dumps(message: Any) -> bytes:
    """``message`` pickled for a worker (or an answer for the caller), its shared values by
    their memoised bytes."""
    buf = io.BytesIO()
    _Pickler(buf, pickle.HIGHEST_PROTOCOL).dump(message)
    return buf.getvalue()


__all__ = ["SHARED_TYPES", "array_of", "dumps", "message_of", "reduces_by_fields", "reduces_with", "shared_value"]
