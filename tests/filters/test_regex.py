"""RE2 regex semantics: unanchored search, DOTALL, errors with path and position, length limit."""

from __future__ import annotations

import pytest

import trendcalc as tc
from trendcalc.query.regex import compile_like, like_regex

from .helpers import leaf, mask

BASE = {"events": [{"id": "e"}]}


def test_unanchored_search_and_dot_matches_newline():
    rows = [{"p": "abc"}, {"p": "xxabcxx"}, {"p": "a\nc"}, {"p": "ABC"}]
    assert mask(rows, leaf("p", "regex", "abc")) == [True, True, False, False]
    assert mask(rows, leaf("p", "regex", "^a.c$")) == [True, False, False, False]  # R of "a\nc" is a\\nc
    assert mask(rows, leaf("p", "regex", "(?i)abc")) == [True, True, False, True]


def test_dot_matches_a_real_newline():
    from trendcalc.limits import DEFAULT_LIMITS
    from trendcalc.query.regex import compile_regex

    p = compile_regex("a.c", ("x",), DEFAULT_LIMITS)
    assert p.search("a\nc") is not None
    assert compile_regex("(?-s)a.c", ("x",), DEFAULT_LIMITS).search("a\nc") is None


@pytest.mark.parametrize(
    ("pattern", "position"),
    [("(?=x)", 0), ("ab(c", 4), ("abc\\", 3), ("a\\1", 1), ("[a-", 0)],
)
def test_invalid_pattern_names_property_path_and_position(pattern, position):
    with pytest.raises(tc.ValidationError) as e:
        tc.parse_filter({**BASE, "properties": [{"key": "$current_url", "operator": "regex", "value": pattern}]})
    assert e.value.path == ("properties", 0, "value")
    assert "$current_url" in e.value.message
    assert f"position {position}" in e.value.message
    assert not isinstance(e.value, tc.UnsupportedError)


def test_invalid_pattern_in_a_list_names_the_member():
    with pytest.raises(tc.ValidationError) as e:
        tc.parse_filter({**BASE, "events": [{"id": "e", "properties": [{"key": "k", "operator": "not_regex", "value": ["ok", "("]}]}]})
    assert e.value.path == ("events", 0, "properties", 0, "value", 1)


def test_regex_needs_a_string():
    with pytest.raises(tc.ValidationError):
        tc.parse_filter({**BASE, "properties": [{"key": "k", "operator": "regex", "value": 5}]})


def test_regex_length_limit():
    limits = tc.Limits(max_regex_length=10)
    with pytest.raises(tc.ValidationError) as e:
        tc.parse_filter({**BASE, "properties": [{"key": "k", "operator": "regex", "value": "a" * 11}]}, limits=limits)
    assert "max_regex_length" in e.value.message
    tc.parse_filter({**BASE, "properties": [{"key": "k", "operator": "regex", "value": "a" * 10}]}, limits=limits)


def test_pathological_pattern_runs_in_linear_time():
    rows = [{"p": "a" * 5000 + "!"}]
    assert mask(rows, leaf("p", "regex", "^(a+)+$")) == [False]


def test_like_translation():
    assert like_regex("%a_b%") == "^.*a.b.*$"
    assert like_regex("50\\%") == "^50\\%$"
    assert compile_like("%A.B%", case_sensitive=False).search("xa.bx") is not None
    assert compile_like("%A.B%", case_sensitive=False).search("xaxbx") is None
    assert compile_like("%Abc%", case_sensitive=True).search("abc") is None
