"""Virtual person properties (``$virt_*``): person fields PostHog derives from stored properties.

``$virt_initial_channel_type`` applies the channel rules to the person's ``$initial_*``
attribution; ``$virt_initial_referring_domain_type`` classifies ``$initial_referring_domain``.
Each is computed once per distinct attribution tuple and cached on the store as a column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .channel import SOURCES, _lookup, channel_type
from .columns import PropertyColumn, ValueDictionary, render_text

INITIAL_FIELDS = ("$initial_utm_source", "$initial_utm_medium", "$initial_utm_campaign", "$initial_referring_domain",
                  "$initial_gclid", "$initial_fbclid", "$initial_gad_source")  # fmt: skip


def _text(v: Any) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else render_text(v)


def _clean(v: str | None) -> str | None:
    return None if v in (None, "", "null") else v


def _tuples(store: Any, keys: tuple[str, ...]) -> tuple[np.ndarray, list[tuple]]:
    """(tuple id per person, distinct tuples) of the persons' values of ``keys``."""
    n = len(store.persons)
    cols = [store.persons.column(k) for k in keys]
    codes = np.stack([c.codes if c is not None else np.full(n, -1, np.int32) for c in cols], axis=1) if n else np.zeros((0, len(keys)), np.int32)
    uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
    tuples = [
        tuple(None if code < 0 or col is None else col.dictionary.values[code] for code, col in zip(row, cols))
        for row in uniq.tolist()
    ]
    return inverse.reshape(-1), tuples


def _channel(t: tuple) -> str:
    src, med, camp, ref, gclid, fbclid, gad = (_text(v) for v in t)
    return channel_type(src, med, camp, ref, _clean(gclid) is not None, _clean(fbclid) is not None, gad)


def _domain_type(t: tuple) -> str | None:
    ref = _text(t[0])
    if ref is None:
        return None
    if ref == "$direct":
        return "$direct"
    kind = _lookup({k: (v[1], v[1]) for k, v in SOURCES.items()}, ref, False, True)
    return kind.split(" ")[-1] if kind else None


VIRTUAL: dict[str, tuple[tuple[str, ...], Callable[[tuple], Any]]] = {
    "$virt_initial_channel_type": (INITIAL_FIELDS, _channel),
    "$virt_initial_referring_domain_type": (("$initial_referring_domain",), _domain_type),
}


def person_column(store: Any, key: str) -> PropertyColumn | None:
    """A person property column, real or virtual (None when no person has it)."""
    spec = VIRTUAL.get(key)
    if spec is None:
        return store.persons.column(key)

    def build() -> PropertyColumn:
        keys, derive = spec
        ids, tuples = _tuples(store, keys)
        derived = [derive(t) for t in tuples]  # once per distinct tuple, never per person
        distinct = sorted({d for d in derived if d is not None})
        code = {d: i for i, d in enumerate(distinct)}
        lut = np.array([code.get(d, -1) if d is not None else -1 for d in derived] + [-1], dtype=np.int32)
        return PropertyColumn(lut[ids] if len(ids) else np.zeros(0, np.int32), ValueDictionary(distinct))

    return store.cached(("virtual_person", key), build)
