"""The actors of a data point: persons or groups, their event counts and their ids."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ...store import EventStore
from ...store.tables import NO_TIME
from ...timeutil import us_to_datetime
from ..context import QueryContext

# --- actors ----------------------------------------------------------------------------------


class ActorSet:
    """The actors of a data point, one entry per actor: ``key`` (person row, or group key id),
    ``count`` (events), the rows they came from and the actor of each row (``of_row``)."""

    def __init__(self, ctx: QueryContext, strategy: str, gti: int | None, rows: np.ndarray, key: np.ndarray):
        self.ctx, self.strategy, self.gti = ctx, strategy, gti
        self.store: EventStore = ctx.store
        self.rows = rows
        self.key, self.of_row, counts = np.unique(key, return_inverse=True, return_counts=True)
        self.of_row = self.of_row.reshape(-1)
        self.count = counts.astype(np.int64)
        self._cache: dict[str, Any] = {}

    @property
    def group_type(self) -> int:
        """The group type index of a group actor set (person sets never read group tables)."""
        if self.gti is None:
            raise ValueError("a person ActorSet has no group type")
        return self.gti

    def __len__(self) -> int:
        return len(self.key)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the actors where ``mask`` is False (and their rows)."""
        if mask.all():
            return
        new_index = np.cumsum(mask) - 1
        row_ok = mask[self.of_row]
        self.rows, self.of_row = self.rows[row_ok], new_index[self.of_row[row_ok]]
        self.key, self.count = self.key[mask], self.count[mask]
        self._cache.clear()

    def _memo(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    # --- per actor, vectorised -------------------------------------------------------------------
    def has_row(self) -> np.ndarray:
        """The actor has a row in the persons / groups table."""
        if self.strategy == "person":
            return ~self.store.persons.synthetic[self.key]
        return self.group_rows() >= 0

    def group_rows(self) -> np.ndarray:
        table = self.store.groups.get(self.group_type)
        texts = group_key_texts(self.store, self.group_type)
        if table is None:
            return np.full(len(self.key), -1, dtype=np.int64)
        lut = self.store.cached(("group_key_table_rows", self.group_type),
                                lambda: np.array([table.index.get(t, -1) for t in texts.tolist()], dtype=np.int64))
        return lut[self.key]

    def last_seen(self) -> np.ndarray:
        def build() -> np.ndarray:
            out = np.full(len(self.key), np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(out, self.of_row, self.store.ts[self.rows])
            return out

        return self._memo("last_seen", build)

    def id_rank(self) -> np.ndarray:
        """Rank of each actor's id text (its sort position among all ids of the store)."""
        if self.strategy == "person":
            return person_id_ranks(self.store)[self.key]
        return self.key  # group key ids are ranks of the key texts already

    def created_at(self) -> np.ndarray:
        if self.strategy == "person":
            return self.store.persons.created_at[self.key]
        rows = self.group_rows()
        table = self.store.groups.get(self.group_type)
        if table is None:
            return np.full(len(self.key), NO_TIME, dtype=np.int64)
        return np.where(rows >= 0, table.created_at[np.maximum(rows, 0)] if len(table) else NO_TIME, NO_TIME)

    def property_codes(self, key: str) -> tuple[np.ndarray, Any] | None:
        """(dictionary code per actor, -1 = absent; the column) of an actor property."""
        if self.strategy == "person":
            col = self.store.persons.column(key)
            return None if col is None else (col.codes[self.key], col)
        table = self.store.groups.get(self.group_type)
        col = table.column(key) if table is not None else None
        if col is None:
            return None
        rows = self.group_rows()
        return np.where(rows >= 0, col.codes[np.maximum(rows, 0)], -1), col

    def distinct_ids(self, idx: np.ndarray) -> list[list[str]]:
        """The distinct_ids on the point's events of the actors at positions ``idx``."""
        sel = np.isin(self.of_row, idx)
        dids = self.store.distinct_id[self.rows[sel]].astype(np.int64)
        n = max(len(self.store.distinct_ids), 1)
        pairs = np.unique(self.of_row[sel].astype(np.int64) * n + dids)
        actor, did = pairs // n, pairs % n
        names = self.store.distinct_ids
        out = []
        for a in idx.tolist():
            lo, hi = np.searchsorted(actor, [a, a + 1])
            out.append([str(names[d]) for d in did[lo:hi].tolist()])
        return out

    # --- one page, in Python -------------------------------------------------------------------
    def ids(self, idx: np.ndarray) -> list[Any]:
        if self.strategy == "person":
            return [person_id(self.store, k) for k in self.key[idx].tolist()]
        texts = group_key_texts(self.store, self.group_type)
        return [texts[k] for k in self.key[idx].tolist()]

    def dicts(self, idx: np.ndarray) -> list[dict[str, Any]]:
        """PostHog's actor dicts (actor_strategies get_actors), or the fallback for actors
        without a table row: ``{"id", "distinct_ids"}`` / ``{"id", "group_type_index"}``."""
        ids, has_row = self.ids(idx), self.has_row()[idx].tolist()
        out: list[dict[str, Any]] = []
        if self.strategy == "person":
            persons = self.store.persons
            need_events = not all(has_row)
            event_dids = self.distinct_ids(idx) if need_events else None
            order, bounds = person_distinct_id_index(self.store)
            names = self.store.distinct_ids
            for j, (k, pid, real) in enumerate(zip(self.key[idx].tolist(), ids, has_row)):
                if not real:
                    out.append({"id": pid, "distinct_ids": event_dids[j] if event_dids is not None else []})
                    continue
                out.append({
                    "id": pid,
                    "properties": _properties(persons.properties, k),
                    "created_at": _iso_utc(int(persons.created_at[k])),
                    "distinct_ids": [str(names[c]) for c in order[bounds[k]:bounds[k + 1]].tolist()],
                })
            return out
        table = self.store.groups.get(self.group_type)
        rows = self.group_rows()[idx].tolist()
        for key, row in zip(ids, rows):
            if row < 0 or table is None:
                out.append({"id": key, "group_type_index": self.gti})
                continue
            props = _properties(table.properties, row)
            out.append({
                "id": key, "type": "group", "properties": props, "group_key": key, "group_type_index": self.gti,
                "created_at": _iso_utc(int(table.created_at[row])), "group_properties": copy.deepcopy(props),
            })
        return out


def _properties(columns: Mapping[str, Any], row: int) -> dict[str, Any]:
    out = {}
    for key, col in columns.items():
        code = int(col.codes[row])
        if code >= 0:
            out[key] = copy.deepcopy(col.dictionary.values[code])
    return out


def _iso_utc(us: int) -> str | None:
    if us == NO_TIME:
        return None
    return us_to_datetime(us).isoformat().replace("+00:00", "Z")


def _iso_local(us: int, tz: dt.tzinfo) -> str | None:
    if us == NO_TIME:
        return None
    return us_to_datetime(us, tz).isoformat().replace("+00:00", "Z")


def person_id(store: EventStore, k: int) -> Any:
    """A person's id: the ``id`` given for it, else ``person:<row>`` (as the person_id breakdown)."""
    pid = store.persons.ids[k]
    return pid if pid is not None else f"person:{k}"


def person_id_ranks(store: EventStore) -> np.ndarray:
    """Per person row, the rank of its id text among all persons' (computed once per store)."""

    def build() -> np.ndarray:
        texts = np.array([str(person_id(store, k)) for k in range(len(store.persons))] or [""], dtype=object)
        _, ranks = np.unique(texts, return_inverse=True)
        return ranks.reshape(-1).astype(np.int64)

    return store.cached("person_id_ranks", build)


def person_distinct_id_index(store: EventStore) -> tuple[np.ndarray, np.ndarray]:
    """(distinct_id codes grouped by person, in the order they were ingested; per person row the
    start of its group, plus the end): person k's are ``order[bounds[k]:bounds[k + 1]]``."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        owner = store.persons.person_of_distinct_id
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], np.arange(len(store.persons) + 1))
        return order, bounds

    return store.cached("person_distinct_id_index", build)


def group_key_texts(store: EventStore, gti: int) -> np.ndarray:
    """The sorted distinct group keys of ``$group_N`` (object array); see ``group_key_ids``."""
    return group_key_ids(store, gti)[1]


def group_key_ids(store: EventStore, gti: int) -> tuple[np.ndarray, np.ndarray]:
    """(key id per dictionary code of ``$group_N``, the missing slot last (-1); sorted key texts)."""
    col = store.column(f"$group_{gti}")
    if col is None:
        return np.full(1, -1, dtype=np.int64), np.array([], dtype=object)

    def build() -> tuple[np.ndarray, np.ndarray]:
        texts = [v if isinstance(v, str) else json.dumps(v) for v in col.dictionary.values]
        uniq, ids = np.unique(np.array(texts or [""], dtype=object), return_inverse=True)
        ids = ids.reshape(-1).astype(np.int64)[: len(texts)]
        return np.concatenate([ids, [-1]]), uniq if texts else np.array([], dtype=object)

    return col.dictionary.cached("group_key_ids", build)


