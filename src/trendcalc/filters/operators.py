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
import math
import re
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from ..errors import ValidationError
from ..limits import Limits
from ..store.columns import _NUMBER_RE, ValueDictionary, float_text
from ..store.datetimes import NULL_TIME, datetime_text, parse_best_effort
from ..timeutil import datetime_to_us
from .regex import compile_fixed, compile_like, compile_regex

# Every operator PostHog accepts on a property filter (filters.md §3.1).
KNOWN_OPERATORS = (
    "exact", "is_not", "icontains", "not_icontains", "icontains_multi", "not_icontains_multi",
    "regex", "not_regex", "gt", "gte", "lt", "lte", "min", "max", "between", "not_between",
    "is_set", "is_not_set", "is_date_exact", "is_date_before", "is_date_after", "in", "not_in",
    "is_cleaned_path_exact", "semver_eq", "semver_neq", "semver_gt", "semver_gte", "semver_lt",
    "semver_lte", "semver_tilde", "semver_caret", "semver_wildcard", "flag_evaluates_to",
)  # fmt: skip

KINDS = ("string", "float", "bool", "datetime")
KIND_OF_TYPE = {None: "string", "String": "string", "Duration": "string", "Numeric": "float",
                "Boolean": "bool", "DateTime": "datetime"}  # fmt: skip
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_LIKE_SPECIAL = re.compile(r"[%_\\]")  # LIKE wildcards and escapes
_RELATIVE_DATE = re.compile(r"^-?[0-9]+[hdwmqysHDWMQY]")
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


def text_domain(texts: list[str | None] | np.ndarray, tz: dt.tzinfo) -> Domain:
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
    if _RELATIVE_DATE.match(c):
        from ..engine.timeaxis import parse_relative

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
    """The team's path cleaning: each ``(regex, alias)`` rule as a replace-all, in order."""
    for pattern, alias in rules:
        text = pattern.sub(re.sub(r"\\0", r"\\g<0>", alias), text)
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


def _semver_parts(value: str) -> tuple[str, str, str, int]:
    """Upstream's bound parse: strip ``-pre``, missing parts are "0", each must be an int; the
    parts stay as written (they are pasted into the bound strings); and the part count."""
    parts = value.split("-")[0].split(".")
    if not parts[0]:
        raise ValueError("empty version")
    major, minor, patch = (parts + ["0", "0"])[:3]
    int(major), int(minor), int(patch)
    return major, minor, patch, len(parts)


def _tilde(value: str) -> tuple[str, str]:
    major, minor, patch, n = _semver_parts(value)
    if n < 2:
        return f"{major}.0.0", f"{int(major) + 1}.0.0"
    return f"{major}.{minor}.{patch}", f"{major}.{int(minor) + 1}.0"


def _caret(value: str) -> tuple[str, str]:
    major, minor, patch, _ = _semver_parts(value)
    if int(major) > 0:
        return f"{major}.{minor}.{patch}", f"{int(major) + 1}.0.0"
    if int(minor) > 0:
        return f"{major}.{minor}.{patch}", f"0.{int(minor) + 1}.0"
    return f"{major}.{minor}.{patch}", f"0.0.{int(patch) + 1}"


def _wildcard(value: str) -> tuple[str, str]:
    base = value.rstrip(".*")
    if not base:
        raise ValueError("empty wildcard")
    parts = base.split("-")[0].split(".")
    if len(parts) == 1:
        int(parts[0])
        return f"{parts[0]}.0.0", f"{int(parts[0]) + 1}.0.0"
    if len(parts) == 2:
        int(parts[0]), int(parts[1])
        return f"{parts[0]}.{parts[1]}.0", f"{parts[0]}.{int(parts[1]) + 1}.0"
    int(parts[0]), int(parts[1]), int(parts[2])
    return f"{parts[0]}.{parts[1]}.{parts[2]}.0", f"{parts[0]}.{parts[1]}.{int(parts[2]) + 1}.0"


# [lower, upper) bound *strings*, built as upstream builds them; both then go through
# sortableSemver, so a bound that is not strict semver (``01.2.3``, a 4-part wildcard bound)
# matches nothing (found by tests/property: bounds used to be parsed leniently as integers).
SEMVER_RANGES: dict[str, Callable[[str], tuple[str, str]]] = {
    "semver_tilde": _tilde, "semver_caret": _caret, "semver_wildcard": _wildcard,
}  # fmt: skip


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


# --- parse-time operand checks --------------------------------------------------------------------


