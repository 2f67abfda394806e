"""Did-you-mean hints for enum-valued fields."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# What people write for an operator, from SQL and other tools, and the operator they mean.
ALIASES = {
    "=": "exact", "==": "exact", "eq": "exact", "equals": "exact", "is": "exact",
    "!=": "is_not", "<>": "is_not", "neq": "is_not", "not_equals": "is_not", "ne": "is_not",
    ">": "gt", ">=": "gte", "<": "lt", "<=": "lte",
    "contains": "icontains", "not_contains": "not_icontains", "like": "icontains", "ilike": "icontains",
    "matches": "regex", "exists": "is_set", "not_exists": "is_not_set",
}  # fmt: skip


def suggest(value: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest valid name, else the list of valid names."""
    choices = list(choices)
    if isinstance(value, str):
        alias = ALIASES.get(value.strip().lower())
        if alias in choices:
            return f"; did you mean {alias!r}?"
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
        if not close:
            close = [c for c in choices if c.lower() == value.lower()]
        if close:
            return f"; did you mean {close[0]!r}?"
    return f"; expected one of {choices}"
