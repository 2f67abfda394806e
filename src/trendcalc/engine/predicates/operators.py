"""Property operators: one table entry per operator, each vectorised over a typed *domain*.

A leaf reads a property through a ``Domain``: the distinct values it can take (a column's
dictionary plus one trailing NULL slot), typed by the property's definition (filters.md §0.3).
An operator computes one boolean per domain entry, so every string predicate runs once per
distinct value; the source then gathers ``lut[codes]`` over rows. NULL entries take the
operator's NULL result (§0.5), so a leaf is always TRUE or FALSE.

List operands follow upstream (§3.1): ``[]`` matches everything, a one-member list is unwrapped,
``exact``/``is_not``/``in``/``not_in`` become IN / NOT IN, ``icontains``/``not_icontains`` switch
to the literal multi-search, and every other operator is OR-ed over the members (AND for
``not_regex``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ...datetimes import NULL_TIME, datetime_text, parse_best_effort
from ...errors import ValidationError
from ...limits import Limits
from ...query.operators import OPERATORS, RELATIVE_DATE, SEMVER_RANGES
from ...query.regex import compile_fixed, compile_like, compile_regex
from ...store.columns import _NUMBER_RE, ValueDictionary, float_text
from ...timeutil import datetime_to_us

KINDS = ("string", "float", "bool", "datetime")
KIND_OF_TYPE = {None: "string", "String": "string", "Duration": "string", "Numeric": "float",
                "Boolean": "bool", "DateTime": "datetime"}  # fmt: skip
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_LIKE_SPECIAL = re.compile(r"[%_\\]")  # LIKE wildcards and escapes
_DATETIME_CONST = re.compile(r"^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)?\Z", re.ASCII)
_SEMVER = compile_fixed(r"^\s*v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:[-+]\S*)?\s*$")  # RE2, as upstream


# --- domains ------------------------------------------------------------------------------------


class Domain:
    """The typed distinct values a leaf compares; the last entry is NULL for dictionary domains.

    ``kind`` is string (R text, object array), float (NaN = NULL), bool (int8, -1 = NULL) or
    datetime (int64 µs, NULL_TIME = NULL). ``null`` marks NULL entries after the cast.
    """

    __slots__ = ("kind", "values", "null", "tz", "_texts", "_times")

    def __init__(self, kind: str, values: np.ndarray, null: np.ndarray, tz: dt.tzinfo):
        self.kind = kind
        self.values = values
        self.null = null
        self.tz = tz
        self._texts: np.ndarray | None = None
        self._times: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, keep: np.ndarray) -> Domain:
        sub = Domain(self.kind, self.values[keep], self.null[keep], self.tz)
        if self._texts is not None:
            sub._texts = self._texts[keep]
        return sub

    def texts(self) -> np.ndarray:
        """``toString(x)`` per entry (None where NULL): the text LIKE/regex/contains operate on."""
        if self._texts is None:
            if self.kind == "string":
                self._texts = self.values
            else:
                render = _TO_STRING[self.kind]
                pairs = zip(self.values.tolist(), self.null.tolist())
                self._texts = np.array([None if n else render(v, self.tz) for v, n in pairs], dtype=object)
        return self._texts

    def datetimes(self) -> np.ndarray:
        """``toDateTime(toString(x))`` per entry as µs (NULL_TIME where unparsable)."""
        if self._times is None:
            if self.kind == "datetime":
                self._times = self.values
            else:
                out = np.full(len(self), NULL_TIME, dtype=np.int64)
                for i, t in enumerate(self.texts().tolist()):
                    us = None if t is None else parse_best_effort(t, self.tz)
                    if us is not None:
                        out[i] = us
                self._times = out
        return self._times


_TO_STRING: dict[str, Callable[[Any, dt.tzinfo], str]] = {
    "float": lambda v, tz: float_text(v),
    "bool": lambda v, tz: "true" if v == 1 else "false",
    "datetime": lambda v, tz: datetime_text(int(v), tz),
}


def dictionary_domain(dictionary: ValueDictionary, prop_type: str | None, tz: dt.tzinfo) -> Domain:
    """The domain of a property column under its definition's type (cached on the dictionary)."""
    kind = KIND_OF_TYPE.get(prop_type, "string")

    def build() -> Domain:
        if kind == "string":
            values = dictionary.text()
            null = np.zeros(len(values), dtype=bool)
            null[-1] = True
        elif kind == "float":
            values = dictionary.floats()
            null = np.isnan(values)
        elif kind == "bool":
            values = dictionary.bools()
            null = values < 0
        else:
            values = dictionary.datetimes(tz)
            null = values == NULL_TIME
        return Domain(kind, values, null, tz)

    return dictionary.cached(("domain", kind, str(tz) if kind == "datetime" else None), build)


