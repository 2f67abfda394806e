"""Truth tables: every operator × {value present, absent, JSON null, other type, empty string}.

Rows (untyped property ``p``, filters.md §0.2: R is the JSON text, ``""`` is a real value):
pro = "pro", absent = no key, null = JSON null, num = 5 (other type), empty = "", bool = true,
plan = "Pro Plan".
"""

from __future__ import annotations

import datetime as dt

import pytest

import trendcalc as tc
from trendcalc.engine.predicates.operators import IMPLEMENTATIONS
from trendcalc.query.operators import KNOWN_OPERATORS, OPERATORS

from .helpers import events_of, leaf, mask

ROWS = [{"p": "pro"}, {}, {"p": None}, {"p": 5}, {"p": ""}, {"p": True}, {"p": "Pro Plan"}]
T, F = True, False

UNTYPED = [
    # operator, value, pro, absent, null, num, empty, bool, plan
    ("exact", "pro", [T, F, F, F, F, F, F]),
    ("exact", "5", [F, F, F, T, F, F, F]),
    ("exact", True, [F, F, F, F, F, T, F]),  # True → "true": matches JSON true (and "true")
    ("exact", ["pro", "Pro Plan"], [T, F, F, F, F, F, T]),
    ("exact", ["pro", 5], [T, F, F, T, F, F, F]),  # IN-list numbers compare as text
    ("exact", ["pro"], [T, F, F, F, F, F, F]),  # one member: unwrapped
    ("exact", [], [T, T, T, T, T, T, T]),  # empty list: no filtering
    ("exact", "", [F, F, F, F, T, F, F]),
    ("is_not", "pro", [F, T, T, T, T, T, T]),
    ("is_not", ["pro", "Pro Plan"], [F, T, T, T, T, T, F]),
    ("is_not", [], [T, T, T, T, T, T, T]),
    ("icontains", "pr", [T, F, F, F, F, F, T]),
    ("icontains", "PRO P", [F, F, F, F, F, F, T]),
    ("icontains", "", [T, F, F, T, T, T, T]),
    ("icontains", "o_", [F, F, F, F, F, F, T]),  # "_" is a LIKE wildcard: "o" + one more char
    ("icontains", ["zz", "PR"], [T, F, F, F, F, F, T]),  # ≥2: literal multi-search
    ("icontains", ["ue"], [F, F, F, F, F, T, F]),
    ("not_icontains", "pr", [F, T, T, T, T, T, F]),
    ("not_icontains", ["pr", "zz"], [F, F, F, T, T, T, F]),  # multi form: NULL → FALSE
    ("icontains_multi", ["zz", "PR"], [T, F, F, F, F, F, T]),
    ("icontains_multi", "5", [F, F, F, T, F, F, F]),
    ("not_icontains_multi", "pr", [F, F, F, T, T, T, F]),
    ("regex", "^p", [T, F, F, F, F, F, F]),
    ("regex", "(?i)^p", [T, F, F, F, F, F, T]),
    ("regex", "^\\d$", [F, F, F, T, F, F, F]),
    ("regex", ["^p", "^t"], [T, F, F, F, F, T, F]),  # OR over members
    ("not_regex", "^p", [F, T, T, T, T, T, T]),
    ("not_regex", ["^p", "^t"], [F, T, T, T, T, F, T]),  # AND over members
    ("gt", "a", [T, F, F, F, F, T, F]),  # lexicographic on the text
    ("gte", "pro", [T, F, F, F, F, T, F]),
    ("lt", "a", [F, F, F, T, T, F, T]),
    ("lte", "5", [F, F, F, T, T, F, F]),
    ("min", "pro", [T, F, F, F, F, T, F]),
    ("max", "5", [F, F, F, T, T, F, F]),
    ("gt", ["x", "s"], [F, F, F, F, F, T, F]),
    ("between", ["1", "9"], [F, F, F, T, F, F, F]),
    ("not_between", ["1", "9"], [T, F, F, F, T, T, T]),  # NULL → FALSE
    ("is_set", None, [T, F, F, T, T, T, T]),
    ("is_not_set", None, [F, T, T, F, F, F, F]),
    ("in", ["pro", "x"], [T, F, F, F, F, F, F]),
    ("not_in", ["pro", "x"], [F, T, T, T, T, T, T]),
    ("is_cleaned_path_exact", "pro", [T, F, F, F, F, F, F]),
    ("flag_evaluates_to", None, [T, T, T, T, T, T, T]),
]


