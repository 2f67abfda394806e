"""RE2 regular expressions with ClickHouse ``match`` semantics, and LIKE patterns.

ClickHouse evaluates ``match(haystack, pattern)`` with RE2: an unanchored search, case-sensitive
unless the pattern says ``(?i)``, and ``.`` matching newline (``(?-s)`` turns that off). RE2 has
no backreferences or lookaround, and runs in linear time, so user patterns are safe to run.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

from ..errors import ValidationError
from ..limits import Limits

Pattern = Any  # re2._Regexp


def _options(case_sensitive: bool = True) -> re2.Options:
    o = re2.Options()
    o.log_errors = False
    o.dot_nl = True
    o.case_sensitive = case_sensitive
    return o


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str, case_sensitive: bool) -> Pattern:
    return re2.compile(pattern, _options(case_sensitive))


def compile_fixed(pattern: str) -> Pattern:
    """One of trendcalc's own patterns that runs over stored data: RE2 (linear time), ``.``
    matching newline. Python's ``re`` can take quadratic or exponential time on crafted text."""
    return _compile(pattern, True)


def _position(pattern: str, message: str) -> int:
    """Best-effort character position of an RE2 error (RE2 reports the offending fragment)."""
    _, _, fragment = message.partition(": ")
    if message.startswith("trailing \\"):
        return len(pattern) - 1
    if message.startswith("missing )"):
        return len(pattern)
    if message.startswith("unexpected )") or not fragment:
        return max(pattern.find(")"), 0)
    at = pattern.find(fragment)
    return at if at >= 0 else 0


def compile_regex(pattern: Any, path: tuple, limits: Limits, *, what: str = "regex") -> Pattern:
    """The compiled RE2 pattern, or ValidationError naming the path, the position and the reason."""
    if not isinstance(pattern, str):
        raise ValidationError(path, f"a {what} pattern must be a string, got {pattern!r}")
    if len(pattern) > limits.max_regex_length:
        raise ValidationError(path, f"{what} pattern longer than max_regex_length={limits.max_regex_length}")
    try:
        return _compile(pattern, True)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else str(exc)
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        pos = _position(pattern, message)
        raise ValidationError(path, f"invalid {what} {pattern!r} at position {pos}: {message}") from None


def like_regex(pattern: str) -> str:
    """A LIKE pattern (``%`` any run, ``_`` one character, ``\\`` escapes) as an anchored RE2 regex."""
    out = ["^"]
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re2.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re2.escape(ch))
        i += 1
    out.append("$")
    return "".join(out)


def compile_like(pattern: str, *, case_sensitive: bool) -> Pattern:
    """LIKE (case-sensitive) or ILIKE (case-insensitive, Unicode-aware) as a compiled RE2 pattern."""
    return _compile(like_regex(pattern), case_sensitive)
