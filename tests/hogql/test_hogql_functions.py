"""The subset's scalar semantics (ClickHouse's, on Python values)."""

from __future__ import annotations

import math

import pytest

from trendcalc.hogql import evaluate, parse_expression


def value(text: str, **fields):
    tree = parse_expression(text, path=("x",), aggregate=False)
    return evaluate(tree, lambda node: fields.get(node.chain[-1]))


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("concat(properties.a, ' : ', properties.b)", {"a": "x", "b": None}, "x : "),  # HogQL concat: NULL is ''
        ("toString(properties.a)", {"a": 3.0}, "3"),
        ("toString(properties.a)", {"a": 2.5}, "2.5"),
        ("toString(properties.a = 'x')", {"a": "x"}, "1"),  # comparisons are UInt8
        ("toString(true)", {}, "true"),
        ("properties.a + 1", {"a": None}, None),  # NULL propagates
        ("properties.a + 1", {"a": "41"}, 42),
        ("properties.a / 0", {"a": 1}, math.inf),
        ("7 % -3", {}, 1),  # sign of the dividend
        ("-7 % 3", {}, -1),
        ("length(properties.a)", {"a": "https://example.com"}, 19),
        ("length(properties.a)", {"a": "é"}, 2),  # bytes
        ("coalesce(properties.a, properties.b, 'z')", {"b": "y"}, "y"),
        ("ifNull(properties.a, 'none')", {}, "none"),
        ("nullIf(properties.a, '')", {"a": ""}, None),
        ("if(properties.a, 'yes', 'no')", {"a": None}, "no"),
        ("multiIf(properties.a > 5, 'big', properties.a > 1, 'mid', 'small')", {"a": 3}, "mid"),
        ("properties.a AND 1", {"a": None}, None),
        ("properties.a AND 0", {"a": None}, 0),
        ("properties.a OR 1", {"a": None}, 1),
        ("properties.a IN ('x', 'y')", {"a": "y"}, 1),
        ("properties.a IN ('x', 'y')", {"a": None}, None),
        ("lower(properties.a)", {"a": "ÀBC"}, "Àbc"),  # ASCII only, as ClickHouse's lower
        ("substring(properties.a, 2, 3)", {"a": "abcdef"}, "bcd"),
        ("round(properties.a)", {"a": 2.5}, 2.0),  # banker's rounding for floats
        ("toInt(properties.a)", {"a": "3.9"}, 3),
        ("toFloat(properties.a)", {"a": "abc"}, None),
        ("greatest(properties.a, 3)", {"a": 5}, 5),
        ("properties.a IS NULL", {}, 1),
    ],
)
def test_scalar_semantics(text, fields, expected):
    assert value(text, **fields) == expected


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        # upstream ee test_lifecycle_hogql_event_properties / _person_properties
        ("like(properties.u, '%example%') and 'bla' != 'a%sd'", {"u": "http://example.com"}, 1),
        ("like(properties.e, '%test.com')", {"e": "person@test.com"}, 1),
        ("like(properties.e, '%test.com')", {"e": "person@test.com.au"}, 0),  # the whole string must match
        ("like(properties.u, 'a_c')", {"u": "abc"}, 1),
        ("like(properties.u, 'a_c')", {"u": "ac"}, 0),
        ("like(properties.u, 'a%')", {"u": "a\nb"}, 1),  # % spans newlines
        # HogQL text '100\\%' is the pattern 100\%: a literal %
        ("like(properties.u, '100\\\\%')", {"u": "100%"}, 1),
        ("like(properties.u, '100\\\\%')", {"u": "1000"}, 0),
        ("like(properties.u, 'a\\\\_c')", {"u": "abc"}, 0),
        ("like(properties.u, '%%')", {"u": ""}, 1),
        ("like(properties.u, 'ABC')", {"u": "abc"}, 0),  # case-sensitive
        ("ilike(properties.u, 'A%C')", {"u": "abbc"}, 1),
        ("notLike(properties.u, '%b%')", {"u": "abc"}, 0),
        ("notILike(properties.u, '%B%')", {"u": "xyz"}, 1),
        ("like(properties.u, '%x%')", {"u": None}, None),  # NULL propagates
        ("like(properties.n, '4%')", {"n": 42}, 1),  # a number reads as its text
        ("properties.u LIKE '%b%'", {"u": "abc"}, 1),
        ("properties.u NOT LIKE '%b%'", {"u": "abc"}, 0),
        ("properties.u ILIKE '%B%'", {"u": "abc"}, 1),
        ("properties.u NOT ILIKE '%B%'", {"u": "abc"}, 0),
        ("NOT properties.u LIKE 'x%'", {"u": "abc"}, 1),
    ],
)
def test_like_semantics(text, fields, expected):
    assert value(text, **fields) == expected


def test_like_is_linear_on_adversarial_patterns():
    """No regex backtracking: many runs of % against a long text that almost matches."""
    text = "a" * 20_000
    pattern = "%a" * 50 + "%b"
    assert value(f"like(properties.u, '{pattern}')", u=text) == 0
