"""The formula expression tree: four frozen node classes and a few read-only helpers.

A formula such as ``(A + B) / 2`` becomes a small tree (sqlglot-style): numbers, series
references, unary and binary operators. Nodes are ``attrs`` frozen classes, so trees are
immutable, hashable values that compare structurally.

``position`` is the 0-based offset of the node's token (the literal, the letter or the operator)
in the text the formula was parsed from. It is left out of equality and hashing, so
``A+B`` and ``A + B`` give equal trees; it exists so later errors (for example a reference to a
missing series) can point into the original text.

The helpers walk the tree with explicit stacks rather than recursion, so even a very deep,
hand-built tree cannot exhaust Python's stack here.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

UNARY_OPS = frozenset({"+", "-"})
BINARY_OPS = frozenset({"+", "-", "*", "/", "%", "**"})


def _upper(text: str) -> str:
    return text.upper()


def _check_letter(instance: SeriesRef, attribute: attrs.Attribute[str], value: str) -> None:
    expected = chr(ord("A") + instance.index)
    if value != expected:
        msg = f"letter for series index {instance.index} must be {expected!r} (got {value!r})"
        raise ValueError(msg)


@attrs.frozen
class Number:
    """A numeric literal, stored as a float (``2`` and ``2.0`` are the same node)."""

    value: float = attrs.field(converter=float)
    position: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen
class SeriesRef:
    """A series letter: ``index`` 0 is ``A``; ``letter`` is the upper-case name."""

    index: int = attrs.field(
        validator=attrs.validators.and_(attrs.validators.ge(0), attrs.validators.le(25))
    )
    letter: str = attrs.field(converter=_upper, validator=_check_letter)
    position: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen
class Unary:
    """``+operand`` or ``-operand``."""

    op: str = attrs.field(validator=attrs.validators.in_(UNARY_OPS))
    operand: Expr
    position: int = attrs.field(default=0, eq=False, kw_only=True)


@attrs.frozen
class Binary:
    """``left op right`` with ``op`` one of ``+ - * / % **``."""

    op: str = attrs.field(validator=attrs.validators.in_(BINARY_OPS))
    left: Expr
    right: Expr
    position: int = attrs.field(default=0, eq=False, kw_only=True)


Expr = Number | SeriesRef | Unary | Binary
"""Any formula node."""


def children(node: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of ``node``, left to right."""
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Unary):
        return (node.operand,)
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """Yield every node of ``expr`` in pre-order (parent first, then children left to right)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def series_refs(expr: Expr) -> frozenset[int]:
    """The series indexes ``expr`` reads (0 is ``A``).

    >>> series_refs(Binary("+", SeriesRef(0, "A"), SeriesRef(2, "C")))
    frozenset({0, 2})
    """
    return frozenset(node.index for node in walk(expr) if isinstance(node, SeriesRef))


def depth(expr: Expr) -> int:
    """The height of the tree: 1 for a single number or letter, one more per operator level.

    >>> depth(Unary("-", Binary("*", Number(2), SeriesRef(0, "A"))))
    3
    """
    level, frontier = 0, [expr]
    while frontier:
        level += 1
        frontier = [child for node in frontier for child in children(node)]
    return level
