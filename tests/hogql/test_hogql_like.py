"""LIKE patterns in the HogQL subset (``like``/``ilike``/``notLike``/``notILike`` and the infix
forms). Found by posthog/api/test/test_stickiness.py::TestStickiness::test_stickiness_hogql_filter,
whose filter is ``properties.$browser == 'Chrome' and like(person.properties.name, '%person%')``."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trendcalc.hogql import evaluate, parse_expression
from trendcalc.testing.reference.operators import like_pattern


def value(text: str, **fields):
    tree = parse_expression(text, path=("x",), aggregate=False)
    return evaluate(tree, lambda node: fields.get(node.chain[-1]))


def like(text: str, pattern: str, case_insensitive: bool = False) -> bool:
    """HogQL's ``like(s, p)`` / ``ilike(s, p)`` of two values (the same matcher as the LIKE and
    ILIKE property operators, ``query/regex.py``: RE2, linear time)."""
    return value(f"{'ilike' if case_insensitive else 'like'}(properties.s, properties.p)", s=text, p=pattern) == 1


@pytest.mark.parametrize(
    ("text", "pattern", "expected"),
    [
        ("person1", "%person%", True),
        ("person", "%person%", True),
        ("perso", "%person%", False),
        ("abc", "a_c", True),
        ("abbc", "a_c", False),
        ("abc", "abc", True),
        ("abc", "ab", False),  # the whole string must match
        ("", "%", True),
        ("", "", True),
        ("a", "", False),
        ("aaa", "%a%a%a%", True),
        ("aa", "%a%a%a%", False),
        ("aba", "ab%ba", False),  # the first and last segments may not overlap
        ("abba", "ab%ba", True),
        ("a%c", "a\\%c", True),  # backslash: the next character is literal
        ("abc", "a\\%c", False),
        ("a_c", "a\\_c", True),
        ("abc", "a\\_c", False),
        ("a\\c", "a\\\\c", True),
        ("日本語", "_本_", True),  # characters, not bytes
    ],
)
def test_like_patterns(text, pattern, expected):
    assert like(text, pattern) is expected


def test_ilike_folds_case_and_like_does_not():
    assert like("PERSON1", "%person%", case_insensitive=True)
    assert not like("PERSON1", "%person%")


def test_many_wildcards_do_not_backtrack():
    start = time.perf_counter()
    assert not like("a" * 20_000, "%a%a%a%a%a%a%a%a%b")
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("like(person.properties.name, '%person%')", {"name": "person3"}, 1),
        ("like(person.properties.name, '%person%')", {"name": "someone"}, 0),
        ("like(person.properties.name, '%person%')", {}, None),  # NULL propagates
        ("ilike(properties.a, 'CH%')", {"a": "Chrome"}, 1),
        ("notLike(properties.a, 'Ch%')", {"a": "Chrome"}, 0),
        ("notILike(properties.a, 'fire%')", {"a": "Chrome"}, 1),
        ("properties.a LIKE '%ome'", {"a": "Chrome"}, 1),
        ("properties.a like 'x%' OR 1", {"a": "Chrome"}, 1),
        ("properties.a ILIKE 'CHROME'", {"a": "Chrome"}, 1),
        ("properties.a NOT LIKE 'Ch%'", {"a": "Chrome"}, 0),
        ("properties.a not ilike 'ch%'", {"a": "Safari"}, 1),
        ("properties.a = 'Chrome' AND like(properties.b, '%x%')", {"a": "Chrome", "b": "axb"}, 1),
    ],
)
def test_like_in_expressions(text, fields, expected):
    assert value(text, **fields) == expected


_ALPHABET = "ab%_\\\nA"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="abA\n%_\\", max_size=10), st.text(alphabet=_ALPHABET, max_size=8))
def test_like_is_the_regular_expression_it_defines(text, pattern):
    """Random texts and patterns (wildcards, escapes, a trailing backslash, newlines): HogQL's
    LIKE (RE2) agrees with the testing kit's reference (Python ``re``, ``testing/reference``)."""
    assert like(text, pattern) == (like_pattern(pattern, case_sensitive=True).fullmatch(text) is not None)
    assert like(text, pattern, case_insensitive=True) == (like_pattern(pattern).fullmatch(text) is not None)
