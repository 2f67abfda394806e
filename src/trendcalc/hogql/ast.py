"""The HogQL expression tree (the subset trendcalc evaluates): frozen, hashable nodes.

``position`` is the 0-based offset of the node's first token in the text it was parsed from;
it is left out of equality, so ``a+1`` and ``a + 1`` give equal trees. Aliases (``expr AS
name``) are dropped by the parser: they name a column and never change a value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs


@attrs.frozen
class Const:
    """A literal: int, float, str, bool or None (``NULL``)."""

    value: Any
    position: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen
class Field:
    """A field chain such as ``properties.$browser`` or ``person.properties.email``."""

    chain: tuple[str, ...]
    position: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen
class Call:
    """``name(args)``; ``params`` for parametric aggregates (``quantile(0.9)(x)``), ``distinct``
    for ``count(DISTINCT x)``. ``name`` is the canonical (registry) spelling."""

    name: str
    args: tuple[Expr, ...] = ()
    params: tuple[Expr, ...] = ()
    distinct: bool = False
    position: int = attrs.field(default=0, eq=False, kw_only=True)


Expr = Const | Field | Call


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of the tree, parents before children (explicit stack, no recursion)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Call):
            stack.extend(reversed(node.params + node.args))
