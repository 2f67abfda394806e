"""Lifecycle queries: the legacy filter (``shown_as: "Lifecycle"`` / ``insight: "LIFECYCLE"``)
or a ``LifecycleQuery`` dict → a frozen ``LifecycleQuery`` model (spec stickiness-lifecycle §1, §5.1).

A lifecycle query reads the same things a Trends query reads — series, date range, interval,
global and series properties, test accounts, sampling, group aggregation — so those parts are
parsed by the Trends parsers into ``base`` (a ``TrendsFilter``). What differs is parsed here:

- series ``math`` is never read (PostHog's ``filter_to_query`` copies no math for lifecycle and
  the runner ignores it), so math fields are accepted and left out of ``base``;
- ``lifecycleFilter`` / ``toggledLifecycles`` and the other display fields are presentation only;
- fields of a legacy filter the legacy engine never reads (``breakdown``, ``compare``,
  ``formula``, ``display``, ...) are accepted and listed in ``ignored``, so a result can say so;
- ``engine``: a legacy filter is answered as PostHog's legacy lifecycle engine did (weeks always
  start on Monday, events without a person row are dropped, sampled counts are not scaled);
  a ``LifecycleQuery`` as the HogQL runner does (team week start, ``$process_person_profile:
  false`` events excluded, sampled counts scaled by 1/f).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import UnsupportedError, ValidationError
from ..jsonvalue import clean_json, text_or_none
from ..limits import DEFAULT_LIMITS, Limits
from .legacy import DISPLAY_ONLY, parse_legacy
from .model import TrendsFilter
from .suggest import suggest
from .trends_query import parse_trends_query, refuse_group_series

STATUSES = ("new", "returning", "resurrecting", "dormant")  # PostHog's fixed result order
LIFECYCLE_INTERVALS = ("minute", "hour", "day", "week", "month")
MATH_KEYS = ("math", "math_property", "math_property_type", "math_hogql", "math_group_type_index",
             "math_multiplier", "math_property_revenue_currency")  # fmt: skip

QUERY_FIELDS = (
    "kind", "series", "dateRange", "interval", "properties", "filterTestAccounts",
    "samplingFactor", "aggregation_group_type_index", "lifecycleFilter", "modifiers",
    "customAggregationTarget", "dataColorTheme", "response", "tags", "version",
)  # fmt: skip
LIFECYCLE_FILTER_FIELDS = ("toggledLifecycles", "showLegend", "showValuesOnSeries", "stacked")
# Legacy filter fields the lifecycle engine does not read: accepted (they are what a Trends
# insight switched to "Lifecycle" still carries) and reported in ``LifecycleQuery.ignored``.
LEGACY_NOT_READ = (
    "display", "formula", "compare", "compare_to", "smoothing_intervals", "breakdown",
    "breakdown_type", "breakdowns", "breakdown_limit", "breakdown_histogram_bin_count",
    "breakdown_normalize_url", "breakdown_group_type_index", "breakdown_hide_other_aggregation",
    "aggregation_group_type_index",
)  # fmt: skip
LEGACY_LIFECYCLE_ONLY = ("shown_as", "insight", "toggledLifecycles", "lifecycle_type", "target_date")


@attrs.frozen
class LifecycleQuery:
    """A complete, validated Lifecycle query.

    ``base`` carries what a Trends query would: series (math ignored), dates, interval,
    properties, test accounts, sampling and ``aggregation_group_type_index``. ``engine`` is
    ``"runner"`` (LifecycleQuery, PostHog's HogQL runner) or ``"legacy"`` (legacy filter dict,
    PostHog's legacy ``Lifecycle`` engine). ``toggled`` is the display-only toggledLifecycles.
    """

    base: TrendsFilter
    engine: str = "runner"
    toggled: tuple[str, ...] | None = None
    ignored: tuple[str, ...] = ()  # legacy fields accepted but not read by the engine
    echo: tuple[tuple[str, Any], ...] = ()

    @property
    def week_start_day(self) -> int | None:
        """Monday (1) for the legacy engine whatever the project says; None = the project's."""
        return 1 if self.engine == "legacy" else None

    @property
    def scale_sampled_counts(self) -> bool:
        return self.engine == "runner"

    @property
    def exclude_personless(self) -> bool:
        """The runner drops ``$process_person_profile: false`` events; the legacy engine's
        person INNER JOIN drops events whose distinct_id has no person row instead."""
        return self.engine == "runner"


def is_lifecycle(query: Any) -> bool:
    """Whether a dict asks for a lifecycle: ``kind: LifecycleQuery`` (also wrapped in an
    InsightVizNode), ``shown_as: "Lifecycle"`` or ``insight: "LIFECYCLE"``."""
    if isinstance(query, LifecycleQuery):
        return True
    if not isinstance(query, Mapping):
        return False
    kind = query.get("kind")  # (raw input: compared only as text; the parse reports anything else)
    if kind is not None:
        if text_or_none(kind) == "InsightVizNode":
            return is_lifecycle(query.get("source"))
        return text_or_none(kind) == "LifecycleQuery"
    insight = query.get("insight")
    return text_or_none(query.get("shown_as")) == "Lifecycle" or (isinstance(insight, str) and insight.upper() == "LIFECYCLE")


def parse_lifecycle(query: Any, *, limits: Limits = DEFAULT_LIMITS) -> LifecycleQuery:
    """Validate a legacy lifecycle filter or a LifecycleQuery dict (or pass a LifecycleQuery)."""
    if isinstance(query, LifecycleQuery):
        return query
    if not isinstance(query, Mapping):
        raise ValidationError((), f"expected a lifecycle filter or LifecycleQuery object, got {type(query).__name__}")
    if not isinstance(limits, Limits):
        raise ValidationError(("limits",), "expected a trendcalc.Limits")
    query = clean_json(query, (), limits)
    kind = query.get("kind")
    if kind == "InsightVizNode":
        source = query.get("source")
        if not isinstance(source, Mapping):
            raise ValidationError(("source",), "an InsightVizNode needs a LifecycleQuery object in `source`")
        try:
            return parse_lifecycle(source, limits=limits)
        except ValidationError as exc:
            raise exc.prefixed(("source",)) from None
    if kind is not None:
        if kind != "LifecycleQuery":
            raise ValidationError(("kind",), f"expected kind 'LifecycleQuery', got {kind!r}{suggest(str(kind), ('LifecycleQuery',))}")
        return _parse_query(query, limits)
    return _parse_legacy(query, limits)


def _without_math(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: v for k, v in node.items() if k not in MATH_KEYS}
    return node


def _entities_without_math(items: Any) -> Any:
    if isinstance(items, (list, tuple)):
        return [_without_math(e) for e in items]
    return items


def _toggled(v: Any, path: tuple) -> tuple[str, ...] | None:
    if v is None:
        return None
    if not isinstance(v, (list, tuple)):
        raise ValidationError(path, f"expected a list of lifecycle statuses {list(STATUSES)}")
    for i, s in enumerate(v):
        if s not in STATUSES:
            raise ValidationError(path + (i,), f"unknown lifecycle status {s!r}{suggest(str(s), STATUSES)}")
    return tuple(v)


def box_legacy_numbers(v: Any) -> Any:
    """The legacy engine's ``box_value``: an ``exact``/``is_not`` property value is compared as
    the text of each boxed value, so a number matches the property's JSON text ("1" = 1) instead
    of being a String/number type error as in HogQL: numbers become their ``str()`` (also inside
    a list). Returns a copy; nested groups and entity lists are walked."""
    if isinstance(v, list):
        return [box_legacy_numbers(x) for x in v]
    if not isinstance(v, Mapping):
        return v
    out = {k: box_legacy_numbers(x) if k in ("properties", "values", "events", "actions") else x for k, x in v.items()}
    value = out.get("value")
    if "key" in out and out.get("operator") in (None, "exact", "is_not"):
        if _is_number(value):
            out["value"] = str(value)
        elif isinstance(value, list):
            out["value"] = [str(x) if _is_number(x) else x for x in value]
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _parse_legacy(q: Mapping, limits: Limits) -> LifecycleQuery:
    shown_as, insight = q.get("shown_as"), q.get("insight")
    if shown_as not in (None, "", "Lifecycle") and not (isinstance(insight, str) and insight.upper() == "LIFECYCLE"):
        raise ValidationError(("shown_as",), f"a lifecycle filter has shown_as 'Lifecycle', got {shown_as!r}")
    if insight not in (None, "") and (not isinstance(insight, str) or insight.upper() not in ("TRENDS", "LIFECYCLE")):
        raise ValidationError(("insight",), f"a lifecycle filter has insight 'LIFECYCLE' (or 'TRENDS' with shown_as 'Lifecycle'), got {insight!r}")
    ignored = tuple(k for k in LEGACY_NOT_READ if q.get(k) not in (None, "", False, [], 0))
    if q.get("data_warehouse"):
        raise UnsupportedError(("data_warehouse",), "data warehouse series are not supported")
    trends_part = {k: v for k, v in q.items() if k not in LEGACY_NOT_READ and k not in LEGACY_LIFECYCLE_ONLY}
    for kind in ("events", "actions"):
        if kind in trends_part:
            trends_part[kind] = box_legacy_numbers(_entities_without_math(trends_part[kind]))
    if "properties" in trends_part:
        trends_part["properties"] = box_legacy_numbers(trends_part["properties"])
    base = parse_legacy(trends_part, limits=limits)
    echo = tuple((k, q[k]) for k in DISPLAY_ONLY if k in q)
    return LifecycleQuery(base=base, engine="legacy", toggled=_toggled(q.get("toggledLifecycles"), ("toggledLifecycles",)),
                          ignored=ignored, echo=echo)


def _parse_query(q: Mapping, limits: Limits) -> LifecycleQuery:
    for k in q:
        if not isinstance(k, str):
            raise ValidationError((), f"field names must be strings, got {k!r}")
        if k not in QUERY_FIELDS:
            raise ValidationError((k,), f"unknown field{suggest(k, QUERY_FIELDS)}")
    if q.get("customAggregationTarget") is not None:
        raise UnsupportedError(("customAggregationTarget",), "customAggregationTarget (data warehouse lifecycle) is not supported")
    series = q.get("series")
    if series is None or series == []:
        raise ValidationError(("series",), "a LifecycleQuery needs at least one series (EventsNode / ActionsNode)")
    if isinstance(series, (list, tuple)):
        for i, node in enumerate(series):
            if isinstance(node, Mapping) and node.get("kind") in ("LifecycleDataWarehouseNode", "DataWarehouseNode"):
                raise UnsupportedError(("series", i, "kind"), "data warehouse series are not supported")
    lf = q.get("lifecycleFilter")
    if lf is None:
        lf = {}
    if not isinstance(lf, Mapping):
        raise ValidationError(("lifecycleFilter",), f"expected an object, got {type(lf).__name__}")
    for k in lf:
        if k not in LIFECYCLE_FILTER_FIELDS:
            raise ValidationError(("lifecycleFilter", k), f"unknown field{suggest(str(k), LIFECYCLE_FILTER_FIELDS)}")
    trends_part = {k: v for k, v in q.items() if k not in ("lifecycleFilter", "customAggregationTarget")}
    trends_part["kind"] = "TrendsQuery"
    trends_part["series"] = _entities_without_math(series)
    base = refuse_group_series(parse_trends_query(trends_part, limits=limits), "Lifecycle")
    toggled = _toggled(lf.get("toggledLifecycles"), ("lifecycleFilter", "toggledLifecycles"))
    echo = tuple((k, lf[k]) for k in LIFECYCLE_FILTER_FIELDS if k in lf)
    return LifecycleQuery(base=base, engine="runner", toggled=toggled, echo=echo)


__all__ = ["STATUSES", "LifecycleQuery", "is_lifecycle", "parse_lifecycle"]
