"""Example-based tests for formula evaluation: PostHog's arithmetic rules on NumPy arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trendcalc.errors import ValidationError
from trendcalc.formula import Binary, Number, SeriesRef, Unary, check_refs, evaluate, parse_formula

pytestmark = pytest.mark.filterwarnings("error")  # no NumPy floating-point warning may escape


def run(text: str, *series: list[float]) -> list[float]:
    out = evaluate(parse_formula(text), [np.array(s, dtype=float) for s in series])
    assert out.dtype == np.float64
    return out.tolist()


def test_posthog_examples() -> None:
    # trends tests: B/A is not rounded; A+2*B is point-wise.
    assert run("B/A", [3], [1]) == [1 / 3]
    assert run("A+2*B", [1, 0, 1, 1], [0, 0, 1, 2]) == [1, 0, 3, 5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A+2*B", [7.0, 0.0]),
        ("(A+B)*C", [20.0, -2.0]),
        ("A-B-C", [-7.0, 5.0]),
        ("A-(B-C)", [3.0, 1.0]),
        ("2**3**2", [512.0, 512.0]),
        ("(2**3)**2", [64.0, 64.0]),
        ("-A**2", [-1.0, -4.0]),
        ("(-A)**2", [1.0, 4.0]),
        ("--A", [1.0, 2.0]),
        ("-+-A", [1.0, 2.0]),
        ("+A", [1.0, 2.0]),
        ("A**-1", [1.0, 0.5]),
        ("C/B", [5 / 3, 2.0]),
        ("C%B", [2.0, 0.0]),
        ("2.5e1 + .5", [25.5, 25.5]),
    ],
)
def test_values(text: str, expected: list[float]) -> None:
    assert run(text, [1, 2], [3, -1], [5, -2]) == expected


def test_modulo_follows_python_floor_semantics() -> None:
    a = [7, -7, 7, -7, 7.5, -0.5, 0]
    b = [3, 3, -3, -3, 2, 1, 5]
    assert run("A%B", a, b) == [1.0, 2.0, -2.0, -1.0, 1.5, 0.5, 0.0]
    assert run("A%B", a, b) == [x % y for x, y in zip(a, b, strict=True)]


def test_division_and_modulo_by_zero_give_zero() -> None:
    a = [1, -1, 0, 5, 6]
    b = [0, 0, 0, 2, -0.0]
    assert run("A/B", a, b) == [0.0, 0.0, 0.0, 2.5, 0.0]
    assert run("A%B", a, b) == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert run("A/(B-B) + 1", a, b) == [1.0] * 5
    assert run("1/0 + 7%0", [1]) == [0.0]


def test_power_edge_cases() -> None:
    base = [0, 0, 0, 2, -8, -2, 4, 10, -10, -10, 10, 0]
    expo = [-1, -0.5, 0, 0.5, 1 / 3, 3, 0.5, 400, 401, 400.5, -400, 0]
    out = run("A**B", base, expo)
    assert out[:4] == [0.0, 0.0, 1.0, math.sqrt(2)]  # 0**negative → 0, as PostHog catches it
    assert math.isnan(out[4])  # Python gives a complex number here
    assert out[5:7] == [-8.0, 2.0]
    assert out[7:9] == [math.inf, -math.inf]  # Python raises OverflowError; we give ±inf
    assert math.isnan(out[9])  # overflow on the way to a complex number
    assert out[10] == 10.0**-400  # underflow is silent in Python too
    assert out[11] == 1.0


def test_power_matches_python_to_the_last_bit() -> None:
    rng = np.random.default_rng(7)
    a = rng.uniform(0, 100, 500)
    b = rng.uniform(-10, 10, 500)
    assert run("A**B", a.tolist(), b.tolist()) == [x**y for x, y in zip(a.tolist(), b.tolist())]
    assert run("A**-5", [10.0]) == [1e-05]


def test_nan_and_inf_inputs_follow_ieee_rules() -> None:
    out = run("A+1", [math.nan, math.inf])
    assert math.isnan(out[0]) and out[1] == math.inf
    assert run("A/B", [math.nan], [0]) == [0.0]  # ZeroDivisionError wins, as in Python
    assert run("A**0", [math.nan]) == [1.0]


def test_series_are_cut_to_the_shortest() -> None:
    assert run("A+B", [1, 2, 3], [10, 20]) == [11.0, 22.0]
    # PostHog zips every series, including ones the formula does not mention.
    assert run("A*2", [1, 2, 3], [0]) == [2.0]
    assert run("2", [1, 2, 3], [1, 1]) == [2.0, 2.0]


def test_scalars_are_length_one_arrays() -> None:
    assert run("A/B*100", [25], [200]) == [12.5]


def test_constant_formula_without_series_is_empty() -> None:
    out = evaluate(parse_formula("1+1"), [])
    assert out.dtype == np.float64 and out.shape == (0,)


def test_accepts_lists_and_int_arrays_and_does_not_alias_inputs() -> None:
    a = np.array([1, 2, 3], dtype=np.int64)
    out = evaluate(parse_formula("A"), [a])
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0, 3.0]
    b = np.array([1.0, 2.0])
    out = evaluate(parse_formula("+A"), [b])
    out[0] = 99.0
    assert b.tolist() == [1.0, 2.0]
    assert evaluate(parse_formula("a*b"), [[1, 2], (3, 4)]).tolist() == [3.0, 8.0]


def test_hand_built_trees_evaluate() -> None:
    tree = Binary("-", Unary("-", SeriesRef(1, "b")), Number(0.5))
    assert evaluate(tree, [np.zeros(2), np.array([1.0, -1.0])]).tolist() == [-1.5, 0.5]


def test_very_deep_hand_built_tree_does_not_recurse() -> None:
    tree = SeriesRef(0, "A")
    for _ in range(20_000):
        tree = Binary("+", tree, Number(1))
    assert evaluate(tree, [np.array([0.0, 1.0])]).tolist() == [20_000.0, 20_001.0]


def test_check_refs() -> None:
    check_refs(parse_formula("A+B"), 2)
    check_refs(parse_formula("1+2"), 0)
    with pytest.raises(ValidationError) as info:
        check_refs(parse_formula("A + D*C"), 2)
    assert info.value.path == ("formula",)
    assert info.value.message == "formula references series D at position 4 but only 2 series exist"
    with pytest.raises(ValidationError) as info:
        check_refs(parse_formula("b"), 1, path=("formulaNodes", 1, "formula"))
    assert info.value.path == ("formulaNodes", 1, "formula")
    assert (
        info.value.message == "formula references series B at position 0 but only 1 series exists"
    )


def test_evaluate_checks_refs_itself() -> None:
    with pytest.raises(ValidationError, match="references series C at position 2 but only 2"):
        evaluate(parse_formula("A+C"), [np.ones(1), np.ones(1)])


def test_series_must_be_one_dimensional() -> None:
    with pytest.raises(
        ValidationError, match=r"series 0 must be one-dimensional \(got shape \(\)\)"
    ):
        evaluate(parse_formula("A"), [np.float64(1.0)])
    with pytest.raises(ValidationError, match="series 1 must be one-dimensional"):
        evaluate(parse_formula("A"), [np.ones(2), np.ones((2, 2))])
