"""Property operators on typed values (filters.md §0.3–§0.5 types, constants and NULL, §3
operators): the cast of a raw value to its kind, the coercion of filter constants (failing
where upstream fails to compile), list handling, and each operator on a non-NULL value."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Iterable, Mapping
from typing import Any

from dateutil.relativedelta import relativedelta

from ...errors import ValidationError
from ...project import Project
from .timeaxis import RELATIVE, delta_mapping
from .values import NUMBER, float_text, render_text, to_float
from .world import EPOCH, UTC, ReferenceUnsupported, World

NULL_RESULT = {  # filters.md §0.5/§3.1: a leaf's value when the (typed) property is NULL
    "exact": False, "is_not": True, "in": False, "not_in": True, "icontains": False, "not_icontains": True,
    "icontains_multi": False, "not_icontains_multi": False, "regex": False, "not_regex": True,
    "gt": False, "gte": False, "lt": False, "lte": False, "min": False, "max": False,
    "between": False, "not_between": False, "is_set": False, "is_not_set": True,
    "is_date_exact": False, "is_date_before": False, "is_date_after": False, "is_cleaned_path_exact": False,
    "semver_eq": False, "semver_neq": False, "semver_gt": False, "semver_gte": False, "semver_lt": False,
    "semver_lte": False, "semver_tilde": False, "semver_caret": False, "semver_wildcard": False,
    "flag_evaluates_to": True,
}  # fmt: skip
OWN_LIST_OPERATORS = ("icontains", "not_icontains", "between", "not_between")
IN_LIST_OPERATORS = {"exact": "in", "in": "in", "is_not": "not_in", "not_in": "not_in"}
NEGATIVE_OPERATORS = ("is_not", "not_icontains", "not_regex")  # element lists: none of the members
DATE_OPERATORS = ("is_date_exact", "is_date_before", "is_date_after")
SEMVER_OPERATORS = ("semver_eq", "semver_neq", "semver_gt", "semver_gte", "semver_lt", "semver_lte")
SEMVER_RANGE_OPERATORS = ("semver_tilde", "semver_caret", "semver_wildcard")
OPERATORS = tuple(NULL_RESULT)


def typed_value(v: Any, prop_type: str | None, tz: dt.tzinfo = UTC) -> tuple[str, Any]:
    """§0.3: (kind, x): R for untyped/String, toFloat for Numeric, 1/0 for Boolean, the best-effort
    parsed instant (naive text in the project zone) for DateTime; x None = NULL."""
    if prop_type == "Numeric":
        return "float", None if v is None else to_float(v)
    if prop_type == "Boolean":
        text = None if v is None else render_text(v)
        return "bool", None if text is None else {"true": 1.0, "false": 0.0}.get(text)
    if prop_type == "DateTime":
        return "datetime", None if v is None else best_effort_datetime(render_text(v), tz)
    return "string", None if v is None else render_text(v)


# §0.3/§3.2: ClickHouse's parseDateTime64BestEffortOrNull on the forms payloads carry (ASCII only).
UNIX_SECONDS = re.compile(r"[0-9]{9,10}(\.[0-9]{1,9})?")
DATE_TIME_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y%m%d%H%M%S")
CLOCK_FORMATS = ("%H:%M", "%H:%M:%S")
ZONE_SUFFIX = re.compile(r"(?P<body>.*?[0-9]:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?)\s*"
                         r"(?P<zone>Z|UTC|GMT|[+-][0-9]{2}(?::?[0-9]{2})?)?", re.IGNORECASE)
FIRST_YEAR, LAST_YEAR = 1900, 2299


def best_effort_datetime(text: str, tz: dt.tzinfo) -> dt.datetime | None:
    """The instant ``text`` names (naive = wall clock in ``tz``), or None: ``YYYY-MM-DD`` (or
    ``/``) with an optional ``[T ]HH:MM[:SS[.f]]`` and ``Z``/``UTC``/``±hh[:mm]``, ``YYYYMMDD[hhmmss]``,
    unix seconds (9–10 digits), RFC 2822; instants outside years 1900–2299 are NULL."""
    s = text.strip()
    if not s or not s.isascii() or len(s) > 64:
        return None
    d: dt.datetime | None
    try:
        if UNIX_SECONDS.fullmatch(s):
            whole, _, frac = s.partition(".")
            d = EPOCH + dt.timedelta(seconds=int(whole), microseconds=int(frac[:6].ljust(6, "0")))
        elif s[0].isalpha():
            parts = email.utils.parsedate_tz(s)
            if parts is None:
                return None
            zone = tz if parts[9] is None else dt.timezone(dt.timedelta(seconds=parts[9]))
            d = dt.datetime(*parts[:6], tzinfo=zone)
        else:
            d = naive_datetime(s, tz)
    except (ValueError, OverflowError):
        return None
    if d is None or not FIRST_YEAR <= d.astimezone(UTC).year <= LAST_YEAR:
        return None
    return d.astimezone(UTC)


def naive_datetime(s: str, tz: dt.tzinfo) -> dt.datetime | None:
    """Date and optional clock; a zone suffix only after a clock (``2024-03-10`` has none)."""
    zone: dt.tzinfo = tz
    m = ZONE_SUFFIX.fullmatch(s)
    if m and m["zone"]:
        s, z = m["body"], m["zone"].upper()
        if z in ("Z", "UTC", "GMT"):
            zone = UTC
        else:
            digits = z[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            zone = dt.timezone(-offset if z[0] == "-" else offset)
    micro = 0
    frac = re.search(r"[.,]([0-9]{1,9})$", s)
    if frac and ":" in s:
        micro, s = int(frac[1][:6].ljust(6, "0")), s[: frac.start()]
    for date_format in DATE_TIME_FORMATS:
        clocks = ("",) if date_format.startswith("%Y%m%d") else ("",) + tuple(sep + c for sep in "T " for c in CLOCK_FORMATS)
        for clock in clocks:
            try:
                d = dt.datetime.strptime(s, date_format + clock)
            except ValueError:
                continue
            return d.replace(microsecond=micro, tzinfo=zone)
    return None


def datetime_text(d: dt.datetime, tz: dt.tzinfo) -> str:
    """toString(DateTime64(6, tz)): ``YYYY-MM-DD HH:MM:SS.ffffff`` on the project's wall clock."""
    return d.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S.%f")


