"""HogQL expression text → tree (``hogql.ast``), for the subset trendcalc evaluates.

A hand-written tokenizer and a precedence-climbing parser; user text never reaches Python's
compiler. Operators become calls, as in HogQL itself (``a + b`` is ``plus(a, b)``, ``a = b`` is
``equals(a, b)``, ``x IN (1, 2)`` is ``in(x, 1, 2)``). Precedence, lowest first::

    expr AS alias            (aliases are dropped)
    a ? b : c                (right-associative)
    OR, AND, NOT
    = == != <> < > <= >=, IS [NOT] NULL, [NOT] IN (...), [NOT] LIKE, [NOT] ILIKE
    + - ||
    * / %
    unary -
    literals, (expr), CASE WHEN ... END, field chains, calls name(args) / name(params)(args)

Field chains take identifiers, `backticked` or "double-quoted" names and ``['key']`` subscripts
(``properties.$browser``, ``person.properties.`plan name```, ``properties['$os']``). Every
error is a ValidationError naming the character position; a valid HogQL function or field
outside the subset is an UnsupportedError naming it. Length and nesting are capped.
"""

from __future__ import annotations

import re

import attrs

from ..errors import PathElem, UnsupportedError, ValidationError
from .ast import Call, Const, Expr, Field, walk
from .functions import AGGREGATES, canonical_function, check_field

KEYWORDS = frozenset({"AND", "OR", "NOT", "AS", "NULL", "TRUE", "FALSE", "IS", "IN", "DISTINCT",
                      "CASE", "WHEN", "THEN", "ELSE", "END", "LIKE", "ILIKE"})  # fmt: skip
_LIKE = {"LIKE": ("like", "notLike"), "ILIKE": ("ilike", "notILike")}
# keywords that are also function names: ``and(a, b)``, ``like(s, '%x%')``
_CALLABLE_KEYWORDS = ("AND", "OR", "LIKE", "ILIKE")
_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_PUNCT = ("==", "!=", "<>", "<=", ">=", "||", "(", ")", ",", ".", "[", "]", "+", "-", "*", "/", "%",
          "=", "<", ">", "?", ":")  # fmt: skip
# HogQL's parse_string_literal_text: these escapes and the quote's own (``\\'`` in '...'); any
# other backslash stays in the text (so LIKE still sees ``\\%``), and ``\\0`` is dropped.
_ESCAPES = {"b": "\b", "f": "\f", "r": "\r", "n": "\n", "t": "\t", "0": "", "a": "\a", "v": "\v", "\\": "\\"}
_COMPARE = {"=": "equals", "==": "equals", "!=": "notEquals", "<>": "notEquals", "<": "less", ">": "greater",
            "<=": "lessOrEquals", ">=": "greaterOrEquals"}  # fmt: skip
_ADD = {"+": "plus", "-": "minus", "||": "concat"}
_MUL = {"*": "multiply", "/": "divide", "%": "modulo"}


@attrs.frozen
class _Tok:
    kind: str  # "num", "str", "ident", "qident", "kw", "op", "end"
    text: str
    pos: int
    value: object = None


def _read_quoted(text: str, i: int, quote: str, path: tuple) -> tuple[str, int]:
    """The content of a quoted string/identifier starting at ``text[i] == quote``, and the end."""
    out: list[str] = []
    j, n = i + 1, len(text)
    while j < n:
        ch = text[j]
        if ch == "\\" and j + 1 < n:
            nxt = text[j + 1]
            out.append(quote if nxt == quote else _ESCAPES.get(nxt, ch + nxt))
            j += 2
            continue
        if ch == quote:
            if text[j + 1 : j + 2] == quote:  # '' inside '...'
                out.append(quote)
                j += 2
                continue
            return "".join(out), j + 1
        out.append(ch)
        j += 1
    raise ValidationError(path, f"unterminated {quote}...{quote} starting at position {i}")