@pytest.mark.parametrize(("op", "value", "expected"), UNTYPED, ids=[f"{o}-{v!r}" for o, v, _ in UNTYPED])
def test_untyped_truth_table(op, value, expected):
    assert mask(ROWS, leaf("p", op, value)) == expected


def test_every_declared_operator_has_an_implementation():
    assert set(KNOWN_OPERATORS) <= set(OPERATORS)
    assert set(IMPLEMENTATIONS) == set(OPERATORS)
    for name in OPERATORS:
        assert isinstance(IMPLEMENTATIONS[name].null, bool)


def test_default_operator_is_exact():
    assert mask(ROWS, [{"key": "p", "value": "pro"}]) == [T, F, F, F, F, F, F]


def test_json_escapes_are_kept():
    rows = [{"p": 'a"b'}, {"p": "x\ny"}]
    assert mask(rows, leaf("p", "exact", 'a"b')) == [F, F]
    assert mask(rows, leaf("p", "exact", 'a\\"b')) == [T, F]
    assert mask(rows, leaf("p", "exact", "x\\ny")) == [F, T]


def test_numbers_keep_their_text():
    rows = [{"n": 1}, {"n": 1.0}, {"n": "1"}, {"n": 1.5}]
    assert mask(rows, leaf("n", "exact", "1")) == [T, F, T, F]
    assert mask(rows, leaf("n", "exact", "1.0")) == [F, T, F, F]


def test_numeric_constant_against_untyped_property_is_an_error():
    with pytest.raises(tc.ValidationError) as e:
        mask(ROWS, leaf("p", "exact", 5))
    assert e.value.path == ("properties", 0, "value")
    with pytest.raises(tc.ValidationError):
        mask(ROWS, leaf("p", "gt", 5))
    with pytest.raises(tc.ValidationError):
        mask(ROWS, leaf("p", "between", [1, 9]))


def test_icontains_wildcards_and_multi_literal():
    rows = [{"p": "AXB"}, {"p": "a_b"}, {"p": "50"}, {"p": "x"}]
    assert mask(rows, leaf("p", "icontains", "a_b")) == [T, T, F, F]
    assert mask(rows, leaf("p", "icontains", ["a_b", "zz"])) == [F, T, F, F]
    assert mask(rows, leaf("p", "icontains", "50%")) == [F, F, T, F]
    assert mask(rows, leaf("p", "icontains", "a\\_b")) == [F, T, F, F]  # escaped wildcard


def test_icontains_number_searches_pydantic_float_text():
    rows = [{"p": 5}, {"p": 15.05}, {"p": "5.0"}]
    assert mask(rows, leaf("p", "icontains", 5)) == [F, T, T]  # 5 → 5.0 → "%5.0%"


def test_icontains_empty_list_searches_brackets():
    rows = [{"p": "[]"}, {"p": "x"}]
    assert mask(rows, leaf("p", "icontains", [])) == [T, F]


def test_icontains_unicode_case_folding():
    assert mask([{"p": "ÄBC"}, {"p": "abc"}], leaf("p", "icontains", "äb")) == [T, F]


def test_numeric_definition():
    rows = [{"c": 9}, {"c": 10}, {"c": "10"}, {"c": "abc"}, {}, {"c": None}, {"c": ""}]
    project = {"property_definitions": [{"name": "c", "type": "Numeric"}]}
    assert mask(rows, leaf("c", "gt", 9), project=project) == [F, T, T, F, F, F, F]
    assert mask(rows, leaf("c", "gt", "9"), project=project) == [F, T, T, F, F, F, F]
    assert mask(rows, leaf("c", "exact", "10"), project=project) == [F, T, T, F, F, F, F]
    assert mask(rows, leaf("c", "is_not", 10), project=project) == [T, F, F, T, T, T, T]
    assert mask(rows, leaf("c", "is_set", None), project=project) == [T, T, T, F, F, F, F]
    assert mask(rows, leaf("c", "between", [9, 9.5]), project=project) == [T, F, F, F, F, F, F]
    assert mask(rows, leaf("c", "not_between", [9, 9.5]), project=project) == [F, T, T, F, F, F, F]
    assert mask(rows, leaf("c", "exact", [9, "10"]), project=project) == [T, T, T, F, F, F, F]
    assert mask(rows, leaf("c", "icontains", "1"), project=project) == [F, T, T, F, F, F, F]  # toString(10.0) = "10"
    with pytest.raises(tc.ValidationError):
        mask(rows, leaf("c", "exact", "abc"), project=project)


