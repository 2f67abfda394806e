"""Evaluate a HogQL tree on Python scalars (one distinct input at a time).

``leaf(node)`` supplies the value of every ``Field`` (and of every aggregate ``Call`` when the
tree is an aggregate expression evaluated per cell). Post-order with an explicit stack, so a
long ``a + b + c + ...`` chain cannot exhaust Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .ast import Call, Const, Expr
from .functions import AGGREGATES, SCALARS


def evaluate(expr: Expr, leaf: Callable[[Expr], Any]) -> Any:
    """The value of ``expr``; ``leaf`` answers fields and aggregate calls."""
    values: dict[int, Any] = {}
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if isinstance(node, Const):
            values[id(node)] = node.value
        elif isinstance(node, Call) and node.name not in AGGREGATES:
            if not expanded:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args)
                continue
            spec = SCALARS[node.name]
            args = [values[id(a)] for a in node.args]
            values[id(node)] = None if not spec.nulls and any(a is None for a in args) else spec.fn(*args)
        else:
            values[id(node)] = leaf(node)
    return values[id(expr)]