def text_domain(texts: Sequence[str | None] | np.ndarray, tz: dt.tzinfo) -> Domain:
    """A string domain over explicit texts (None = NULL)."""
    values = np.array(list(texts), dtype=object)
    return Domain("string", values, np.array([v is None for v in values.tolist()], dtype=bool), tz)


# --- evaluation environment and constants -------------------------------------------------------


@attrs.frozen
class Env:
    """What an operator needs beyond the values: the clock, the zone, the project, the leaf path."""

    tz: dt.tzinfo
    now: dt.datetime
    limits: Limits
    path: tuple = ()
    key: Any = None
    path_cleaning: tuple = ()

    def error(self, message: str) -> ValidationError:
        return ValidationError(self.path + ("value",), message)


def _is_number(c: Any) -> bool:
    return isinstance(c, (int, float)) and not isinstance(c, bool)


def const_string(c: Any, env: Env, member: bool = False) -> str:
    """A constant against String text: bools become ``true``/``false``; numbers fail upstream
    (ClickHouse NO_COMMON_TYPE) except as IN-list members, which are converted to text."""
    if isinstance(c, str):
        return c
    if isinstance(c, bool):
        return "true" if c else "false"
    if member:
        return float_text(float(c))
    raise env.error(
        f"property {env.key!r} is a String (no Numeric definition, and its values are not numbers); comparing it "
        f"with the number {c!r} is a type error upstream (NO_COMMON_TYPE). To compare numerically, declare it "
        f"Numeric: Project(property_definitions=[{{'name': {env.key!r}, 'type': 'Numeric', 'kind': 'event'}}]) "
        "(kind 'person' or 'group' as the filter's type)"
    )


def const_float(c: Any, env: Env, member: bool = False) -> float:
    """A constant against a Numeric (Float64) value: numbers, bools, numeric strings."""
    if isinstance(c, bool):
        return 1.0 if c else 0.0
    if _is_number(c):
        return float(c)
    if isinstance(c, str) and _NUMBER_RE.match(c):
        return float(c)
    raise env.error(f"cannot compare the Numeric property {env.key!r} with {c!r}: not a number (upstream: cannot convert to Float64)")


def const_bool(c: Any, env: Env, member: bool = False) -> float:
    """A constant against a Boolean value, as 1.0/0.0 (numbers compare numerically)."""
    if isinstance(c, bool):
        return 1.0 if c else 0.0
    if _is_number(c):
        return float(c)
    if c in ("true", "false"):
        return 1.0 if c == "true" else 0.0
    raise env.error(f"cannot compare the Boolean property {env.key!r} with {c!r}: expected true or false")


def const_datetime(c: Any, env: Env, member: bool = False) -> int:
    """A constant against a DateTime value: ``YYYY-MM-DD[ HH:MM:SS[.f]]`` in the project zone, or
    epoch seconds. ISO text with ``T``/``Z`` fails upstream; the ``is_date_*`` operators accept it."""
    if _is_number(c):
        return int(round(float(c) * 1_000_000))
    if isinstance(c, str) and _DATETIME_CONST.match(c):
        us = parse_best_effort(c, env.tz)
        if us is not None:
            return us
    raise env.error(
        f"cannot compare the DateTime property {env.key!r} with {c!r}: expected 'YYYY-MM-DD[ HH:MM:SS]' "
        "(use is_date_exact/is_date_before/is_date_after for ISO-8601 text)"
    )


CONSTS: dict[str, Callable[..., Any]] = {
    "string": const_string, "float": const_float, "bool": const_bool, "datetime": const_datetime,
}  # fmt: skip


def _compare_values(dom: Domain) -> np.ndarray:
    return dom.values.astype(np.float64) if dom.kind == "bool" else dom.values


def _const(dom: Domain, c: Any, env: Env, member: bool = False) -> Any:
    return CONSTS[dom.kind](c, env, member)


def _bool_rewrite(c: Any, dom: Domain) -> Any:
    """exact/is_not: True/False → "true"/"false", then a real bool again on a Boolean property."""
    if isinstance(c, bool):
        c = "true" if c else "false"
    if dom.kind == "bool" and c in ("true", "false"):
        return c == "true"
    return c


