"""Regex operands are validated against RE2 at parse time (never run with a backtracking engine):
syntax RE2 lacks, patterns over its memory budget, and over-long patterns are ValidationErrors
with the operand's path, wherever a regex can appear (filters, action steps, path cleaning)."""

from __future__ import annotations

import pytest

import trendcalc as tc

BASE = {"events": [{"id": "$pageview"}]}
STORE = tc.EventStore.from_records(
    [{"event": "$pageview", "distinct_id": "d", "timestamp": "2020-01-19T00:00:00Z", "properties": {"$current_url": "https://a.com/x"}}]
)
NOW = "2020-01-20T00:00:00Z"


@pytest.mark.parametrize(
    "pattern",
    [
        "(?=x)", "(?<=a)b", "(?<!a)b", "(a)\\1", "(?P<n>a)(?P=n)", "a*+", "a++", "(?#comment)", "\\Z",
        "x{1000}{1000}", "a{1001}", "(((a{100}){100}){100})",  # repetition limits
        "\\p{L}{1000}", "(?i)[\\p{L}\\p{N}]{500}x", "(\\p{L}|\\p{N}|.){999}",  # over RE2's memory budget
        "[z-a]", "(", ")", "[", "\\",
    ],
)  # fmt: skip
def test_patterns_re2_rejects_are_validation_errors(pattern: str) -> None:
    with pytest.raises(tc.ValidationError) as err:
        tc.parse_filter({**BASE, "properties": [{"key": "$current_url", "operator": "regex", "value": pattern}]})
    assert err.value.path == ("properties", 0, "value")
    assert not isinstance(err.value, tc.UnsupportedError)


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+$", "(a|aa)+$", "(.*a){12}$", "^(a|a?)+$", "((a|b|c|d){100}){10}", "(" * 500 + "z" + ")" * 500],
    ids=["nested-plus", "alternation", "dot-star-12", "optional-alternation", "nested-counted", "deep-parens"],
)
def test_catastrophic_for_backtracking_patterns_are_accepted_and_run(pattern: str) -> None:
    """Valid RE2; they run in linear time (see benchmarks/regex_safety.py for the timings)."""
    query = {**BASE, "properties": [{"key": "$current_url", "operator": "regex", "value": pattern}], "date_from": "-7d"}
    assert tc.trends(STORE, query, now=NOW).to_dicts()[0]["count"] == 0


def test_regex_in_an_action_step_url_is_validated() -> None:
    project = tc.Project(actions=[{"id": 1, "steps": [{"event": "$pageview", "url": "(?=x)", "url_matching": "regex"}]}])
    with pytest.raises(tc.ValidationError) as err:
        tc.trends(STORE, {"actions": [{"id": 1}]}, project=project, now=NOW)
    assert err.value.path[-1] == "url"


def test_regex_in_path_cleaning_rules_is_validated() -> None:
    project = tc.Project(path_cleaning_filters=[{"regex": "(a)\\1", "alias": "x"}])
    query = {**BASE, "properties": [{"key": "$current_url", "operator": "is_cleaned_path_exact", "value": "/x"}]}
    with pytest.raises(tc.ValidationError) as err:
        tc.trends(STORE, query, project=project, now=NOW)
    assert err.value.path == ("project", "path_cleaning_filters", 0, "regex")


def test_max_regex_length_applies_to_action_urls() -> None:
    project = tc.Project(actions=[{"id": 1, "steps": [{"event": "$pageview", "url": "a" * 11, "url_matching": "regex"}]}])
    with pytest.raises(tc.ValidationError) as err:
        tc.trends(STORE, {"actions": [{"id": 1}]}, project=project, now=NOW, limits=tc.Limits(max_regex_length=10))
    assert "max_regex_length=10" in err.value.message
