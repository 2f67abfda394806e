"""Formula text → expression tree, with a hand-written tokenizer and recursive-descent parser.

PostHog lower-cases the formula and runs it through Python's ``ast.parse``, then accepts only
numbers, single-letter names, ``+ - * / % **`` and unary ``+ -``. This module accepts the same
language without ever handing user text to Python's compiler. The grammar follows Python's::

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/" | "%") factor)*
    factor := ("+" | "-") factor | power
    power  := atom ["**" factor]          # right-associative; -2**2 == -(2**2)
    atom   := NUMBER | LETTER | "(" expr ")"

Number literals follow Python's rules (``2``, ``2.5``, ``.5``, ``5.``, ``1e3``, ``1_000``,
``0x1f``, ``0o7``, ``0b1``; ``01`` and ``1j`` are rejected). Whitespace may appear between tokens.
Every error is a :class:`~trendcalc.errors.ValidationError` whose message names the 0-based
character position. Length and nesting are capped, and nesting is checked while parsing, so
hostile input fails fast instead of hitting Python's recursion limit.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

import attrs

from trendcalc.errors import PathElem, ValidationError
from trendcalc.formula.ast import Binary, Expr, Number, SeriesRef, Unary

_WHITESPACE = frozenset(" \t\n\r\f\v")
_NAME_START = frozenset(string.ascii_letters + "_")
_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_")
_LITERAL_TAIL = _NAME_CHARS | {"."}
_DIGIT_CHARS = frozenset(string.digits)
_OPERATORS = ("**", "+", "-", "*", "/", "%", "(", ")")  # longest first
# Python operators PostHog rejects, longest first, with the reason shown to the user.
_REJECTED = {
    "//": "floor division '//' is not supported",
    "**=": "assignment is not supported",
    "==": "comparisons are not supported",
    "!=": "comparisons are not supported",
    "<=": "comparisons are not supported",
    ">=": "comparisons are not supported",
    "<<": "bit shifts are not supported",
    ">>": "bit shifts are not supported",
    "<": "comparisons are not supported",
    ">": "comparisons are not supported",
    "=": "assignment is not supported",
    "^": "'^' is not supported; use '**' for powers",
    "&": "bitwise operators are not supported",
    "|": "bitwise operators are not supported",
    "~": "bitwise operators are not supported",
    "@": "matrix multiplication is not supported",
}
_DIGITS = r"[0-9](?:_?[0-9])*"
_NUMBER = re.compile(
    r"0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+"  # Python's tokenize order:
    rf"|(?:{_DIGITS}\.(?:{_DIGITS})?|\.{_DIGITS})(?:[eE][-+]?{_DIGITS})?"  # point floats,
    rf"|{_DIGITS}[eE][-+]?{_DIGITS}"  # exponent floats,
    r"|0(?:_?0)*|[1-9](?:_?[0-9])*"  # then integers
)
_BAD_NUMBER = re.compile(r"[0-9a-zA-Z_.]*")
_LEGACY_DROPPED = re.compile(r"[^a-zA-Z0-9 \-*^+/().]+")
_OPERAND = "expected a series letter, number or '('"
_KIND_NAMES = {"num": "number ", "name": "series ", "op": ""}


@attrs.frozen
class _Token:
    kind: str  # "num", "name", "op" or "end"
    text: str
    pos: int

    def describe(self) -> str:
        if self.kind == "end":
            return "end of formula"
        return f"{_KIND_NAMES[self.kind]}{self.text!r}"


def clean_legacy_formula(text: str) -> str | None:
    """Strip a legacy-Filter formula to PostHog's allowed characters; ``None`` if nothing is left.

    Only ASCII letters, digits, the space and ``- * ^ + / ( ) .`` survive, so ``%`` and ``,``
    vanish (``A%B`` becomes ``AB``, which then fails to parse, as in PostHog).

    >>> clean_legacy_formula("A + B, %")
    'A + B '
    >>> clean_legacy_formula("%%") is None
    True
    """
    return _LEGACY_DROPPED.sub("", text) or None


def _tokenize(text: str, path: tuple[PathElem, ...]) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _WHITESPACE:
            i += 1
            continue
        if ch in string.digits or (ch == "." and text[i + 1 : i + 2] in _DIGIT_CHARS):
            match = _NUMBER.match(text, i)
            end = match.end() if match else i
            if end == i or text[end : end + 1] in _LITERAL_TAIL:
                bad = _BAD_NUMBER.match(text, i).group()  # type: ignore[union-attr]
                raise ValidationError(path, f"invalid number {bad!r} at position {i}")
            tokens.append(_Token("num", text[i:end], i))
            i = end
            continue
        if ch in _NAME_START:
            end = i + 1
            while end < n and text[end] in _NAME_CHARS:
                end += 1
            name = text[i:end]
            if len(name) > 1 or name == "_":
                msg = f"unknown name {name!r} at position {i}: series name must be a single letter"
                raise ValidationError(path, msg)
            tokens.append(_Token("name", name, i))
            i = end
            continue
        for op in _OPERATORS:
            if text.startswith(op, i) and not any(
                text.startswith(r, i) and len(r) > len(op) for r in _REJECTED
            ):
                tokens.append(_Token("op", op, i))
                i += len(op)
                break
        else:
            for rejected, reason in _REJECTED.items():
                if text.startswith(rejected, i):
                    raise ValidationError(path, f"{reason} (at position {i})")
            raise ValidationError(path, f"unexpected character {ch!r} at position {i}")
    tokens.append(_Token("end", "", n))
    return tokens


def _number_value(literal: str) -> float:
    digits = literal.replace("_", "")
    if digits[:2].lower() in ("0x", "0o", "0b"):
        try:
            return float(int(digits, 0))
        except OverflowError:
            return float("inf")
    return float(digits)


class _Parser:
    """One parse: a token cursor plus the current nesting level."""

    def __init__(self, tokens: list[_Token], path: tuple[PathElem, ...], max_depth: int):
        self.tokens, self.path, self.max_depth = tokens, path, max_depth
        self.i = 0
        self.level = 0  # open parentheses + unary operators + power exponents being parsed

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, message: str) -> ValidationError:
        return ValidationError(self.path, message)

    def too_deep(self, pos: int) -> ValidationError:
        return self.fail(f"formula nests deeper than {self.max_depth} levels at position {pos}")

    def enter(self, pos: int) -> None:
        self.level += 1
        if self.level > self.max_depth:
            raise self.too_deep(pos)

    def node(self, expr: Expr, height: int) -> tuple[Expr, int]:
        if height > self.max_depth:
            raise self.too_deep(expr.position)
        return expr, height

    def binary_chain(
        self, ops: tuple[str, ...], parse: Callable[[], tuple[Expr, int]]
    ) -> tuple[Expr, int]:
        left, height = parse()
        while self.peek().kind == "op" and self.peek().text in ops:
            op = self.take()
            right, right_height = parse()
            left, height = self.node(
                Binary(op.text, left, right, position=op.pos), max(height, right_height) + 1
            )
        return left, height

    def expr(self) -> tuple[Expr, int]:
        return self.binary_chain(("+", "-"), self.term)

    def term(self) -> tuple[Expr, int]:
        return self.binary_chain(("*", "/", "%"), self.factor)

    def factor(self) -> tuple[Expr, int]:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("+", "-"):
            self.take()
            self.enter(tok.pos)
            operand, height = self.factor()
            self.level -= 1
            return self.node(Unary(tok.text, operand, position=tok.pos), height + 1)
        return self.power()

    def power(self) -> tuple[Expr, int]:
        base, height = self.atom()
        tok = self.peek()
        if tok.kind == "op" and tok.text == "(":
            raise self.fail(f"function calls are not supported ('(' at position {tok.pos})")
        if tok.kind == "op" and tok.text == "**":
            self.take()
            self.enter(tok.pos)
            exponent, exp_height = self.factor()
            self.level -= 1
            return self.node(
                Binary("**", base, exponent, position=tok.pos), max(height, exp_height) + 1
            )
        return base, height

    def atom(self) -> tuple[Expr, int]:
        tok = self.take()
        if tok.kind == "num":
            return Number(_number_value(tok.text), position=tok.pos), 1
        if tok.kind == "name":
            index = ord(tok.text.lower()) - ord("a")
            return SeriesRef(index, tok.text.upper(), position=tok.pos), 1
        if tok.kind == "op" and tok.text == "(":
            self.enter(tok.pos)
            inner, height = self.expr()
            self.level -= 1
            close = self.take()
            if close.kind == "op" and close.text == ")":
                return inner, height
            if close.kind == "end":
                raise self.fail(f"unbalanced '(' at position {tok.pos}: no matching ')'")
            raise self.fail(
                f"unexpected {close.describe()} at position {close.pos}; "
                "expected an operator or ')'"
            )
        raise self.fail(f"unexpected {tok.describe()} at position {tok.pos}; {_OPERAND}")

    def parse(self) -> Expr:
        expr, _ = self.expr()
        tok = self.peek()
        if tok.kind == "op" and tok.text == ")":
            raise self.fail(f"unbalanced ')' at position {tok.pos}: no matching '('")
        if tok.kind != "end":
            raise self.fail(
                f"unexpected {tok.describe()} at position {tok.pos}; expected an operator"
            )
        return expr


def parse_formula(
    text: str,
    *,
    path: tuple[PathElem, ...] = ("formula",),
    max_length: int = 1000,
    max_depth: int = 64,
) -> Expr:
    """Parse a Trends formula such as ``"(A + B) / 2"`` into an expression tree.

    Letters are case-insensitive and map to series by position (``A`` is index 0). Whether the
    letters exist is checked later, by :func:`trendcalc.formula.check_refs`.

    Args:
        text: the formula as written (not lower-cased; positions refer to this text).
        path: where the formula sits in the request, for error messages.
        max_length: longest accepted text, in characters.
        max_depth: deepest accepted nesting; bounds both the tree height (see
            :func:`~trendcalc.formula.ast.depth`) and the parser's own nesting of parentheses,
            unary operators and exponents.

    Raises:
        ValidationError: the text is empty, too long, too deep or not a valid formula; the
            message names the character position.

    >>> parse_formula("-a**2") == Unary("-", Binary("**", SeriesRef(0, "A"), Number(2)))
    True
    """
    path = tuple(path)
    if len(text) > max_length:
        raise ValidationError(
            path,
            f"formula is {len(text)} characters long; at most "
            f"{max_length} are allowed (excess starts at position "
            f"{max_length})",
        )
    tokens = _tokenize(text, path)
    if len(tokens) == 1:
        raise ValidationError(path, "formula is empty")
    try:
        return _Parser(tokens, path, max_depth).parse()
    except RecursionError:  # only reachable when a caller raises max_depth very high
        raise ValidationError(path, "formula nests too deeply") from None
