"""The property operators PostHog accepts (filters.md §3.1): one declaration per operator.

An entry owns the operator's query-side facts: whether it needs a value, how a list operand is
read (§3.1: ``"in"`` IN/NOT IN over two or more members, ``"any"``/``"all"`` OR/AND over the
members, ``"own"`` the operator takes the list itself), the operator a list rewrites it to, and
its parse-time operand check. How an operator is *evaluated* is the engine's
(``trendcalc.engine.predicates.operators.IMPLEMENTATIONS``); a declared operator the engine does
not implement is reported by ``engine.check_supported``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

import attrs

from ..datetimes import parse_best_effort
from ..errors import ValidationError
from ..limits import Limits
from .regex import compile_regex

RELATIVE_DATE = re.compile(r"^-?[0-9]+[hdwmqysHDWMQY]")

OperandCheck = Callable[[Any, tuple, Limits, Any], None]


def members(value: Any) -> tuple:
    """The members of an operand: a list operand's items, else the value alone."""
    return value if isinstance(value, tuple) else (value,)


def _check_any(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    return None


def _check_regex(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    for i, v in enumerate(members(value)):
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
    for v in members(value):
        if not isinstance(v, str):
            raise ValidationError(path, f"is_date operators need a date string, got {v!r}")
        if not RELATIVE_DATE.match(v) and parse_best_effort(v, dt.timezone.utc) is None:
            raise ValidationError(path, f"unparsable date {v!r}: expected e.g. '2024-01-31', '2024-01-31T10:00:00Z' or '-7d'")


def _check_semver(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    for v in members(value):
        if not isinstance(v, str):
            raise ValidationError(path, f"semver operators need a version string, got {v!r}")


# --- semver range bounds (how the operand is read, shared with the engine) -----------------------


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


def _check_semver_range(name: str) -> OperandCheck:
    def check(value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
        _check_semver(value, path, limits)
        for v in members(value):
            try:
                SEMVER_RANGES[name](v)
            except (ValueError, IndexError):
                raise ValidationError(path, f"{name} needs a valid version such as '1.2.3', got {v!r}") from None

    return check


# --- the vocabulary -------------------------------------------------------------------------------


@attrs.frozen
class Operator:
    """One property operator's declaration: value need, list reading, operand check."""

    name: str
    lists: str = "any"  # "in" | "any" | "all" | "own" (see the module docstring)
    check: OperandCheck = _check_any
    needs_value: bool = True
    in_form: str | None = None  # "in"/"not_in": the IN form a list of ≥ 2 members takes
    multi_form: str | None = None  # the multi-needle operator a list of ≥ 2 members takes
    internal: bool = False  # not a PostHog name (used by action steps only)


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("exact", lists="in", in_form="in"),
        Operator("is_not", lists="in", in_form="not_in"),
        Operator("in", lists="in", check=_check_in, in_form="in"),
        Operator("not_in", lists="in", check=_check_in, in_form="not_in"),
        Operator("icontains", lists="own", multi_form="icontains_multi"),
        Operator("not_icontains", lists="own", multi_form="not_icontains_multi"),
        Operator("icontains_multi"),
        Operator("not_icontains_multi"),
        Operator("regex", check=_check_regex),
        Operator("not_regex", lists="all", check=_check_regex),
        Operator("gt"), Operator("gte"), Operator("lt"), Operator("lte"),
        Operator("min"), Operator("max"),
        Operator("between", lists="own", check=_check_between),
        Operator("not_between", lists="own", check=_check_between),
        Operator("is_set", needs_value=False),
        Operator("is_not_set", needs_value=False),
        Operator("is_date_exact", check=_check_date),
        Operator("is_date_before", check=_check_date),
        Operator("is_date_after", check=_check_date),
        Operator("is_cleaned_path_exact"),
        *(Operator(n, check=_check_semver) for n in
          ("semver_eq", "semver_neq", "semver_gt", "semver_gte", "semver_lt", "semver_lte")),
        *(Operator(n, check=_check_semver_range(n)) for n in SEMVER_RANGES),
        Operator("flag_evaluates_to", needs_value=False),
        Operator("_like_contains", internal=True),  # action step url "contains": case-sensitive LIKE
    )
}  # fmt: skip

# Every operator PostHog accepts on a property filter (filters.md §3.1).
KNOWN_OPERATORS = tuple(name for name, op in OPERATORS.items() if not op.internal)
NO_VALUE_OPERATORS = tuple(name for name, op in OPERATORS.items() if not op.needs_value)


def check_operand(operator: str, value: Any, path: tuple, limits: Limits, key: Any = None) -> None:
    """Parse-time validation of an operand (bad regex, between bounds, in without a list, ...)."""
    OPERATORS[operator].check(value, path, limits, key)


__all__ = ["OPERATORS", "KNOWN_OPERATORS", "NO_VALUE_OPERATORS", "Operator", "SEMVER_RANGES",
           "RELATIVE_DATE", "check_operand", "members"]  # fmt: skip
