"""The conformance harness's own assertion ops."""

from __future__ import annotations

import pytest

from .harness import check

ROWS = [[{"distinct_ids": ["b", "anon"]}, None, 2], [{"distinct_ids": ["a"]}, None, 1]]


def test_field_sorted_eq_reads_a_key_of_each_series():
    check([{"label": "x"}, {"label": "y"}], {"path": [], "op": "field_sorted_eq", "field": "label", "value": ["y", "x"]})


def test_field_sorted_eq_reads_a_path_into_each_row():
    # actors rows are lists: a list "field" is a path into each row, order ignored
    check(ROWS, {"path": [], "op": "field_sorted_eq", "field": [0, "distinct_ids", 0], "value": ["a", "b"]})
    check(ROWS, {"path": [], "op": "field_sorted_eq", "field": [0, "distinct_ids"], "value": [["a"], ["b", "anon"]]})
    with pytest.raises(AssertionError):
        check(ROWS, {"path": [], "op": "field_sorted_eq", "field": [0, "distinct_ids", 0], "value": ["a", "c"]})
    with pytest.raises(AssertionError):  # a multiset: counts matter
        check(ROWS, {"path": [], "op": "field_sorted_eq", "field": [2], "value": [1, 1]})
