"""The query layer's entry: a legacy filter dict, a TrendsQuery dict or a parsed TrendsFilter →
TrendsFilter. Pure: whether the engine computes it is ``engine.check_supported``'s answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError
from ..jsonvalue import clean_json
from ..limits import DEFAULT_LIMITS, Limits
from .legacy import parse_legacy
from .model import TrendsFilter
from .trends_query import parse_trends_query


def parse_filter(query: Any, *, limits: Limits = DEFAULT_LIMITS) -> TrendsFilter:
    """Validate a legacy filter dict, a TrendsQuery dict, or a TrendsFilter into a TrendsFilter."""
    if isinstance(query, TrendsFilter):
        return query
    if not isinstance(query, Mapping):
        raise ValidationError((), f"expected a filter object, got {type(query).__name__}")
    if not isinstance(limits, Limits):
        raise ValidationError(("limits",), "expected a trendcalc.Limits")
    query = clean_json(query, (), limits)  # bounded JSON, copied: parsers never see caller objects
    if query.get("kind") is not None:
        return parse_trends_query(query, limits=limits)
    return parse_legacy(query, limits=limits)


__all__ = ["parse_filter"]