SQL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?)?")


def constant(kind: str, c: Any, member: bool = False, tz: dt.tzinfo = UTC) -> Any:
    """§0.4: a filter constant against a typed value; where upstream fails, a ValidationError."""
    if kind == "string":
        if isinstance(c, str):
            return c
        if isinstance(c, bool):
            return "true" if c else "false"
        if member:
            return float_text(float(c))
        raise ValidationError(("properties",), f"comparing a String property with the number {c!r}")
    if kind == "datetime":  # §0.4: 'YYYY-MM-DD[ HH:MM:SS]' in the project zone, or epoch seconds
        if isinstance(c, (int, float)) and not isinstance(c, bool):
            return EPOCH + dt.timedelta(microseconds=round(c * 1_000_000))
        parsed = best_effort_datetime(c, tz) if isinstance(c, str) and SQL_DATETIME.fullmatch(c) else None
        if parsed is None:
            raise ValidationError(("properties",), f"cannot compare a DateTime property with {c!r}")
        return parsed
    if isinstance(c, bool):
        return 1.0 if c else 0.0
    if isinstance(c, (int, float)):
        return float(c)
    if kind == "float" and isinstance(c, str) and NUMBER.match(c):
        return float(c)
    if kind == "bool" and c in ("true", "false"):
        return 1.0 if c == "true" else 0.0
    raise ValidationError(("properties",), f"cannot compare a {kind} property with {c!r}")


