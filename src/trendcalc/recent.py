"""A bounded memo of recently computed values, for the per-query work that does not depend on
the data: parsed filters, resolved date ranges, time axes.

A dashboard or a server asks the same few queries again and again; at a million events the
parse and the date arithmetic cost more than counting the rows. Every value kept here is a pure
function of its (hashable) key and immutable, so reusing it cannot change an answer. The memo
holds at most ``size`` entries (the oldest inserted go first) and, given ``weight``, at most
``max_weight`` in all (a time axis weighs its buckets: 256 axes of 50,000 hours held ~4.6 GB);
a value heavier than that is returned but not kept. It is safe to share between threads: a
racing caller may build a value twice, every caller gets a correct one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Recent(Generic[V]):
    """``get(key, build)``: the value stored for ``key``, else ``build()`` stored (and returned)."""

    __slots__ = ("_values", "_size", "_lock", "_weight", "_max_weight", "_weights", "_total")

    def __init__(self, size: int = 256, *, max_weight: int | None = None, weight: Callable[[V], int] | None = None):
        if (max_weight is None) != (weight is None):
            raise ValueError("Recent: give both max_weight and weight, or neither")
        self._values: dict[Hashable, V] = {}
        self._size = size
        self._lock = threading.Lock()
        self._weight = weight
        self._max_weight = max_weight
        self._weights: dict[Hashable, int] = {}
        self._total = 0

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
        """Store ``value`` for ``key``, dropping the oldest entries beyond ``size`` (and beyond
        ``max_weight``); a value heavier than ``max_weight`` alone is not stored."""
        w = 0 if self._weight is None else self._weight(value)
        if self._max_weight is not None and w > self._max_weight:
            return
        with self._lock:
            self._drop(key)
            while self._values and (len(self._values) >= self._size or
                                    (self._max_weight is not None and self._total + w > self._max_weight)):
                self._drop(next(iter(self._values)))
            self._values[key] = value
            self._weights[key] = w
            self._total += w

    def _drop(self, key: Hashable) -> None:
        if key in self._values:
            del self._values[key]
            self._total -= self._weights.pop(key, 0)

    def __len__(self) -> int:
        return len(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._weights.clear()
            self._total = 0
