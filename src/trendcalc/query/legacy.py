"""Legacy filter dict → TrendsFilter, with PostHog's normalisation (spec §0.5.1).

Every field is either parsed into the model, rejected as UnsupportedError (valid upstream, not
implemented here), accepted and ignored (display-only), or rejected as ValidationError.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import UnsupportedError, ValidationError, brief
from ..jsonvalue import loads_json
from ..limits import DEFAULT_LIMITS, Limits
from .dates import check_date_text
from .displays import DISPLAYS
from .maths import KNOWN_MATHS, MATH_PROPERTY_TYPES, MATH_SPECS
from .model import INTERVALS, Breakdown, BreakdownItem, Formula, Series, TrendsFilter
from .properties import parse_entity_properties, parse_global_properties
from .suggest import suggest

BREAKDOWN_TYPES = ("event", "person", "group", "session", "cohort", "event_metadata", "hogql")
UNSUPPORTED_BREAKDOWN_TYPES = ("data_warehouse", "data_warehouse_person_property", "revenue_analytics")
DEFAULT_BREAKDOWN_LIMIT = 25
TRUTHY = ("y", "yes", "t", "true", "on", "1")

# Display-only legacy fields: accepted, echoed into result `filter` dicts, never change numbers.
DISPLAY_ONLY = (
    "hidden_legend_keys", "show_values_on_series", "show_percent_stack_view", "show_legend",
    "aggregation_axis_format", "aggregation_axis_prefix", "aggregation_axis_postfix",
    "decimal_places", "y_axis_scale_type", "show_multiple_y_axes", "show_label_on_series",
    "show_alert_threshold_lines", "min_decimal_places", "result_customization_by",
    "result_customizations",
)  # fmt: skip
# Fields that carry no numeric meaning for Trends (metadata, client bookkeeping).
IGNORED = ("name", "description", "new_entity", "entity_type", "from_dashboard", "refresh",
           "client_query_id", "filter_test_accounts_default", "entity_id", "entity_math",
           "breakdown_attribution_type", "date_range", "tags")  # fmt: skip
ENTITY_KEYS = ("id", "type", "name", "custom_name", "order", "math", "math_property",
               "math_property_type", "math_hogql", "math_group_type_index", "properties")  # fmt: skip
ENTITY_IGNORED = ("breakdown", "days", "index", "label", "count", "data", "labels", "dataIndex",
                  "hidden", "math_multiplier", "kind")  # fmt: skip


def _bool(v: Any, path: tuple) -> bool:
    """PostHog's bool parse: bools, and strings in y/yes/t/true/on/1 (case-insensitive)."""
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = v.strip().lower()
        if low in TRUTHY:
            return True
        if low in ("", "n", "no", "f", "false", "off", "0", "undefined", "null", "none"):
            return False
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    raise ValidationError(path, f"expected a boolean, got {v!r}")


def id_digits(v: Any) -> int | None:
    """The int of an id written as ASCII digits ("42", " 7 "), else None.

    ``str.isdigit`` alone would accept "²" or "١٢" (which ``int`` rejects or reads differently)
    and thousands of digits (which ``int`` refuses to convert)."""
    if isinstance(v, str):
        s = v.strip()
        if s.isascii() and s.isdigit() and len(s) <= 100:
            return int(s)
    return None


