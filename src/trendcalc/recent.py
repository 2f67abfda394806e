"""A bounded memo of recently computed values, for the per-query work that does not depend on
the data: parsed filters, resolved date ranges, time axes.

A dashboard or a server asks the same few queries again and again; at a million events the
parse and the date arithmetic cost more than counting the rows. Every value kept here is a pure
function of its (hashable) key and immutable, so reusing it cannot change an answer. The memo
holds at most ``size`` entries (the oldest inserted go first) and is safe to share between
threads: a racing caller may build a value twice, every caller gets a correct one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    """``get(key, build)``: the value stored for ``key``, else ``build()`` stored (and returned)."""

    __slots__ = ("_values", "_size", "_lock")

    def __init__(self, size: int = 256):
        self._values: dict[Hashable, V] = {}
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        value = self.find(key)
        if value is None:
            value = build()  # an exception is raised to the caller and nothing is stored
            self.put(key, value)
        return value

    def find(self, key: Hashable) -> V | None:
        """The value stored for ``key``, None when there is none."""
        return self._values.get(key)

    def put(self, key: Hashable, value: V) -> None:
        """Store ``value`` for ``key``, dropping the oldest entries beyond ``size``."""
        with self._lock:
            while len(self._values) >= self._size:
                self._values.pop(next(iter(self._values)))
            self._values[key] = value

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
