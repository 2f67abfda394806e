"""Dictionary-encoded property columns and the typed views derived from their dictionaries.

A property column is ``codes`` (int32, one per row; -1 = absent or JSON null) into a
``ValueDictionary`` of the distinct raw JSON values. Every predicate and every typed read is
computed once per distinct value and then gathered with ``view[codes]``; the views carry one
extra trailing slot for "absent" so that ``view[-1]`` is the NULL result without branching.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..datetimes import NULL_TIME, parse_best_effort
from .memo import Memo

BREAKDOWN_NULL = "$$_posthog_breakdown_null_$$"
BREAKDOWN_OTHER = "$$_posthog_breakdown_other_$$"

_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')  # what json.dumps(ensure_ascii=False) escapes in a string
# Linear: "\d+\.?\d*" (the same language) backtracked in O(n²) on a long digit run that is not a
# number ("1111…x": a 1 MiB property value took hours). ASCII digits only, as ClickHouse's
# toFloat64OrNull: Python's \d also takes "１０" (found by tests/property).
_NUMBER_RE = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def render_text(v: Any) -> str:
    """R(v): the comparable text PostHog reads out of the JSON blob (filters.md §0.2).

    Strings keep their JSON escapes (the backslash stays), numbers keep their JSON spelling,
    booleans are ``true``/``false``, containers are compact JSON.
    """
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)[1:-1]
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return json.dumps(v)
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def to_float(v: Any) -> float:
    """``toFloat(R)`` = ``accurateCastOrNull(R, Float64)``; NaN stands for NULL."""
    if isinstance(v, bool):
        return math.nan
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        s = render_text(v)
        if _NUMBER_RE.match(s):
            return float(s)
        low = s.lower()
        if low in ("inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"):
            return float(low.replace("infinity", "inf"))
    return math.nan


def float_text(f: float) -> str:
    """ClickHouse's shortest text of a Float64: ``10.0`` → ``10``, ``10.5`` → ``10.5``."""
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    if f == int(f) and abs(f) < 1e16:
        return str(int(f))
    r = repr(f)
    return r.replace("e+", "e")


def intern_key(v: Any) -> Any:
    """A hashable key that keeps 1, 1.0, True and "1" distinct, and 0.0 and -0.0 (equal as
    numbers, but two JSON values: ``-0.0`` renders as such)."""
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return (1, v)
    if t is int:
        return (2, v)
    if t is float:
        return (3, v) if v else (3, v, math.copysign(1.0, v))
    return (4, json.dumps(v, sort_keys=True, ensure_ascii=False, separators=(",", ":")))