def resolve_date(c: Any, env: Env) -> int:
    """The instant of an ``is_date_*`` operand: relative (``-7d``, ``-10m``…) against now in the
    project zone with no truncation, else best-effort parsed (naive = project zone). Upstream
    renders the relative instant as ``%Y-%m-%d %H:%M:%S`` wall-clock text, so it is a whole
    second (found by tests/property: a clock with microseconds kept them)."""
    if not isinstance(c, str):
        raise env.error(f"is_date operators need a date string, got {c!r}")
    if RELATIVE_DATE.match(c):
        from ..timeaxis import parse_relative

        local = env.now.astimezone(env.tz)
        try:
            value, _ = parse_relative(c, local)
        except (OverflowError, ValueError) as exc:
            raise env.error(f"relative date {c!r} out of range") from exc
        wall = value.replace(tzinfo=None, microsecond=0)
        return datetime_to_us(wall.replace(tzinfo=env.tz))
    us = parse_best_effort(c, env.tz)
    if us is None:
        raise env.error(f"unparsable date {c!r}")
    return us


# --- operator implementations (each over the non-NULL entries of a domain) -------------------------


def _eq(dom: Domain, c: Any, env: Env) -> np.ndarray:
    c = _const(dom, _bool_rewrite(c, dom), env)
    return np.asarray(_compare_values(dom) == c, dtype=bool)


def _ne(dom: Domain, c: Any, env: Env) -> np.ndarray:
    return ~_eq(dom, c, env)


def _in(dom: Domain, members: tuple, env: Env) -> np.ndarray:
    consts = [_const(dom, m, env, member=True) for m in members]
    if dom.kind == "string":
        allowed = set(consts)
        return np.fromiter((v in allowed for v in dom.values.tolist()), dtype=bool, count=len(dom))
    return np.isin(_compare_values(dom), np.asarray(consts))


def _not_in(dom: Domain, members: tuple, env: Env) -> np.ndarray:
    return ~_in(dom, members, env)


def _ordering(compare: Callable[[np.ndarray, Any], np.ndarray]) -> Callable[[Domain, Any, Env], np.ndarray]:
    def run(dom: Domain, c: Any, env: Env) -> np.ndarray:
        return np.asarray(compare(_compare_values(dom), _const(dom, c, env)), dtype=bool)

    return run


def _between(dom: Domain, bounds: tuple, env: Env) -> np.ndarray:
    lo, hi = (_const(dom, b, env) for b in bounds)
    v = _compare_values(dom)
    return np.asarray((v >= lo) & (v <= hi), dtype=bool)


def _not_between(dom: Domain, bounds: tuple, env: Env) -> np.ndarray:
    lo, hi = (_const(dom, b, env) for b in bounds)
    v = _compare_values(dom)
    return np.asarray((v < lo) | (v > hi), dtype=bool)


def _like_text(c: Any) -> str:
    """The ILIKE needle as upstream formats it: ``str()`` of the value (``[]`` for an empty list)."""
    if isinstance(c, tuple):
        return str(list(c))
    return str(c)


def _search(dom: Domain, pattern: Any) -> np.ndarray:
    return np.fromiter((pattern.search(t) is not None for t in dom.texts().tolist()), dtype=bool, count=len(dom))


def _icontains(dom: Domain, c: Any, env: Env) -> np.ndarray:
    needle = _like_text(c)
    if needle and needle.isascii() and not _LIKE_SPECIAL.search(needle):
        found = _contains_ascii(dom.texts().tolist(), needle.lower())
        if found is not None:
            return found
    return _search(dom, compile_like(f"%{needle}%", case_sensitive=False))


def _contains_ascii(texts: list[str], needle: str) -> np.ndarray | None:
    """ILIKE '%needle%' for a plain ASCII needle when every text is ASCII too (then Unicode case
    folding is ASCII lowering): one substring scan over the joined, lowered texts, instead of a
    regex call per value. None when some text is not ASCII (or not a string)."""
    try:
        big = "\0".join(texts)  # texts never hold NUL: render_text escapes control characters
    except TypeError:
        return None
    if not big.isascii() or "\0" in needle:
        return None
    ends = np.flatnonzero(np.frombuffer(big.encode("ascii"), dtype=np.uint8) == 0)  # text i ends at ends[i]
    hits = np.fromiter((m.start() for m in re.finditer(re.escape(needle), big.lower())), dtype=np.int64)
    out = np.zeros(len(texts), dtype=bool)
    out[np.searchsorted(ends, hits, "right")] = True
    return out