def _int(v: Any, path: tuple, *, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(v, bool):
        raise ValidationError(path, f"expected an integer, got {v!r}")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, str):
        try:
            v = int(v.strip())
        except ValueError:
            raise ValidationError(path, f"expected an integer, got {v[:40]!r}") from None
    if not isinstance(v, int):
        raise ValidationError(path, f"expected an integer, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValidationError(path, f"expected an integer in [{lo}, {hi}], got {v}")
    return v


def _date(v: Any, path: tuple, limits: Limits) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if not isinstance(v, str):
        raise ValidationError(path, f"expected a date string (e.g. '-7d', 'mStart', '2020-01-31'), got {v!r}")
    if len(v) > 64:
        raise ValidationError(path, "date string longer than 64 characters")
    return check_date_text(v, path, allow_all=path[-1] == "date_from")


def parse_interval(v: Any, path: tuple, *, legacy: bool) -> str:
    if v is None or v == "":
        return "day"
    if not isinstance(v, str):
        raise ValidationError(path, f"expected an interval name, got {v!r}")
    low = v.lower()
    if low == "second":
        raise UnsupportedError(path, "interval 'second' is not supported")
    if low not in INTERVALS:
        raise ValidationError(path, f"unknown interval {v!r}{suggest(low, INTERVALS)}")
    if legacy and low == "minute":
        low = "hour"  # the legacy Filter coerces minute to hour (spec §0.5.1)
    return low


def parse_display(v: Any, path: tuple) -> str:
    if v is None or v == "":
        return "ActionsLineGraph"
    if not isinstance(v, str):
        raise ValidationError(path, f"expected a display name, got {v!r}")
    if v not in DISPLAYS:
        raise ValidationError(path, f"unknown display {v!r}{suggest(v, DISPLAYS)}")
    return v


def parse_math(entity: Mapping, path: tuple) -> tuple[str, str | None, int | None]:
    """(math, math_property, math_group_type_index) of one series, validated."""
    m = entity.get("math")
    if m is None or m == "":
        m = "total"
    if not isinstance(m, str):
        raise ValidationError(path + ("math",), f"expected a math name, got {m!r}")
    if m not in KNOWN_MATHS:
        raise ValidationError(path + ("math",), f"unknown math {m!r}{suggest(m, KNOWN_MATHS)}")
    spec = MATH_SPECS[m]
    prop = entity.get("math_property")
    if spec.needs_property:
        if not isinstance(prop, str) or not prop:
            raise ValidationError(path + ("math_property",), f"math {m!r} needs a math_property (a property name)")
    elif prop is not None and not isinstance(prop, str):
        raise ValidationError(path + ("math_property",), "expected a property name")
    gti = entity.get("math_group_type_index")
    if gti is not None:
        gti = _int(gti, path + ("math_group_type_index",), lo=0, hi=4)
    if spec.needs_group_type_index and gti is None:
        raise ValidationError(path + ("math_group_type_index",), f"math {m!r} needs math_group_type_index 0..4")
    return m, prop if spec.needs_property or prop else None, gti


def _entities(query: Mapping, limits: Limits, project_actions: Any = None) -> tuple[Series, ...]:
    """actions first, then events; stable sort by order (None and 0 sort as -1)."""
    raw: list[tuple[str, int, Mapping]] = []
    for kind in ("actions", "events"):
        items = query.get(kind)
        if items is None:
            continue
        if isinstance(items, str):
            try:
                items = loads_json(items, (kind,), limits)
            except ValidationError:
                raise
            except ValueError:
                raise ValidationError((kind,), "expected a list of series objects") from None
        if not isinstance(items, (list, tuple)):
            raise ValidationError((kind,), "expected a list of series objects")
        for i, e in enumerate(items):
            if isinstance(e, str):  # upstream drops string entries: a query that answers nothing
                raise ValidationError((kind, i), f"expected a series object such as {json.dumps({'id': e})}, got the string {e!r}")
            if not isinstance(e, Mapping):
                raise ValidationError((kind, i), f"expected a series object, got {type(e).__name__}")
            if kind == "actions" and e.get("id") is None:
                continue
            raw.append((kind, i, e))
    dw = query.get("data_warehouse")
    if dw:
        raise UnsupportedError(("data_warehouse",), "data warehouse series are not supported")

    def order_key(item: tuple[str, int, Mapping]) -> float:
        o = item[2].get("order")
        if o is None or o == 0 or isinstance(o, bool):
            return -1
        if isinstance(o, (int, float)) and math.isfinite(o):
            return o
        raise ValidationError((item[0], item[1], "order"), f"expected a number, got {o!r}")

    raw.sort(key=order_key)
    if len(raw) > limits.max_series:
        raise ValidationError(("events",), f"{len(raw)} series exceed max_series={limits.max_series}")
    return tuple(parse_entity(e, (kind, i), idx, limits) for idx, (kind, i, e) in enumerate(raw))


def parse_entity(e: Mapping, path: tuple, index: int, limits: Limits) -> Series:
    """One legacy ``events``/``actions`` entry (``path[0]`` says which) → Series."""
    kind = path[0]
    for k in e:
        if k not in ENTITY_KEYS and k not in ENTITY_IGNORED:
            raise ValidationError(path + (k,), f"unknown series field{suggest(k, ENTITY_KEYS)}")
    typ = e.get("type", kind)
    if typ not in ("events", "actions", None):
        if typ == "data_warehouse":
            raise UnsupportedError(path + ("type",), "data warehouse series are not supported")
        raise ValidationError(path + ("type",), f"expected 'events' or 'actions', got {typ!r}")
    ident, label = entity_identity(kind, e.get("id"), e.get("name"), path + ("id",), limits)
    return entity_series(e, kind, ident, label, path, index, limits)


def entity_identity(kind: str, ident: Any, name: Any, path: tuple, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, str]:
    """(id, label) of an events or actions series: event name (None = all events) or action id."""
    if kind == "events":
        if ident is not None and not isinstance(ident, str):
            raise ValidationError(path, f"expected an event name or null (all events), got {ident!r}")
        if isinstance(ident, str) and len(ident) > limits.max_name_length:
            raise ValidationError(path, f"event name longer than max_name_length={limits.max_name_length}")
        return ident, "All events" if ident is None else ident
    if isinstance(ident, bool) or not isinstance(ident, (int, str)):
        raise ValidationError(path, f"expected an action id, got {ident!r}")
    if id_digits(ident) is not None:
        ident = id_digits(ident)
    return ident, name if isinstance(name, str) else str(ident)


def entity_series(e: Mapping, kind: str, ident: Any, label: str, path: tuple, index: int, limits: Limits) -> Series:
    """The Series of one entity dict whose identity is resolved: math, names, properties."""
    m, prop, gti = parse_math(e, path)
    name = e.get("name")
    custom = e.get("custom_name")
    for f, v in (("name", name), ("custom_name", custom), ("math_hogql", e.get("math_hogql"))):
        if v is not None and not isinstance(v, str):
            raise ValidationError(path + (f,), "expected a string")
    mpt = e.get("math_property_type")
    if mpt is not None and mpt not in MATH_PROPERTY_TYPES:
        raise ValidationError(path + ("math_property_type",), f"unknown math_property_type {brief(mpt)}{suggest(str(mpt), MATH_PROPERTY_TYPES)}")
    math_hogql, math_expr = e.get("math_hogql"), None
    if m == "hogql":
        if math_hogql is None:
            raise ValidationError(path + ("math_hogql",), "math 'hogql' needs math_hogql (an aggregate expression such as 'avg(properties.price)')")
        math_expr = hogql_expression(math_hogql, path + ("math_hogql",), limits, aggregate=True)
    order = e.get("order")
    return Series(
        kind=kind,
        id=ident,
        index=index,
        label=label,
        name=name,
        custom_name=custom,
        order=order if isinstance(order, int) and not isinstance(order, bool) else None,
        math=m,
        math_property=prop,
        math_property_type=mpt,
        math_group_type_index=gti,
        math_hogql=math_hogql,
        math_expr=math_expr,
        properties=parse_entity_properties(e.get("properties"), path + ("properties",), limits),
        path=path,
    )


def hogql_expression(text: Any, path: tuple, limits: Limits, *, aggregate: bool) -> Any:
    """A HogQL expression parsed at the edge (errors name ``path`` and the position)."""
    from ..hogql import parse_expression

    return parse_expression(text, path=path, aggregate=aggregate, max_length=limits.max_string_length,
                            max_depth=limits.max_formula_depth)


def _json_maybe(v: Any, path: tuple, limits: Limits) -> Any:
    if isinstance(v, str):
        try:
            return loads_json(v, path, limits)
        except ValidationError:
            raise
        except ValueError:
            return v
    return v


def parse_breakdown_item(d: Mapping, path: tuple, limits: Limits = DEFAULT_LIMITS) -> BreakdownItem:
    prop = d.get("property", d.get("value"))
    typ = d.get("type") or "event"
    typ = "event" if typ == "events" else typ
    if typ in UNSUPPORTED_BREAKDOWN_TYPES:
        raise UnsupportedError(path + ("type",), f"breakdown type {typ!r} is not supported")
    if typ not in BREAKDOWN_TYPES or typ == "cohort":
        raise ValidationError(path + ("type",), f"unknown breakdown type {typ!r}{suggest(typ, BREAKDOWN_TYPES)}")
    if isinstance(prop, bool) or not isinstance(prop, (str, int)) or prop == "":
        raise ValidationError(path + ("property",), f"expected a property name, got {prop!r}")
    bins = d.get("histogram_bin_count")
    gti = d.get("group_type_index")
    if typ == "group":
        if gti is None:
            raise ValidationError(path + ("group_type_index",), "a group breakdown needs group_type_index 0..4")
        gti = _int(gti, path + ("group_type_index",), lo=0, hi=4)
    epath = path if path == ("breakdown",) else path + ("property",)
    expr = hogql_expression(prop, epath, limits, aggregate=False) if typ == "hogql" else None
    return BreakdownItem(
        property=str(prop),
        type=typ,
        expr=expr,
        normalize_url=_bool(d.get("normalize_url"), path + ("normalize_url",)),
        histogram_bin_count=None if bins is None else _int(bins, path + ("histogram_bin_count",), lo=1, hi=10_000),
        group_type_index=gti if typ == "group" else None,
    )


def parse_breakdown(q: Mapping, limits: Limits, *, legacy: bool = True) -> Breakdown | None:
    """breakdown / breakdown_type / breakdowns / limit fields → Breakdown (or None)."""
    limit_raw = q.get("breakdown_limit")
    limit = DEFAULT_BREAKDOWN_LIMIT
    given = False
    if limit_raw not in (None, ""):
        lv = _int(limit_raw, ("breakdown_limit",))
        if lv < 1:  # PostHog reads 0 as unset and lets -1 put every value into Other: both are mistakes
            raise ValidationError(("breakdown_limit",), f"expected a breakdown_limit of at least 1, got {lv} "
                                                        f"(leave it out for the default of {DEFAULT_BREAKDOWN_LIMIT})")
        limit, given = lv, True
    if given and limit > limits.max_breakdown_values:  # the default (25) is checked on the answer
        raise ValidationError(("breakdown_limit",), f"breakdown_limit {limit} exceeds max_breakdown_values={limits.max_breakdown_values}")
    hide = _bool(q.get("breakdown_hide_other_aggregation"), ("breakdown_hide_other_aggregation",))
    multi = _json_maybe(q.get("breakdowns"), ("breakdowns",), limits)
    if multi:
        if not isinstance(multi, (list, tuple)):
            raise ValidationError(("breakdowns",), "breakdowns must be a list of items, each with property and type")
        items = []
        for i, d in enumerate(multi):
            if not isinstance(d, Mapping):
                raise ValidationError(("breakdowns", i), "expected an object with property and type")
            if d.get("property") is None:
                continue
            items.append(parse_breakdown_item(d, ("breakdowns", i), limits))
        if len(items) > 3:
            if not legacy:
                raise ValidationError(("breakdowns",), "at most 3 breakdowns are allowed")
            items = items[:3]
        if items:
            return Breakdown(tuple(items), multi=True, limit=limit, limit_given=given, hide_other=hide)
    b = _json_maybe(q.get("breakdown"), ("breakdown",), limits)
    if isinstance(b, list):
        b = [x for x in b if x is not None]
    if b is None or b == "" or b == []:
        return None
    typ = q.get("breakdown_type")
    if typ in (None, ""):
        typ = "event"
    if typ == "events":
        typ = "event"
    if typ == "undefined":
        if not isinstance(b, str):
            return None
        typ = "event"
    if not isinstance(typ, str):
        raise ValidationError(("breakdown_type",), f"expected a breakdown type, got {typ!r}")
    if typ == "cohort":
        ids = b if isinstance(b, list) else [b]
        out: list[str | int] = []
        for i, c in enumerate(ids):
            if c == "all" or c == 0:
                out.append("all")
            elif isinstance(c, int) and not isinstance(c, bool):
                out.append(c)
            elif (digits := id_digits(c)) is not None:
                out.append(digits)
            else:
                raise ValidationError(("breakdown", i) if isinstance(b, list) else ("breakdown",), f"expected a cohort id or 'all', got {brief(c)}")
        return Breakdown((BreakdownItem(property=tuple(out), type="cohort"),), limit=limit, limit_given=given, hide_other=hide)
    if isinstance(b, list):
        if len(b) != 1:
            raise UnsupportedError(("breakdown",), "a list of breakdown properties; use `breakdowns` for multiple breakdowns")
        b = b[0]
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        b = str(b) if not isinstance(b, float) else repr(b)
    if not isinstance(b, str):
        raise ValidationError(("breakdown",), f"expected a property name, got {b!r}")
    item = parse_breakdown_item(
        {
            "property": b,
            "type": typ,
            "normalize_url": q.get("breakdown_normalize_url"),
            "histogram_bin_count": q.get("breakdown_histogram_bin_count"),
            "group_type_index": q.get("breakdown_group_type_index"),
        },
        ("breakdown",),
        limits,
    )
    return Breakdown((item,), limit=limit, limit_given=given, hide_other=hide)


def parse_formula_text(text: Any, path: tuple, limits: Limits, *, legacy: bool, custom_name: Any = None) -> Formula | None:
    if text is None or text == "":
        return None
    from ..formula import clean_legacy_formula, parse_formula

    if not isinstance(text, str):
        raise ValidationError(path, f"expected a formula string, got {text!r}")
    if legacy:
        text = clean_legacy_formula(text)
        if text is None:
            return None
    expr = parse_formula(text, path=path, max_length=limits.max_formula_length, max_depth=limits.max_formula_depth)
    if custom_name is not None and not isinstance(custom_name, str):
        raise ValidationError(path[:-1] + ("custom_name",), "expected a string")
    return Formula(text=text, expr=expr, custom_name=custom_name)


def check_formula_refs(formula: Formula, n_series: int, path: tuple) -> None:
    """A letter past the last series → ValidationError naming the letter and its position."""
    from ..formula import check_refs

    check_refs(formula.expr, n_series, path=path)


def parse_sampling(v: Any, path: tuple) -> float | None:
    if v in (None, "", 0):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValidationError(path, f"expected a number in (0, 1], got {v!r}") from None
    if isinstance(v, bool) or not math.isfinite(f) or not 0 <= f <= 1:
        raise ValidationError(path, f"expected a number in (0, 1], got {v!r}")
    return None if f == 0 else f


LEGACY_FIELDS = (
    "insight", "interval", "date_from", "date_to", "explicit_date", "display", "formula",
    "compare", "compare_to", "smoothing_intervals", "sampling_factor", "breakdown",
    "breakdown_type", "breakdowns", "breakdown_limit", "breakdown_histogram_bin_count",
    "breakdown_normalize_url", "breakdown_group_type_index", "breakdown_hide_other_aggregation",
    "events", "actions", "data_warehouse", "properties", "filter_test_accounts",
    "aggregation_group_type_index", "shown_as", "breakdown_value", "limit", "offset",
)  # fmt: skip


def parse_legacy(q: Mapping, *, limits: Limits = DEFAULT_LIMITS) -> TrendsFilter:
    """The legacy `/insights/trend/` filter dict → TrendsFilter."""
    for k in q:
        if not isinstance(k, str):
            raise ValidationError((), f"filter keys must be strings, got {k!r}")
        if k not in LEGACY_FIELDS and k not in DISPLAY_ONLY and k not in IGNORED:
            raise ValidationError((k,), f"unknown filter field{suggest(k, LEGACY_FIELDS)}")
    insight = q.get("insight") or "TRENDS"
    if not isinstance(insight, str):
        raise ValidationError(("insight",), "expected an insight name")
    if insight.upper() not in ("TRENDS", "SESSIONS"):
        raise UnsupportedError(("insight",), f"insight {insight!r}: trendcalc answers Trends only")
    if q.get("shown_as") == "Stickiness":
        raise UnsupportedError(("shown_as",), "a Stickiness filter is not a Trends filter: use trendcalc.stickiness "
                                             "(trendcalc.trends routes it there)")
    for k in ("limit", "offset", "breakdown_value"):
        if q.get(k) not in (None, 0, ""):
            raise UnsupportedError((k,), f"{k!r} (actors/pagination) is not supported")
    series = _entities(q, limits)
    interval = parse_interval(q.get("interval"), ("interval",), legacy=True)
    date_from = _date(q.get("date_from"), ("date_from",), limits) or "-7d"
    date_to = _date(q.get("date_to"), ("date_to",), limits)
    smoothing = q.get("smoothing_intervals")
    smoothing = 1 if smoothing in (None, "") else _int(smoothing, ("smoothing_intervals",), lo=1, hi=10_000)
    formula = parse_formula_text(q.get("formula"), ("formula",), limits, legacy=True)
    if formula is not None:
        check_formula_refs(formula, len(series), ("formula",))
    compare_to = q.get("compare_to")
    if compare_to is not None and (not isinstance(compare_to, str) or len(compare_to) > 64):
        raise ValidationError(("compare_to",), f"expected a relative date such as '-1w', got {compare_to!r}")
    agg = q.get("aggregation_group_type_index")
    agg = None if agg is None else _int(agg, ("aggregation_group_type_index",), lo=0, hi=4)
    echo = tuple((k, q[k]) for k in DISPLAY_ONLY if k in q)
    return TrendsFilter(
        series=series,
        date_from=date_from,
        date_to=date_to,
        explicit_date=_bool(q.get("explicit_date"), ("explicit_date",)),
        interval=interval,
        display=parse_display(q.get("display"), ("display",)),
        properties=parse_global_properties(q.get("properties"), ("properties",), limits),
        filter_test_accounts=_bool(q.get("filter_test_accounts"), ("filter_test_accounts",)),
        breakdown=parse_breakdown(q, limits),
        formulas=(formula,) if formula else (),
        compare=_bool(q.get("compare"), ("compare",)),
        compare_to=compare_to or None,
        smoothing_intervals=smoothing,
        sampling_factor=parse_sampling(q.get("sampling_factor"), ("sampling_factor",)),
        aggregation_group_type_index=agg,
        source="filter",
        echo=echo,
    )