def tokenize(text: str, path: tuple) -> list[_Tok]:
    tokens: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch.isdigit() or (ch == "." and text[i + 1 : i + 2].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            lit = m.group()
            if _IDENT.match(text, m.end()):
                raise ValidationError(path, f"invalid number {text[i:m.end() + 1]!r} at position {i}")
            # ints beyond 64 bits are floats (ClickHouse has no wider literal); also keeps int()
            # away from Python's digit limit
            value: object = float(lit) if any(c in lit for c in ".eE") or len(lit) > 19 else int(lit)
            if isinstance(value, int) and value >= 2**64:
                value = float(value)
            tokens.append(_Tok("num", lit, i, value))
            i = m.end()
            continue
        if ch == "'":
            s, end = _read_quoted(text, i, "'", path)
            tokens.append(_Tok("str", text[i:end], i, s))
            i = end
            continue
        if ch in "`\"":
            s, end = _read_quoted(text, i, ch, path)
            tokens.append(_Tok("qident", text[i:end], i, s))
            i = end
            continue
        m = _IDENT.match(text, i)
        if m:
            word = m.group()
            kind = "kw" if word.upper() in KEYWORDS else "ident"
            tokens.append(_Tok(kind, word.upper() if kind == "kw" else word, i, word))
            i = m.end()
            continue
        for op in _PUNCT:
            if text.startswith(op, i):
                tokens.append(_Tok("op", op, i))
                i += len(op)
                break
        else:
            raise ValidationError(path, f"unexpected character {ch!r} at position {i}")
    tokens.append(_Tok("end", "", n))
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Tok], path: tuple, max_depth: int):
        self.toks, self.path, self.max_depth = tokens, path, max_depth
        self.i = 0
        self.depth = 0

    # --- cursor ---------------------------------------------------------------------------------
    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_op(self, *ops: str) -> bool:
        t = self.peek()
        return t.kind == "op" and t.text in ops

    def is_kw(self, *kws: str) -> bool:
        t = self.peek()
        return t.kind == "kw" and t.text in kws

    def fail(self, msg: str) -> ValidationError:
        return ValidationError(self.path, msg)

    def unexpected(self, expected: str) -> ValidationError:
        t = self.peek()
        what = "end of expression" if t.kind == "end" else repr(t.text)
        return self.fail(f"unexpected {what} at position {t.pos}; expected {expected}")

    def expect_op(self, op: str) -> _Tok:
        if not self.is_op(op):
            raise self.unexpected(repr(op))
        return self.take()

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.fail(f"expression nests deeper than {self.max_depth} levels at position {self.peek().pos}")

    # --- grammar --------------------------------------------------------------------------------
    def expr(self) -> Expr:
        self.enter()
        node = self.ternary()
        while self.is_kw("AS"):
            self.take()
            t = self.take()
            if t.kind not in ("ident", "qident", "kw"):
                raise self.fail(f"expected an alias name after AS at position {t.pos}")
        self.depth -= 1
        return node

    def ternary(self) -> Expr:
        cond = self.or_()
        if self.is_op("?"):
            q = self.take()
            a = self.expr()
            self.expect_op(":")
            b = self.expr()
            return Call("if", (cond, a, b), position=q.pos)
        return cond

    def or_(self) -> Expr:
        node = self.and_()
        while self.is_kw("OR"):
            t = self.take()
            node = Call("or", (node, self.and_()), position=t.pos)
        return node

    def and_(self) -> Expr:
        node = self.not_()
        while self.is_kw("AND"):
            t = self.take()
            node = Call("and", (node, self.not_()), position=t.pos)
        return node

    def not_(self) -> Expr:
        if self.is_kw("NOT"):
            t = self.take()
            self.enter()
            node = Call("not", (self.not_(),), position=t.pos)
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> Expr:
        left = self.add()
        t = self.peek()
        if t.kind == "op" and t.text in _COMPARE:
            self.take()
            return Call(_COMPARE[t.text], (left, self.add()), position=t.pos)
        if self.is_kw("IS"):
            self.take()
            negate = self.is_kw("NOT")
            if negate:
                self.take()
            if not self.is_kw("NULL"):
                raise self.unexpected("NULL")
            self.take()
            return Call("isNotNull" if negate else "isNull", (left,), position=t.pos)
        if self.is_kw("NOT") and self.peek(1).kind == "kw" and self.peek(1).text == "IN":
            self.take()
            self.take()
            return Call("notIn", (left, *self.in_list()), position=t.pos)
        if self.is_kw("IN"):
            self.take()
            return Call("in", (left, *self.in_list()), position=t.pos)
        negate = self.is_kw("NOT") and self.peek(1).kind == "kw" and self.peek(1).text in _LIKE
        if negate:
            self.take()
        if self.peek().kind == "kw" and self.peek().text in _LIKE:
            names = _LIKE[self.take().text]
            return Call(names[negate], (left, self.add()), position=t.pos)
        return left

    def in_list(self) -> tuple[Expr, ...]:
        self.expect_op("(")
        items = [self.expr()]
        while self.is_op(","):
            self.take()
            items.append(self.expr())
        self.expect_op(")")
        return tuple(items)

    def add(self) -> Expr:
        node = self.mul()
        while self.is_op(*_ADD):
            t = self.take()
            node = Call(_ADD[t.text], (node, self.mul()), position=t.pos)
        return node

    def mul(self) -> Expr:
        node = self.unary()
        while self.is_op(*_MUL):
            t = self.take()
            node = Call(_MUL[t.text], (node, self.unary()), position=t.pos)
        return node

    def unary(self) -> Expr:
        if self.is_op("-", "+"):
            t = self.take()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            if t.text == "+":
                return operand
            if isinstance(operand, Const) and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
                return Const(-operand.value, position=t.pos)
            return Call("negate", (operand,), position=t.pos)
        return self.primary()

    def primary(self) -> Expr:
        t = self.peek()
        if t.kind in ("num", "str"):
            self.take()
            return Const(t.value, position=t.pos)
        if t.kind == "kw" and t.text in ("NULL", "TRUE", "FALSE"):
            self.take()
            return Const({"NULL": None, "TRUE": True, "FALSE": False}[t.text], position=t.pos)
        if t.kind == "kw" and t.text == "CASE":
            return self.case()
        if t.kind == "kw" and t.text in _CALLABLE_KEYWORDS and self.peek(1).kind == "op" and self.peek(1).text == "(":
            self.take()  # and(a, b, ...) / or(...) / like(s, p): HogQL identifiers may be keywords
            return self.call(t.text.lower(), t.pos)
        if self.is_op("("):
            self.take()
            inner = self.expr()
            if self.is_op(","):
                raise self.fail(f"tuples are not supported (',' at position {self.peek().pos})")
            self.expect_op(")")
            return inner
        if t.kind in ("ident", "qident"):
            return self.name_or_call()
        raise self.unexpected("a value, a field or a function call")

    def case(self) -> Expr:
        start = self.take()
        args: list[Expr] = []
        if not self.is_kw("WHEN"):
            raise self.fail(f"CASE <expr> WHEN ... is not supported; write CASE WHEN <condition> ... (position {start.pos})")
        while self.is_kw("WHEN"):
            self.take()
            args.append(self.expr())
            if not self.is_kw("THEN"):
                raise self.unexpected("THEN")
            self.take()
            args.append(self.expr())
        if self.is_kw("ELSE"):
            self.take()
            args.append(self.expr())
        else:
            args.append(Const(None))
        if not self.is_kw("END"):
            raise self.unexpected("END")
        self.take()
        return Call("multiIf", tuple(args), position=start.pos)

    def name_or_call(self) -> Expr:
        first = self.take()
        name = str(first.value)
        if first.kind == "ident" and self.is_op("("):
            return self.call(name, first.pos)
        chain = [name]
        while True:
            if self.is_op("."):
                self.take()
                t = self.take()
                if t.kind in ("ident", "qident", "kw"):
                    chain.append(str(t.value))
                elif t.kind == "num" and isinstance(t.value, int):
                    chain.append(t.text)
                else:
                    raise self.fail(f"expected a field name after '.' at position {t.pos}")
            elif self.is_op("["):
                self.take()
                key = self.take()
                if key.kind not in ("str", "num"):
                    raise self.fail(f"expected a string key in [...] at position {key.pos}")
                chain.append(str(key.value))
                self.expect_op("]")
            else:
                break
        return Field(tuple(chain), position=first.pos)

    def call(self, name: str, pos: int) -> Expr:
        self.expect_op("(")
        distinct = False
        if self.is_kw("DISTINCT"):
            self.take()
            distinct = True
        args = self.args()
        params: tuple[Expr, ...] = ()
        if self.is_op("("):  # name(params)(args): a parametric aggregate
            self.take()
            params, args = args, self.args()
        return Call(name, args, params, distinct, position=pos)

    def args(self) -> tuple[Expr, ...]:
        items: list[Expr] = []
        if not self.is_op(")"):
            items.append(self.expr())
            while self.is_op(","):
                self.take()
                items.append(self.expr())
        self.expect_op(")")
        return tuple(items)

    def parse(self) -> Expr:
        node = self.expr()
        if self.peek().kind != "end":
            raise self.unexpected("an operator or the end of the expression")
        return node


