"""Checks of caller-supplied JSON values: text, numbers, and whole filters.

``clean_json`` is the first check on any caller-built filter: a bounded JSON value, copied.

Runs before the field parsers, so none of them can meet a non-JSON object, a non-finite number,
an integer too big to print, a string with a lone surrogate, nesting deep enough to exhaust the
stack, or a string or list above the limits. The copy it returns is what gets parsed, so nothing
in a TrendsFilter refers back to the caller's (mutable) objects.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import jsontext
from .errors import ValidationError
from .limits import Limits

_MAX_FLOAT = float(np.finfo(np.float64).max)


def check_text(s: str, path: tuple, max_length: int, what: str = "string", limit: str = "max_string_length") -> str:
    """``s`` if it is at most ``max_length`` characters of valid Unicode (no lone surrogates)."""
    if len(s) > max_length:
        raise ValidationError(path, f"{what} of {len(s)} characters exceeds {limit}={max_length}")
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(path, f"{what} is not valid Unicode (lone surrogate at {exc.start})") from None
    return s


def text_or_none(value: Any) -> str | None:
    """``value`` when it is text, else None: how raw input is compared before it is checked (a
    NumPy array's ``==`` answers an array, which ``if`` refuses)."""
    return value if isinstance(value, str) else None


def check_number(v: Any, path: tuple) -> int | float:
    """A finite int or float (numpy scalars become Python numbers); bools are not numbers here."""
    if isinstance(v, (np.integer, np.floating)):
        v = v.item()
    if isinstance(v, int):
        if abs(v) > _MAX_FLOAT:
            raise ValidationError(path, "integer out of range (beyond ±1.8e308)")
        return v
    if not math.isfinite(v):
        raise ValidationError(path, f"expected a finite number, got {v!r}")
    return float(v)


def clean_json(value: Any, path: tuple, limits: Limits, depth: int = 0, budget: list[int] | None = None) -> Any:
    """A checked copy of a JSON-like value (dict/list/tuple/str/number/bool/None, and
    datetime/date for date fields); ValidationError with the path of the first bad member.
    ``budget``: the values left of ``limits.max_json_values`` (one list shared by the walk)."""
    if budget is None:
        budget = [limits.max_json_values]
    budget[0] -= 1
    if budget[0] < 0:
        raise ValidationError(path, f"more than max_json_values={limits.max_json_values} values (a part that "
                                    "appears in several places counts each time)")
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return check_text(value, path, limits.max_string_length)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return check_number(value, path)
    if isinstance(value, (dt.datetime, dt.date)):
        return value
    if depth >= limits.max_json_depth:
        raise ValidationError(path, f"value nested deeper than max_json_depth={limits.max_json_depth}")
    if isinstance(value, Mapping):
        out = {}
        for n, (k, v) in enumerate(value.items()):
            if n == limits.max_list_length:  # located at the first key over the limit
                where = path + ((k[:64],) if isinstance(k, str) else ())
                raise ValidationError(where, f"object with {len(value)} keys exceeds max_list_length={limits.max_list_length}")
            if not isinstance(k, str):
                where = path + (f"<{type(k).__name__} key>",)
                raise ValidationError(where, f"object keys must be strings, got {type(k).__name__}")
            check_text(k, path + (k[:64],), limits.max_string_length, "key")
            out[k] = clean_json(v, path + (k,), limits, depth + 1, budget)
        return out
    if isinstance(value, (list, tuple)):
        if len(value) > limits.max_list_length:  # located at the first member over the limit
            where = path + (limits.max_list_length,)
            raise ValidationError(where, f"list of {len(value)} members exceeds max_list_length={limits.max_list_length}")
        items = [clean_json(v, path + (i,), limits, depth + 1, budget) for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise ValidationError(path, f"expected a JSON value, got {type(value).__name__}")


def loads_json(text: str, path: tuple, limits: Limits) -> Any:
    """Decode JSON text found inside a filter field, checked like the rest of the filter.

    Raises ValueError (not ValidationError) when ``text`` is not JSON, so callers can fall back
    to treating it as a plain string; ValidationError when it is JSON beyond the limits."""
    try:
        value = jsontext.loads(text)
    except jsontext.TooDeep:
        raise ValidationError(path, f"JSON text nested deeper than max_json_depth={limits.max_json_depth}") from None
    return clean_json(value, path, limits)
