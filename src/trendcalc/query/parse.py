"""The query layer's entry: a legacy filter dict, a TrendsQuery dict or a parsed TrendsFilter →
TrendsFilter. Pure: whether the engine computes it is ``engine.check_supported``'s answer."""

from __future__ import annotations

import marshal
from collections.abc import Mapping
from typing import Any, cast

from ..errors import ValidationError
from ..jsonvalue import clean_json
from ..limits import DEFAULT_LIMITS, Limits
from ..recent import Recent
from .legacy import parse_legacy
from .model import TrendsFilter
from .trends_query import parse_trends_query

_PARSED: Recent[TrendsFilter] = Recent(256)
_MAX_KEY_BYTES = 1 << 16


def parse_filter(query: Any, *, limits: Limits = DEFAULT_LIMITS) -> TrendsFilter:
    """Validate a legacy filter dict, a TrendsQuery dict, or a TrendsFilter into a TrendsFilter.

    Recently parsed filters are reused when the dict is plain JSON (``marshal`` serialises only
    the exact built-in types, and equal bytes decode to equal values, so the bytes are an exact
    key) and the parsed filter holds no mutable value it would hand to results. Two keys: the
    query's marshal version 4 (fast; a part shared by several places written once, so a
    Python-built filter nesting a shared list twenty times is not written as its 2^20-leaf tree,
    which hung version 2), and, when that misses, version 2 of the checked copy (a tree of at
    most ``max_json_values`` values; equal filters give equal bytes however they were built)."""
    if isinstance(query, TrendsFilter):
        return query
    if not isinstance(query, Mapping):
        raise ValidationError((), f"expected a filter object, got {type(query).__name__}")
    if not isinstance(limits, Limits):
        raise ValidationError(("limits",), "expected a trendcalc.Limits")
    fast = _key(query, 4)
    filt = None if fast is None else _PARSED.find((fast, limits))
    if filt is not None:
        return filt
    checked = clean_json(query, (), limits)  # bounded JSON, copied: parsers never see caller objects
    canonical = _key(checked, 2)
    filt = None if canonical is None else _PARSED.find((canonical, limits))
    if filt is None:
        filt = _parse(checked, limits)
    if _immutable(filt):
        for key in (fast, canonical):
            if key is not None:
                _PARSED.put((key, limits), filt)
    return filt


def _key(value: Any, version: int) -> bytes | None:
    """``value``'s marshal bytes in ``version``, None when it is not plain JSON (a subclass, a
    datetime, a numpy scalar...) or its bytes are too long to keep."""
    try:
        key = marshal.dumps(cast(Any, value), version)
    except ValueError:
        return None
    return key if len(key) <= _MAX_KEY_BYTES else None


def _immutable(filt: TrendsFilter) -> bool:
    """Whether results built from ``filt`` share nothing mutable with it: the echoed display
    fields are the only raw JSON a TrendsFilter keeps."""
    return all(v is None or isinstance(v, (str, int, float, bool)) for _, v in filt.echo)


def _parse(query: Mapping[str, Any], limits: Limits) -> TrendsFilter:
    """``query`` checked and copied by ``clean_json`` → its parsed filter."""
    if query.get("kind") is not None:
        return parse_trends_query(query, limits=limits)
    return parse_legacy(query, limits=limits)


__all__ = ["parse_filter"]
