"""ClickHouse ``LIKE`` patterns (``like``, ``ilike``, ``notLike``, ``notILike``): ``%`` matches any
run of characters, ``_`` any one character, a backslash makes the next character literal
(``\\%``, ``\\_``, ``\\\\``). The whole string must match.

Matched without regular expressions: the pattern is split at its ``%`` into segments, the first
must match at the start, the last at the end, and each one between at its leftmost place after
the previous one (greedy leftmost is exact for ``%``-separated segments), so a pattern like
``'%a%a%a%b'`` costs at most len(text) × len(pattern) character steps, never backtracking.
"""

from __future__ import annotations

# A segment is a tuple of characters, None standing for ``_`` (any one character).
Segment = tuple[str | None, ...]


def parse_pattern(pattern: str) -> list[Segment]:
    """The ``%``-separated segments of a LIKE pattern (one segment: no ``%``)."""
    segments: list[Segment] = []
    current: list[str | None] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            current.append(pattern[i + 1])
            i += 2
            continue
        if ch == "%":
            segments.append(tuple(current))
            current = []
        else:
            current.append(None if ch == "_" else ch)
        i += 1
    segments.append(tuple(current))
    return segments


def _matches_at(text: str, at: int, seg: Segment) -> bool:
    return all(p is None or text[at + k] == p for k, p in enumerate(seg))


def _find(text: str, seg: Segment, start: int, stop: int) -> int:
    """The first position >= start where ``seg`` matches and ends by ``stop`` (-1: none)."""
    for at in range(start, stop - len(seg) + 1):
        if _matches_at(text, at, seg):
            return at
    return -1


def _fold(s: str) -> str:
    """Case folding character by character (lengths kept, so ``_`` still counts characters)."""
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in s)


def like(text: str, pattern: str, *, case_insensitive: bool = False) -> bool:
    """Whether ``text`` matches the LIKE ``pattern`` as a whole."""
    if case_insensitive:
        text, pattern = _fold(text), _fold(pattern)
    segments = parse_pattern(pattern)
    if len(segments) == 1:
        seg = segments[0]
        return len(seg) == len(text) and _matches_at(text, 0, seg)
    first, *middle, last = segments
    lo, hi = len(first), len(text) - len(last)
    if hi < lo or not _matches_at(text, 0, first) or not _matches_at(text, hi, last):
        return False
    for seg in middle:
        at = _find(text, seg, lo, hi)
        if at < 0:
            return False
        lo = at + len(seg)
    return True


__all__ = ["like", "parse_pattern"]
