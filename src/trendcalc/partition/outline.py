"""A partitioned store's advice ``Outline`` (``engine/advice.py``), read from its manifest alone:
the caller of a Dask cluster may not be able to open the partitions, and advice must cost
microseconds. Each part is the union of the partitions' own, as the single store has it:

- event names: those with a time bound (every name has events);
- property keys by kind (``property_keys``, written since the eighth session; a manifest without
  them gives ``keys`` None, and no "unknown property" warning, rather than a wrong one);
- sessions: a ``$session_id`` column in any partition;
- the time span: the partitions' time bounds;
- inferred types: the manifest's ``property_types``, the single store's;
- persons without a person row: the partitions' ``persons_without_rows`` (written since the
  fourteenth session; None before, and no warning that needs it);
- a property's values (for the warnings about a property math over text, and an ``exact``
  value no event has): the union of the partitions' dictionaries, read from the partitions
  where this process can open them (memory-mapped; only for the keys such a filter or math
  names), else not known, and those two warnings are not given (a Dask client that cannot read
  the workers' paths).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ..engine.advice import Keys, Outline, store_outline
from ..errors import ValidationError
from ..store.columns import ValueDictionary
from ..timeutil import us_to_datetime
from .facts import SESSION_KEY
from .store import PartitionedStore


def manifest_outline(parts: PartitionedStore) -> Outline:
    """The Outline of ``parts`` (kept with the opened store)."""
    return parts.kept("advice outline", lambda: attrs.evolve(_outline(parts.manifest, parts.time_bounds),  # type: ignore[no-any-return]
                                                             dictionary=_union_dictionary(parts)))


def _union_dictionary(parts: PartitionedStore) -> Callable[[str, str, int | None], ValueDictionary | None]:
    """A property's values over every partition (see the module docstring), kept per key."""
    kept: dict[tuple[str, str, int | None], ValueDictionary | None] = {}

    def dictionary(kind: str, key: str, group_type_index: int | None) -> ValueDictionary | None:
        at = (kind, key, group_type_index)
        if at not in kept:
            try:
                found = [store_outline(parts.load(i)).dictionary(kind, key, group_type_index)
                         for i in range(parts.partitions)]
                present = [d for d in found if d is not None]
                kept[at] = ValueDictionary(tuple(dict.fromkeys(v for d in present for v in d.values))) if present else None
            except (OSError, ValidationError, TypeError):  # (partitions this process cannot open; unhashable values)
                kept[at] = None
        return kept[at]

    return dictionary


def _outline(manifest: Any, time_bounds: Any) -> Outline:
    names = frozenset(manifest.get("event_time_bounds", {}))
    types = {(d.get("kind"), d.get("group_type_index"), d.get("name")): d.get("type")
             for d in manifest.get("property_types", ())}
    listed = manifest.get("property_keys")
    if isinstance(listed, dict):
        keys: Keys | None = Keys(listed.get("event", ()), listed.get("person", ()),
                                 {int(g): ks for g, ks in listed.get("group", {}).items()})
        sessions = SESSION_KEY in listed.get("event", ())
    else:
        keys = None
        sessions = ("event", None, SESSION_KEY) in types
    bounds = [b for b in time_bounds if b is not None]
    span = (us_to_datetime(min(b[0] for b in bounds)), us_to_datetime(max(b[1] for b in bounds))) if bounds else None

    def inferred_type(name: str, kind: str, group_type_index: int | None) -> str | None:
        found = types.get((kind, group_type_index if kind == "group" else None, name))
        return found if isinstance(found, str) else None

    counts = [p.get("persons_without_rows") for p in manifest.get("partitions", ())]
    personless = sum(counts) if counts and all(isinstance(c, int) for c in counts) else None
    return Outline(names, keys, sessions, span, inferred_type, personless)


__all__ = ["manifest_outline"]
