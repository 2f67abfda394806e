"""Autocapture elements: the elements chain, its derived columns, and CSS selector matching.

An ``$autocapture`` event carries ``elements_chain`` (filters.md §5.3): elements from the clicked
one outward, separated by ``;``; each is ``tag.class1.class2:`` followed by ``key="value"``
attributes (``nth-child``, ``nth-of-type``, ``text``, ``href``, ``attr_id``, ``attr__<name>``),
values with ``"`` escaped as ``\\"``. trendcalc reads it from the event property
``$elements_chain`` (a string), or serialises the ``$elements`` list posthog-js sends.

Everything here runs once per *distinct chain*, never per row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ...query.regex import compile_fixed
from ...query.selectors import (
    Element,
)

CHAIN_KEY = "$elements_chain"
ELEMENTS_KEY = "$elements"
USEFUL_ELEMENTS = ("a", "button", "form", "input", "select", "textarea", "label")

# The materialized columns of the events table, as ClickHouse extracts them from the raw chain.
# These run over stored data (chains up to max_ingest_string_length), so they are RE2, as in
# ClickHouse: linear time. (With Python's re, _ATTRIBUTE took O(n²) on a chain without `="`:
# ~4 hours for a 1 MiB chain.)
_HREF = compile_fixed(r'(?::|")href="(.*?)"')
_TEXT = compile_fixed(r'(?::|")text="(.*?)"')
_ID = compile_fixed(r'(?::|")attr_id="(.*?)"')
_USEFUL = compile_fixed(r"(?:^|;)(a|button|form|input|select|textarea|label)(?:\.|$|:)")

_SPLIT_HEAD = compile_fixed(r"(.*?)($|:([a-zA-Z\-_0-9]*=.*))")
_ATTRIBUTE = compile_fixed(r'(?P<key>(?:\\"|[^="])+)="(?P<value>(?:\\.|[^"\\])*)"')


def chain_href(chain: str) -> str:
    """``elements_chain_href``: the first ``href="…"`` in the chain, ``""`` when none."""
    m = _HREF.search(chain)
    return m.group(1) if m else ""


def chain_texts(chain: str) -> list[str]:
    """``elements_chain_texts``: every distinct ``text="…"`` in the chain, in order."""
    return list(dict.fromkeys(_TEXT.findall(chain)))


def chain_ids(chain: str) -> list[str]:
    return list(dict.fromkeys(_ID.findall(chain)))


def chain_useful(chain: str) -> set[str]:
    return set(_USEFUL.findall(chain))


def _split_elements(chain: str) -> list[str]:
    """Split on ``;`` outside quoted attribute values (values escape ``"`` as ``\\"``)."""
    out, cur, quoted, i = [], [], False, 0
    while i < len(chain):
        ch = chain[i]
        if quoted and ch == "\\" and i + 1 < len(chain):
            cur.append(chain[i : i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return [e for e in out if e]


def parse_chain(chain: str) -> tuple[Element, ...]:
    """The elements of a chain, innermost (the clicked element) first."""
    elements = []
    for text in _split_elements(chain):
        m = _SPLIT_HEAD.match(text)
        head, attrs_text = (m.group(1), m.group(3) or "") if m else (text, "")
        tag, *classes = head.split(".")
        attributes = {a["key"]: a["value"].replace('\\"', '"') for a in _ATTRIBUTE.finditer(attrs_text)}
        elements.append(Element(tag, frozenset(c for c in classes if c), attributes))
    return tuple(elements)


def _escape(value: Any) -> str:
    return str(value).replace('"', '\\"')


def elements_to_chain(elements: Any) -> str:
    """Serialise posthog-js ``$elements`` dicts the way ingestion builds ``elements_chain``."""
    if not isinstance(elements, Sequence) or isinstance(elements, str):
        return ""
    parts = []
    for el in elements:
        if not isinstance(el, Mapping):
            continue
        classes = el.get("attr__class") or el.get("classes") or []
        if isinstance(classes, str):
            classes = classes.split(" ")
        out = str(el.get("tag_name") or "")
        out += "".join("." + str(c).replace('"', "") for c in sorted(str(c) for c in classes if c))
        attributes: dict[str, Any] = {}
        if el.get("$el_text"):
            attributes["text"] = str(el["$el_text"])[:400]
        attributes["nth-child"] = el.get("nth_child") or 0
        attributes["nth-of-type"] = el.get("nth_of_type") or 0
        if el.get("attr__href"):
            attributes["href"] = str(el["attr__href"])[:2048]
        if el.get("attr__id"):
            attributes["attr_id"] = el["attr__id"]
        attributes.update({k: v for k, v in el.items() if isinstance(k, str) and k.startswith("attr__")})
        if isinstance(attributes.get("attr__class"), list):
            attributes["attr__class"] = " ".join(map(str, attributes["attr__class"]))
        out += ":" + "".join(f'{_escape(k)}="{_escape(v)}"' for k, v in sorted(attributes.items()))
        parts.append(out)
    return ";".join(parts)


def chain_of_values(values: Sequence[Any], serialise: bool) -> list[str]:
    """Chain text per dictionary value: strings as they are (``$elements_chain``), or serialised
    ``$elements`` lists; anything else is an empty chain."""
    if serialise:
        return [elements_to_chain(v) for v in values]
    return [v if isinstance(v, str) else "" for v in values]


def row_chains(store: Any) -> tuple[list[str], np.ndarray]:
    """Distinct chains of the store and, per row, the index of its chain (``len(chains)`` = none).

    ``$elements_chain`` wins over ``$elements`` on rows that carry both. Cached per store."""

    def build() -> tuple[list[str], np.ndarray]:
        n = len(store)
        chains: list[str] = []
        codes = np.full(n, -1, dtype=np.int64)
        for key, serialise in ((ELEMENTS_KEY, True), (CHAIN_KEY, False)):
            col = store.column(key)
            if col is None:
                continue
            lut = np.arange(len(chains), len(chains) + len(col.dictionary) + 1, dtype=np.int64)
            lut[-1] = -1
            chains.extend(chain_of_values(col.dictionary.values, serialise))
            mapped = lut[col.codes]
            codes = np.where(mapped >= 0, mapped, codes)
        codes[codes < 0] = len(chains)
        return chains, codes

    return store.cached(("elements_chains",), build)
