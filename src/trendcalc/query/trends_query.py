"""PostHog's newer query form, ``{"kind": "TrendsQuery", ...}`` → TrendsFilter.

The same model as the legacy dict (``filters/parse.py``), built with the same helpers; the
differences are the ones PostHog has between the two forms: camelCase field names grouped in
sub-objects, ``minute`` intervals allowed, no formula character stripping, several formulas
(``formulas`` / ``formulaNodes``), at most 3 ``breakdowns`` (an error, not a cut), and a missing
``dateRange`` meaning midnight 7 days ago (spec §1.4). ``{"kind": "InsightVizNode", "source":
{...}}`` (how PostHog stores insights) is unwrapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import UnsupportedError, ValidationError, brief
from ..limits import DEFAULT_LIMITS, Limits
from .legacy import (
    _bool,
    _date,
    _int,
    check_formula_refs,
    entity_identity,
    entity_series,
    parse_breakdown,
    parse_display,
    parse_formula_text,
    parse_interval,
    parse_sampling,
)
from .model import Formula, GroupMember, Series, SeriesGroup, TrendsFilter
from .properties import parse_global_properties
from .suggest import suggest

QUERY_FIELDS = (
    "kind", "series", "dateRange", "interval", "intervalCount", "properties",
    "filterTestAccounts", "breakdownFilter", "trendsFilter", "compareFilter", "samplingFactor",
    "aggregation_group_type_index", "conversionGoal", "modifiers",
    "response", "tags", "version", "dataColorTheme",
)  # fmt: skip
IGNORED_QUERY_FIELDS = ("response", "tags", "version", "dataColorTheme")
# HogQL modifiers that never change a number (debug output, or how ClickHouse evaluates the same
# answer: cohort membership joins, the persons-table dedup); any other one is unsupported.
IGNORED_MODIFIERS = ("debug", "timings", "inCohortVia", "personsArgMaxVersion")
OTHER_QUERY_KINDS = (
    "StickinessQuery", "LifecycleQuery", "FunnelsQuery", "RetentionQuery", "PathsQuery",
    "CalendarHeatmapQuery", "HogQLQuery", "EventsQuery", "ActorsQuery", "InsightActorsQuery",
    "DataVisualizationNode", "DataTableNode",
)  # fmt: skip

NODE_COMMON = (
    "kind", "name", "custom_name", "math", "math_property", "math_property_type",
    "math_group_type_index", "math_hogql", "math_multiplier", "math_property_revenue_currency",
    "properties", "fixedProperties", "response", "version", "optionalInFunnel",
)  # fmt: skip
NODE_FIELDS = {
    "EventsNode": ("event", "limit", "orderBy", *NODE_COMMON),
    "ActionsNode": ("id", *NODE_COMMON),
    "GroupNode": ("operator", "nodes", "limit", "orderBy", *NODE_COMMON),
}
GROUP_OPERATORS = ("OR", "AND")
IGNORED_NODE_FIELDS = ("kind", "limit", "orderBy", "response", "version", "optionalInFunnel")

DATE_RANGE_FIELDS = ("date_from", "date_to", "explicitDate")
COMPARE_FIELDS = ("compare", "compare_to")
BREAKDOWN_FIELDS = (
    "breakdown", "breakdown_type", "breakdowns", "breakdown_limit", "breakdown_normalize_url",
    "breakdown_histogram_bin_count", "breakdown_group_type_index",
    "breakdown_hide_other_aggregation", "breakdown_path_cleaning",
)  # fmt: skip
TRENDS_FILTER_FIELDS = ("display", "formula", "formulas", "formulaNodes", "smoothingIntervals", "compare")
# trendsFilter fields that only change how PostHog's frontend draws the numbers. Echoed into the
# result `filter` dicts like the legacy display-only fields. `breakdown_histogram_bin_count` is an
# old trendsFilter spelling the runner never reads (the breakdownFilter one counts).
PRESENTATION_FIELDS = (
    "aggregationAxisFormat", "aggregationAxisPostfix", "aggregationAxisPrefix", "decimalPlaces",
    "minDecimalPlaces", "yAxisScaleType", "showLegend", "showValuesOnSeries",
    "showPercentStackView", "showLabelsOnSeries", "showMultipleYAxes", "showAlertThresholdLines",
    "hiddenLegendIndexes", "hidden_legend_indexes", "resultCustomizationBy",
    "resultCustomizations", "goalLines", "showTrendLines", "showMovingAverage",
    "movingAverageIntervals", "showConfidenceIntervals", "confidenceLevel",
    "detailedResultsAggregationType", "breakdown_histogram_bin_count",
)  # fmt: skip


def parse_trends_query(query: Mapping, *, limits: Limits = DEFAULT_LIMITS) -> TrendsFilter:
    """Validate a TrendsQuery dict (or an InsightVizNode wrapping one) into a TrendsFilter."""
    kind = query.get("kind")
    if kind == "InsightVizNode":
        source = query.get("source")
        if not isinstance(source, Mapping):
            raise ValidationError(("source",), "an InsightVizNode needs a TrendsQuery object in `source`")
        try:
            return parse_trends_query(source, limits=limits)
        except ValidationError as exc:
            raise exc.prefixed(("source",)) from None
    if kind != "TrendsQuery":
        if kind in OTHER_QUERY_KINDS:
            raise UnsupportedError(("kind",), f"{kind!r}: trendcalc answers TrendsQuery only")
        raise ValidationError(("kind",), f"unknown query kind {kind!r}{suggest(kind, ('TrendsQuery', 'InsightVizNode'))}")
    _check_keys(query, QUERY_FIELDS, ())
    _check_unsupported_top(query)

    series = _series(query.get("series"), limits)
    date_range = _object(query.get("dateRange"), ("dateRange",), DATE_RANGE_FIELDS)
    trends_filter = _object(query.get("trendsFilter"), ("trendsFilter",), TRENDS_FILTER_FIELDS + PRESENTATION_FIELDS)
    compare_filter = _object(query.get("compareFilter"), ("compareFilter",), COMPARE_FIELDS)
    breakdown_filter = _object(query.get("breakdownFilter"), ("breakdownFilter",), BREAKDOWN_FIELDS)

    if _bool(breakdown_filter.get("breakdown_path_cleaning"), ("breakdownFilter", "breakdown_path_cleaning")):
        raise UnsupportedError(("breakdownFilter", "breakdown_path_cleaning"), "path cleaning rules are not supported")
    try:
        breakdown = parse_breakdown(breakdown_filter, limits, legacy=False)
    except ValidationError as exc:
        raise exc.prefixed(("breakdownFilter",)) from None

    formulas = _formulas(trends_filter, len(series), limits)
    smoothing = trends_filter.get("smoothingIntervals")
    smoothing = 1 if smoothing is None else _int(smoothing, ("trendsFilter", "smoothingIntervals"), lo=1, hi=10_000)
    compare = _bool(compare_filter.get("compare"), ("compareFilter", "compare")) or _bool(
        trends_filter.get("compare"), ("trendsFilter", "compare")
    )
    compare_to = compare_filter.get("compare_to")
    if compare_to is not None and (not isinstance(compare_to, str) or not compare_to or len(compare_to) > 64):
        raise ValidationError(("compareFilter", "compare_to"), f"expected a relative date such as '-1w', got {compare_to!r}")
    agg = query.get("aggregation_group_type_index")
    agg = None if agg is None else _int(agg, ("aggregation_group_type_index",), lo=0, hi=4)
    echo = tuple((k, trends_filter[k]) for k in PRESENTATION_FIELDS if k in trends_filter)
    return TrendsFilter(
        series=series,
        date_from=_date(date_range.get("date_from"), ("dateRange", "date_from"), limits),
        date_to=_date(date_range.get("date_to"), ("dateRange", "date_to"), limits),
        explicit_date=_bool(date_range.get("explicitDate"), ("dateRange", "explicitDate")),
        interval=parse_interval(query.get("interval"), ("interval",), legacy=False),
        display=parse_display(trends_filter.get("display"), ("trendsFilter", "display")),
        properties=parse_global_properties(query.get("properties"), ("properties",), limits),
        filter_test_accounts=_bool(query.get("filterTestAccounts"), ("filterTestAccounts",)),
        breakdown=breakdown,
        formulas=formulas,
        compare=compare,
        compare_to=compare_to,
        smoothing_intervals=smoothing,
        sampling_factor=parse_sampling(query.get("samplingFactor"), ("samplingFactor",)),
        aggregation_group_type_index=agg,
        source="query",
        echo=echo,
    )


def _check_keys(d: Mapping, allowed: tuple[str, ...], path: tuple) -> None:
    for k in d:
        if not isinstance(k, str):
            raise ValidationError(path, f"field names must be strings, got {k!r}")
        if k not in allowed:
            raise ValidationError(path + (k,), f"unknown field{suggest(k, allowed)}")


def _object(v: Any, path: tuple, allowed: tuple[str, ...]) -> Mapping:
    """An optional sub-object (``null`` = absent), with its keys checked."""
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise ValidationError(path, f"expected an object, got {type(v).__name__}")
    _check_keys(v, allowed, path)
    return v


def _check_unsupported_top(q: Mapping) -> None:
    """Top-level fields that would change the numbers in ways trendcalc does not implement."""
    count = q.get("intervalCount")
    if count is not None and count != 1:
        raise UnsupportedError(("intervalCount",), "intervalCount other than 1 is not supported")
    if q.get("conversionGoal") is not None:
        raise UnsupportedError(("conversionGoal",), "conversion goals are not supported")
    modifiers = q.get("modifiers")
    if modifiers is None:
        return
    if not isinstance(modifiers, Mapping):
        raise ValidationError(("modifiers",), f"expected an object, got {type(modifiers).__name__}")
    for k, v in modifiers.items():
        if k not in IGNORED_MODIFIERS and v is not None:
            raise UnsupportedError(("modifiers", k), f"HogQL modifier {k!r} is not supported")


def _series(items: Any, limits: Limits) -> tuple[Series, ...]:
    if items is None:
        raise ValidationError(("series",), "a TrendsQuery needs `series`: a list of EventsNode / ActionsNode")
    if not isinstance(items, (list, tuple)):
        raise ValidationError(("series",), "expected a list of EventsNode / ActionsNode objects")
    if len(items) > limits.max_series:
        raise ValidationError(("series",), f"{len(items)} series exceed max_series={limits.max_series}")
    return tuple(_node(node, ("series", i), i, limits) for i, node in enumerate(items))


def _node(node: Any, path: tuple, index: int, limits: Limits) -> Series:
    """One EventsNode / ActionsNode. Without `kind`, a node with `id` is an ActionsNode (pydantic
    picks the union member whose fields fit)."""
    if not isinstance(node, Mapping):
        raise ValidationError(path, f"expected an EventsNode or ActionsNode object, got {type(node).__name__}")
    kind = node.get("kind")
    if kind is None:
        kind = "ActionsNode" if "id" in node else "EventsNode"
    if kind == "DataWarehouseNode":
        raise UnsupportedError(path + ("kind",), "data warehouse series are not supported")
    if not isinstance(kind, str) or kind not in NODE_FIELDS:  # (a list kind is unhashable)
        raise ValidationError(path + ("kind",), f"unknown series kind {brief(kind)}{suggest(kind, tuple(NODE_FIELDS))}")
    _check_keys(node, NODE_FIELDS[kind], path)
    _check_node_unsupported(node, path)
    if kind == "GroupNode":
        return _group_node(node, path, index, limits)
    if kind == "EventsNode":
        ident, label = entity_identity("events", node.get("event"), node.get("name"), path + ("event",), limits)
        return entity_series(node, "events", ident, label, path, index, limits)
    if node.get("id") is None:
        raise ValidationError(path + ("id",), "an ActionsNode needs the action `id`")
    ident, label = entity_identity("actions", node.get("id"), node.get("name"), path + ("id",), limits)
    return entity_series(node, "actions", ident, label, path, index, limits)


def refuse_group_series(filt: TrendsFilter, insight: str) -> TrendsFilter:
    """``filt`` when none of its series is a GroupNode; UnsupportedError naming the first one
    otherwise (GroupNode series are answered for Trends only)."""
    for s in filt.series:
        if s.kind == "group":
            raise UnsupportedError(s.path + ("kind",), f"GroupNode series are supported in Trends only, not in {insight}")
    return filt


def _check_node_unsupported(node: Mapping, path: tuple) -> None:
    """Node fields that would change the numbers in ways trendcalc does not implement."""
    multiplier = node.get("math_multiplier")
    if multiplier is not None and multiplier != 1:
        raise UnsupportedError(path + ("math_multiplier",), "math_multiplier is not supported")
    if node.get("math_property_revenue_currency") is not None:
        raise UnsupportedError(path + ("math_property_revenue_currency",), "revenue currency conversion is not supported")
    if node.get("fixedProperties"):
        raise UnsupportedError(path + ("fixedProperties",), "fixedProperties are not supported")


def _group_node(node: Mapping, path: tuple, index: int, limits: Limits) -> Series:
    """A GroupNode: one series over the events of any (``OR``) or every (``AND``) of its
    ``nodes`` (EventsNode / ActionsNode), each node narrowed by its own ``properties``; the
    group's math, names and ``properties`` are the series'. A node's math and names are not
    read (the group's math counts). Label: the group's ``name``, else its nodes' labels joined
    by ", "."""
    op = node.get("operator", "OR")
    if not isinstance(op, str) or op not in GROUP_OPERATORS:
        raise ValidationError(path + ("operator",), f"expected one of {list(GROUP_OPERATORS)}, got {brief(op)}"
                                                     f"{suggest(op, GROUP_OPERATORS) if isinstance(op, str) else ''}")
    nodes = node.get("nodes")
    if not isinstance(nodes, (list, tuple)) or not nodes:
        raise ValidationError(path + ("nodes",), "a GroupNode needs `nodes`: a non-empty list of EventsNode / ActionsNode")
    members, labels = [], []
    for i, n in enumerate(nodes):
        member = _node(n, path + ("nodes", i), index, limits)
        if member.kind == "group":
            raise UnsupportedError(path + ("nodes", i, "kind"), "a GroupNode inside a GroupNode is not supported")
        members.append(GroupMember(member.kind, member.id, member.properties))
        labels.append(member.label)
    name = node.get("name")
    label = name if isinstance(name, str) and name else ", ".join(labels)
    return entity_series(node, "group", SeriesGroup(op, tuple(members)), label, path, index, limits)


def _formulas(tf: Mapping, n_series: int, limits: Limits) -> tuple[Formula, ...]:
    """formulaNodes, else formulas, else formula (the runner's precedence); letters checked."""
    base = ("trendsFilter",)
    parsed: list[tuple[Formula | None, tuple]] = []
    nodes, texts = tf.get("formulaNodes"), tf.get("formulas")
    if nodes:
        if not isinstance(nodes, (list, tuple)):
            raise ValidationError(base + ("formulaNodes",), "expected a list of {formula, custom_name} objects")
        for i, node in enumerate(nodes):
            path = base + ("formulaNodes", i)
            if not isinstance(node, Mapping):
                raise ValidationError(path, "expected a {formula, custom_name} object")
            _check_keys(node, ("formula", "custom_name"), path)
            if not node.get("formula"):
                raise ValidationError(path + ("formula",), "formula is empty")
            text_path = path + ("formula",)
            parsed.append((parse_formula_text(node["formula"], text_path, limits, legacy=False, custom_name=node.get("custom_name")), text_path))
    elif texts:
        if not isinstance(texts, (list, tuple)):
            raise ValidationError(base + ("formulas",), "expected a list of formula strings")
        for i, text in enumerate(texts):
            path = base + ("formulas", i)
            parsed.append((parse_formula_text(text, path, limits, legacy=False), path))
    elif tf.get("formula"):
        single_path = base + ("formula",)
        parsed.append((parse_formula_text(tf["formula"], single_path, limits, legacy=False), single_path))
    if len(parsed) > limits.max_series:
        raise ValidationError(base, f"{len(parsed)} formulas exceed max_series={limits.max_series}")
    out = []
    for formula, path in parsed:
        if formula is None:
            continue
        check_formula_refs(formula, n_series, path)
        out.append(formula)
    return tuple(out)
