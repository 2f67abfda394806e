"""Hypothesis properties for the formula engine.

1. Random trees rendered to text (minimal parentheses, random spacing, case and literal forms)
   parse back to the same tree, and evaluate exactly like a naive per-point Python evaluation
   with PostHog's rule (``ZeroDivisionError`` → 0).
2. Arbitrary text only ever parses or raises ``ValidationError``, quickly.
3. Differential test against a stand-in for PostHog itself: Python's ``ast.parse`` plus
   PostHog's node whitelist. This is the *test oracle only*; the library never calls it.
"""

from __future__ import annotations

import ast as pyast
import math
import operator
import random
import re
import warnings
from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from trendcalc.errors import ValidationError
from trendcalc.formula import (
    Binary,
    Expr,
    Number,
    SeriesRef,
    Unary,
    check_refs,
    depth,
    evaluate,
    parse_formula,
)

N_SERIES = 3
PY_OPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
    "**": operator.pow,
}
FAST = settings(deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])

# --- 1. trees → text → tree, and evaluation against a per-point reference -------------------

literal_values = st.one_of(
    st.integers(0, 12).map(float),
    st.sampled_from([0.5, 0.25, 1e-3, 1e16, 1024.0]),
    st.floats(0, 1e3, allow_nan=False, allow_infinity=False),
)
leaves = st.one_of(
    literal_values.map(Number),
    st.integers(0, N_SERIES - 1).map(lambda i: SeriesRef(i, chr(ord("A") + i))),
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        st.builds(Unary, st.sampled_from(["+", "-"]), children),
        st.builds(Binary, st.sampled_from(sorted(PY_OPS)), children, children),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)