def _resolve(expr: Expr, path: tuple) -> Expr:
    """Canonical function names, arity and field checks (bottom-up, rebuilt without recursion)."""
    nodes = list(walk(expr))
    done: dict[int, Expr] = {}
    for node in reversed(nodes):  # children before parents
        if isinstance(node, Field):
            check_field(node.chain, path, node.position)
            done[id(node)] = node
        elif isinstance(node, Call):
            fn = canonical_function(node.name, len(node.args), len(node.params), node.distinct, path, node.position)
            params = tuple(done[id(a)] for a in node.params)
            args = tuple(done[id(a)] for a in node.args)
            for p in params:  # quantile(level): a number in [0, 1]
                v = p.value if isinstance(p, Const) else None
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                    raise ValidationError(path, f"{fn}() takes a level between 0 and 1, e.g. {fn}(0.9)(x) "
                                                f"(position {p.position})")
            done[id(node)] = Call(fn, args, params, distinct=False, position=node.position)
        else:
            done[id(node)] = node
    return done[id(expr)]


def parse_expression(text: object, *, path: tuple[PathElem, ...], aggregate: bool, max_length: int = 65_536,
                     max_depth: int = 64) -> Expr:
    """Parse a HogQL expression: ``aggregate=True`` for ``math_hogql`` (aggregates required, and
    every field inside one), ``False`` for breakdowns and filters (no aggregates)."""
    path = tuple(path)
    if not isinstance(text, str):
        raise ValidationError(path, f"expected a HogQL expression string, got {type(text).__name__}")
    if not text.strip():
        raise ValidationError(path, "empty HogQL expression")
    if len(text) > max_length:
        raise ValidationError(path, f"HogQL expression is {len(text)} characters long; at most {max_length} are allowed")
    tokens = tokenize(text, path)
    try:
        tree = _Parser(tokens, path, max_depth).parse()
    except RecursionError:
        raise ValidationError(path, "HogQL expression nests too deeply") from None
    tree = _resolve(tree, path)
    _check_aggregates(tree, path, aggregate)
    return tree


def _check_aggregates(tree: Expr, path: tuple, aggregate: bool) -> None:
    """Aggregates only where allowed, never nested; in an aggregate expression, no bare field."""
    stack: list[tuple[Expr, bool]] = [(tree, False)]
    seen = False
    while stack:
        node, inside = stack.pop()
        if isinstance(node, Call) and node.name in AGGREGATES:
            if not aggregate:
                raise ValidationError(path, f"aggregate function {node.name}() is not allowed here (position {node.position})")
            if inside:
                raise ValidationError(path, f"aggregate function {node.name}() inside another aggregate (position {node.position})")
            seen = True
            stack.extend((a, True) for a in node.args + node.params)
        elif isinstance(node, Call):
            stack.extend((a, inside) for a in node.args + node.params)
        elif isinstance(node, Field) and aggregate and not inside:
            raise ValidationError(path, f"field {'.'.join(node.chain)} must be inside an aggregate function such as "
                                        f"sum() or avg() (position {node.position})")
    if aggregate and not seen:
        raise ValidationError(path, "math_hogql needs an aggregate function, e.g. count() or avg(properties.price)")


__all__ = ["parse_expression", "tokenize", "UnsupportedError"]
