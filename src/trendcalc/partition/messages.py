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

Everything else in a message (tasks, paths, per-partition arguments) is pickled as usual. Only
between this process and the workers it started (as ``multiprocessing`` does), never from
stored data.
"""

from __future__ import annotations

import io
import pickle
from multiprocessing.reduction import ForkingPickler
from typing import Any

from ..limits import Limits
from ..project import Project
from ..query.model import TrendsFilter
from ..recent import Recent

SHARED_TYPES: frozenset[type] = frozenset({TrendsFilter, Project, Limits})
"""Frozen query values that are pickled once per object and unpickled once per byte string."""

MEMO_SIZE = 64

_dumped: Recent[tuple[Any, bytes]] = Recent(MEMO_SIZE)
_loaded: Recent[Any] = Recent(MEMO_SIZE)


def shared_value(data: bytes) -> Any:
    """The object pickled as ``data`` (the worker's side): unpickled once, the same object after."""
    hit = _loaded.find(data)
    if hit is None:
        hit = pickle.loads(data)
        _loaded.put(data, hit)
    return hit


def _bytes_of(obj: Any) -> bytes:
    """``obj`` pickled (the caller's side), once per object while it is remembered."""
    hit = _dumped.find(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    data = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    _dumped.put(id(obj), (obj, data))
    return data


class _Pickler(ForkingPickler):
    def reducer_override(self, obj: Any) -> Any:
        if type(obj) in SHARED_TYPES:
            return shared_value, (_bytes_of(obj),)
        return NotImplemented


def dumps(message: Any) -> bytes:
    """``message`` pickled for a worker, its shared values by their memoised bytes."""
    buf = io.BytesIO()
    _Pickler(buf, pickle.HIGHEST_PROTOCOL).dump(message)
    return buf.getvalue()


__all__ = ["SHARED_TYPES", "dumps", "shared_value"]
