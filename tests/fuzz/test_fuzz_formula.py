"""Fuzz the formula parser with arbitrary text (it is hand-written, never ``eval``): every text is
an expression tree within the limits or a ValidationError naming the formula's path; a parsed tree
evaluates over series without raising; and formulas inside queries behave the same way."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import trendcalc as tc
from trendcalc.formula import depth, evaluate, parse_formula, series_refs
from trendcalc.formula.parser import clean_legacy_formula

from . import world
from .support import check_result, fuzz_settings, safely

FORMULA_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcz0123456789_.eExXoObBj+-*/%()^&|~<>=!@ \t\n,;'\"[]{}$#\\:"
PIECES = ["A", "B", "C", "Z", "a", "1", "0", "2.5", ".5", "5.", "1e3", "1e999", "1_000", "0x1f", "0o7", "0b1",
          "01", "1j", "+", "-", "*", "/", "%", "**", "//", "(", ")", " ", "^", "==", "A(", "lambda", "__import__",
          "().__class__", "'{}'.format", "\x00", "\u202e", "💥", "١", "ｱ"]  # fmt: skip
texts = st.one_of(
    st.text(alphabet=FORMULA_CHARS, max_size=60),
    st.lists(st.sampled_from(PIECES), max_size=30).map("".join),
    st.text(max_size=40),
    st.integers(0, 3_000).map(lambda n: "(" * n + "A" + ")" * n),
    st.integers(0, 3_000).map(lambda n: "-" * n + "A"),
    st.integers(0, 3_000).map(lambda n: "A" + "**A" * n),
    st.integers(0, 3_000).map(lambda n: "+".join(["A"] * n)),
)
LIMITS = st.sampled_from([(1_000, 64), (20, 5), (5_000, 500), (100_000, 10_000)])


@fuzz_settings(2_500)
@given(texts, LIMITS)
def test_parse_formula_arbitrary_text(text: str, limits: tuple[int, int]) -> None:
    max_length, max_depth = limits
    expr = safely(lambda: parse_formula(text, path=("formula",), max_length=max_length, max_depth=max_depth))
    if expr is None:
        return
    assert len(text) <= max_length
    assert depth(expr) <= max_depth
    refs = series_refs(expr)
    series = [np.array([0.0, 1.0, -2.0, 1e308, np.nan]) for _ in range(max(refs, default=-1) + 1)]
    out = safely(lambda: evaluate(expr, series))
    assert out is not None and out.shape == ((5,) if series else (0,))
    cleaned = clean_legacy_formula(text)
    assert cleaned is None or set(cleaned) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -*^+/().")


@fuzz_settings(400)
@given(texts, st.booleans())
def test_formulas_in_queries(text: str, as_trends_query: bool) -> None:
    events = [{"id": "$pageview"}, {"id": "sign up", "math": "dau"}, {"id": "purchase"}]
    if as_trends_query:
        query = {"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": e["id"], **({"math": e["math"]} if "math" in e else {})} for e in events],
                 "trendsFilter": {"formula": text}, "dateRange": {"date_from": "-14d"}}  # fmt: skip
    else:
        query = {"events": events, "formula": text, "date_from": "-14d"}
    result = safely(lambda: tc.trends(world.STORE, query, project=world.PROJECT, now=world.NOW))
    if result is not None:
        check_result(result)