def like_pattern(needle: str, case_sensitive: bool = False) -> re.Pattern:
    """ILIKE (LIKE) '%needle%': ``%`` any run, ``_`` any character, ``\\`` escapes."""
    out, i = [], 0
    while i < len(needle):
        ch = needle[i]
        if ch == "\\" and i + 1 < len(needle):
            out.append(re.escape(needle[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL | (0 if case_sensitive else re.IGNORECASE))


def as_text(kind: str, x: Any, tz: dt.tzinfo = UTC) -> str:
    """toString of a typed value."""
    if kind == "float":
        return float_text(x)
    if kind == "bool":
        return "true" if x == 1.0 else "false"
    if kind == "datetime":
        return datetime_text(x, tz)
    return x


def ascii_lower(s: str) -> str:
    return "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in s)


def relative_date_value(c: str, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """§3.2: ``-7d``/``-10m``/``-3h``… is now minus that in the project zone, untruncated, rendered
    as a whole-second wall clock and read back in the zone (upper-case kinds add nothing)."""
    match = RELATIVE.search(c)
    assert match is not None, c  # date_operand calls this only on RELATIVE_DATE_VALUE text
    local = now.astimezone(tz) - relativedelta(**delta_mapping(match["kind"], match["number"], match["position"]))
    return local.replace(tzinfo=None, microsecond=0).replace(tzinfo=tz).astimezone(UTC)


RELATIVE_DATE_VALUE = re.compile(r"-?[0-9]+[hdwmqysHDWMQY]")


def date_operand(c: Any, tz: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """§3.2: the instant an ``is_date_*`` value names (relative, else best-effort parsed)."""
    if not isinstance(c, str):
        raise ValidationError(("properties",), f"is_date operators need a date string, got {c!r}")
    if RELATIVE_DATE_VALUE.match(c):
        return relative_date_value(c, tz, now)
    parsed = best_effort_datetime(c, tz)
    if parsed is None:
        raise ValidationError(("properties",), f"unparsable date {c!r}")
    return parsed


def clean_path(text: str, rules: Iterable[Mapping[str, Any]]) -> str:
    """§3.2 is_cleaned_path_exact: each ``{regex, alias}`` rule as ClickHouse's replaceRegexpAll
    (``\\0``–``\\9`` in the alias are the match and its groups), in order."""

    def alias_of(alias: str) -> Any:
        def replace(m: re.Match) -> str:
            return re.sub(r"\\([0-9])", lambda g: m.group(int(g[1])) or "", alias)

        return replace

    for rule in rules:
        text = re.sub(rule["regex"], alias_of(rule.get("alias", "")), text, flags=re.DOTALL)
    return text


STRICT_SEMVER = re.compile(r"[ \t\n\f\r]*v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:[-+][^ \t\n\f\r]*)?[ \t\n\f\r]*")


def sortable_semver(text: str) -> tuple[int, int, int] | None:
    """§3.2: (major, minor, patch) of a strict semver string (RE2 classes: ASCII); else NULL."""
    m = STRICT_SEMVER.fullmatch(text)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def semver_parts(value: str) -> tuple[str, str, str, int]:
    """Upstream's bound parse: drop ``-pre``, missing parts are "0"; the parts stay text."""
    parts = value.split("-")[0].split(".")
    if not parts[0]:
        raise ValueError(value)
    major, minor, patch = (parts + ["0", "0"])[:3]
    int(major), int(minor), int(patch)
    return major, minor, patch, len(parts)


def semver_bounds(op: str, value: str) -> tuple[str, str]:
    """§3.2: the [lower, upper) version strings of tilde/caret/wildcard, built as upstream
    builds them (the parts as written, so ``01.2.3`` gives a bound that is not strict semver)."""
    if op == "semver_tilde":
        major, minor, patch, n = semver_parts(value)
        if n < 2:
            return f"{major}.0.0", f"{int(major) + 1}.0.0"
        return f"{major}.{minor}.{patch}", f"{major}.{int(minor) + 1}.0"
    if op == "semver_caret":
        major, minor, patch, _ = semver_parts(value)
        if int(major) > 0:
            return f"{major}.{minor}.{patch}", f"{int(major) + 1}.0.0"
        if int(minor) > 0:
            return f"{major}.{minor}.{patch}", f"0.{int(minor) + 1}.0"
        return f"{major}.{minor}.{patch}", f"0.0.{int(patch) + 1}"
    base = value.rstrip(".*")
    parts = base.split("-")[0].split(".")
    if not base:
        raise ValueError(value)
    if len(parts) == 1:
        int(parts[0])
        return f"{parts[0]}.0.0", f"{int(parts[0]) + 1}.0.0"
    if len(parts) == 2:
        int(parts[0]), int(parts[1])
        return f"{parts[0]}.{parts[1]}.0", f"{parts[0]}.{int(parts[1]) + 1}.0"
    int(parts[0]), int(parts[1]), int(parts[2])
    return f"{parts[0]}.{parts[1]}.{parts[2]}.0", f"{parts[0]}.{parts[1]}.{int(parts[2]) + 1}.0"


def semver_holds(op: str, text: str, c: Any) -> bool:
    """§3.2: both sides through sortableSemver; a NULL side (not strict semver) is FALSE."""
    x = sortable_semver(text)
    if op in SEMVER_RANGE_OPERATORS:
        lo, hi = (sortable_semver(b) for b in semver_bounds(op, c))
        return x is not None and lo is not None and hi is not None and lo <= x < hi
    k = sortable_semver(c)
    if x is None or k is None:
        return False
    return {"semver_eq": x == k, "semver_neq": x != k, "semver_gt": x > k, "semver_gte": x >= k,
            "semver_lt": x < k, "semver_lte": x <= k}[op]


def operator_holds(op: str, kind: str, x: Any, c: Any, project: Project, now: dt.datetime) -> bool:
    """§3.1: one operator on a non-NULL typed value ``x`` and a scalar (or own-list) constant."""
    tz = project.tz
    if op in ("exact", "is_not"):
        if isinstance(c, bool):
            c = "true" if c else "false"
        if kind == "bool" and c in ("true", "false"):
            c = c == "true"
        equal = x == constant(kind, c, tz=tz)
        return equal if op == "exact" else not equal
    if op in ("is_set", "is_not_set"):
        return op == "is_set"
    if op in ("icontains", "not_icontains"):
        needle = str(list(c)) if isinstance(c, tuple) else str(c)
        found = like_pattern(needle).search(as_text(kind, x, tz)) is not None
        return found if op == "icontains" else not found
    if op in ("icontains_multi", "not_icontains_multi"):
        needles = [ascii_lower(str(m)) for m in (c if isinstance(c, tuple) else (c,))]
        found = any(n in ascii_lower(as_text(kind, x, tz)) for n in needles)
        return found if op == "icontains_multi" else not found
    if op in ("regex", "not_regex"):
        found = re.search(c, as_text(kind, x, tz), re.DOTALL) is not None
        return found if op == "regex" else not found
    if op in ("gt", "gte", "lt", "lte", "min", "max"):
        k = constant(kind, c, tz=tz)
        return {"gt": x > k, "gte": x >= k, "lt": x < k, "lte": x <= k, "min": x >= k, "max": x <= k}[op]
    if op in ("between", "not_between"):
        lo, hi = constant(kind, c[0], tz=tz), constant(kind, c[1], tz=tz)
        return lo <= x <= hi if op == "between" else (x < lo or x > hi)
    if op in DATE_OPERATORS:  # §3.2: toDateTime(toString(x)) against the resolved value
        t = x if kind == "datetime" else best_effort_datetime(as_text(kind, x, tz), tz)
        k = date_operand(c, tz, now)
        return t is not None and {"is_date_exact": t == k, "is_date_before": t < k, "is_date_after": t > k}[op]
    if op == "is_cleaned_path_exact":
        rules = project.path_cleaning_filters
        return clean_path(as_text(kind, x, tz), rules) == clean_path(constant("string", c), rules)
    if op in SEMVER_OPERATORS + SEMVER_RANGE_OPERATORS:
        return semver_holds(op, as_text(kind, x, tz), c)
    if op == "flag_evaluates_to":
        return True
    raise ReferenceUnsupported(f"operator {op!r}")


def value_holds(world: World, project: Project, op: str, c: Any, kind: str, x: Any) -> bool:
    """§3.1 list handling first (``[]`` matches all, one member is unwrapped, IN/NOT IN,
    multi-search, OR over members — AND for not_regex), then NULL results, then the operator."""
    if isinstance(c, tuple) and op not in OWN_LIST_OPERATORS:
        if not c:
            return True
        if len(c) == 1:
            c = c[0]
        elif op in IN_LIST_OPERATORS:
            if x is None:
                return IN_LIST_OPERATORS[op] == "not_in"
            inside = x in {constant(kind, m, member=True, tz=project.tz) for m in c}
            return inside if IN_LIST_OPERATORS[op] == "in" else not inside
        else:
            results = [scalar_holds(world, project, op, kind, x, m) for m in c]
            return all(results) if op == "not_regex" else any(results)
    if op in ("icontains", "not_icontains") and isinstance(c, tuple) and len(c) >= 2:
        op = op + "_multi"
    elif op in ("icontains", "not_icontains") and isinstance(c, tuple) and len(c) == 1:
        c = c[0]
    return scalar_holds(world, project, op, kind, x, c)


def scalar_holds(world: World, project: Project, op: str, kind: str, x: Any, c: Any) -> bool:
    return NULL_RESULT[op] if x is None else operator_holds(op, kind, x, c, project, world.now or EPOCH)


def check_constant(op: str, kind: str, c: Any, project: Project, now: dt.datetime) -> None:
    tz = project.tz
    if op in ("exact", "is_not"):
        if isinstance(c, bool):
            c = "true" if c else "false"
        constant(kind, (c == "true") if kind == "bool" and c in ("true", "false") else c, tz=tz)
    elif op in ("gt", "gte", "lt", "lte", "min", "max"):
        constant(kind, c, tz=tz)
    elif op in ("between", "not_between"):
        constant(kind, c[0], tz=tz)
        constant(kind, c[1], tz=tz)
    elif op == "is_cleaned_path_exact":
        constant("string", c)
    elif op in DATE_OPERATORS:
        date_operand(c, tz, now)
