"""Did-you-mean hints for enum-valued fields."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(value: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest valid name, else the list of valid names."""
    choices = list(choices)
    if isinstance(value, str):
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
        if not close:
            close = [c for c in choices if c.lower() == value.lower()]
        if close:
            return f"; did you mean {close[0]!r}?"
    return f"; expected one of {choices}"
