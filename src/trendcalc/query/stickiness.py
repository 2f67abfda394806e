"""The Stickiness query model and its two input forms (spec stickiness-lifecycle.md §1.3, §3.1).

A Stickiness insight asks "how many actors were active on exactly 1, 2, 3 ... of the intervals in
the range". Its inputs are Trends inputs plus three fields, so the model wraps a ``TrendsFilter``
(series, dates, interval, properties, test accounts, compare, sampling) parsed by the Trends
parsers, and adds ``interval_count``, ``cumulative`` and ``criteria``:

- the legacy filter dict sent to the Trends endpoint with ``shown_as: "Stickiness"`` or
  ``insight: "STICKINESS"``, normalised as PostHog's ``filter_to_query`` does (a series math other
  than dau/weekly_active/monthly_active/unique_group/hogql becomes dau; the legacy form cannot set
  criteria, cumulative mode or an interval count);
- a ``{"kind": "StickinessQuery", ...}`` dict (or an ``InsightVizNode`` wrapping one).

In both, math ``hogql`` makes ``math_hogql`` a row expression whose value is each event's actor
(the runner groups by it), not a Trends aggregate.

Pure: imports no engine and no store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import UnsupportedError, ValidationError, brief
from ..jsonvalue import clean_json, text_or_none
from ..limits import DEFAULT_LIMITS, Limits
from .legacy import _int, hogql_expression, parse_legacy
from .model import TrendsFilter
from .suggest import suggest
from .trends_query import parse_trends_query, refuse_group_series

STICKINESS_SHOWN_AS = "Stickiness"
STICKINESS_INSIGHT = "STICKINESS"
QUERY_KIND = "StickinessQuery"

# Series maths filter_to_query keeps for a stickiness series; any other becomes "dau".
KEPT_LEGACY_MATHS = ("dau", "weekly_active", "monthly_active", "unique_group", "hogql")
CRITERIA_OPERATORS = ("gte", "lte", "exact")
COMPUTED_AS = ("non_cumulative", "cumulative")
MAX_INTERVAL_COUNT = 365

QUERY_FIELDS = (
    "kind", "series", "dateRange", "interval", "intervalCount", "properties", "filterTestAccounts",
    "samplingFactor", "stickinessFilter", "compareFilter", "modifiers", "response", "tags", "version",
    "dataColorTheme",
)  # fmt: skip
# Fields handed to the TrendsQuery parser as they are (same names, same meaning).
SHARED_FIELDS = ("series", "dateRange", "interval", "properties", "filterTestAccounts", "samplingFactor",
                 "compareFilter", "modifiers")  # fmt: skip
STICKINESS_FILTER_FIELDS = ("computedAs", "stickinessCriteria")
# stickinessFilter fields that only change how the frontend draws the answer.
DISPLAY_FIELDS = ("display", "hiddenLegendIndexes", "hidden_legend_indexes", "showLegend", "showValuesOnSeries",
                  "showMultipleYAxes", "resultCustomizationBy", "resultCustomizations")  # fmt: skip
# Legacy keys that belong to the stickiness persons modal or are display-only here.
LEGACY_IGNORED = ("shown_as", "insight", "display", "stickiness_days", "selected_interval", "entity_order")
LEGACY_REFUSED = ("breakdown", "breakdowns", "formula")


@attrs.frozen
class StickinessCriteria:
    """Only intervals with ``count(events) <operator> value`` qualify (spec §3.2 step 4)."""

    operator: str  # "gte" | "lte" | "exact"
    value: int

    def holds(self, n: Any) -> Any:
        """Elementwise test of per-interval event counts (ints or an int array)."""
        if self.operator == "gte":
            return n >= self.value
        if self.operator == "lte":
            return n <= self.value
        return n == self.value


@attrs.frozen
class StickinessQuery:
    """A complete, validated Stickiness query.

    ``base`` carries everything shared with Trends; its ``display`` is always the plain line graph
    (display settings never change stickiness numbers) and it has no breakdown or formula.
    ``interval_count`` is None unless given: a given count (even 1) switches the interval key from
    calendar buckets to blocks counted back from date_to (§3.4)."""

    base: TrendsFilter
    interval_count: int | None = None
    cumulative: bool = False
    criteria: StickinessCriteria | None = None

    @property
    def source(self) -> str:
        return self.base.source


def is_stickiness(query: Any) -> bool:
    """Whether a raw query dict asks for Stickiness (legacy ``shown_as``/``insight``, or the kind)."""
    if isinstance(query, StickinessQuery):
        return True
    if not isinstance(query, Mapping):
        return False
    kind = query.get("kind")  # (raw input: compared only as text; the parse reports anything else)
    if kind is not None:
        if text_or_none(kind) == "InsightVizNode":
            src = query.get("source")
            return isinstance(src, Mapping) and text_or_none(src.get("kind")) == QUERY_KIND
        return text_or_none(kind) == QUERY_KIND
    insight = query.get("insight")
    return text_or_none(query.get("shown_as")) == STICKINESS_SHOWN_AS or (isinstance(insight, str) and insight.upper() == STICKINESS_INSIGHT)



def parse_stickiness(query: Any, *, limits: Limits = DEFAULT_LIMITS) -> StickinessQuery:
    """Validate a legacy stickiness filter, a StickinessQuery dict or a StickinessQuery model.

    At least one series is required (the runner's RequireAtLeastOneSeries)."""
    if isinstance(query, StickinessQuery):
        return query
    if not isinstance(query, Mapping):
        raise ValidationError((), f"expected a stickiness filter or StickinessQuery object, got {type(query).__name__}")
    if not isinstance(limits, Limits):
        raise ValidationError(("limits",), "expected a trendcalc.Limits")
    query = clean_json(query, (), limits)
    if query.get("kind") is not None:
        parsed = parse_stickiness_query(query, limits=limits)
    else:
        parsed = parse_legacy_stickiness(query, limits=limits)
    if not parsed.base.series:
        wrapped = query.get("kind") == "InsightVizNode"
        path: tuple = ("source", "series") if wrapped else ("series",) if query.get("kind") is not None else ("events",)
        raise ValidationError(path, "a stickiness query needs at least one series (an event, all events or an action)")
    return parsed


# --- the legacy filter ------------------------------------------------------------------------


def parse_legacy_stickiness(q: Mapping, *, limits: Limits = DEFAULT_LIMITS) -> StickinessQuery:
    """A legacy ``/insights/trend/`` filter with shown_as Stickiness → StickinessQuery."""
    insight, shown_as = q.get("insight"), q.get("shown_as")
    if insight is not None and not isinstance(insight, str):
        raise ValidationError(("insight",), "expected an insight name")
    # Asked for by name (tc.stickiness), a filter may leave shown_as out, as a lifecycle filter
    # may; one that names another insight is a mistake.
    if shown_as not in (None, "", STICKINESS_SHOWN_AS) and not (insight and insight.upper() == STICKINESS_INSIGHT):
        raise ValidationError(("shown_as",), f"a stickiness filter has shown_as {STICKINESS_SHOWN_AS!r}, got {shown_as!r}")
    if insight not in (None, "") and insight.upper() not in ("TRENDS", STICKINESS_INSIGHT):
        raise ValidationError(("insight",), f"a stickiness filter has insight {STICKINESS_INSIGHT!r} (or 'TRENDS' with "
                              f"shown_as {STICKINESS_SHOWN_AS!r}), got {insight!r}")
    for k in LEGACY_REFUSED:
        if q.get(k) not in (None, "", []):
            raise UnsupportedError((k,), f"{k!r} is not part of a Stickiness insight (PostHog ignores it); remove it")
    trends_dict: dict[str, Any] = {k: v for k, v in q.items() if k not in LEGACY_IGNORED and k != "aggregation_group_type_index"}
    texts: dict[tuple, str] = {}
    for kind in ("events", "actions"):
        items = trends_dict.get(kind)
        if isinstance(items, list):
            trends_dict[kind] = _hogql_placeholders([_legacy_entity(e) for e in items], (kind,), texts)
    base = _row_expressions(parse_legacy(trends_dict, limits=limits), texts, limits)
    echo = base.echo + tuple((k, q[k]) for k in ("display",) if k in q)
    return StickinessQuery(base=attrs.evolve(base, display="ActionsLineGraph", echo=echo))


def _legacy_entity(e: Any) -> Any:
    """filter_to_query's math rule for one entity: maths other than the actor maths become dau."""
    if not isinstance(e, Mapping):
        return e
    m = e.get("math")
    if m in (None, "") or m in KEPT_LEGACY_MATHS:
        return e
    drop = ("math_property", "math_property_type", "math_hogql", "math_group_type_index")
    return {**{k: v for k, v in e.items() if k not in drop}, "math": "dau"}


# A stickiness series' math_hogql is a row expression, the actor of each event (the runner
# groups by it); the Trends parsers read math_hogql as an aggregate, so it crosses them as this
# placeholder and is parsed as a row expression afterwards.
HOGQL_PLACEHOLDER = "count()"


def _hogql_placeholders(items: list[Any], path: tuple, texts: dict[tuple, str]) -> list[Any]:
    """``items`` with each math 'hogql' entity's math_hogql text moved into ``texts`` (by the
    entity's JSON path) and replaced by the placeholder."""
    out = []
    for i, e in enumerate(items):
        if isinstance(e, Mapping) and e.get("math") == "hogql" and isinstance(e.get("math_hogql"), str):
            texts[path + (i,)] = e["math_hogql"]
            e = {**e, "math_hogql": HOGQL_PLACEHOLDER}
        out.append(e)
    return out


def _row_expressions(base: TrendsFilter, texts: dict[tuple, str], limits: Limits) -> TrendsFilter:
    """``base`` with each placeholder math_hogql back to its text, parsed as a row expression."""
    if not texts:
        return base
    series = tuple(
        attrs.evolve(s, math_hogql=texts[s.path],
                     math_expr=hogql_expression(texts[s.path], s.path + ("math_hogql",), limits, aggregate=False))
        if s.math == "hogql" and s.path in texts else s
        for s in base.series
    )
    return attrs.evolve(base, series=series)


# --- StickinessQuery ----------------------------------------------------------------------------


def parse_stickiness_query(query: Mapping, *, limits: Limits = DEFAULT_LIMITS) -> StickinessQuery:
    """A ``{"kind": "StickinessQuery", ...}`` dict (or an InsightVizNode around one)."""
    kind = query.get("kind")
    if kind == "InsightVizNode":
        source = query.get("source")
        if not isinstance(source, Mapping):
            raise ValidationError(("source",), "an InsightVizNode needs a StickinessQuery object in `source`")
        try:
            return parse_stickiness_query(source, limits=limits)
        except ValidationError as exc:
            raise exc.prefixed(("source",)) from None
    if kind != QUERY_KIND:
        raise ValidationError(("kind",), f"expected kind 'StickinessQuery', got {brief(kind)}{suggest(kind, (QUERY_KIND,))}")
    for k in query:
        if k not in QUERY_FIELDS:
            raise ValidationError((k,), f"unknown field{suggest(k, QUERY_FIELDS)}")
    if query.get("series") is None:
        raise ValidationError(("series",), "a StickinessQuery needs `series`: a list of EventsNode / ActionsNode")
    trends_dict = {"kind": "TrendsQuery", **{k: query[k] for k in SHARED_FIELDS if k in query}}
    texts: dict[tuple, str] = {}
    if isinstance(trends_dict["series"], list):
        trends_dict["series"] = _hogql_placeholders(trends_dict["series"], ("series",), texts)
    base = _row_expressions(refuse_group_series(parse_trends_query(trends_dict, limits=limits), "Stickiness"), texts, limits)
    sf = query.get("stickinessFilter")
    if sf is None:
        sf = {}
    if not isinstance(sf, Mapping):
        raise ValidationError(("stickinessFilter",), f"expected an object, got {type(sf).__name__}")
    allowed = STICKINESS_FILTER_FIELDS + DISPLAY_FIELDS
    for k in sf:
        if k not in allowed:
            raise ValidationError(("stickinessFilter", k), f"unknown field{suggest(k, allowed)}")
    computed = sf.get("computedAs")
    if computed is None:
        computed = "non_cumulative"
    if computed not in COMPUTED_AS:
        raise ValidationError(("stickinessFilter", "computedAs"),
                              f"expected 'non_cumulative' or 'cumulative', got {brief(computed)}{suggest(computed, COMPUTED_AS)}")
    count = query.get("intervalCount")
    if count is not None:
        count = _int(count, ("intervalCount",))
        if count <= 0:
            raise ValidationError(("intervalCount",), f"intervalCount must be a positive integer, got {count}")
        if count > MAX_INTERVAL_COUNT:
            raise ValidationError(("intervalCount",), f"intervalCount must be at most {MAX_INTERVAL_COUNT}, got {count}")
    echo = base.echo + tuple((k, sf[k]) for k in DISPLAY_FIELDS if k in sf)
    return StickinessQuery(
        base=attrs.evolve(base, display="ActionsLineGraph", echo=echo),
        interval_count=count,
        cumulative=computed == "cumulative",
        criteria=_criteria(sf.get("stickinessCriteria")),
    )


def _criteria(v: Any) -> StickinessCriteria | None:
    path = ("stickinessFilter", "stickinessCriteria")
    if v is None:
        return None
    if not isinstance(v, Mapping):
        raise ValidationError(path, f"expected an object {{operator, value}}, got {type(v).__name__}")
    for k in v:
        if k not in ("operator", "value"):
            raise ValidationError(path + (k,), f"unknown field{suggest(k, ('operator', 'value'))}")
    op = v.get("operator")
    if op not in CRITERIA_OPERATORS:
        raise ValidationError(path + ("operator",), f"expected one of gte, lte, exact, got {brief(op)}{suggest(op, CRITERIA_OPERATORS)}")
    if "value" not in v:
        raise ValidationError(path + ("value",), "stickinessCriteria needs a value (a number of events)")
    value = _int(v["value"], path + ("value",))
    if value < 0:
        raise ValidationError(path + ("value",), f"the criteria value must not be negative, got {value}")
    if value == 0 and op in ("exact", "lte"):
        raise ValidationError(path + ("value",), f"a criteria value of 0 with operator {op!r} can never hold "
                                                 "(an interval with no events is not counted); use gte 0 or a positive value")
    return StickinessCriteria(op, value)


__all__ = ["StickinessCriteria", "StickinessQuery", "is_stickiness", "parse_stickiness"]
