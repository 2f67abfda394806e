"""Evaluate a formula tree element-wise over aligned series, with PostHog's arithmetic rules.

PostHog zips the series' ``data`` lists and evaluates the formula point by point with Python
operators, turning ``ZeroDivisionError`` into 0. This module does the same with NumPy, one
array operation per node:

- arrays of different lengths are cut to the shortest (``zip``); constants broadcast;
- ``x / 0``, ``x % 0`` and ``0 ** negative`` give 0 at that point (Python raises
  ``ZeroDivisionError`` for all three, and PostHog catches it);
- ``%`` is Python's floor modulo: the result takes the divisor's sign (``-7 % 3 == 2``);
- ``**`` is Python's float power, computed point by point so results match Python to the last
  bit (NumPy's vectorised power may not). Where Python would leave the reals (a negative base
  with a fractional exponent gives a complex number) the result is ``nan``; where Python raises
  ``OverflowError`` the result is ``inf`` or ``-inf`` (PostHog does not catch that error).

No floating-point warnings escape. The tree is walked with an explicit stack, not recursion.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trendcalc.errors import PathElem, ValidationError
from trendcalc.formula.ast import Binary, Expr, Number, SeriesRef, Unary, walk

Array = NDArray[np.float64]


def _divide(a: Array, b: Array) -> Array:
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def _modulo(a: Array, b: Array) -> Array:
    return np.remainder(a, b, out=np.zeros_like(a), where=b != 0)


def _power(a: Array, b: Array) -> Array:
    # Python's own float ** per point: NumPy's SIMD power can differ from libm in the last bit,
    # and PostHog's numbers come from Python.
    out = np.empty_like(a)
    for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        try:
            result = x**y
        except ZeroDivisionError:  # 0 ** negative; PostHog catches it
            result = 0.0
        except OverflowError:  # uncaught in PostHog (a 500); we give C pow's signed infinity
            if x < 0 and not y.is_integer():
                result = math.nan  # it overflowed on the way to a complex number
            else:
                result = -math.inf if x < 0 and y % 2 == 1 else math.inf
        out[i] = math.nan if isinstance(result, complex) else result
    return out


_BINARY: dict[str, Callable[[Array, Array], Array]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": _divide,
    "%": _modulo,
    "**": _power,
}


def check_refs(expr: Expr, n_series: int, *, path: Sequence[PathElem] = ("formula",)) -> None:
    """Raise if ``expr`` names a series letter beyond the ``n_series`` available.

    The first offending letter in the text is reported.

    Raises:
        ValidationError: e.g. "formula references series C at position 4 but only 2 series
            exist".
    """
    missing = [n for n in walk(expr) if isinstance(n, SeriesRef) and n.index >= n_series]
    if missing:
        ref = min(missing, key=lambda n: n.position)
        verb = "exists" if n_series == 1 else "exist"
        msg = (
            f"formula references series {ref.letter} at position {ref.position} "
            f"but only {n_series} series {verb}"
        )
        raise ValidationError(tuple(path), msg)


def evaluate(
    expr: Expr, series: Sequence[ArrayLike], *, path: Sequence[PathElem] = ("formula",)
) -> Array:
    """Evaluate ``expr`` point by point; ``series[0]`` is ``A``.

    Every series must be one-dimensional; a total value is passed as a length-1 array. The
    result is a new float64 array as long as the shortest series (empty if there are none).

    Raises:
        ValidationError: a letter has no series (see :func:`check_refs`).

    >>> from trendcalc.formula.parser import parse_formula
    >>> evaluate(parse_formula("A/B + 2*(A % B)"), [np.array([7, -7, 1]), np.array([3, 3, 0])])
    array([4.33333333, 1.66666667, 0.        ])
    """
    check_refs(expr, len(series), path=path)
    columns = [np.asarray(s, dtype=np.float64) for s in series]
    for i, column in enumerate(columns):
        if column.ndim != 1:
            msg = f"series {i} must be one-dimensional (got shape {column.shape})"
            raise ValidationError(tuple(path), msg)
    length = min((len(c) for c in columns), default=0)
    columns = [c[:length] for c in columns]

    # Post-order walk: a node is pushed once to expand its children, once more to combine them.
    values: list[Array] = []
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    with np.errstate(all="ignore"):
        while stack:
            node, expanded = stack.pop()
            if isinstance(node, Number):
                values.append(np.full(length, node.value))
            elif isinstance(node, SeriesRef):
                values.append(columns[node.index].copy())
            elif not expanded:
                stack.append((node, True))
                kids = (node.left, node.right) if isinstance(node, Binary) else (node.operand,)
                stack.extend((kid, False) for kid in reversed(kids))
            elif isinstance(node, Unary):
                values.append(-values.pop() if node.op == "-" else values.pop())
            else:
                right, left = values.pop(), values.pop()
                values.append(_BINARY[node.op](left, right))
    return values.pop()
