"""Hypothesis strategies for Trends worlds (events, persons, groups, project, now) and queries.

Optional dependency: ``pip install 'trendcalc[testing]'``. Every strategy is composable and
takes keyword-only bounds (``min_*``/``max_*``); bad arguments raise hypothesis'
``InvalidArgument``. Strategies generate only features that ``trendcalc.testing.reference``
implements, so a generated query can always be checked against it:

    from hypothesis import given
    from trendcalc.testing import strategies as tst

    @given(tst.scenarios())
    def test_my_backend(scenario):
        assert my_backend(scenario) == scenario.expected()

Worlds are built around interesting instants: DST changes of the project timezone (Berlin in
March/October, São Paulo's midnight changes, Lord Howe's 30-minute shift), local midnights,
month starts, and the last second (and microsecond) of a day.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..limits import Limits
from . import reference
from .filter_strategies import (
    BREAKDOWN_PROPERTIES,
    OPERATOR_VALUES,
    SOURCE_WEIGHTS,
    cohort_leaves,
    element_leaves,
    property_filters,
    property_leaves,
)
from .strategy_data import (
    ATTRIBUTION_VALUES,
    BREAKDOWN_TYPES,
    COMPARE_TO,
    DISPLAYS,
    DST_TIMEZONES,
    EVENT_NAMES,
    FORMULAS,
    HISTOGRAM_PROPERTIES,
    INTERVALS,
    MATH_PROPERTIES,
    MATH_PROPERTY_TYPES,
    MATHS,
    NO_DST_TIMEZONES,
    RELATIVE_DATES,
    RELATIVE_DATES_TO,
    SESSION_KEYS,
    TIMEZONES,
    URL_PROPERTIES,
    UTC,
    _check_bounds,
    _check_choices,
    _check_int,
    _check_names,
)
from .world_strategies import (
    World,
    cohorts,
    cohorts_of,
    date_values,
    element_properties,
    events,
    groups,
    instants,
    offset_changes,
    persons,
    projects,
    session_bursts,
    step_conditions,
    stores,
    timezones,
    worlds,
)

__all__ = [
    "ATTRIBUTION_VALUES",
    "SESSION_KEYS",
    "offset_changes",
    "OPERATOR_VALUES",
    "SOURCE_WEIGHTS",

    "DST_TIMEZONES",
    "NO_DST_TIMEZONES",
    "TIMEZONES",
    "Scenario",
    "World",
    "breakdown_filters",
    "cohort_leaves",
    "cohorts",
    "cohorts_of",
    "date_strings",
    "date_values",
    "element_leaves",
    "element_properties",
    "events",
    "group_nodes",
    "groups",
    "instants",
    "persons",
    "projects",
    "property_filters",
    "property_leaves",
    "scenarios",
    "series",
    "session_bursts",
    "step_conditions",
    "stores",
    "timezones",
    "to_trends_query",
    "trends_filters",
    "trends_queries",
    "worlds",
]


# --- queries ---------------------------------------------------------------------------------------


@st.composite
def date_strings(draw: st.DrawFn, *, now: dt.datetime | None = None, timezone: str = "UTC",
                 to: bool = False, choices: Sequence[str | None] | None = None) -> str | None:
    """date_from (``to=False``) or date_to values: relative tokens (including PostHog's odd
    spellings), "all", and absolute dates near ``now`` in several ISO forms; or one of ``choices``."""
    if choices is not None:
        if isinstance(choices, str) or not isinstance(choices, Sequence) or not choices:
            raise InvalidArgument(f"choices={choices!r} must be a non-empty sequence of date strings")
        return draw(st.sampled_from(tuple(choices)))
    now = now or dt.datetime(2024, 3, 15, 10, 37, 12, tzinfo=UTC)
    kind = draw(st.sampled_from(("relative", "relative", "absolute", "none" if to else "all")))
    if kind == "none":
        return None
    if kind == "all":
        return "all"
    if kind == "relative":
        return draw(st.sampled_from(RELATIVE_DATES_TO if to else RELATIVE_DATES))
    back = draw(st.integers(-3, 20 if not to else 3))
    local = now.astimezone(zoneinfo.ZoneInfo(timezone)) - dt.timedelta(days=back, hours=draw(st.integers(0, 23)))
    form = draw(st.sampled_from(("date", "date", "minute", "utc", "offset", "compact")))
    if form == "date":
        return local.strftime("%Y-%m-%d")
    if form == "minute":
        return local.strftime("%Y-%m-%dT%H:%M")
    if form == "utc":
        return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if form == "offset":
        return local.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).isoformat(timespec="seconds")
    return local.strftime("%Y%m%d")


@st.composite
def series(draw: st.DrawFn, *, event_names: Sequence[str] = EVENT_NAMES, action_ids: Sequence[int] = (),
           maths: Sequence[str] = MATHS) -> dict[str, Any]:
    """One legacy series entity: an event (None = all events) or an action (maybe a missing one)."""
    event_names = _check_names("event_names", event_names)
    maths = _check_choices("maths", maths, MATHS)
    m = draw(st.sampled_from(maths))
    if action_ids and draw(st.integers(0, 3)) == 0:
        entity: dict[str, Any] = {"id": draw(st.sampled_from(tuple(action_ids) + (99,))), "type": "actions"}
    else:
        entity = {"id": draw(st.sampled_from(tuple(event_names) + (None,))), "type": "events"}
    if m != "total" or draw(st.booleans()):
        entity["math"] = m
    if m == "unique_group" or (m in ("dau", "weekly_active", "monthly_active") and draw(st.integers(0, 3)) == 0):
        entity["math_group_type_index"] = draw(st.sampled_from((0, 1)))
    if m in reference.PROPERTY_MATHS:
        if draw(st.integers(0, 2)) == 0:
            entity["math_property_type"] = draw(st.sampled_from(tuple(MATH_PROPERTY_TYPES)))
        entity["math_property"] = draw(st.sampled_from(MATH_PROPERTY_TYPES.get(entity.get("math_property_type", ""),
                                                                              MATH_PROPERTIES)))
    if draw(st.integers(0, 4)) == 0:
        entity["custom_name"] = "custom"
    return entity


@st.composite
def breakdown_filters(draw: st.DrawFn, *, types: Sequence[str] = BREAKDOWN_TYPES, max_items: int = 3,
                      min_limit: int = 1, max_limit: int = 6, cohort_ids: Sequence[int] = ()) -> dict[str, Any]:
    """The breakdown fields of a legacy filter: ``breakdown``/``breakdown_type`` or
    ``breakdowns`` (1..max_items), with limit, URL normalisation, histogram and hide-Other flags;
    or a cohort breakdown over ``cohort_ids`` (the project's), ``"all"`` and now and then an
    unknown id."""
    types = _check_choices("types", types, BREAKDOWN_TYPES)
    _check_int("max_items", max_items, lo=1)
    if max_items > 3:
        raise InvalidArgument(f"max_items={max_items!r} must be at most 3 (PostHog's limit)")
    _check_bounds("min_limit", min_limit, "max_limit", max_limit, lo=1)  # below 1 is a ValidationError
    if isinstance(cohort_ids, str) or not isinstance(cohort_ids, Sequence):
        raise InvalidArgument(f"cohort_ids={cohort_ids!r} must be a sequence of cohort ids")
    item_types = tuple(t for t in types if t != "cohort")

    def item() -> st.SearchStrategy[dict[str, Any]]:
        return st.sampled_from(item_types).flatmap(lambda t: st.fixed_dictionaries({
            "type": st.just(t),
            "property": st.sampled_from(BREAKDOWN_PROPERTIES[t]),
        }).map(lambda d: {**d, "group_type_index": 0} if t == "group" else d))

    out: dict[str, Any] = {}
    if "cohort" in types and (not item_types or draw(st.integers(0, 3)) == 0):
        pool = tuple(cohort_ids) + ("all",) + ((99,) if draw(st.integers(0, 19)) == 7 else ())
        chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
        out["breakdown"] = chosen[0] if len(chosen) == 1 and draw(st.booleans()) else chosen
        out["breakdown_type"] = "cohort"
    elif draw(st.booleans()):
        items = draw(st.lists(item(), min_size=1, max_size=max_items))
        for it in items:
            if it["property"] in URL_PROPERTIES and draw(st.booleans()):
                it["normalize_url"] = True
            if it["property"] in HISTOGRAM_PROPERTIES and draw(st.integers(0, 2)) == 0:
                it["histogram_bin_count"] = draw(st.integers(1, 5))
        out["breakdowns"] = items
    else:
        it = draw(item())
        out["breakdown"] = it["property"]
        out["breakdown_type"] = it["type"]
        if it["type"] == "group":
            out["breakdown_group_type_index"] = it["group_type_index"]
        if it["property"] in URL_PROPERTIES and draw(st.booleans()):
            out["breakdown_normalize_url"] = True
        if it["property"] in HISTOGRAM_PROPERTIES and draw(st.booleans()):
            out["breakdown_histogram_bin_count"] = draw(st.integers(1, 5))
    limit = draw(st.one_of(st.none(), st.integers(min_limit, max_limit)))
    if limit is not None:
        out["breakdown_limit"] = limit
    if draw(st.integers(0, 4)) == 0:
        out["breakdown_hide_other_aggregation"] = True
    return out


@st.composite
def trends_filters(draw: st.DrawFn, *, now: dt.datetime | None = None, timezone: str = "UTC",
                   event_names: Sequence[str] = EVENT_NAMES, action_ids: Sequence[int] = (),
                   min_series: int = 1, max_series: int = 3, intervals: Sequence[str] = INTERVALS,
                   displays: Sequence[str] = DISPLAYS, maths: Sequence[str] = MATHS,
                   breakdown: bool | None = None, max_smoothing: int = 4,
                   date_froms: Sequence[str] | None = None,
                   date_tos: Sequence[str | None] | None = None, formula: bool | None = None,
                   compare: bool | None = None, breakdown_types: Sequence[str] = BREAKDOWN_TYPES,
                   sources: Sequence[str] = reference.PROPERTY_SOURCES, cohort_ids: Sequence[Any] = (),
                   max_leaves: int = 3, filters: bool | None = None) -> dict[str, Any]:
    """A legacy Trends filter dict. ``breakdown`` None = sometimes, True = always, False = never;
    ``date_froms``/``date_tos`` restrict the dates to those values; ``formula`` (None = sometimes)
    adds a legacy ``formula`` (with or without breakdown and compare); ``compare`` (None =
    sometimes) compares with the previous period or a ``compare_to`` offset; ``breakdown_types``
    goes to ``breakdown_filters``; ``sources``, ``cohort_ids`` (also for cohort breakdowns) and
    ``max_leaves`` shape the property filters; ``filters=False`` leaves out property filters and
    test accounts (None = sometimes)."""
    _check_bounds("min_series", min_series, "max_series", max_series, lo=1)
    _check_int("max_smoothing", max_smoothing, lo=1)
    intervals = _check_choices("intervals", intervals, INTERVALS + ("minute",))
    displays = _check_choices("displays", displays, DISPLAYS)
    q: dict[str, Any] = {
        "events": [],
        "actions": [],
        "interval": draw(st.sampled_from(intervals)),
        "date_from": draw(date_strings(now=now, timezone=timezone, choices=date_froms)),
    }
    for s in draw(st.lists(series(event_names=event_names, action_ids=action_ids, maths=maths),
                           min_size=min_series, max_size=max_series)):
        (q["actions"] if s["type"] == "actions" else q["events"]).append({**s, "order": len(q["events"]) + len(q["actions"])})
    date_to = draw(date_strings(now=now, timezone=timezone, to=True, choices=date_tos))
    if date_to is not None:
        q["date_to"] = date_to
    display = draw(st.sampled_from(displays))
    if display != "ActionsLineGraph" or draw(st.booleans()):
        q["display"] = display
    if draw(st.integers(0, 5)) == 0:
        q["explicit_date"] = True
    if max_smoothing > 1 and draw(st.integers(0, 3)) == 0:
        q["smoothing_intervals"] = draw(st.integers(2, max_smoothing))
    if draw(st.integers(0, 5)) == 0:
        q["aggregation_group_type_index"] = draw(st.sampled_from((0, 1)))
    if draw(st.integers(0, 6)) == 0:
        q["sampling_factor"] = draw(st.sampled_from((0.1, 0.3, 0.5, 1)))
    if breakdown or (breakdown is None and draw(st.booleans())):
        q.update(draw(breakdown_filters(types=breakdown_types, cohort_ids=cohort_ids)))
    if compare or (compare is None and draw(st.integers(0, 3)) == 0):
        q["compare"] = True
        if draw(st.integers(0, 2)) == 0:
            q["compare_to"] = draw(st.sampled_from(COMPARE_TO))
    if formula or (formula is None and draw(st.integers(0, 3)) == 0):
        q["formula"] = draw(_formula_texts(len(q["events"]) + len(q["actions"])))
    if filters is False:
        return q
    props = draw(property_filters(max_leaves=max_leaves, sources=sources, cohort_ids=cohort_ids, now=now, timezone=timezone))
    if props or draw(st.booleans()):
        q["properties"] = props
    for s in q["events"] + q["actions"]:
        if draw(st.integers(0, 3)) == 0:
            s["properties"] = draw(property_filters(groups=False, max_leaves=2, sources=sources, cohort_ids=cohort_ids, now=now,
                                                    timezone=timezone))
    if draw(st.integers(0, 3)) == 0:
        q["filter_test_accounts"] = True
    return q


def _formula_texts(n_series: int) -> st.SearchStrategy[str]:
    """A formula; four times in five one whose letters all name one of the ``n_series`` series."""
    fitting = tuple(f for f in FORMULAS if all(ord(c) - ord("a") < n_series for c in f.lower() if c.isalpha()))
    if not fitting:
        return st.sampled_from(FORMULAS)
    return st.integers(0, 4).flatmap(lambda k: st.sampled_from(FORMULAS if k == 3 else fitting))


SERIES_KEYS = ("math", "math_property", "math_property_type", "math_group_type_index", "custom_name", "properties")
BREAKDOWN_FILTER_KEYS = ("breakdown", "breakdown_type", "breakdowns", "breakdown_limit", "breakdown_group_type_index",
                         "breakdown_normalize_url", "breakdown_hide_other_aggregation")


def to_trends_query(legacy: dict[str, Any]) -> dict[str, Any]:
    """The ``{"kind": "TrendsQuery"}`` form of a legacy filter dict from ``trends_filters``."""
    nodes = []
    for e in sorted(legacy.get("events", []) + legacy.get("actions", []), key=lambda e: e.get("order", 0)):
        node = {k: e[k] for k in SERIES_KEYS if k in e}
        if e.get("type") == "actions":
            nodes.append({"kind": "ActionsNode", "id": e["id"], **node})
        else:
            nodes.append({"kind": "EventsNode", "event": e["id"], **node})
    q: dict[str, Any] = {"kind": "TrendsQuery", "series": nodes, "interval": legacy.get("interval", "day")}
    q["dateRange"] = {k: legacy[k] for k in ("date_from", "date_to") if legacy.get(k) is not None}
    if legacy.get("explicit_date"):
        q["dateRange"]["explicitDate"] = True
    for src, dst in (("properties", "properties"), ("filter_test_accounts", "filterTestAccounts"),
                     ("sampling_factor", "samplingFactor"),
                     ("aggregation_group_type_index", "aggregation_group_type_index")):
        if src in legacy:
            q[dst] = legacy[src]
    breakdown = {k: legacy[k] for k in BREAKDOWN_FILTER_KEYS if k in legacy}
    if breakdown:
        q["breakdownFilter"] = breakdown
    trends = {dst: legacy[src] for src, dst in (("display", "display"), ("smoothing_intervals", "smoothingIntervals"),
                                                ("formula", "formula")) if src in legacy}
    if trends:
        q["trendsFilter"] = trends
    compare = {k: legacy[k] for k in ("compare", "compare_to") if k in legacy}
    if compare:
        q["compareFilter"] = compare
    return q


@st.composite
def trends_queries(draw: st.DrawFn, **kwargs: Any) -> dict[str, Any]:
    """``{"kind": "TrendsQuery", ...}`` dicts: ``trends_filters(**kwargs)`` in the newer form,
    where the ``minute`` interval is allowed (pass ``intervals=("minute", ...)``) and a formula
    may come as several ``formulas`` or ``formulaNodes`` (with custom names)."""
    return _more_formulas(draw, to_trends_query(draw(trends_filters(**kwargs))))


def _more_formulas(draw: st.DrawFn, q: dict[str, Any]) -> dict[str, Any]:
    """Sometimes turn a TrendsQuery's ``formula`` into ``formulas`` or ``formulaNodes``."""
    tf = q.get("trendsFilter") or {}
    if "formula" not in tf or draw(st.booleans()):
        return q
    texts = [tf["formula"]] + draw(st.lists(st.sampled_from(FORMULAS), min_size=0, max_size=2))
    rest = {k: v for k, v in tf.items() if k != "formula"}
    if draw(st.booleans()):
        rest["formulas"] = texts
    else:
        rest["formulaNodes"] = [{"formula": t, **({"custom_name": f"F{i}"} if draw(st.booleans()) else {})}
                                for i, t in enumerate(texts)]
    return {**q, "trendsFilter": rest}


@st.composite
def group_nodes(draw: st.DrawFn, q: dict[str, Any], *, event_names: Sequence[str] = EVENT_NAMES,
                action_ids: Sequence[int] = (), now: dt.datetime | None = None, timezone: str = "UTC",
                cohort_ids: Sequence[Any] = ()) -> dict[str, Any]:
    """A TrendsQuery with some of its series (always the first) turned into GroupNodes: the
    series' event or action and one or two more (events, None = all events, or actions, maybe a
    missing one) as nodes, each maybe with its own property filters, OR-ed (sometimes AND-ed);
    the series' math, names and properties stay the group's."""
    series_out = []
    for i, node in enumerate(q["series"]):
        if i > 0 and draw(st.integers(0, 2)) != 0:
            series_out.append(node)
            continue
        own = ({"kind": "ActionsNode", "id": node["id"]} if node["kind"] == "ActionsNode"
               else {"kind": "EventsNode", "event": node["event"]})
        members = [own]
        for _ in range(draw(st.integers(1, 2))):
            if action_ids and draw(st.integers(0, 3)) == 0:
                members.append({"kind": "ActionsNode", "id": draw(st.sampled_from(tuple(action_ids) + (99,)))})
            else:
                members.append({"kind": "EventsNode", "event": draw(st.sampled_from(tuple(event_names) + (None,)))})
        for m in members:
            if draw(st.integers(0, 2)) == 0:
                m["properties"] = draw(property_filters(groups=False, max_leaves=2, cohort_ids=cohort_ids, now=now,
                                                        timezone=timezone))
        rest = {k: v for k, v in node.items() if k not in ("kind", "event", "id")}
        operator = "AND" if draw(st.integers(0, 4)) == 0 else "OR"
        series_out.append({"kind": "GroupNode", "operator": operator, "nodes": draw(st.permutations(members)), **rest})
    return {**q, "series": series_out}


@dataclass(frozen=True)
class Scenario:
    """A world and a query over it."""

    world: World
    query: dict[str, Any]

    def expected(self, limits: Limits | None = None) -> list[dict[str, Any]]:
        """The reference answer (series dicts without ``filter``/``action``)."""
        w = self.world
        return reference.reference_trends(w.events, w.persons, w.groups, query=self.query, project=w.project,
                                          now=w.now, limits=limits or Limits())


@st.composite
def scenarios(draw: st.DrawFn, *, min_events: int = 0, max_events: int = 30, timezone: str | None = None,
              timezone_pool: Sequence[str] = TIMEZONES, query_form: bool = False, group_series: bool = False,
              **filter_kwargs: Any) -> Scenario:
    """A world and a Trends filter over it (absolute dates near its ``now``, its actions);
    ``filter_kwargs`` go to ``trends_filters``; ``query_form`` gives the TrendsQuery form, and
    with ``group_series`` some of its series become GroupNodes (``group_nodes``)."""
    tz = timezone or draw(timezones(allowed=timezone_pool))
    w = draw(worlds(min_events=min_events, max_events=max_events, timezone=tz))
    action_ids = [a["id"] for a in w.project.actions]
    filter_kwargs.setdefault("cohort_ids", [c["id"] for c in w.project.cohorts])
    q = draw(trends_filters(now=w.now, timezone=w.project.timezone, action_ids=action_ids, **filter_kwargs))
    if query_form:
        q = _more_formulas(draw, to_trends_query(q))
        if group_series:
            q = draw(group_nodes(q, action_ids=action_ids, now=w.now, timezone=w.project.timezone,
                                 cohort_ids=filter_kwargs["cohort_ids"]))
    return Scenario(w, q)
