"""The HogQL subset's functions and fields: one registry entry per function, with ClickHouse
semantics evaluated on Python scalars (the engine calls them once per distinct input, never per
row).

Values are ``None`` (NULL), ``bool``, ``int``, ``float`` or ``str``. Comparisons return the
UInt8 ``1``/``0`` ClickHouse returns (so ``toString(a = b)`` is ``'1'``); ``/`` always divides as
floats (``1/0`` is ``inf``). Functions propagate NULL unless their entry says otherwise
(``concat`` reads NULL as ``''``, as HogQL's ``concat`` does; ``coalesce``, ``if``, ``and``, ...
handle it themselves). Strings that look like numbers take part in arithmetic (ClickHouse would
ask for a ``toFloat``); other strings make it NULL.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from ..errors import UnsupportedError, ValidationError
from ..query.regex import compile_like
from ..store.columns import float_text
from ..store.columns import to_float as json_text_float
from ..store.virtual import VIRTUAL

# --- value helpers ------------------------------------------------------------------------------


def to_text(v: Any) -> str | None:
    """``toString``: bools as true/false, floats in ClickHouse's shortest form; NULL stays NULL."""
    return None if v is None else _text(v)


def _text(v: Any) -> str:
    """``toString`` of a non-NULL value (the evaluator has already propagated NULL arguments)."""
    if isinstance(v, str):
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return float_text(v)
    return str(v)


def to_number(v: Any) -> int | float | None:
    """A number for arithmetic and comparisons: bools are 0/1, numeric strings parse."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        s = v.strip()
        digits = s[1:] if s[:1] in ("+", "-") else s
        if digits.isascii() and digits.isdigit() and len(digits) <= 19:
            return _fit(int(s))
        f = json_text_float(s)  # JSON-style number text, inf/infinity; NaN when not a number
        return None if f != f else f
    return None


def to_float(v: Any) -> float | None:
    """``toFloat`` (accurateCastOrNull): NULL for text that is not a number."""
    n = to_number(v)
    return None if n is None else float(n)


def truthy(v: Any) -> bool:
    """A condition's value: non-zero numbers (and ``true``); NULL and strings are false."""
    n = to_number(v) if not isinstance(v, str) else None
    return n is not None and n == n and n != 0


def _bool(b: bool) -> int:
    return 1 if b else 0


# --- operators ----------------------------------------------------------------------------------


