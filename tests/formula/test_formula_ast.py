"""Tests for the node classes, the tree helpers and the package's public surface."""

from __future__ import annotations

import doctest
import importlib

import attrs
import pytest

import trendcalc.formula as formula
from trendcalc.formula import Binary, Number, SeriesRef, Unary, depth, series_refs
from trendcalc.formula.ast import walk


def test_nodes_are_frozen_and_compare_without_position() -> None:
    a = SeriesRef(0, "A", position=3)
    assert a == SeriesRef(0, "a", position=9)
    assert hash(a) == hash(SeriesRef(0, "A"))
    assert Number(2) == Number(2.0) and isinstance(Number(2).value, float)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.index = 1  # type: ignore[misc]
    assert {Binary("+", a, Number(1)), Binary("+", SeriesRef(0, "A"), Number(1.0))} == {
        Binary("+", a, Number(1))
    }


@pytest.mark.parametrize(
    "build",
    [
        lambda: SeriesRef(0, "B"),
        lambda: SeriesRef(26, "["),
        lambda: SeriesRef(-1, "@"),
        lambda: Unary("*", Number(1)),
        lambda: Binary("^", Number(1), Number(2)),
        lambda: Binary("//", Number(1), Number(2)),
    ],
)
def test_invalid_nodes_are_rejected(build) -> None:
    with pytest.raises(ValueError):
        build()


def test_series_refs_and_depth() -> None:
    a, b, c = SeriesRef(0, "A"), SeriesRef(1, "B"), SeriesRef(2, "C")
    tree = Binary("*", Binary("+", a, Unary("-", c)), Binary("+", a, Number(2)))
    assert series_refs(tree) == frozenset({0, 2})
    assert series_refs(Number(1)) == frozenset()
    assert series_refs(b) == frozenset({1})
    assert depth(Number(1)) == 1
    assert depth(Unary("-", a)) == 2
    assert depth(tree) == 4
    assert [type(n).__name__ for n in walk(tree)] == [
        "Binary", "Binary", "SeriesRef", "Unary", "SeriesRef", "Binary", "SeriesRef", "Number",
    ]  # fmt: skip


def test_helpers_handle_very_deep_trees() -> None:
    tree = SeriesRef(0, "A")
    for i in range(50_000):
        tree = Unary("-", tree) if i % 2 else Binary("+", Number(1), tree)
    assert depth(tree) == 50_001
    assert series_refs(tree) == frozenset({0})


def test_public_api() -> None:
    assert sorted(formula.__all__) == [
        "Binary", "Expr", "Number", "SeriesRef", "Unary", "check_refs", "clean_legacy_formula",
        "depth", "evaluate", "parse_formula", "series_refs",
    ]  # fmt: skip
    for name in formula.__all__:
        assert getattr(formula, name) is not None


@pytest.mark.parametrize("module", ["ast", "parser", "evaluate"])
def test_docstring_examples(module: str) -> None:
    # importlib, because the package attribute ``evaluate`` is the function, not the module.
    result = doctest.testmod(importlib.import_module(f"trendcalc.formula.{module}"))
    assert result.attempted > 0 and result.failed == 0
