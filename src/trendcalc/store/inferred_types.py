"""Property types inferred from a store's data, the way PostHog's ingestion types a property the
first time it sees it (``trendcalc.typedetect``): per property, the type of its first value that
has one, in ingestion order.

Ingestion order is event time, then input order: each distinct value is placed at the earliest
event holding it (ties: the value seen first in the input, its dictionary code), and rule 3's
"now" for a number is that event's time. Person and group properties have no event time: their
values count in input order (dictionary order), with the store's latest event as "now".

Detection runs when a query first asks for a column's type, and is cached on the store. It
stops at the deciding value where it can: a person or group column at its first typed value in
dictionary order, an event column with many values for its rows at its first typed value in
first-seen order; otherwise every distinct value is detected (cheaper than a pass over the rows
for a few values).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..typedetect import detect, has_datetime_keyword
from .columns import PropertyColumn


def first_seen_seconds(col: PropertyColumn, ts: np.ndarray) -> np.ndarray:
    """Per dictionary code, the epoch seconds of the earliest row holding it (inf: none)."""
    first = np.full(len(col.dictionary), np.iinfo(np.int64).max, dtype=np.int64)
    held = col.codes >= 0
    np.minimum.at(first, col.codes[held], ts[held])
    out = first.astype(np.float64) / 1e6
    out[first == np.iinfo(np.int64).max] = math.inf
    return out


# An event column's type can be found two ways: detect every distinct value (Python, ~4 µs a
# value), or order the values by first sighting (one vectorised pass, ~25 ns a row) and detect
# until one has a type. The second wins on columns with many values for their rows (~2 M
# session ids or e-mails would take seconds of per-value Python on their first query) and
# whenever rule 3 needs the first-seen times anyway; measured with NumPy 2 on x86-64.
DETECT_NS_PER_VALUE = 4000.0
FIRST_SEEN_NS_PER_ROW = 25.0


def prefers_first_seen_order(n_values: int, n_rows: int, needs_first_seen: bool) -> bool:
    """Whether detecting in first-seen order (a pass over the rows, then few detections) is
    cheaper than detecting all ``n_values`` values."""
    return needs_first_seen or n_values * DETECT_NS_PER_VALUE > n_rows * FIRST_SEEN_NS_PER_ROW


def column_type(key: str, col: PropertyColumn | None, ts: np.ndarray | None, latest_s: float) -> str | None:
    """The inferred type of property ``key`` over ``col`` (None: no value has a type).

    ``ts``: the rows' µs timestamps for an event column (None for person/group columns)."""
    if col is None or not len(col.dictionary):
        return None
    values = col.dictionary.values
    if ts is None:  # person/group values count in dictionary order: the first typed one decides
        return next((t for t in (detect(key, v, latest_s) for v in values) if t is not None), None)
    needs_now = has_datetime_keyword(key) and any(type(v) is int and v >= 0 for v in values)
    if prefers_first_seen_order(len(values), len(col.codes), needs_now):
        return _first_typed_in_time_order(key, values, first_seen_seconds(col, ts), needs_now, latest_s)
    held = np.zeros(len(values), dtype=bool)  # a value no row holds was never ingested: it has no say
    held[col.codes[col.codes >= 0]] = True
    types = [detect(key, v, latest_s) if h else None for v, h in zip(values, held.tolist())]  # ("now" unused)
    typed = [i for i, t in enumerate(types) if t is not None]
    if not typed:
        return None
    if all(types[i] == types[typed[0]] for i in typed):
        return types[typed[0]]
    first = first_seen_seconds(col, ts)
    return types[min(typed, key=lambda i: (first[i], i))]


def _first_typed_in_time_order(key: str, values: Any, first: np.ndarray, needs_now: bool, latest_s: float) -> str | None:
    """``column_type``'s answer for an event column, detecting values in (first seen, code)
    order and stopping at the first with a type: the same value the full pass picks (the
    earliest typed one; when all typed values agree, any of them), with the same "now"."""
    for i in np.argsort(first, kind="stable").tolist():
        if first[i] == math.inf:  # held by no row (a dictionary shared with other rows): never ingested
            return None
        t = detect(key, values[i], float(first[i]) if needs_now else latest_s)
        if t is not None:
            return t
    return None


def store_column_type(store: Any, name: str, kind: str = "event", group_type_index: int | None = None) -> str | None:
    """The inferred type of one property of ``store`` (cached on the store)."""

    def build() -> str | None:
        latest = float(store.ts.max()) / 1e6 if len(store.ts) else 0.0
        if kind == "event":
            return column_type(name, store.properties.get(name), store.ts, latest)
        if kind == "person":
            return column_type(name, store.persons.properties.get(name), None, latest)
        if kind == "group":
            table = store.groups.get(group_type_index)
            return column_type(name, None if table is None else table.properties.get(name), None, latest)
        return None

    return store.cached(("inferred type", kind, group_type_index, name), build)


def store_definitions(store: Any) -> tuple[dict[str, Any], ...]:
    """Every property of ``store`` with an inferred type, as property definition dicts (the shape
    ``Project(property_definitions=...)`` takes): event, then person, then group properties, by
    name."""
    out: list[dict[str, Any]] = []
    keys: list[tuple[str, int | None, str]] = [("event", None, k) for k in sorted(store.properties)]
    keys += [("person", None, k) for k in sorted(store.persons.properties)]
    for gti in sorted(store.groups):
        keys += [("group", gti, k) for k in sorted(store.groups[gti].properties)]
    for kind, gti, name in keys:
        t = store_column_type(store, name, kind, gti)
        if t is not None:
            out.append({"name": name, "type": t, "kind": kind, **({"group_type_index": gti} if kind == "group" else {})})
    return tuple(out)



def preset_types(store: Any, definitions: Any) -> None:
    """Make ``store`` infer the given types (definition dicts as ``store_definitions`` returns):
    a partition of a larger store answers with the whole store's types, which its own rows alone
    may not give. Properties not listed are inferred from ``store`` as usual."""
    for d in definitions:
        kind = d["kind"]
        gti = d.get("group_type_index") if kind == "group" else None
        store.cached(("inferred type", kind, gti, d["name"]), lambda t=d["type"]: t)


__all__ = ["column_type", "first_seen_seconds", "prefers_first_seen_order", "preset_types", "store_column_type", "store_definitions"]
