"""Hypothesis strategies for HogQL expression TEXT, drawn from exactly the subset
``trendcalc.testing.reference_hogql`` implements, over the properties the kit's worlds carry
(``strategies.PROPERTY_VALUES`` / ``PERSON_VALUES``): typed and untyped properties, missing ones
(NULL), text that spells a number next to text that does not, division by zero, NULL-handling
functions and three-valued logic.

- ``hogql_row_expressions()``: breakdown expressions (any type; the value is their toString);
- ``hogql_conditions()``: property-filter conditions;
- ``hogql_aggregate_expressions()``: ``math_hogql`` expressions (every field inside an aggregate);
- ``hogql_scenarios()``: a kit world plus a query using one or more of the three features.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from hypothesis import strategies as st

from . import strategies as tst

TEXT_FIELDS = ("properties.$browser", "properties.$current_url", "properties.tags", "properties.$session_id",
               "properties.missing", "person.properties.email", "person.properties.plan", "event", "distinct_id",
               "properties.flag", "properties['$browser']", "properties.`$group_0`", "$group_1")  # fmt: skip
NUMERIC_FIELDS = ("properties.plan", "person.properties.plan", "properties.flag", "properties.missing",
                  "properties.$session_id", "person.properties.flag")  # fmt: skip
TEXT_LITERALS = ("'Chrome'", "'chrome'", "''", "'10'", "'abc'", "'true'", "'é'", "'https://x.io/'", "'u1'",
                 "'$pageview'", "'a@x.io'")  # fmt: skip
NUMBER_LITERALS = ("0", "1", "2", "-1", "10", "2.5", "10.5", "0.1", "1000", "NULL")
NONZERO = ("2", "3", "-3", "2.5", "7")
DATE_FROMS = ("-7d", "-14d", "-30d", "-24h", "dStart", "-1w", "mStart", "-3d")
COMPARE_OPS = ("=", "!=", "<", ">", "<=", ">=", "==", "<>")


def _leaf_text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(TEXT_FIELDS), st.sampled_from(TEXT_LITERALS))


def _leaf_number() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(NUMBER_LITERALS),
        st.sampled_from(NUMERIC_FIELDS).map(lambda f: f"toFloat({f})"),
        st.sampled_from(NUMERIC_FIELDS),  # typed Float/Bool, or text taking part in arithmetic
    )


@cache
def _text(depth: int) -> st.SearchStrategy[str]:
    if depth <= 0:
        return _leaf_text()
    sub, num, cond = _text(depth - 1), _number(depth - 1), _condition(depth - 1)
    return st.one_of(
        _leaf_text(),
        st.builds(lambda a: f"lower({a})", sub),
        st.builds(lambda a: f"upper({a})", sub),
        st.builds(lambda a: f"toString({a})", num),
        st.builds(lambda a, b: f"concat({a}, ' : ', {b})", sub, st.one_of(sub, num)),
        st.builds(lambda a, b: f"({a} || {b})", sub, sub),
        st.builds(lambda c, a, b: f"if({c}, {a}, {b})", cond, sub, sub),
        st.builds(lambda a, b: f"ifNull({a}, {b})", sub, sub),
        st.builds(lambda a, b: f"coalesce({a}, {b}, 'none')", sub, sub),
    )


@cache
def _number(depth: int) -> st.SearchStrategy[str]:
    if depth <= 0:
        return _leaf_number()
    sub, text, cond = _number(depth - 1), _text(depth - 1), _condition(depth - 1)
    return st.one_of(
        _leaf_number(),
        st.builds(lambda a, op, b: f"({a} {op} {b})", sub, st.sampled_from("+-*/"), sub),
        st.builds(lambda a, b: f"({a} % {b})", sub, st.sampled_from(NONZERO)),
        st.builds(lambda a: f"-({a})", sub),
        st.builds(lambda a: f"length({a})", text),
        st.builds(lambda c, a, b: f"if({c}, {a}, {b})", cond, sub, sub),
        st.builds(lambda c, a, d, b, e: f"CASE WHEN {c} THEN {a} WHEN {d} THEN {b} ELSE {e} END", cond, sub, cond, sub,
                  sub),
        st.builds(lambda c, a: f"CASE WHEN {c} THEN {a} END", cond, sub),
        st.builds(lambda a, b: f"ifNull({a}, {b})", sub, sub),
        st.builds(lambda a, b: f"coalesce({a}, {b}, 0)", sub, sub),
        st.builds(lambda a: f"toFloat({a})", sub),
        st.builds(lambda a: f"toFloat({a})", text),
        cond,  # a comparison is a UInt8
    )


@cache
def _condition(depth: int) -> st.SearchStrategy[str]:
    text = _text(depth - 1) if depth > 0 else _leaf_text()
    num = _number(depth - 1) if depth > 0 else _leaf_number()
    base = st.one_of(
        st.builds(lambda a, op, b: f"({a} {op} {b})", text, st.sampled_from(COMPARE_OPS), text),
        st.builds(lambda a, op, b: f"({a} {op} {b})", num, st.sampled_from(COMPARE_OPS), num),
        st.builds(lambda a, op, b: f"({a} {op} {b})", st.sampled_from(NUMERIC_FIELDS), st.sampled_from(COMPARE_OPS),
                  st.sampled_from(("'10'", "'abc'", "'1'", "'0'"))),  # a number against text
        st.builds(lambda a: f"({a} IS NULL)", st.one_of(text, num)),
        st.builds(lambda a: f"({a} IS NOT NULL)", st.one_of(text, num)),
        st.builds(lambda a: f"isNull({a})", st.one_of(text, num)),
        st.sampled_from(("1", "0", "NULL", "true", "false")),
    )
    if depth <= 0:
        return base
    sub = _condition(depth - 1)
    return st.one_of(
        base,
        st.builds(lambda a, b: f"({a}) AND ({b})", sub, sub),
        st.builds(lambda a, b: f"({a}) OR ({b})", sub, sub),
        st.builds(lambda a: f"NOT ({a})", sub),
        st.builds(lambda a, b: f"and({a}, {b}, 1)", sub, sub),
        st.builds(lambda a, b: f"or({a}, {b})", sub, sub),
    )


def hogql_row_expressions(*, max_depth: int = 2) -> st.SearchStrategy[str]:
    """Row expressions (text, numbers or conditions) for ``breakdown_type: hogql``."""
    return st.integers(0, max_depth).flatmap(lambda d: st.one_of(_text(d), _number(d), _condition(d)))


def hogql_conditions(*, max_depth: int = 2) -> st.SearchStrategy[str]:
    """Row conditions for ``{"type": "hogql", "key": ...}`` property filters."""
    return st.integers(0, max_depth).flatmap(_condition)


def _aggregate_call(depth: int) -> st.SearchStrategy[str]:
    num, text, cond = _number(depth), _text(depth), _condition(depth)
    return st.one_of(
        st.just("count()"),
        st.builds(lambda a: f"count({a})", st.one_of(text, num)),
        st.builds(lambda a: f"count(DISTINCT {a})", st.one_of(text, num)),
        st.builds(lambda a: f"uniq({a})", st.one_of(text, num, st.just("person_id"))),
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(("sum", "avg", "min", "max")), num),
        st.builds(lambda c: f"countIf({c})", cond),
        st.builds(lambda a, c: f"uniqIf({a}, {c})", st.one_of(text, num), cond),
        st.builds(lambda f, a, c: f"{f}({a}, {c})", st.sampled_from(("sumIf", "avgIf", "minIf", "maxIf", "countIf")),
                  num, cond),
    )


def hogql_aggregate_expressions(*, max_depth: int = 1) -> st.SearchStrategy[str]:
    """``math_hogql`` expressions: aggregates of row expressions, combined by scalar functions."""

    def combined(d: int) -> st.SearchStrategy[str]:
        agg = _aggregate_call(d)
        lit = st.sampled_from(("0", "1", "2", "-1", "2.5", "100", "NULL"))
        term = st.one_of(agg, agg, lit)
        return st.one_of(
            agg,
            st.builds(lambda a, op, b: f"{a} {op} {b}", agg, st.sampled_from("+-*/"), term),
            st.builds(lambda a, b: f"coalesce({a}, {b})", agg, lit),
            st.builds(lambda a, b: f"ifNull({a}, {b})", agg, lit),
            st.builds(lambda a, op, b, x, y: f"if({a} {op} {b}, {x}, {y})", agg, st.sampled_from(COMPARE_OPS), term,
                      term, term),
            st.builds(lambda a, b: f"({a}) % {b}", agg, st.sampled_from(NONZERO)),
        )

    return st.integers(0, max_depth).flatmap(combined)


@st.composite
def hogql_queries(draw: st.DrawFn, *, now: Any, timezone: str, action_ids: Any = (), math: bool | None = None,
                  breakdown: bool | None = None, condition: bool | None = None) -> dict[str, Any]:
    """A legacy Trends filter from ``strategies.trends_filters`` (no compare, formula or
    sampling) with HogQL swapped in: math ``hogql`` on some series, a hogql breakdown, hogql
    property filters (each None = sometimes; at least one of the three is used)."""
    use_breakdown = draw(st.booleans()) if breakdown is None else breakdown
    q = draw(tst.trends_filters(now=now, timezone=timezone, action_ids=action_ids, maths=("total", "dau"),
                                breakdown=False, formula=False, compare=False, date_froms=DATE_FROMS))
    q.pop("sampling_factor", None)
    if draw(st.integers(0, 2)):  # the kit's own filters, a third of the time: let the HogQL rows through
        q.pop("properties", None)
        for s in q["events"] + q["actions"]:
            s.pop("properties", None)
        q.pop("filter_test_accounts", None)
    use_math = draw(st.booleans()) if math is None else math
    use_condition = draw(st.booleans()) if condition is None else condition
    if not (use_math or use_breakdown or use_condition):
        use_math = True
    series = q["events"] + q["actions"]
    if use_math:
        for i, s in enumerate(series):
            if i == 0 or draw(st.booleans()):
                s["math"] = "hogql"
                s["math_hogql"] = draw(hogql_aggregate_expressions())
                s.pop("math_group_type_index", None)
    if use_breakdown:
        q["breakdown"] = draw(hogql_row_expressions())
        q["breakdown_type"] = "hogql"
        if draw(st.booleans()):
            q["breakdown_limit"] = draw(st.integers(1, 5))
    if use_condition:
        leaf = {"type": "hogql", "key": draw(hogql_conditions())}
        where = draw(st.sampled_from(("global", "series", "both")))
        if where in ("global", "both"):
            props = q.get("properties")
            if isinstance(props, dict) and props.get("values"):
                q["properties"] = {"type": "AND", "values": [props, {"type": "AND", "values": [leaf]}]}
            elif isinstance(props, list) and props:
                q["properties"] = [*props, leaf]
            else:
                q["properties"] = [leaf]
        if where in ("series", "both"):
            s = series[0]
            s["properties"] = [*(s.get("properties") or []), {"type": "hogql", "key": draw(hogql_conditions())}]
    return q


@st.composite
def hogql_scenarios(draw: st.DrawFn, *, min_events: int = 0, max_events: int = 30, **kwargs: Any) -> tst.Scenario:
    """A kit world and a HogQL query over it (``reference_hogql.expected_hogql_trends`` gives
    the reference answer); ``kwargs`` go to ``hogql_queries``."""
    w = draw(tst.worlds(min_events=min_events, max_events=max_events, min_days=-30, max_days=1))
    q = draw(hogql_queries(now=w.now, timezone=w.project.timezone, action_ids=[a["id"] for a in w.project.actions],
                           **kwargs))
    return tst.Scenario(w, q)


__all__ = ["hogql_aggregate_expressions", "hogql_conditions", "hogql_queries", "hogql_row_expressions", "hogql_scenarios"]