def _not_icontains(dom: Domain, c: Any, env: Env) -> np.ndarray:
    return ~_icontains(dom, c, env)


def _multi_found(dom: Domain, c: Any) -> np.ndarray:
    needles = [str(m).translate(_ASCII_LOWER) for m in (c if isinstance(c, tuple) else (c,))]
    texts = [t.translate(_ASCII_LOWER) for t in dom.texts().tolist()]
    return np.fromiter((any(n in t for n in needles) for t in texts), dtype=bool, count=len(texts))


def _like_contains(dom: Domain, c: Any, env: Env) -> np.ndarray:
    """Case-sensitive ``LIKE '%c%'`` (action step URLs)."""
    return _search(dom, compile_like(f"%{_like_text(c)}%", case_sensitive=True))


def _icontains_multi(dom: Domain, c: Any, env: Env) -> np.ndarray:
    return _multi_found(dom, c)


def _not_icontains_multi(dom: Domain, c: Any, env: Env) -> np.ndarray:
    return ~_multi_found(dom, c)


def _regex(dom: Domain, c: Any, env: Env) -> np.ndarray:
    return _search(dom, compile_regex(c, env.path + ("value",), env.limits, what=f"regex for property {env.key!r}"))


def _not_regex(dom: Domain, c: Any, env: Env) -> np.ndarray:
    return ~_regex(dom, c, env)


def _all_true(dom: Domain, c: Any, env: Env) -> np.ndarray:
    return np.ones(len(dom), dtype=bool)


def _date_op(compare: Callable[[np.ndarray, int], np.ndarray]) -> Callable[[Domain, Any, Env], np.ndarray]:
    def run(dom: Domain, c: Any, env: Env) -> np.ndarray:
        times = dom.datetimes()
        return (times != NULL_TIME) & compare(times, resolve_date(c, env))

    return run


def clean_path(text: str, rules: tuple) -> str:
    """The team's path cleaning: each rule (``Project.path_cleaning``) as a replace-all, in order."""
    for rule in rules:
        text = rule.pattern.sub(re.sub(r"\\0", r"\\g<0>", rule.alias), text)
    return text


def _cleaned_path_exact(dom: Domain, c: Any, env: Env) -> np.ndarray:
    target = clean_path(const_string(c, env), env.path_cleaning)
    return np.fromiter(
        (clean_path(t, env.path_cleaning) == target for t in dom.texts().tolist()), dtype=bool, count=len(dom)
    )


def semver_key(text: Any) -> tuple[int, int, int] | None:
    """sortableSemver: (major, minor, patch) of a strict semver string (pre-release/build
    ignored), else None. RE2, as ClickHouse's ``extract``: ``\\s`` and ``\\d`` are ASCII, so a
    no-break space or a non-ASCII digit makes a version invalid (found by tests/property)."""
    m = _SEMVER.search(text) if isinstance(text, str) else None
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def _semver_keys(dom: Domain) -> list[tuple[int, int, int] | None]:
    return [semver_key(t) for t in dom.texts().tolist()]


def _semver_compare(compare: Callable[[tuple, tuple], bool]) -> Callable[[Domain, Any, Env], np.ndarray]:
    def run(dom: Domain, c: Any, env: Env) -> np.ndarray:
        target = semver_key(c)
        keys = _semver_keys(dom)
        return np.fromiter((k is not None and target is not None and compare(k, target) for k in keys), dtype=bool, count=len(keys))

    return run


def _semver_range(name: str) -> Callable[[Domain, Any, Env], np.ndarray]:
    def run(dom: Domain, c: Any, env: Env) -> np.ndarray:
        lo, hi = (semver_key(b) for b in SEMVER_RANGES[name](c))
        keys = _semver_keys(dom)
        if lo is None or hi is None:
            return np.zeros(len(keys), dtype=bool)
        return np.fromiter((k is not None and lo <= k < hi for k in keys), dtype=bool, count=len(keys))

    return run


# --- the table -------------------------------------------------------------------------------------