def test_untyped_numbers_as_strings_compare_as_text():
    rows = [{"c": 9}, {"c": 10}, {"c": "10"}, {"c": "abc"}]
    assert mask(rows, leaf("c", "gt", "9")) == [F, F, F, T]


def test_boolean_definition():
    rows = [{"b": True}, {"b": "true"}, {"b": "True"}, {"b": "yes"}, {}, {"b": False}]
    typed = {"property_definitions": [{"name": "b", "type": "Boolean"}]}
    assert mask(rows, leaf("b", "exact", "true")) == [T, T, F, F, F, F]
    assert mask(rows, leaf("b", "exact", "true"), project=typed) == [T, T, F, F, F, F]
    assert mask(rows, leaf("b", "exact", True), project=typed) == [T, T, F, F, F, F]
    assert mask(rows, leaf("b", "is_not", "true"), project=typed) == [F, F, T, T, T, T]
    assert mask(rows, leaf("b", "is_set", None), project=typed) == [T, T, F, F, F, T]
    assert mask(rows, leaf("b", "exact", False), project=typed) == [F, F, F, F, F, T]
    with pytest.raises(tc.ValidationError):
        mask(rows, leaf("b", "exact", "yes"), project=typed)


def test_datetime_definition():
    rows = [{"t": "2020-01-01 10:00:00"}, {"t": "2020-01-02T00:00:00Z"}, {"t": "garbage"},
            {"t": 1577836800}, {}, {"t": "2020-01-01"}]
    typed = {"property_definitions": [{"name": "t", "type": "DateTime"}]}
    assert mask(rows, leaf("t", "gt", "2020-01-01"), project=typed) == [T, T, F, F, F, F]
    assert mask(rows, leaf("t", "exact", "2020-01-01"), project=typed) == [F, F, F, T, F, T]
    assert mask(rows, leaf("t", "is_set", None), project=typed) == [T, T, F, T, F, T]
    assert mask(rows, leaf("t", "lt", "2020-01-01 10:00:00"), project=typed) == [F, F, F, T, F, T]
    with pytest.raises(tc.ValidationError):  # ISO with T/Z fails upstream on generic operators
        mask(rows, leaf("t", "gt", "2020-01-01T00:00:00Z"), project=typed)


def test_datetime_definition_reads_naive_text_in_project_timezone():
    rows = [{"t": "2020-01-01 10:00:00"}, {"t": "2020-01-01T10:00:00Z"}]
    typed = {"timezone": "Europe/Berlin", "property_definitions": [{"name": "t", "type": "DateTime"}]}
    assert mask(rows, leaf("t", "exact", "2020-01-01 10:00:00"), project=typed) == [T, F]
    assert mask(rows, leaf("t", "exact", "2020-01-01 11:00:00"), project=typed) == [F, T]


def test_is_date_operators():
    rows = [{"d": "2020-01-01"}, {"d": "2020-01-05T12:00:00Z"}, {"d": "2020-01-09 13:00:00"},
            {"d": "nope"}, {}, {"d": 1578657600}]  # last = 2020-01-10T12:00:00Z
    assert mask(rows, leaf("d", "is_date_before", "2020-01-02")) == [T, F, F, F, F, F]
    assert mask(rows, leaf("d", "is_date_after", "2020-01-02")) == [F, T, T, F, F, T]
    assert mask(rows, leaf("d", "is_date_exact", "2020-01-01")) == [T, F, F, F, F, F]
    assert mask(rows, leaf("d", "is_date_exact", "2020-01-05T12:00:00Z")) == [F, T, F, F, F, F]
    # relative: now = 2020-01-10T12:00:00Z; -7d = 2020-01-03 12:00 (no truncation)
    assert mask(rows, leaf("d", "is_date_after", "-7d")) == [F, T, T, F, F, T]
    assert mask(rows, leaf("d", "is_date_after", "-1d")) == [F, F, T, F, F, T]
    assert mask(rows, leaf("d", "is_date_before", "-10M")) == [T, T, T, F, F, F]  # minutes
    assert mask(rows, leaf("d", "is_date_after", ["2020-01-09", "2020-01-04"])) == [F, T, T, F, F, T]


