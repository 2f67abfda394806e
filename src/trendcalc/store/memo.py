"""Thread-safe compute-once caches for values derived from immutable data."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np


class Memo:
    """``get(key, build)`` computes ``build()`` once per key; concurrent callers may both build,
    but every caller gets the single stored value (builds are pure, so either is correct)."""

    __slots__ = ("_values", "_lock")

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, build: Callable[[], Any]) -> Any:
        try:
            return self._values[key]
        except KeyError:
            pass
        value = _frozen(build())
        with self._lock:
            return self._values.setdefault(key, value)


def _frozen(value: Any) -> Any:
    """Shared arrays are read-only, so no caller can change what other queries (or threads) read."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, tuple):
        for v in value:
            if isinstance(v, np.ndarray):
                v.flags.writeable = False
    return value
