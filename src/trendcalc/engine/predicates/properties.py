"""Row masks for property groups: AND/OR trees of leaves, each leaf one vectorised predicate.

A leaf is evaluated by its source (``SOURCES[leaf.type]``: where the value is read — event,
person, group, cohort, element, event metadata; the session source lives with the sessions
table) and its operator (``filters.operators.OPERATORS``). A source hands the operator a typed
``Domain`` (the distinct values, e.g. a column's dictionary plus a NULL slot) and the per-row
codes into it; the operator's result per domain entry is computed once per query and gathered
with ``lut[codes]``.

Rows are event rows for ``SOURCES`` and person rows for ``PERSON_SOURCES`` (cohort definitions).

Adding a source (e.g. ``session``): register ``SOURCES["session"] = fn(ctx, leaf, rows)`` that
builds a ``Domain`` once (``text_domain(...)``, or ``Domain("float", values, null, tz)`` for typed
fields, last entry NULL) and returns ``lut_mask(ctx, leaf, scope, domain, codes)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...datetimes import NULL_TIME
from ...errors import UnsupportedError, ValidationError
from ...query.model import PropertyFilter, PropertyGroup
from ...query.regex import compile_regex
from ...query.selectors import parse_selector, selector_matches, tag_name_pattern
from ...store.columns import ValueDictionary, float_text, render_text
from ...store.virtual import person_column
from ..context import QueryContext
from . import elements as el
from .operators import (
    IMPLEMENTATIONS,
    KIND_OF_TYPE,
    Domain,
    Env,
    dictionary_domain,
    evaluate,
    text_domain,
)

LeafMask = Callable[[QueryContext, PropertyFilter, np.ndarray], np.ndarray]
SOURCES: dict[str, LeafMask] = {}
PERSON_SOURCES: dict[str, LeafMask] = {}
AI_STRING_KEYS = ("$ai_trace_id", "$ai_session_id", "$ai_parent_id", "$ai_span_id", "$ai_generation_id", "$ai_experiment_id")
_EMPTY = ValueDictionary(())


def mask_rows(ctx: QueryContext, group: PropertyGroup, rows: np.ndarray, sources: dict[str, LeafMask] | None = None) -> np.ndarray:
    """Boolean mask over ``rows`` for a property group (empty group → all True)."""
    if not group.values:
        return np.ones(len(rows), dtype=bool)
    if group.type == "AND" and sources is None:
        return _and_rows(ctx, _and_nodes(group), rows)
    combine = np.logical_and if group.type == "AND" else np.logical_or
    masks = (mask_rows(ctx, node, rows, sources) if isinstance(node, PropertyGroup) else leaf_mask(ctx, node, rows, sources)
             for node in group.values)
    out = next(masks)
    for m in masks:
        out = combine(out, m)
    return out


def _and_nodes(group: PropertyGroup) -> list[PropertyFilter | PropertyGroup]:
    """The operands of an AND group with nested AND groups flattened into it, in order."""
    out: list[PropertyFilter | PropertyGroup] = []
    for node in group.values:
        if isinstance(node, PropertyGroup) and node.type == "AND":
            out += _and_nodes(node)
        elif not (isinstance(node, PropertyGroup) and not node.values):
            out.append(node)
    return out


def _and_rows(ctx: QueryContext, nodes: list[PropertyFilter | PropertyGroup], rows: np.ndarray) -> np.ndarray:
    """AND over event rows. Person-property leaves are ANDed per person first and gathered over
    the rows once, instead of one gather per leaf (persons are far fewer than events)."""
    out: np.ndarray | None = None
    per_person: np.ndarray | None = None
    for node in nodes:
        if isinstance(node, PropertyGroup):
            m = mask_rows(ctx, node, rows)
        else:
            p = _per_person_mask(ctx, node) if node.type == "person" else None
            if p is not None:
                per_person = p if per_person is None else per_person & p
                continue
            m = leaf_mask(ctx, node, rows)
        out = m if out is None else out & m
    if per_person is not None:
        m = per_person[_person_rows(ctx, rows)]
        out = m if out is None else out & m
    return out if out is not None else np.ones(len(rows), dtype=bool)


def leaf_mask(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray, sources: dict[str, LeafMask] | None = None) -> np.ndarray:
    """One leaf over ``rows`` through its source."""
    table = SOURCES if sources is None else sources
    source = table.get(leaf.type) or (EXPRESSION_SOURCES.get(leaf.type) if table is SOURCES else None)
    if source is None:
        if table is PERSON_SOURCES:
            raise ValidationError(leaf.path + ("type",), f"a {leaf.type!r} filter does not work on persons (cohort definitions take person and cohort filters)")
        raise UnsupportedError(leaf.path + ("type",), f"property filters of type {leaf.type!r} are not implemented yet")
    return source(ctx, leaf, rows)


# --- shared machinery ---------------------------------------------------------------------------


def env_of(ctx: QueryContext, leaf: PropertyFilter) -> Env:
    """The evaluation environment of one leaf (clock, zone, limits, path cleaning, error path)."""
    if leaf.operator == "is_cleaned_path_exact" and ctx.project.path_cleaning_error is not None:
        raise ctx.project.path_cleaning_error
    return Env(tz=ctx.project.tz, now=ctx.now, limits=ctx.limits, path=leaf.path, key=leaf.key,
               path_cleaning=ctx.project.path_cleaning)


def _identity(leaf: PropertyFilter) -> tuple:
    """A hashable key that keeps True, 1 and 1.0 apart."""
    v = leaf.value
    frozen = tuple((type(x).__name__, x) for x in v) if isinstance(v, tuple) else (type(v).__name__, v)
    return (leaf.type, leaf.key, leaf.group_type_index, leaf.operator, frozen)


def lut_mask(ctx: QueryContext, leaf: PropertyFilter, scope: Any, dom: Domain | Callable[[], Domain], codes: np.ndarray,
             value: Any = None) -> np.ndarray:
    """``evaluate`` once per (domain, leaf) per query, then gather over ``codes`` (-1 = last entry)."""

    def build() -> np.ndarray | None:
        d = dom() if callable(dom) else dom
        return evaluate(d, leaf.operator, leaf.value if value is None else value, env_of(ctx, leaf))

    lut = ctx.memo(("lut", scope, _identity(leaf)), build)
    if lut is None:
        return np.ones(len(codes), dtype=bool)
    return lut[codes]


def event_property_type(ctx: QueryContext, key: str) -> str | None:
    if key in AI_STRING_KEYS:
        return "String"
    return ctx.project.property_type(key, "event")


# Look-up tables of store-cacheable operators kept per dictionary, at most:
STORE_CACHED_LUTS = 64


def _column_mask(ctx: QueryContext, leaf: PropertyFilter, col: Any, codes: np.ndarray, prop_type: str | None, scope: Any) -> np.ndarray:
    dictionary = col.dictionary if col is not None else _EMPTY
    domain = lambda: dictionary_domain(dictionary, prop_type, ctx.project.tz)  # noqa: E731
    if col is None or not IMPLEMENTATIONS[leaf.operator].store_cacheable or KIND_OF_TYPE.get(prop_type, "string") == "datetime":
        return lut_mask(ctx, leaf, (scope, prop_type), domain, codes)
    def stored() -> np.ndarray | None:
        luts = dictionary.cached("leaf_luts", dict)
        key = (prop_type, ctx.limits, _identity(leaf))
        try:
            return luts[key]
        except KeyError:
            pass
        lut = evaluate(domain(), leaf.operator, leaf.value, env_of(ctx, leaf))
        try:
            while len(luts) >= STORE_CACHED_LUTS:
                luts.pop(next(iter(luts)))
        except (KeyError, RuntimeError, StopIteration):  # another thread evicted first
            pass
        luts[key] = lut
        return lut

    # also held per query: a query with more leaves than the store keeps evaluates each once
    lut = ctx.memo(("lut", (scope, prop_type), _identity(leaf)), stored)
    return np.ones(len(codes), dtype=bool) if lut is None else lut[codes]


def _person_rows(ctx: QueryContext, rows: np.ndarray) -> np.ndarray:
    """``store.person[rows]``, gathered once per query for every person leaf over these rows."""
    held = ctx.cache.get("person_rows")
    if held is None or held[0] is not rows:
        held = ctx.cache["person_rows"] = (rows, ctx.at_rows(ctx.store.person, rows))
    return held[1]


# --- event scope ------------------------------------------------------------------------------------


def _event_source(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    if leaf.key == el.CHAIN_KEY:
        return _chain_text_mask(ctx, leaf, rows)
    col = ctx.store.column(leaf.key)
    codes = ctx.at_rows(col.codes, rows) if col is not None else np.full(len(rows), -1, dtype=np.int32)
    return _column_mask(ctx, leaf, col, codes, event_property_type(ctx, leaf.key), "event")


def _distinct_id_domain(ctx: QueryContext) -> Domain:
    return ctx.memo(("distinct_id_domain",), lambda: text_domain([*ctx.store.distinct_ids.tolist(), None], ctx.project.tz))


def _person_source(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    store = ctx.store
    if leaf.key == "distinct_id":  # not a person property: the event's own distinct_id (newest upstream)
        return lut_mask(ctx, leaf, "event_distinct_id", lambda: _distinct_id_domain(ctx), store.distinct_id[rows])
    per_person = _per_person_mask(ctx, leaf)
    if per_person is None:
        return _column_mask(ctx, leaf, None, np.full(len(rows), -1, dtype=np.int32),
                            ctx.project.property_type(leaf.key, "person"), "person")
    return per_person[_person_rows(ctx, rows)]


def _per_person_mask(ctx: QueryContext, leaf: PropertyFilter) -> np.ndarray | None:
    """A person-property leaf per person row (a small table, once per query); None when the
    leaf does not read a stored person column (``distinct_id``, or no such property)."""
    if leaf.key == "distinct_id":
        return None
    col = person_column(ctx.store, leaf.key)
    if col is None:
        return None
    return ctx.memo(("person_leaf", _identity(leaf)), lambda: _column_mask(
        ctx, leaf, col, col.codes, ctx.project.property_type(leaf.key, "person"), "person"))


def _group_source(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    gti = leaf.group_type_index
    table = ctx.store.groups.get(gti) if gti is not None else None
    col = table.column(leaf.key) if table is not None else None
    if col is None or gti is None:
        codes = np.full(len(rows), -1, dtype=np.int32)
    else:
        grows = ctx.store.group_rows(gti)[rows]
        codes = np.where(grows >= 0, col.codes[np.maximum(grows, 0)], -1).astype(np.int32)
    return _column_mask(ctx, leaf, col, codes, ctx.project.property_type(leaf.key, "group", gti), ("group", gti))


# --- elements ---------------------------------------------------------------------------------------


def _chains(ctx: QueryContext) -> tuple[list[str], np.ndarray]:
    return el.row_chains(ctx.store)


def _chain_text_mask(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    """``elements_chain`` read as a property: a non-NULL string, ``""`` without elements."""
    chains, codes = _chains(ctx)
    return lut_mask(ctx, leaf, "chain", lambda: text_domain([*chains, ""], ctx.project.tz), codes[rows])


def _element_members(leaf: PropertyFilter) -> tuple[tuple, str]:
    """Element filters take lists member by member: AND for negative operators, else OR."""
    v = leaf.value
    members = v if isinstance(v, tuple) else (v,)
    combine = "all" if leaf.operator in ("is_not", "not_icontains", "not_regex") else "any"
    return members, combine


def _per_chain(ctx: QueryContext, leaf: PropertyFilter, fn: Callable[[Any, list[str]], np.ndarray]) -> np.ndarray:
    """Combine ``fn(member, chains)`` (one bool per chain, plus the no-chain slot) over the members."""
    chains, _ = _chains(ctx)
    members, combine = _element_members(leaf)
    if not members:
        return np.ones(len(chains) + 1, dtype=bool)
    parts = [fn(m, chains) for m in members]
    return (np.logical_and if combine == "all" else np.logical_or).reduce(parts)


def _selector_lut(ctx: QueryContext, leaf: PropertyFilter) -> np.ndarray:
    def one(member: Any, chains: list[str]) -> np.ndarray:
        parts = parse_selector(str(member), leaf.path + ("value",))
        hit = [selector_matches(parts, el.parse_chain(c)) for c in chains] + [False]
        out = np.array(hit, dtype=bool)
        return ~out if leaf.operator == "is_not" else out

    return _per_chain(ctx, leaf, one)


def _tag_name_lut(ctx: QueryContext, leaf: PropertyFilter) -> np.ndarray:
    def one(member: Any, chains: list[str]) -> np.ndarray:
        pattern = compile_regex(tag_name_pattern(str(member)), leaf.path + ("value",), ctx.limits, what="tag_name")
        out = np.array([pattern.search(c) is not None for c in chains] + [False], dtype=bool)
        return ~out if leaf.operator == "is_not" else out

    return _per_chain(ctx, leaf, one)


def _href_lut(ctx: QueryContext, leaf: PropertyFilter) -> np.ndarray:
    """``elements_chain_href`` (non-NULL, ``""`` without one) compared with the operator."""

    def one(member: Any, chains: list[str]) -> np.ndarray:
        dom = text_domain([*(el.chain_href(c) for c in chains), ""], ctx.project.tz)
        lut = evaluate(dom, leaf.operator, member, env_of(ctx, leaf))
        return np.ones(len(dom), dtype=bool) if lut is None else lut

    return _per_chain(ctx, leaf, one)


def _text_lut(ctx: QueryContext, leaf: PropertyFilter) -> np.ndarray:
    """``arrayExists(text -> op(text), elements_chain_texts)``: FALSE on chains without texts."""

    def one(member: Any, chains: list[str]) -> np.ndarray:
        per_chain = [el.chain_texts(c) for c in chains] + [[]]
        distinct = list(dict.fromkeys(t for ts in per_chain for t in ts))
        index = {t: i for i, t in enumerate(distinct)}
        lut = evaluate(text_domain(distinct, ctx.project.tz), leaf.operator, member, env_of(ctx, leaf))
        if lut is None:
            lut = np.ones(len(distinct), dtype=bool)
        return np.array([any(lut[index[t]] for t in ts) for ts in per_chain], dtype=bool)

    return _per_chain(ctx, leaf, one)


ELEMENT_KEYS: dict[str, Callable[[QueryContext, PropertyFilter], np.ndarray]] = {
    "selector": _selector_lut, "tag_name": _tag_name_lut, "href": _href_lut, "text": _text_lut,
}  # fmt: skip


def _element_source(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    build = ELEMENT_KEYS.get(leaf.key)
    if build is None:
        raise ValidationError(leaf.path + ("key",), f"element filters take key {sorted(ELEMENT_KEYS)}, got {leaf.key!r}")
    lut = ctx.memo(("element_lut", _identity(leaf)), lambda: build(ctx, leaf))
    _, codes = _chains(ctx)
    return lut[codes[rows]]


# --- event metadata (event columns, no JSON extraction, non-NULL strings) -----------------------------


def _materialized_texts(values: Any) -> list[str]:
    """``$group_N``-style columns: the raw JSON text with surrounding quotes trimmed."""
    return [render_text(v) for v in values]


def _metadata_column(key: str) -> Callable[[QueryContext, np.ndarray], tuple[Any, Callable[[], Domain], np.ndarray]]:
    def read(ctx: QueryContext, rows: np.ndarray) -> tuple[Any, Callable[[], Domain], np.ndarray]:
        col = ctx.store.column(key)
        if col is None:
            return ("meta", key), lambda: text_domain([""], ctx.project.tz), np.zeros(len(rows), dtype=np.int32)
        texts = lambda: text_domain([*_materialized_texts(col.dictionary.values), ""], ctx.project.tz)  # noqa: E731
        return ("meta", key), texts, col.codes[rows]

    return read


def _meta_distinct_id(ctx: QueryContext, rows: np.ndarray) -> tuple[Any, Callable[[], Domain], np.ndarray]:
    return "event_distinct_id", lambda: _distinct_id_domain(ctx), ctx.store.distinct_id[rows]


def _meta_event(ctx: QueryContext, rows: np.ndarray) -> tuple[Any, Callable[[], Domain], np.ndarray]:
    return ("meta", "event"), lambda: text_domain(ctx.store.event_names, ctx.project.tz), ctx.store.event[rows]


def _meta_person_id(ctx: QueryContext, rows: np.ndarray) -> tuple[Any, Callable[[], Domain], np.ndarray]:
    ids = ctx.store.persons.ids.tolist()
    return ("meta", "person_id"), lambda: text_domain(["" if i is None else str(i) for i in ids], ctx.project.tz), ctx.store.person[rows]


def _meta_chain(ctx: QueryContext, rows: np.ndarray) -> tuple[Any, Callable[[], Domain], np.ndarray]:
    chains, codes = _chains(ctx)
    return "chain", lambda: text_domain([*chains, ""], ctx.project.tz), codes[rows]


METADATA_COLUMNS: dict[str, Callable[[QueryContext, np.ndarray], tuple[Any, Callable[[], Domain], np.ndarray]]] = {
    "distinct_id": _meta_distinct_id,
    "event": _meta_event,
    "person_id": _meta_person_id,
    "elements_chain": _meta_chain,
    **{f"$group_{i}": _metadata_column(f"$group_{i}") for i in range(5)},
    "$session_id": _metadata_column("$session_id"),
    "$window_id": _metadata_column("$window_id"),
}


def _metadata_source(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    read = METADATA_COLUMNS.get(leaf.key)
    if read is None:
        raise ValidationError(leaf.path + ("key",), f"event_metadata filters take key {sorted(METADATA_COLUMNS)}, got {leaf.key!r}")
    scope, dom, codes = read(ctx, rows)
    value = None
    if leaf.key.startswith("$group_"):  # newest upstream: numeric group keys compare as text
        v = leaf.value
        num = lambda x: float_text(float(x)) if isinstance(x, (int, float)) and not isinstance(x, bool) else x  # noqa: E731
        value = tuple(num(x) for x in v) if isinstance(v, tuple) else num(v)
    return lut_mask(ctx, leaf, scope, dom, codes, value)


SOURCES.update(
    event=_event_source,
    feature=_event_source,
    person=_person_source,
    group=_group_source,
    element=_element_source,
    event_metadata=_metadata_source,
)


# --- person scope (cohort definitions) ----------------------------------------------------------------


def _first_distinct_id(ctx: QueryContext) -> np.ndarray:
    """Per person row: its first distinct_id code (the person's ``pdi.distinct_id``)."""

    def build() -> np.ndarray:
        owner = ctx.store.persons.person_of_distinct_id
        first = np.full(len(ctx.store.persons), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, owner.astype(np.int64), np.arange(len(owner), dtype=np.int64))
        first[first == np.iinfo(np.int64).max] = -1
        return first

    return ctx.store.cached(("first_distinct_id",), build)


def _person_scope_person(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    if leaf.key == "distinct_id":
        return lut_mask(ctx, leaf, "event_distinct_id", lambda: _distinct_id_domain(ctx), _first_distinct_id(ctx)[rows])
    col = person_column(ctx.store, leaf.key)
    codes = col.codes[rows] if col is not None else np.full(len(rows), -1, dtype=np.int32)
    return _column_mask(ctx, leaf, col, codes, ctx.project.property_type(leaf.key, "person"), "person")


PERSON_SOURCES.update(person=_person_scope_person)  # cohort: registered by predicates.cohorts


# --- session scope ----------------------------------------------------------------------------------

SESSION_TYPES = {"$session_duration": "Numeric", "duration": "Numeric", "$pageview_count": "Numeric",
                 "$autocapture_count": "Numeric", "$screen_count": "Numeric", "$num_uniq_urls": "Numeric",
                 "$start_timestamp": "DateTime", "$end_timestamp": "DateTime", "$is_bounce": "Boolean"}  # fmt: skip


def _session_source(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    """A ``type: session`` filter: the field of each row's session (filters.md §9); session-less
    events read 0 for numeric fields and NULL for the others (the join's defaults).

    Session fields are real columns, not JSON: strings compare as they are (no JSON escapes),
    and the start/end timestamps keep their microseconds (found by tests/property)."""
    from ...store.sessions import session_table

    table = session_table(ctx.store)
    key = str(leaf.key)
    if key in ("$start_timestamp", "$end_timestamp"):
        sessions = table.session_of_row[rows]
        return lut_mask(ctx, leaf, ("session", key), lambda: _session_times(ctx, table, key), sessions)
    found = table.row_codes(key, rows)
    if found is None:
        raise UnsupportedError(leaf.path + ("key",), f"session property {leaf.key!r} is not supported")
    codes, dictionary = found
    prop_type = SESSION_TYPES.get(key, "String")
    if prop_type == "String":
        return lut_mask(ctx, leaf, ("session", key), lambda: text_domain([*dictionary.values, None], ctx.project.tz), codes)
    return lut_mask(ctx, leaf, ("session", prop_type), lambda: dictionary_domain(dictionary, prop_type, ctx.project.tz), codes)


def _session_times(ctx: QueryContext, table: Any, key: str) -> Domain:
    """Each session's start (or end) instant in µs, then a NULL slot for session-less rows."""
    us = table.start_us if key == "$start_timestamp" else table.end_us
    values = np.append(np.asarray(us, dtype=np.int64), NULL_TIME)
    return Domain("datetime", values, values == NULL_TIME, ctx.project.tz)


SOURCES["session"] = _session_source


def _hogql_source(ctx: QueryContext, leaf: PropertyFilter, rows: np.ndarray) -> np.ndarray:
    """A ``type: hogql`` condition: true where the expression is a non-zero number (NULL, 0 and
    text are false); evaluated once per distinct input (engine/hogql.py)."""
    from ...hogql.functions import truthy
    from ..hogql import row_results

    inverse, results = row_results(ctx, leaf.expr, rows)
    return np.array([truthy(r) for r in results], dtype=bool)[inverse]


# Conditions written as a user expression: a registry of their own, beside the property sources
# that the test kit's reference mirrors one for one. Event rows only (not cohort definitions).
EXPRESSION_SOURCES: dict[str, LeafMask] = {"hogql": _hogql_source}