@attrs.frozen
class Implementation:
    """How one declared operator (``query.operators.OPERATORS``) is evaluated: its predicate over
    the non-NULL entries of a domain, its NULL result, and whether its per-dictionary-value result
    depends on nothing but the value and the operand (not the clock, zone or project), so its
    look-up table may be kept on the dictionary across queries."""

    run: Callable[[Domain, Any, Env], np.ndarray]
    null: bool
    store_cacheable: bool = False


IMPLEMENTATIONS: dict[str, Implementation] = {
    "exact": Implementation(_eq, False, True),
    "is_not": Implementation(_ne, True, True),
    "in": Implementation(_in, False, True),
    "not_in": Implementation(_not_in, True, True),
    "icontains": Implementation(_icontains, False, True),
    "not_icontains": Implementation(_not_icontains, True, True),
    "icontains_multi": Implementation(_icontains_multi, False, True),
    "not_icontains_multi": Implementation(_not_icontains_multi, False, True),
    "regex": Implementation(_regex, False, True),
    "not_regex": Implementation(_not_regex, True, True),
    "gt": Implementation(_ordering(lambda v, c: v > c), False),
    "gte": Implementation(_ordering(lambda v, c: v >= c), False),
    "lt": Implementation(_ordering(lambda v, c: v < c), False),
    "lte": Implementation(_ordering(lambda v, c: v <= c), False),
    "min": Implementation(_ordering(lambda v, c: v >= c), False),
    "max": Implementation(_ordering(lambda v, c: v <= c), False),
    "between": Implementation(_between, False),
    "not_between": Implementation(_not_between, False),
    "is_set": Implementation(_all_true, False, True),
    "is_not_set": Implementation(lambda d, c, e: ~_all_true(d, c, e), True, True),
    "is_date_exact": Implementation(_date_op(lambda t, c: t == c), False),
    "is_date_before": Implementation(_date_op(lambda t, c: t < c), False),
    "is_date_after": Implementation(_date_op(lambda t, c: t > c), False),
    "is_cleaned_path_exact": Implementation(_cleaned_path_exact, False),
    "semver_eq": Implementation(_semver_compare(lambda k, t: k == t), False),
    "semver_neq": Implementation(_semver_compare(lambda k, t: k != t), False),
    "semver_gt": Implementation(_semver_compare(lambda k, t: k > t), False),
    "semver_gte": Implementation(_semver_compare(lambda k, t: k >= t), False),
    "semver_lt": Implementation(_semver_compare(lambda k, t: k < t), False),
    "semver_lte": Implementation(_semver_compare(lambda k, t: k <= t), False),
    **{n: Implementation(_semver_range(n), False) for n in SEMVER_RANGES},
    "flag_evaluates_to": Implementation(_all_true, True),
    "_like_contains": Implementation(_like_contains, False),
}


def _apply(dom: Domain, run: Callable, null: bool, value: Any, env: Env) -> np.ndarray:
    """``run`` on the non-NULL entries; NULL entries get ``null``."""
    out = np.full(len(dom), null, dtype=bool)
    keep = ~dom.null
    if keep.all():
        return np.asarray(run(dom, value, env), dtype=bool)
    # run even over no entries: a constant the property's type cannot take fails the query
    # whatever the data, as ClickHouse fails at analysis (found by tests/property)
    out[keep] = run(dom.subset(keep), value, env)
    return out


def evaluate(dom: Domain, operator: str, value: Any, env: Env) -> np.ndarray | None:
    """The leaf's boolean per domain entry; None when the leaf matches everything (``[]``)."""
    spec, impl = OPERATORS[operator], IMPLEMENTATIONS[operator]
    if isinstance(value, tuple) and spec.lists != "own":
        if not value:
            return None
        if len(value) == 1:
            value = value[0]
        elif spec.in_form is not None:
            run, null = (_in, False) if spec.in_form == "in" else (_not_in, True)
            return _apply(dom, run, null, value, env)
        else:
            parts = [_apply(dom, impl.run, impl.null, v, env) for v in value]
            combine = np.logical_and if spec.lists == "all" else np.logical_or
            return combine.reduce(parts)
    if spec.multi_form is not None and isinstance(value, tuple):
        if len(value) >= 2:
            impl = IMPLEMENTATIONS[spec.multi_form]
        elif len(value) == 1:
            value = value[0]
    return _apply(dom, impl.run, impl.null, value, env)


__all__ = [
    "IMPLEMENTATIONS", "Implementation", "Domain", "Env", "evaluate", "dictionary_domain",
    "text_domain", "resolve_date",
]  # fmt: skip
