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
