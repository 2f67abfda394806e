"""The HogQL subset's parser: precedence, aliases, fields, and errors at the edge."""

from __future__ import annotations

import pytest

import trendcalc as tc
from trendcalc.hogql import Call, Const, Field, evaluate, parse_expression


def row(text: str):
    return parse_expression(text, path=("breakdown",), aggregate=False)


def agg(text: str):
    return parse_expression(text, path=("math_hogql",), aggregate=True)


def test_operators_become_calls_with_sql_precedence():
    assert row("1 + 2 * 3") == Call("plus", (Const(1), Call("multiply", (Const(2), Const(3)))))
    t = row("properties.a = 1 OR properties.b = 2 AND NOT properties.c")
    assert t.name == "or" and t.args[1].name == "and" and t.args[1].args[1].name == "not"
    assert row("-properties.x").name == "negate"
    assert row("-3") == Const(-3)
    assert row("properties.x IS NOT NULL").name == "isNotNull"
    assert row("properties.os NOT IN ('Mac', 'Linux')").name == "notIn"
    assert row("properties.a > 1 ? 'big' : 'small'").name == "if"
    assert row("CASE WHEN properties.a > 1 THEN 'big' ELSE 'small' END").name == "multiIf"
    assert row("properties.u LIKE '%x%'") == Call("like", (Field(("properties", "u")), Const("%x%")))
    assert row("properties.u not ilike 'x'").name == "notILike"
    assert row("like(properties.u, 'x') AND ILIKE(properties.u, 'x')").args[1].name == "ilike"  # keywords as functions
    assert row("properties.u LIKE 'a' || 'b'").args[1].name == "concat"  # the pattern binds tighter than LIKE


def test_virtual_person_fields():
    assert row("person.$virt_initial_channel_type = 'Organic Search'").args[0] == Field(("person", "$virt_initial_channel_type"))
    row("events.person.$virt_initial_referring_domain_type")
    with pytest.raises(tc.UnsupportedError):
        row("person.$virt_unknown")


def test_aliases_are_dropped_in_every_form_upstream_tests_use():
    base = row("properties.location")
    for text in ("properties.location AS Location", 'properties.location AS "Some Location"',
                 "properties.location AS `Some Location`", 'properties.location AS Inner AS "Outer"',
                 "properties.location AS breakdown_value"):
        assert row(text) == base
    assert row("concat(properties.location AS Inner, '') AS \"Outer\"") == Call("concat", (base, Const("")))


def test_field_chains_and_subscripts():
    assert row("properties.$browser") == Field(("properties", "$browser"))
    assert row("properties['$os']") == Field(("properties", "$os"))
    assert row("properties.`plan name`") == Field(("properties", "plan name"))
    assert row("person.properties.$some_prop") == Field(("person", "properties", "$some_prop"))
    assert row("events.distinct_id") == Field(("events", "distinct_id"))


def test_function_names_are_case_insensitive_and_canonical():
    assert row("IF(distinct_id = 'x', NULL, 'foo')").name == "if"
    assert agg("COUNT()").name == "count"
    assert agg("count(DISTINCT person_id)").name == "uniqExact"
    assert agg("quantile(0.9)(properties.x)").params == (Const(0.9),)


def test_string_literals_and_escapes():
    assert row(r"'it''s \n ok'") == Const("it's \n ok")
    # as HogQL's parse_string_literal_text: the quote's own escape, the common ones, \0 dropped,
    # any other backslash kept (a LIKE pattern's \% reaches ClickHouse intact)
    assert row(r"'a\'b\\c\0d\ve'") == Const("a'b\\cd\ve")
    assert row(r"'100\%'") == Const("100\\%")
    assert row(r"'say \"hi\"'") == Const('say \\"hi\\"')
    assert row(r'properties."a\"b"') == Field(("properties", 'a"b'))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("avg(", "unexpected end of expression at position 4"),
        ("1 +", "position 3"),
        ("'open", "unterminated"),
        ("properties.x #", "unexpected character '#' at position 13"),
        ("x.y", "unknown HogQL field 'x.y'"),
        ("concat()", "takes at least 1 argument"),
        ("if(1, 2)", "takes 3 argument(s), got 2"),
        ("sum(properties.x)", "not allowed here"),
        ("(1, 2)", "tuples are not supported"),
    ],
)
def test_row_expression_errors_name_the_position(text, message):
    with pytest.raises(tc.ValidationError) as e:
        row(text)
    assert message in str(e.value)
    assert e.value.path == ("breakdown",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("properties.x", "must be inside an aggregate function"),
        ("sum(properties.x) + properties.y", "must be inside an aggregate function"),
        ("1 + 2", "needs an aggregate function"),
        ("sum(avg(properties.x))", "inside another aggregate"),
        ("quantile(2)(properties.x)", "a level between 0 and 1"),
        ("quantile(properties.x)", "takes one parameter"),
        ("sum(DISTINCT properties.x)", "DISTINCT is only supported as count(DISTINCT x)"),
    ],
)
def test_aggregate_expression_errors(text, message):
    with pytest.raises(tc.ValidationError) as e:
        agg(text)
    assert message in str(e.value)


@pytest.mark.parametrize("text", ["arrayJoin(properties.tags)", "timestamp", "toStartOfDay(properties.t)",
                                  "properties.a.b"])
def test_valid_hogql_outside_the_subset_is_unsupported(text):
    with pytest.raises(tc.UnsupportedError):
        row(text)


def test_nesting_and_length_are_capped():
    with pytest.raises(tc.ValidationError, match="nests deeper than 64 levels"):
        row("(" * 100 + "1" + ")" * 100)
    with pytest.raises(tc.ValidationError, match="at most 10 are allowed"):
        parse_expression("properties.location", path=("x",), aggregate=False, max_length=10)


def test_a_long_flat_chain_evaluates_without_recursion():
    tree = row(" + ".join(["1"] * 5000))
    assert evaluate(tree, lambda node: None) == 5000


def test_errors_reach_the_api_with_their_path():
    store = tc.EventStore.from_records([{"event": "e", "distinct_id": "d", "timestamp": "2020-01-01T00:00:00Z"}])
    with pytest.raises(tc.ValidationError) as e:
        tc.trends(store, {"events": [{"id": "e", "math": "hogql", "math_hogql": "properties.x"}]}, now="2020-01-02")
    assert e.value.path == ("events", 0, "math_hogql")
    with pytest.raises(tc.ValidationError) as e:
        tc.trends(store, {"events": [{"id": "e", "math": "hogql"}]}, now="2020-01-02")
    assert e.value.path == ("events", 0, "math_hogql")
    with pytest.raises(tc.ValidationError) as e:
        tc.trends(store, {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "e"}],
                          "breakdownFilter": {"breakdowns": [{"type": "hogql", "property": "concat("}]}}, now="2020-01-02")
    assert e.value.path == ("breakdownFilter", "breakdowns", 0, "property")