def _members(value: Any) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _check_any(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    return None


def _check_regex(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    for i, v in enumerate(_members(value)):
        compile_regex(v, path + ((i,) if isinstance(value, tuple) else ()), limits, what=f"regex for property {key!r}")


def _check_between(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    if not isinstance(value, tuple) or len(value) != 2:
        raise ValidationError(path, "between/not_between need a two-element list [min, max]")
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValidationError(path, "between/not_between need numeric values [min, max]") from None
    if any(isinstance(v, bool) for v in value) or math.isnan(lo) or math.isnan(hi):
        raise ValidationError(path, "between/not_between need numeric values [min, max]")
    if lo > hi:
        raise ValidationError(path, f"between/not_between need min <= max, got [{value[0]!r}, {value[1]!r}]")


def _check_in(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    if not isinstance(value, tuple) or len(value) == 1:
        raise ValidationError(path, "in/not_in need a list of two or more values (a single value: use exact/is_not)")


def _check_date(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    for v in _members(value):
        if not isinstance(v, str):
            raise ValidationError(path, f"is_date operators need a date string, got {v!r}")
        if not _RELATIVE_DATE.match(v) and parse_best_effort(v, dt.timezone.utc) is None:
            raise ValidationError(path, f"unparsable date {v!r}: expected e.g. '2024-01-31', '2024-01-31T10:00:00Z' or '-7d'")


def _check_semver(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    for v in _members(value):
        if not isinstance(v, str):
            raise ValidationError(path, f"semver operators need a version string, got {v!r}")


def _check_semver_range(name: str) -> Callable[..., None]:
    def check(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
        _check_semver(value, path, limits)
        for v in _members(value):
            try:
                SEMVER_RANGES[name](v)
            except (ValueError, IndexError):
                raise ValidationError(path, f"{name} needs a valid version such as '1.2.3', got {v!r}") from None

    return check


# --- the table -------------------------------------------------------------------------------------


@attrs.frozen
class Operator:
    """One operator: its predicate over non-NULL domain entries, its NULL result, its list mode
    ("in": IN/NOT IN over ≥2 members; "any"/"all": OR/AND over members; "own": the operator takes
    the list itself), and its parse-time operand check."""

    name: str
    run: Callable[[Domain, Any, Env], np.ndarray]
    null: bool
    lists: str = "any"
    check: Callable[..., None] = _check_any
    needs_value: bool = True


OPERATORS: dict[str, Operator] = {}


def _register(*ops: Operator) -> None:
    for op in ops:
        OPERATORS[op.name] = op


_register(
    Operator("exact", _eq, False, "in"),
    Operator("is_not", _ne, True, "in"),
    Operator("in", _eq, False, "in", _check_in),
    Operator("not_in", _ne, True, "in", _check_in),
    Operator("icontains", _icontains, False, "own"),
    Operator("not_icontains", _not_icontains, True, "own"),
    Operator("icontains_multi", _icontains_multi, False),
    Operator("not_icontains_multi", _not_icontains_multi, False),
    Operator("regex", _regex, False, "any", _check_regex),
    Operator("not_regex", _not_regex, True, "all", _check_regex),
    Operator("gt", _ordering(lambda v, c: v > c), False),
    Operator("gte", _ordering(lambda v, c: v >= c), False),
    Operator("lt", _ordering(lambda v, c: v < c), False),
    Operator("lte", _ordering(lambda v, c: v <= c), False),
    Operator("min", _ordering(lambda v, c: v >= c), False),
    Operator("max", _ordering(lambda v, c: v <= c), False),
    Operator("between", _between, False, "own", _check_between),
    Operator("not_between", _not_between, False, "own", _check_between),
    Operator("is_set", _all_true, False, needs_value=False),
    Operator("is_not_set", lambda d, c, e: ~_all_true(d, c, e), True, needs_value=False),
    Operator("is_date_exact", _date_op(lambda t, c: t == c), False, "any", _check_date),
    Operator("is_date_before", _date_op(lambda t, c: t < c), False, "any", _check_date),
    Operator("is_date_after", _date_op(lambda t, c: t > c), False, "any", _check_date),
    Operator("is_cleaned_path_exact", _cleaned_path_exact, False),
    Operator("semver_eq", _semver_compare(lambda k, t: k == t), False, "any", _check_semver),
    Operator("semver_neq", _semver_compare(lambda k, t: k != t), False, "any", _check_semver),
    Operator("semver_gt", _semver_compare(lambda k, t: k > t), False, "any", _check_semver),
    Operator("semver_gte", _semver_compare(lambda k, t: k >= t), False, "any", _check_semver),
    Operator("semver_lt", _semver_compare(lambda k, t: k < t), False, "any", _check_semver),
    Operator("semver_lte", _semver_compare(lambda k, t: k <= t), False, "any", _check_semver),
    *(Operator(n, _semver_range(n), False, "any", _check_semver_range(n)) for n in SEMVER_RANGES),
    Operator("flag_evaluates_to", _all_true, True, needs_value=False),
    Operator("_like_contains", _like_contains, False),  # internal: action step url "contains"
)
IN_OPERATORS = {"exact": "in", "in": "in", "is_not": "not_in", "not_in": "not_in"}
IN_RUNS = {"in": (_in, False), "not_in": (_not_in, True)}
MULTI_OF = {"icontains": "icontains_multi", "not_icontains": "not_icontains_multi"}


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
    op = OPERATORS[operator]
    if isinstance(value, tuple) and op.lists != "own":
        if not value:
            return None
        if len(value) == 1:
            value = value[0]
        elif op.lists == "in":
            run, null = IN_RUNS[IN_OPERATORS[operator]]
            return _apply(dom, run, null, value, env)
        else:
            parts = [_apply(dom, op.run, op.null, v, env) for v in value]
            combine = np.logical_and if op.lists == "all" else np.logical_or
            return combine.reduce(parts)
    if operator in MULTI_OF and isinstance(value, tuple) and len(value) >= 2:
        op = OPERATORS[MULTI_OF[operator]]
    elif operator in MULTI_OF and isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    return _apply(dom, op.run, op.null, value, env)


def check_operand(operator: str, value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    """Parse-time validation of an operand (bad regex, between bounds, in without a list, ...)."""
    OPERATORS[operator].check(value, path, limits, key)


__all__ = [
    "KNOWN_OPERATORS", "OPERATORS", "Operator", "Domain", "Env", "evaluate", "check_operand",
    "dictionary_domain", "text_domain", "resolve_date",
]  # fmt: skip