def test_is_date_relative_in_project_timezone():
    rows = [{"d": "2020-01-03 10:00:00"}, {"d": "2020-01-03 12:30:00"}]
    # now 2020-01-10T12:00Z = 13:00 in Berlin; -7d = 2020-01-03 13:00 Berlin wall clock;
    # naive property text is Berlin time too
    project = {"timezone": "Europe/Berlin"}
    assert mask(rows, leaf("d", "is_date_after", "-7d"), project=project) == [F, F]
    assert mask(rows, leaf("d", "is_date_after", "-7d")) == [F, T]


def test_is_date_rejects_bad_values_at_parse_time():
    with pytest.raises(tc.ValidationError) as e:
        tc.parse_filter({"events": [{"id": "e"}], "properties": leaf("d", "is_date_before", "yesterday-ish")})
    assert e.value.path == ("properties", 0, "value")
    with pytest.raises(tc.ValidationError):
        tc.parse_filter({"events": [{"id": "e"}], "properties": leaf("d", "is_date_before", 5)})


def test_semver_operators():
    rows = [{"v": "1.2.3"}, {"v": "v1.10.0"}, {"v": "1.2"}, {"v": "2.0.0-beta.1"}, {}, {"v": "0.0.5"}]
    assert mask(rows, leaf("v", "semver_eq", "1.2.3")) == [T, F, F, F, F, F]
    assert mask(rows, leaf("v", "semver_neq", "1.2.3")) == [F, T, F, T, F, T]  # invalid → FALSE
    assert mask(rows, leaf("v", "semver_gt", "1.2.3")) == [F, T, F, T, F, F]
    assert mask(rows, leaf("v", "semver_gte", "1.2.3")) == [T, T, F, T, F, F]
    assert mask(rows, leaf("v", "semver_lt", "1.2.3")) == [F, F, F, F, F, T]
    assert mask(rows, leaf("v", "semver_lte", "2.0.0")) == [T, T, F, T, F, T]  # pre-release ignored
    assert mask(rows, leaf("v", "semver_tilde", "1.2.0")) == [T, F, F, F, F, F]
    assert mask(rows, leaf("v", "semver_tilde", "1")) == [T, T, F, F, F, F]
    assert mask(rows, leaf("v", "semver_caret", "1.2.3")) == [T, T, F, F, F, F]
    assert mask(rows, leaf("v", "semver_caret", "0.0.5")) == [F, F, F, F, F, T]
    assert mask(rows, leaf("v", "semver_wildcard", "1.*")) == [T, T, F, F, F, F]
    assert mask(rows, leaf("v", "semver_wildcard", "1.10.*")) == [F, T, F, F, F, F]
    with pytest.raises(tc.ValidationError):
        tc.parse_filter({"events": [{"id": "e"}], "properties": leaf("v", "semver_tilde", "x.y")})


def test_semver_reads_versions_as_re2_does():
    """sortableSemver is an RE2 extract: a no-break space or a non-ASCII digit is no version, and
    range bounds are the parts as written, so "01.2.3" makes a bound that is no version."""
    rows = [{"v": "1.2.3\u00a0"}, {"v": "1.\u0662.3"}, {"v": " v1.2.3 "}, {"v": "1.2.5"}]
    assert mask(rows, leaf("v", "semver_gte", "1.0.0")) == [F, F, T, T]
    assert mask(rows, leaf("v", "semver_tilde", "1.2.3")) == [F, F, T, T]
    assert mask(rows, leaf("v", "semver_tilde", "01.2.3")) == [F, F, F, F]
    assert mask(rows, leaf("v", "semver_caret", "01.2.3")) == [F, F, F, F]
    assert mask(rows, leaf("v", "semver_wildcard", "1.02.*")) == [F, F, F, F]
    assert mask(rows, leaf("v", "semver_wildcard", "1.2.3.*")) == [F, F, F, F]  # 4-part bounds