class ValueDictionary:
    """The distinct raw values of one column, with lazily computed, cached typed views.

    Views have length ``len(values) + 1``; the last slot is the value for a missing property.
    """

    __slots__ = ("values", "_memo")

    def __init__(self, values: Sequence[Any]):
        self.values: tuple[Any, ...] = tuple(values)
        self._memo = Memo()

    def __len__(self) -> int:
        return len(self.values)

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """Compute ``build()`` once per key, thread-safely."""
        return self._memo.get(key, build)

    # --- typed views ----------------------------------------------------------------------------
    def text(self) -> np.ndarray:
        """R per value (object array of str) plus None for missing."""

        def build() -> np.ndarray:
            values = self.values
            # Strings with nothing JSON escapes (the common case) are their own R: one check
            # over the joined strings instead of one json.dumps per value.
            if all(type(v) is str for v in values) and not _JSON_ESCAPED.search("".join(values)):
                out = np.empty(len(values) + 1, dtype=object)
                out[:-1] = values
                return out
            return np.array([render_text(v) for v in values] + [None], dtype=object)

        return self.cached("text", build)

    def floats(self) -> np.ndarray:
        """toFloat(R) per value, NaN for NULL (and for the missing slot)."""
        return self.cached("float", lambda: np.array([to_float(v) for v in self.values] + [math.nan], dtype=np.float64))

    def float_ranks(self) -> tuple[np.ndarray, np.ndarray]:
        """(rank per value, the numeric values in ascending order): ``sorted[rank[code]]`` is
        toFloat(R) of the code; NULLs (and the missing slot) rank ``len(sorted)``, after all.
        Sorting small integer ranks is cheaper than sorting the floats they stand for."""

        def build() -> tuple[np.ndarray, np.ndarray]:
            f = self.floats()
            numeric = np.flatnonzero(~np.isnan(f))
            by_value = numeric[np.argsort(f[numeric], kind="stable")]
            dtype = np.uint16 if len(by_value) < np.iinfo(np.uint16).max else np.uint32
            rank = np.full(len(f), len(by_value), dtype=dtype)
            rank[by_value] = np.arange(len(by_value), dtype=dtype)
            return rank, f[by_value]

        return self.cached("float ranks", build)

    def bools(self) -> np.ndarray:
        """Boolean cast of R: 1 for ``true``, 0 for ``false``, -1 for anything else (NULL)."""

        def build() -> np.ndarray:
            out = np.full(len(self.values) + 1, -1, dtype=np.int8)
            for i, v in enumerate(self.values):
                r = render_text(v)
                if r == "true":
                    out[i] = 1
                elif r == "false":
                    out[i] = 0
            return out

        return self.cached("bool", build)

    def datetimes(self, tz: dt.tzinfo) -> np.ndarray:
        """parseDateTime64BestEffortOrNull(R, 6, tz) per value as µs UTC; NULL_TIME for NULL.

        Keyed by timezone: naive text is wall-clock time in the project's zone."""

        def build() -> np.ndarray:
            out = np.full(len(self.values) + 1, NULL_TIME, dtype=np.int64)
            for i, v in enumerate(self.values):
                us = parse_best_effort(render_text(v), tz)
                if us is not None:
                    out[i] = us
            return out

        return self.cached(("datetime", str(tz)), build)

    def view(self, key: Any, fn: Callable[[Any], Any], dtype: Any, missing: Any) -> np.ndarray:
        """A custom per-value view ``fn(raw)`` with ``missing`` in the trailing slot, cached by key."""
        return self.cached(
            ("view", key), lambda: np.array([fn(v) for v in self.values] + [missing], dtype=dtype)
        )


class PropertyColumn:
    """One property key over a table: ``codes`` (int32, -1 = NULL) into ``dictionary``."""

    __slots__ = ("codes", "dictionary")

    def __init__(self, codes: np.ndarray, dictionary: ValueDictionary):
        self.codes = codes
        self.dictionary = dictionary

    def __len__(self) -> int:
        return len(self.codes)

    def freeze(self) -> None:
        """Make the codes read-only: a store is immutable (SECURITY.md §7)."""
        self.codes.flags.writeable = False

    def take(self, rows: Any) -> np.ndarray:
        """Codes at ``rows`` (an index array or a slice)."""
        return self.codes[rows]

    def value(self, i: int) -> Any:
        """The raw value at row ``i`` (None when absent)."""
        c = int(self.codes[i])
        return None if c < 0 else self.dictionary.values[c]


class ColumnBuilder:
    """Interns values during ingest; ``build(n)`` returns a PropertyColumn over n rows."""

    __slots__ = ("_index", "_values", "_rows", "_codes")

    def __init__(self) -> None:
        self._index: dict[Any, int] = {}
        self._values: list[Any] = []
        self._rows: list[int] = []
        self._codes: list[int] = []

    def add(self, row: int, value: Any) -> None:
        if value is None:
            return
        k = intern_key(value)
        code = self._index.get(k)
        if code is None:
            code = self._index[k] = len(self._values)
            self._values.append(value)
        self._rows.append(row)
        self._codes.append(code)

    def build(self, n: int, order: np.ndarray | None = None) -> PropertyColumn:
        """The column over n rows; ``order`` (a permutation) reorders rows as ``codes[order]``."""
        codes = np.full(n, -1, dtype=np.int32)
        if self._rows:
            codes[np.asarray(self._rows, dtype=np.int64)] = np.asarray(self._codes, dtype=np.int32)
        if order is not None:
            codes = codes[order]
        return PropertyColumn(codes, ValueDictionary(self._values))
