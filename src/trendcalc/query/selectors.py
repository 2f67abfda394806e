"""CSS selectors over autocapture elements (filters.md §5.3): the parsed selector and the parsed
element it is matched against.

Parsing a selector is the query layer's work (a bad selector fails at parse time); the engine
matches parsed parts against each distinct chain's elements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from ..errors import ValidationError
from .regex import compile_fixed


@attrs.frozen
class Element:
    tag: str
    classes: frozenset[str]
    attributes: Mapping[str, str]



_PART = re.compile(
    r"""(?P<tag>\*|[A-Za-z][A-Za-z0-9_-]*)?
        (?P<rest>(?:\.(?:\\.|[^.#\[:\\])+ | \#(?:\\.|[^.#\[:\\])+ | \[[^\]]*\] | :nth-(?:child|of-type)\(\d+\))*)$""",
    re.X,
)
# RE2: with Python's re, "[[[[…]" took O(n²) (a 64 KiB selector: ~13 s).
_PIECE = compile_fixed(r"\.((?:\\.|[^.#\[:\\])+)|#((?:\\.|[^.#\[:\\])+)|\[([^\]=]+)=\s*(?:'([^']*)'|\"((?:\\.|[^\"\\])*)\"|([^\]]*))\s*\]|:(nth-child|nth-of-type)\((\d+)\)")
_PLAIN_ATTRIBUTES = ("attr_id", "href", "text", "nth-child", "nth-of-type")


@attrs.frozen
class SelectorPart:
    tag: str | None
    classes: frozenset[str]
    attributes: tuple[tuple[str, str], ...]
    child: bool  # ">" before this part: the element right outside the previous (inner) part

    def matches(self, el: Element) -> bool:
        if self.tag is not None and el.tag != self.tag:
            return False
        if not self.classes <= el.classes:
            return False
        return all(el.attributes.get(k) == v for k, v in self.attributes)


def _unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s)


def _tokens(selector: str) -> list[str]:
    """Whitespace-separated tokens outside ``[...]`` and quotes; ``>`` is its own token."""
    out: list[str] = []
    cur: list[str] = []
    depth = 0
    quote: str | None = None
    for ch in selector:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"" and depth:
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(depth - 1, 0)
        if not quote and not depth and (ch.isspace() or ch == ">"):
            if cur:
                out.append("".join(cur))
                cur = []
            if ch == ">":
                out.append(">")
            continue
        cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def _attribute_name(key: str) -> str:
    key = key.strip()
    if key == "id":
        return "attr_id"
    return key if key in _PLAIN_ATTRIBUTES or key.startswith("attr__") else f"attr__{key}"


def parse_selector(selector: str, path: tuple) -> tuple[SelectorPart, ...]:
    """Selector parts, innermost first; ValidationError on syntax outside the supported subset
    (tags, ``*``, ``.class``, ``#id``, ``[attr='v']``, ``:nth-child(n)``, ``:nth-of-type(n)``,
    descendant and ``>`` combinators)."""
    if not isinstance(selector, str) or not selector.strip():
        raise ValidationError(path, f"expected a CSS selector string, got {selector!r}")
    parts: list[SelectorPart] = []
    child = False
    for token in _tokens(selector):
        if token == ">":
            if not parts or child:
                raise ValidationError(path, f"misplaced '>' in selector {selector!r}")
            child = True
            continue
        m = _PART.match(token)
        if not m:
            raise ValidationError(path, f"unsupported selector syntax {token!r} in {selector!r}")
        classes, attributes = set(), {}
        for p in _PIECE.finditer(m["rest"] or ""):
            cls, ident, key, v1, v2, v3, nth, n = p.groups()
            if cls is not None:
                classes.add(_unescape(cls))
            elif ident is not None:
                attributes["attr_id"] = _unescape(ident)
            elif key is not None:
                value = v1 if v1 is not None else (v2.replace('\\"', '"') if v2 is not None else (v3 or "").strip())
                attributes[_attribute_name(key)] = value
            else:
                attributes[nth] = n
        tag = None if m["tag"] in (None, "*") else m["tag"]
        parts.append(SelectorPart(tag, frozenset(classes), tuple(sorted(attributes.items())), child))
        child = False
    if child or not parts:
        raise ValidationError(path, f"selector {selector!r} ends with '>'")
    # Innermost first; each part's `child` now says whether it must sit right outside the previous one.
    ordered = parts[::-1]
    flags = [False] + [parts[len(parts) - k].child for k in range(1, len(parts))]
    return tuple(attrs.evolve(p, child=f) for p, f in zip(ordered, flags))


def selector_matches(parts: tuple[SelectorPart, ...], elements: tuple[Element, ...]) -> bool:
    """True when some element matches the innermost part and the outer parts match its ancestors
    (``>``: the direct parent; otherwise any ancestor further out)."""

    def match_from(k: int, pos: int) -> bool:
        if k == len(parts):
            return True
        part = parts[k]
        candidates = [pos + 1] if part.child else range(pos + 1, len(elements))
        return any(i < len(elements) and part.matches(elements[i]) and match_from(k + 1, i) for i in candidates)

    return any(parts[0].matches(el) and match_from(1, i) for i, el in enumerate(elements))


def tag_name_pattern(tag: str) -> str:
    """The chain regex of a tag_name condition; the tag is inserted unescaped, as upstream does."""
    return rf"(^|;){tag}(\.|$|;|:)"


