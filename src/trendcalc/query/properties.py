"""Parsing of property filters (global, series-level, test-account) into PropertyGroup trees.

Follows PostHog's cleaning rules (filters.md §1.1–1.3): old-style ``{"key__op": v}`` dicts, flat
lists (AND), and nested AND/OR groups; leaf aliases (``events`` → ``event``, ``values`` → ``value``,
``static-cohort``/``precalculated-cohort`` → ``cohort``); cohort ``negation``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import UnsupportedError, ValidationError
from ..limits import Limits
from .model import TRUE_GROUP, PropertyFilter, PropertyGroup
from .operators import KNOWN_OPERATORS, NO_VALUE_OPERATORS, check_operand
from .suggest import suggest

PROPERTY_TYPES = ("event", "person", "group", "cohort", "element", "session", "feature", "event_metadata", "hogql")
UNSUPPORTED_PROPERTY_TYPES = (
    "person_metadata", "data_warehouse", "data_warehouse_person_property", "recording",
    "log_entry", "log", "log_attribute", "log_resource_attribute", "span", "error_tracking_issue",
    "revenue_analytics", "workflow_variable", "behavioral", "dynamic-cohort",
)  # fmt: skip
TYPE_ALIASES = {"events": "event", "precalculated-cohort": "cohort", "static-cohort": "cohort"}
LEAF_KEYS = {"key", "value", "values", "operator", "type", "group_type_index", "negation", "label", "cohort_name", "name"}


def _check_scalar(v: Any, path: tuple, limits: Limits) -> Any:
    if isinstance(v, str):
        if len(v) > limits.max_string_length:
            raise ValidationError(path, f"string longer than max_string_length={limits.max_string_length}")
        return v
    if isinstance(v, bool) or isinstance(v, int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValidationError(path, f"expected a finite number, got {v!r}")
        return v
    raise ValidationError(path, f"expected a string, number or boolean, got {type(v).__name__}")


def parse_value(v: Any, path: tuple, limits: Limits) -> Any:
    """A filter operand: scalar, or list (None members dropped) as a tuple."""
    if isinstance(v, (list, tuple)):
        if len(v) > limits.max_list_length:
            raise ValidationError(path, f"value list of {len(v)} members exceeds max_list_length={limits.max_list_length}")
        return tuple(_check_scalar(x, path + (i,), limits) for i, x in enumerate(v) if x is not None)
    if v is None:
        return None
    return _check_scalar(v, path, limits)


def parse_leaf(d: Mapping, path: tuple, limits: Limits, *, raw: bool = False) -> PropertyFilter | None:
    """One leaf; None when PostHog would drop it (treated as TRUE).

    Query filters pass through upstream's pydantic models, which turn ints into floats (so
    ``icontains 5`` searches for ``5.0``); ``raw`` leaves values as given (test-account filters,
    cohort definitions). The operand is checked here against its operator (bad regex, between
    bounds, ``in`` without a list, ...)."""
    unknown = set(d) - LEAF_KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise ValidationError(path + (k,), f"unknown property filter field; expected one of {sorted(LEAF_KEYS)}")
    typ = d.get("type", "event")
    if not isinstance(typ, str):
        raise ValidationError(path + ("type",), f"expected a string property type, got {typ!r}")
    typ = TYPE_ALIASES.get(typ, typ)
    if typ in UNSUPPORTED_PROPERTY_TYPES:
        raise UnsupportedError(path + ("type",), f"property type {typ!r} is not supported by trendcalc")
    if typ == "flag":
        return None
    if typ not in PROPERTY_TYPES:
        raise ValidationError(
            path + ("type",), f"unknown property type {typ!r}{suggest(typ, PROPERTY_TYPES + UNSUPPORTED_PROPERTY_TYPES)}"
        )
    if typ == "hogql":
        return _hogql_leaf(d, path, limits)
    value = d.get("value")
    if value is None:
        value = d.get("values")
    op = d.get("operator")
    key = d.get("key")
    if typ == "cohort":
        key = "id"
        if op is None:
            op = "not_in" if d.get("negation") else "in"
    elif op is None:
        op = "exact"
    if not isinstance(op, str):
        raise ValidationError(path + ("operator",), f"expected an operator name, got {op!r}")
    if op not in KNOWN_OPERATORS:
        raise ValidationError(path + ("operator",), f"unknown operator {op!r}{suggest(op, KNOWN_OPERATORS)}")
    if typ != "cohort":
        if not isinstance(key, str) or not key:
            raise ValidationError(path + ("key",), f"expected a non-empty property key, got {key!r}")
        if len(key) > limits.max_name_length:
            raise ValidationError(path + ("key",), f"property key longer than max_name_length={limits.max_name_length}")
    gti = d.get("group_type_index")
    if typ == "group":
        if gti is None:
            return None  # upstream drops a group leaf without a type index
        if isinstance(gti, bool) or not isinstance(gti, int) or not 0 <= gti <= 4:
            raise ValidationError(path + ("group_type_index",), f"expected an int 0..4, got {gti!r}")
    else:
        gti = None
    value = parse_value(value, path + ("value",), limits)
    if value is None and op not in NO_VALUE_OPERATORS:
        return None  # upstream: a leaf without a value fails construction and becomes TRUE
    if typ != "cohort" and not raw:
        value = _pydantic(value)
    if typ == "cohort":
        if op not in ("in", "not_in", "exact", "is_not"):
            raise ValidationError(path + ("operator",), "cohort filters take operator 'in' or 'not_in'")
        op = {"exact": "in", "is_not": "not_in"}.get(op, op)
        if isinstance(value, tuple):
            if len(value) != 1:
                raise ValidationError(path + ("value",), "expected one cohort id")
            value = value[0]
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValidationError(path + ("value",), f"expected a cohort id, got {value!r}")
    elif typ == "element":
        check_element(key, op, value, path, limits)
    else:
        check_operand(op, value, path + ("value",), limits, key)
    return PropertyFilter(key=key, operator=op, value=value, type=typ, group_type_index=gti, path=path)


def _hogql_leaf(d: Mapping, path: tuple, limits: Limits) -> PropertyFilter:
    """``{"type": "hogql", "key": "<condition>"}``: a HogQL row condition (value and operator
    are not read, as upstream's HogQLPropertyFilter)."""
    from ..hogql import parse_expression

    key = d.get("key")
    expr = parse_expression(key, path=path + ("key",), aggregate=False, max_length=limits.max_string_length,
                            max_depth=limits.max_formula_depth)
    return PropertyFilter(key=key, operator="exact", type="hogql", path=path, expr=expr)


def _pydantic(value: Any) -> Any:
    """int → float, as pydantic's ``str | float | bool | list[...]`` union does (filters.md §0.4)."""
    if isinstance(value, tuple):
        return tuple(_pydantic(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


ELEMENT_KEYS = ("selector", "tag_name", "href", "text")


def check_element(key: Any, op: str, value: Any, path: tuple, limits: Limits) -> None:
    """Element filters: known keys; selector/tag_name only with exact/is_not; valid selectors."""
    from .regex import compile_regex
    from .selectors import parse_selector, tag_name_pattern

    if key not in ELEMENT_KEYS:
        raise ValidationError(path + ("key",), f"element filters take key {list(ELEMENT_KEYS)}, got {key!r}")
    if value == ():
        # upstream ORs (ANDs) one condition per member: no member prints or() / and(), which
        # ClickHouse rejects (found by tests/property: the engine matched every event)
        raise ValidationError(path + ("value",), "element filters need at least one value, got an empty list")
    members = value if isinstance(value, tuple) else (value,)
    if key in ("selector", "tag_name"):
        if op not in ("exact", "is_not"):
            raise ValidationError(path + ("operator",), f"element {key} filters support only exact and is_not, not {op!r}")
        for i, m in enumerate(members):
            if key == "selector":
                parse_selector(str(m), path + ("value",) + ((i,) if isinstance(value, tuple) else ()))
            else:
                compile_regex(tag_name_pattern(str(m)), path + ("value",), limits, what="tag_name")
    else:
        for m in members:
            check_operand(op, m, path + ("value",), limits, key)


def _leaf_or_group(item: Any, path: tuple, limits: Limits, depth: int, raw: bool = False) -> PropertyFilter | PropertyGroup | None:
    if not isinstance(item, Mapping):
        raise ValidationError(path, f"expected a property filter object, got {type(item).__name__}")
    if "values" in item and isinstance(item.get("type"), str) and item["type"].upper() in ("AND", "OR") and "key" not in item:
        return parse_group(item, path, limits, depth + 1, raw=raw)
    return parse_leaf(item, path, limits, raw=raw)


def parse_group(d: Mapping, path: tuple, limits: Limits, depth: int = 1, *, raw: bool = False) -> PropertyGroup:
    """A ``{"type": "AND"|"OR", "values": [...]}`` group at any depth (up to the limit)."""
    if depth > limits.max_property_depth:
        raise ValidationError(path, f"property groups nested deeper than max_property_depth={limits.max_property_depth}")
    typ = d.get("type")
    if not isinstance(typ, str) or typ.upper() not in ("AND", "OR"):
        raise ValidationError(path + ("type",), f"expected 'AND' or 'OR', got {typ!r}")
    extra = set(d) - {"type", "values"}
    if extra:
        raise ValidationError(path + (sorted(extra)[0],), "unknown property group field; expected type and values")
    values = d.get("values")
    if not isinstance(values, (list, tuple)):
        raise ValidationError(path + ("values",), "expected a list")
    out = []
    for i, item in enumerate(values):
        if isinstance(item, Mapping) and not item:
            continue  # falsy entries are dropped
        node = _leaf_or_group(item, path + ("values", i), limits, depth, raw)
        out.append(node if node is not None else TRUE_GROUP)  # a dropped leaf is TRUE, even under OR
    return PropertyGroup(typ.upper(), tuple(out))


def _old_style(d: Mapping, path: tuple, limits: Limits) -> PropertyFilter | None:
    if len(d) != 1:
        raise ValidationError(path, "an old-style property dict must have exactly one key")
    (k, v), = d.items()
    if not isinstance(k, str):
        raise ValidationError(path, "expected a string key")
    key, _, op = k.partition("__")
    return parse_leaf({"key": key, "value": v, "operator": op or "exact"}, path + (k,), limits)


def parse_global_properties(value: Any, path: tuple, limits: Limits) -> PropertyGroup:
    """Global ``properties``: None/[]/{} → no filter; list → AND; group → as given."""
    if value is None or value == [] or value == {}:
        return PropertyGroup()
    if isinstance(value, (list, tuple)):
        leaves = []
        for i, item in enumerate(value):
            node = _leaf_or_group(item, path + (i,), limits, 1)
            if node is not None:
                leaves.append(node)
        return PropertyGroup("AND", tuple(leaves))
    if isinstance(value, Mapping):
        if "values" in value and "type" in value and "key" not in value:
            return parse_group(value, path, limits)
        leaf = _old_style(value, path, limits)
        return PropertyGroup("AND", (leaf,) if leaf else ())
    raise ValidationError(path, f"expected a list or group of property filters, got {type(value).__name__}")


def parse_entity_properties(value: Any, path: tuple, limits: Limits, *, raw: bool = False) -> PropertyGroup:
    """Series ``properties``: a flat list or a flat group whose type is discarded (always AND)."""
    if value is None or value == [] or value == {}:
        return PropertyGroup()
    if isinstance(value, Mapping):
        if "values" in value and "key" not in value:
            values = value.get("values")
            if not isinstance(values, (list, tuple)):
                raise ValidationError(path + ("values",), "expected a list")
            path = path + ("values",)
            value = values
        else:
            leaf = _old_style(value, path, limits)
            return PropertyGroup("AND", (leaf,) if leaf else ())
    if not isinstance(value, (list, tuple)):
        raise ValidationError(path, f"expected a list of property filters, got {type(value).__name__}")
    leaves = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ValidationError(path + (i,), "expected a property filter object")
        if not item:
            continue
        if "values" in item and "key" not in item:
            raise ValidationError(path + (i,), "series properties cannot contain nested groups")
        leaf = parse_leaf(item, path + (i,), limits, raw=raw)
        if leaf is not None:
            leaves.append(leaf)
    return PropertyGroup("AND", tuple(leaves))


def parse_test_account_filters(filters: Sequence[Mapping], limits: Limits) -> PropertyGroup:
    """The project's test_account_filters as one AND group (each filter its own term); raw dicts,
    not pydantic-coerced, as upstream."""
    return parse_entity_properties(list(filters), ("project", "test_account_filters"), limits, raw=True)