def _arith(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def fn(a: Any, b: Any) -> Any:
        x, y = to_number(a), to_number(b)
        if x is None or y is None:
            return None
        return _fit(op(x, y))

    return fn


def _fit(n: Any) -> Any:
    """Integers stay within 64 bits (beyond that they become floats, never Python big ints)."""
    if isinstance(n, int) and not -(2**63) <= n < 2**64:
        return float(n)
    return n


def _divide(a: Any, b: Any) -> float | None:
    x, y = to_float(a), to_float(b)
    if x is None or y is None:
        return None
    if y == 0:
        return math.nan if x == 0 or x != x else math.copysign(math.inf, x) * math.copysign(1.0, y)
    return x / y


def _modulo(a: Any, b: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if x is None or y is None or y == 0:
        return None
    if x != x or x in (math.inf, -math.inf):  # fmod(±inf or nan, y) is nan (math.fmod raises)
        return math.nan
    if isinstance(x, int) and isinstance(y, int):
        return x - y * int(x / y) if abs(x) < 2**53 else int(math.fmod(x, y))  # sign of the dividend
    return math.fmod(x, y)


def _compare(a: Any, b: Any) -> int | None:
    """-1/0/1 ordering of two values, numbers numerically, strings as strings (None: NULL;
    ``_NAN`` when a nan takes part)."""
    if a is None or b is None:
        return None
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    x, y = to_number(a), to_number(b)
    if x is None or y is None:  # a non-numeric string against a number
        sa, sb = to_text(a), to_text(b)
        return (sa > sb) - (sa < sb)  # type: ignore[operator]
    if x != x or y != y:
        return _NAN
    return (x > y) - (x < y)


_NAN = 2  # _compare's answer when a nan takes part: unordered


def _cmp(test: Callable[[int], bool]) -> Callable[[Any, Any], int | None]:
    def fn(a: Any, b: Any) -> int | None:
        c = _compare(a, b)
        if c == _NAN:  # IEEE, as ClickHouse: every comparison with nan is false, except !=
            return _bool(test is _not_equal)
        return None if c is None else _bool(test(c))

    return fn


def _not_equal(c: int) -> bool:
    return c != 0


def _and(*args: Any) -> int | None:
    if any(a is not None and not truthy(a) for a in args):
        return 0
    return None if any(a is None for a in args) else 1


def _or(*args: Any) -> int | None:
    if any(a is not None and truthy(a) for a in args):
        return 1
    return None if any(a is None for a in args) else 0


def _not(a: Any) -> int | None:
    return None if a is None else _bool(not truthy(a))


def _in(x: Any, *items: Any) -> int | None:
    if x is None:
        return None
    return _bool(any(_compare(x, i) == 0 for i in items if i is not None))


def _not_in(x: Any, *items: Any) -> int | None:
    r = _in(x, *items)
    return None if r is None else 1 - r


def _if(c: Any, a: Any, b: Any) -> Any:
    return a if truthy(c) else b


def _multi_if(*args: Any) -> Any:
    for i in range(0, len(args) - 1, 2):
        if truthy(args[i]):
            return args[i + 1]
    return args[-1]


# --- conversions and strings --------------------------------------------------------------------


def _to_int(v: Any) -> int | None:
    """An Int64 argument (offsets, lengths): NULL for non-numbers; beyond Int64 it saturates, so
    ``substring(x, 99999999999999999999, 2)`` is ``''``, never a float used as an index."""
    f = to_float(v)
    if f is None or f != f or math.isinf(f):
        return None
    return min(max(int(f), -(2**63)), 2**63 - 1)


def _round(x: Any, n: Any = 0) -> float | None:
    f, digits = to_float(x), _to_int(n)
    if f is None or digits is None:
        return None
    return float(round(f, digits))


def _unary_float(op: Callable[[float], float]) -> Callable[[Any], Any]:
    def fn(x: Any) -> Any:
        f = to_float(x)
        return None if f is None or f != f or math.isinf(f) else float(op(f))

    return fn


def _abs(x: Any) -> Any:
    n = to_number(x)
    return None if n is None else _fit(abs(n))


def _negate(x: Any) -> Any:
    n = to_number(x)
    return None if n is None else _fit(-n)


def _length(s: Any) -> int:
    return len(_text(s).encode("utf-8"))  # bytes, as ClickHouse's length(String)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _substring(s: Any, offset: Any, length: Any = None) -> str | None:
    text, start = to_text(s), _to_int(offset)
    if text is None or start is None:
        return None
    begin = start - 1 if start > 0 else max(len(text) + start, 0) if start < 0 else 0
    if start == 0:
        return ""
    if length is None:
        return text[begin:]
    n = _to_int(length)
    return None if n is None else text[begin : begin + max(n, 0)]


def _concat(*args: Any) -> str:
    return "".join(to_text(a) or "" for a in args)


def _coalesce(*args: Any) -> Any:
    return next((a for a in args if a is not None), None)


def _null_if(a: Any, b: Any) -> Any:
    return None if a is None or _compare(a, b) == 0 else a


def _like(fold: bool, negate: bool) -> Callable[[Any, Any], int]:
    """``like`` / ``ilike`` and their negations: ``%`` any run of characters (newlines too), ``_``
    one character; ILIKE compares case-insensitively. Non-text values are read as ``toString``."""

    def fn(s: Any, pattern: Any) -> int:
        hit = compile_like(_text(pattern), case_sensitive=not fold).search(_text(s)) is not None
        return _bool(hit != negate)

    return fn


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def fn(*args: Any) -> Any:
        nums = [to_number(a) for a in args]
        if any(n is None for n in nums):
            return None
        return pick(nums)

    return fn


@attrs.frozen
class Scalar:
    """One scalar function: its arity and ClickHouse semantics on Python values."""

    name: str
    min_args: int
    max_args: int | None
    fn: Callable[..., Any]
    nulls: bool = False  # True: the function handles NULL arguments itself


def _scalars() -> dict[str, Scalar]:
    defs = [
        Scalar("plus", 2, 2, _arith(lambda x, y: x + y)),
        Scalar("minus", 2, 2, _arith(lambda x, y: x - y)),
        Scalar("multiply", 2, 2, _arith(lambda x, y: x * y)),
        Scalar("divide", 2, 2, _divide),
        Scalar("modulo", 2, 2, _modulo),
        Scalar("negate", 1, 1, _negate),
        Scalar("equals", 2, 2, _cmp(lambda c: c == 0)),
        Scalar("notEquals", 2, 2, _cmp(_not_equal)),
        Scalar("less", 2, 2, _cmp(lambda c: c < 0)),
        Scalar("greater", 2, 2, _cmp(lambda c: c > 0)),
        Scalar("lessOrEquals", 2, 2, _cmp(lambda c: c <= 0)),
        Scalar("greaterOrEquals", 2, 2, _cmp(lambda c: c >= 0)),
        Scalar("and", 2, None, _and, nulls=True),
        Scalar("or", 2, None, _or, nulls=True),
        Scalar("not", 1, 1, _not, nulls=True),
        Scalar("in", 2, None, _in, nulls=True),
        Scalar("notIn", 2, None, _not_in, nulls=True),
        Scalar("isNull", 1, 1, lambda a: _bool(a is None), nulls=True),
        Scalar("isNotNull", 1, 1, lambda a: _bool(a is not None), nulls=True),
        Scalar("if", 3, 3, _if, nulls=True),
        Scalar("multiIf", 3, None, _multi_if, nulls=True),
        Scalar("coalesce", 1, None, _coalesce, nulls=True),
        Scalar("ifNull", 2, 2, _coalesce, nulls=True),
        Scalar("nullIf", 2, 2, _null_if, nulls=True),
        Scalar("concat", 1, None, _concat, nulls=True),
        Scalar("toString", 1, 1, to_text),
        Scalar("toFloat", 1, 1, to_float),
        Scalar("toFloat64", 1, 1, to_float),
        Scalar("toFloatOrNull", 1, 1, to_float),
        Scalar("toInt", 1, 1, _to_int),
        Scalar("toInt64", 1, 1, _to_int),
        Scalar("toIntOrNull", 1, 1, _to_int),
        Scalar("round", 1, 2, _round),
        Scalar("floor", 1, 1, _unary_float(math.floor)),
        Scalar("ceil", 1, 1, _unary_float(math.ceil)),
        Scalar("abs", 1, 1, _abs),
        Scalar("length", 1, 1, _length),
        Scalar("lower", 1, 1, lambda s: _text(s).translate(_ASCII_LOWER)),
        Scalar("upper", 1, 1, lambda s: _text(s).translate(_ASCII_UPPER)),
        Scalar("trim", 1, 1, lambda s: _text(s).strip(" ")),
        Scalar("substring", 2, 3, _substring),
        Scalar("like", 2, 2, _like(False, False)),
        Scalar("notLike", 2, 2, _like(False, True)),
        Scalar("ilike", 2, 2, _like(True, False)),
        Scalar("notILike", 2, 2, _like(True, True)),
        Scalar("startsWith", 2, 2, lambda s, p: _bool(_text(s).startswith(_text(p)))),
        Scalar("endsWith", 2, 2, lambda s, p: _bool(_text(s).endswith(_text(p)))),
        Scalar("replaceAll", 3, 3, lambda s, a, b: _text(s).replace(_text(a), _text(b)) if _text(a) else _text(s)),
        Scalar("empty", 1, 1, lambda s: _bool(to_text(s) == "")),
        Scalar("notEmpty", 1, 1, lambda s: _bool(to_text(s) != "")),
        Scalar("greatest", 2, None, _extreme(max)),
        Scalar("least", 2, None, _extreme(min)),
    ]
    return {d.name: d for d in defs}


SCALARS: dict[str, Scalar] = _scalars()


@attrs.frozen
class Aggregate:
    """One aggregate function: ``kind`` is its reduction (count, sum, avg, min, max, quantile,
    uniq); ``conditional`` for the ``-If`` forms (last argument is the row condition)."""

    name: str
    kind: str
    n_args: tuple[int, int]
    conditional: bool = False
    n_params: tuple[int, int] = (0, 0)


def _aggregates() -> dict[str, Aggregate]:
    base = [
        Aggregate("count", "count", (0, 1)),
        Aggregate("sum", "sum", (1, 1)),
        Aggregate("avg", "avg", (1, 1)),
        Aggregate("min", "min", (1, 1)),
        Aggregate("max", "max", (1, 1)),
        Aggregate("uniq", "uniq", (1, 1)),
        Aggregate("uniqExact", "uniq", (1, 1)),
        Aggregate("median", "quantile", (1, 1)),
        Aggregate("quantile", "quantile", (1, 1), n_params=(1, 1)),
    ]
    out = {a.name: a for a in base}
    for a in base:
        if a.name not in ("uniqExact", "median", "quantile"):
            name = a.name + "If"
            out[name] = attrs.evolve(a, name=name, n_args=(a.n_args[0] + 1, a.n_args[1] + 1), conditional=True)
    return out


AGGREGATES: dict[str, Aggregate] = _aggregates()
_BY_LOWER = {name.lower(): name for name in (*SCALARS, *AGGREGATES)}
_ALIASES = {"countdistinct": "uniqExact", "tofloat64ornull": "toFloatOrNull", "substr": "substring"}


def canonical_function(name: str, n_args: int, n_params: int, distinct: bool, path: tuple, pos: int) -> str:
    """The registry name of a call (case-insensitive), with its arity checked."""
    canon = _BY_LOWER.get(name.lower()) or _ALIASES.get(name.lower())
    if canon is None:
        raise UnsupportedError(path, f"HogQL function {name}() is not supported (position {pos})")
    if distinct:
        if canon != "count" or n_args != 1:
            raise ValidationError(path, f"DISTINCT is only supported as count(DISTINCT x) (position {pos})")
        canon = "uniqExact"
    spec = SCALARS.get(canon)
    if spec is not None:
        lo, hi = spec.min_args, spec.max_args
        if n_params:
            raise ValidationError(path, f"{canon}() takes no parameters (position {pos})")
    else:
        agg = AGGREGATES[canon]
        lo, hi = agg.n_args
        if not agg.n_params[0] <= n_params <= agg.n_params[1]:
            want = "one parameter, e.g. quantile(0.9)(x)" if agg.n_params[1] else "no parameters"
            raise ValidationError(path, f"{canon}() takes {want} (position {pos})")
    if n_args < lo or (hi is not None and n_args > hi):
        want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi is not None else f"at least {lo}"
        raise ValidationError(path, f"{canon}() takes {want} argument(s), got {n_args} (position {pos})")
    return canon


# --- fields -------------------------------------------------------------------------------------

EVENT_FIELDS = ("distinct_id", "event", "person_id", "$session_id", "$window_id",
                "$group_0", "$group_1", "$group_2", "$group_3", "$group_4")  # fmt: skip
# Valid HogQL event fields the subset does not read (UnsupportedError rather than "unknown").
OTHER_HOGQL_FIELDS = ("timestamp", "uuid", "created_at", "elements_chain", "session", "pdi", "poe", "goe_0", "goe_1",
                      "goe_2", "goe_3", "goe_4", "group_0", "group_1", "group_2", "group_3", "group_4",
                      "override", "$ai_trace_id", "inserted_at", "team_id")  # fmt: skip


def normalize_chain(chain: tuple[str, ...]) -> tuple[str, ...]:
    """Drop a leading table name (``events.`` / ``e.``)."""
    if len(chain) > 1 and chain[0] in ("events", "e"):
        return chain[1:]
    return chain


def is_virtual_person_field(c: tuple[str, ...]) -> bool:
    """``person.$virt_…``: a field PostHog's persons table derives from stored properties."""
    return len(c) == 2 and c[0] == "person" and c[1] in VIRTUAL


def check_field(chain: tuple[str, ...], path: tuple, pos: int) -> None:
    """A field the subset reads: ``properties.<key>``, ``person.properties.<key>``, ``person.id``,
    the persons' virtual fields (``person.$virt_initial_channel_type``, ...) and the event
    columns in ``EVENT_FIELDS``."""
    c = normalize_chain(chain)
    text = ".".join(chain)
    if c[0] == "properties" and len(c) == 2:
        return
    if c[0] == "person" and ((len(c) == 3 and c[1] == "properties") or c[1:] == ("id",)):
        return
    if is_virtual_person_field(c):
        return
    if len(c) == 1 and c[0] in EVENT_FIELDS:
        return
    if c[0] in ("properties", "person") and len(c) > 1:
        raise UnsupportedError(path, f"HogQL field {text} is not supported (nested property access; position {pos})")
    if c[0] in OTHER_HOGQL_FIELDS:
        raise UnsupportedError(path, f"HogQL field {text} is not supported (position {pos})")
    raise ValidationError(path, f"unknown HogQL field {text!r} at position {pos}; "
                                "use properties.<key>, person.properties.<key> or an event column")
