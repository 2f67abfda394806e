"""Trends formulas (``"A + 2*B"``): parse safely, check the letters, evaluate over series.

Typical use::

    expr = parse_formula(query.formula, path=("formula",))
    check_refs(expr, len(series_data))
    data = evaluate(expr, series_data)

Text is parsed by a hand-written parser (never ``eval``); see :mod:`.parser` for the grammar
and :mod:`.evaluate` for the arithmetic rules (division by zero gives 0, and so on).
Note that the package attribute ``evaluate`` is the function, which hides the submodule of
the same name; ``from trendcalc.formula.evaluate import ...`` still reaches the module.
"""

from trendcalc.formula.ast import Binary, Expr, Number, SeriesRef, Unary, depth, series_refs
from trendcalc.formula.evaluate import check_refs, evaluate
from trendcalc.formula.parser import clean_legacy_formula, parse_formula

__all__ = [
    "Binary",
    "Expr",
    "Number",
    "SeriesRef",
    "Unary",
    "check_refs",
    "clean_legacy_formula",
    "depth",
    "evaluate",
    "parse_formula",
    "series_refs",
]