point_values = st.one_of(
    st.integers(-4, 4).map(float),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@st.composite
def aligned_series(draw: st.DrawFn) -> list[np.ndarray]:
    length = draw(st.integers(1, 5))
    return [np.array(draw(st.lists(point_values, min_size=length, max_size=length)))
            for _ in range(N_SERIES)]  # fmt: skip


def _precedence(node: Expr) -> int:
    if isinstance(node, Binary):
        return {"+": 1, "-": 1, "*": 2, "/": 2, "%": 2}.get(node.op, 4)
    return 3 if isinstance(node, Unary) else 5


def _literal(value: float, rnd: random.Random) -> str:
    if value.is_integer() and value < 1e15:
        n = int(value)
        return rnd.choice([str(n), f"{n}.0", f"{n}.", f"{n}e0", f"{n:_}", f"{n:#x}", f"{n:#b}"])
    text = repr(value)
    return text[1:] if text.startswith("0.") and rnd.random() < 0.5 else text


def render(node: Expr, rnd: random.Random) -> str:
    """Python-style text for ``node``, adding only the parentheses precedence requires."""

    def space() -> str:
        return rnd.choice(["", "", " ", "  ", "\t"])

    def sub(child: Expr, needs_parens: bool) -> str:
        text = render(child, rnd)
        if needs_parens or rnd.random() < 0.1:
            return f"({space()}{text}{space()})"
        return text

    if isinstance(node, Number):
        return _literal(node.value, rnd)
    if isinstance(node, SeriesRef):
        return node.letter if rnd.random() < 0.5 else node.letter.lower()
    if isinstance(node, Unary):
        return node.op + space() + sub(node.operand, _precedence(node.operand) < 3)
    own = _precedence(node)
    if node.op == "**":  # right-associative; the exponent may be a unary expression
        left_parens, right_parens = _precedence(node.left) <= 4, _precedence(node.right) < 3
    else:
        left_parens, right_parens = _precedence(node.left) < own, _precedence(node.right) <= own
    return (sub(node.left, left_parens) + space() + node.op + space()
            + sub(node.right, right_parens))  # fmt: skip


class Undefined(Exception):
    """Python overflowed or left the reals; PostHog would fail, so the point is not compared."""


def reference(node: Expr, point: list[float]) -> float:
    """The obvious recursive per-point evaluation with Python floats."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, SeriesRef):
        return point[node.index]
    if isinstance(node, Unary):
        value = reference(node.operand, point)
        return -value if node.op == "-" else value
    left, right = reference(node.left, point), reference(node.right, point)
    try:
        result = PY_OPS[node.op](left, right)
    except ZeroDivisionError:
        return 0.0
    except OverflowError:
        raise Undefined from None
    if isinstance(result, complex):
        raise Undefined
    return result


def assert_matches_reference(out: np.ndarray, tree: Expr, series: list[np.ndarray]) -> int:
    compared = 0
    for i, got in enumerate(out.tolist()):
        try:
            want = reference(tree, [float(s[i]) for s in series])
        except Undefined:
            continue
        assert got == want or (math.isnan(got) and math.isnan(want)), (i, got, want)
        compared += 1
    return compared


@settings(FAST, max_examples=300)
@given(tree=trees, rnd=st.randoms(use_true_random=False), series=aligned_series())
def test_rendered_trees_round_trip_and_match_reference(tree, rnd, series) -> None:
    assume(depth(tree) <= 64)
    text = render(tree, rnd)
    parsed = parse_formula(text)
    assert parsed == tree, text
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = evaluate(parsed, series)
    assert out.dtype == np.float64 and out.shape == series[0].shape
    compared = assert_matches_reference(out, tree, series)
    event("all points compared" if compared == len(out) else "some points undefined in Python")


@FAST
@given(tree=trees, series=aligned_series())
def test_single_points_equal_the_whole_array(tree, series) -> None:
    whole = evaluate(tree, series)
    for i in range(len(whole)):
        single = evaluate(tree, [s[i : i + 1] for s in series])  # total-value displays
        np.testing.assert_array_equal(single, whole[i : i + 1])


# --- 2. fuzzing: arbitrary text only ever yields a tree or a ValidationError ------------------

formula_chars = st.text(alphabet="aBzZ019._eExX+-*/%()^<=!&, \t\n#é", max_size=60)
POSITION = re.compile(r"position (\d+)")


def check_parse_outcome(text: str, **kwargs) -> None:
    try:
        expr = parse_formula(text, **kwargs)
    except ValidationError as error:
        assert error.path == ("formula",)
        if error.message not in ("formula is empty", "formula nests too deeply"):
            found = POSITION.search(error.message)
            assert found and 0 <= int(found.group(1)) <= len(text), error.message
        return
    assert depth(expr) <= kwargs.get("max_depth", 64)
    check_refs(expr, 26)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = evaluate(expr, [np.array([0.0, -1.5])] * 26)
    assert out.shape == (2,)


@settings(FAST, max_examples=300)
@given(text=st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_validation_error(text: str) -> None:
    check_parse_outcome(text)


@settings(FAST, max_examples=500)
@given(text=formula_chars)
def test_formula_like_text_parses_or_raises_validation_error(text: str) -> None:
    check_parse_outcome(text)


@FAST
@given(text=st.text(alphabet="()-+*a1", min_size=500, max_size=3000))
def test_long_text_is_bounded(text: str) -> None:
    check_parse_outcome(text, max_length=len(text))
    check_parse_outcome(text, max_length=len(text), max_depth=8)


# --- 3. differential test against PostHog's own approach (Python's parser) --------------------

SOUP = ["a", "B", "c", "e", "x", "j", "_", "2", "0", "1.5", ".5", "5.", "1e3", "1E-2", "0x1f",
        "0b1", "1_0", "+", "-", "*", "/", "%", "**", "(", ")", " ", "^", "<", "=", ","]  # fmt: skip
ALLOWED_OPS = {pyast.Add: "+", pyast.Sub: "-", pyast.Mult: "*", pyast.Div: "/", pyast.Mod: "%",
               pyast.Pow: "**"}  # fmt: skip


class Rejected(Exception):
    """PostHog would refuse this formula."""


def posthog_tree(text: str) -> Expr:
    """What PostHog accepts, as our tree: lower-case, ``ast.parse``, then its node whitelist.

    Leading whitespace is stripped first: Python calls it an IndentationError, trendcalc
    deliberately accepts it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            module = pyast.parse(text.lower().strip())
        except (SyntaxError, ValueError):
            raise Rejected from None
    if len(module.body) != 1 or not isinstance(module.body[0], pyast.Expr):
        raise Rejected
    return _convert(module.body[0].value)


def _convert(node: pyast.AST) -> Expr:
    if isinstance(node, pyast.BinOp) and type(node.op) in ALLOWED_OPS:
        return Binary(ALLOWED_OPS[type(node.op)], _convert(node.left), _convert(node.right))
    if isinstance(node, pyast.UnaryOp) and isinstance(node.op, pyast.USub | pyast.UAdd):
        return Unary("-" if isinstance(node.op, pyast.USub) else "+", _convert(node.operand))
    if isinstance(node, pyast.Constant) and type(node.value) in (int, float):
        try:
            return Number(float(node.value))
        except OverflowError:
            return Number(math.inf)
    if isinstance(node, pyast.Name) and re.fullmatch("[a-z]", node.id):
        return SeriesRef(ord(node.id) - ord("a"), node.id)
    raise Rejected


@settings(FAST, max_examples=1000)
@given(
    text=st.lists(st.sampled_from(SOUP), max_size=12).map("".join),
    series=st.lists(st.lists(point_values, min_size=2, max_size=2), min_size=26, max_size=26),
)
def test_accepts_exactly_what_posthog_accepts(text: str, series: list[list[float]]) -> None:
    try:
        expected = posthog_tree(text)
    except Rejected:
        expected = None
    try:
        got = parse_formula(text)
    except ValidationError:
        got = None
    assert got == expected, text
    event("rejected by both" if got is None else "accepted by both")
    if got is not None:
        arrays = [np.array(s) for s in series]
        assert_matches_reference(evaluate(got, arrays), expected, arrays)
