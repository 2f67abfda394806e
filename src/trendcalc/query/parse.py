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
    key) and the parsed filter holds no mutable value it would hand to results. The key is
    marshal's version 4, which writes a part shared by several places once (version 2 wrote a
    Python-built filter that nests a shared list as the tree it stands for, 2^depth times);
    equal filters built apart may then key apart, which only costs a parse."""
    if isinstance(query, TrendsFilter):
        return query
    if not isinstance(query, Mapping):
        raise ValidationError((), f"expected a filter object, got {type(query).__name__}")
    if not isinstance(limits, Limits):
        raise ValidationError(("limits",), "expected a trendcalc.Limits")
    try:
        key = marshal.dumps(cast(Any, query), 4)
    except ValueError:  # a subclass, a datetime, a numpy scalar...: parsed every time
        return _parse(query, limits)
    if len(key) > _MAX_KEY_BYTES:
        return _parse(query, limits)
    filt = _PARSED.find((key, limits))
    if filt is None:
        filt = _parse(query, limits)
        if _immutable(filt):
            _PARSED.put((key, limits), filt)
    return filt


def _immutable(filt: TrendsFilter) -> bool:
    """Whether results built from ``filt`` share nothing mutable with it: the echoed display
    fields are the only raw JSON a TrendsFilter keeps."""
    return all(v is None or isinstance(v, (str, int, float, bool)) for _, v in filt.echo)


def _parse(query: Mapping[str, Any], limits: Limits) -> TrendsFilter:
    query = clean_json(query, (), limits)  # bounded JSON, copied: parsers never see caller objects
    if query.get("kind") is not None:
        return parse_trends_query(query, limits=limits)
    return parse_legacy(query, limits=limits)


__all__ = ["parse_filter"]