def test_numbers_and_dates_are_ascii_digits_only():
    rows = [{"n": "\uff11\uff10", "d": "\uff12024-03-10"}, {"n": "10", "d": "2024-03-10"}]
    project = {"property_definitions": [{"name": "n", "type": "Numeric"}, {"name": "d", "type": "DateTime"}]}
    assert mask(rows, leaf("n", "is_set"), project=project) == [F, T]
    assert mask(rows, leaf("d", "is_set"), project=project) == [F, T]
    assert mask(rows, leaf("d", "is_date_after", "2024-03-01")) == [F, T]


def test_relative_is_date_values_are_whole_seconds():
    rows = [{"d": "2024-03-08 10:00:00"}]
    now = dt.datetime(2024, 3, 15, 10, 0, 0, 500_000, tzinfo=dt.timezone.utc)
    assert mask(rows, leaf("d", "is_date_exact", "-7d"), now=now) == [T]


def test_is_cleaned_path_exact_applies_project_rules():
    rows = [{"u": "/user/123/settings"}, {"u": "/user/9/settings"}, {"u": "/user/settings"}]
    project = {"path_cleaning_filters": [{"regex": "/user/\\d+", "alias": "/user/<id>"}]}
    assert mask(rows, leaf("u", "is_cleaned_path_exact", "/user/5/settings"), project=project) == [T, T, F]
    assert mask(rows, leaf("u", "is_cleaned_path_exact", "/user/5/settings")) == [F, F, F]


def test_between_and_in_operands_checked_at_parse_time():
    base = {"events": [{"id": "e"}]}
    for bad in ([1], [2, 1], ["a", "b"], 5):
        with pytest.raises(tc.ValidationError) as e:
            tc.parse_filter({**base, "properties": leaf("p", "between", bad)})
        assert e.value.path == ("properties", 0, "value")
    for bad in ("a", ["a"]):
        with pytest.raises(tc.ValidationError):
            tc.parse_filter({**base, "properties": leaf("p", "not_in", bad)})
    tc.parse_filter({**base, "properties": leaf("p", "in", ["a", "b"])})


def test_unknown_operator_is_a_validation_error_with_a_hint():
    with pytest.raises(tc.ValidationError) as e:
        tc.parse_filter({"events": [{"id": "e"}], "properties": leaf("p", "icontain", "x")})
    assert "icontains" in e.value.message
    assert not isinstance(e.value, tc.UnsupportedError)


def test_test_account_filters_are_not_pydantic_coerced():
    rows = [{"p": 5}, {"p": "5.0"}]
    store = tc.EventStore.from_records(events_of(rows))
    query = {"events": [{"id": "e"}], "date_from": "2019-12-31", "date_to": "2020-01-02", "interval": "day",
             "filter_test_accounts": True}
    raw = tc.Project(test_account_filters=[{"key": "p", "operator": "icontains", "value": 5}], infer_property_types=False)
    counts = tc.trends(store, query, project=raw, now="2020-01-02T00:00:00Z").to_dicts()[0]["count"]
    assert counts == 2  # "%5%" matches both
    coerced = {**query, "filter_test_accounts": False, "properties": [{"key": "p", "operator": "icontains", "value": 5}]}
    counts = tc.trends(store, coerced, project=raw, now="2020-01-02T00:00:00Z").to_dicts()[0]["count"]
    assert counts == 1  # "%5.0%" matches only "5.0"


def test_mistyped_constant_fails_whatever_the_data():
    # found by tests/property: `is_not "Chrome"` on a Numeric property failed only when some
    # value of the property was non-NULL; upstream fails while compiling the query.
    project = tc.Project(property_definitions=[{"name": "plan", "type": "Numeric", "kind": "event"}])
    q = {"events": [{"id": "a"}], "properties": [{"key": "plan", "operator": "is_not", "value": "Chrome"}]}
    for props in ({}, {"plan": 5}):
        store = tc.EventStore.from_records([{"event": "a", "distinct_id": "u", "timestamp": "2024-03-14T10:00:00Z",
                                             "properties": props}])
        with pytest.raises(tc.ValidationError):
            tc.trends(store, q, project=project, now="2024-03-15T10:00:00Z")
