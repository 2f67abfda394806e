"""The immutable, indexed event store every query runs over.

Rows are ordered by (event code, timestamp), so ``offsets[k]:offsets[k+1]`` holds event k's rows in
time order and a series over a date range is a binary-searched slice. Strings are dictionary-encoded;
each property key is one PropertyColumn.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ValidationError
from ..timeutil import to_us, us_to_datetime
from .columns import ColumnBuilder, PropertyColumn
from .ingest import (
    Interner,
    _frozen_copy,
    _string_id,
    build_groups,
    build_persons,
    finish_persons,
    properties_of,
    remap_sorted,
)
from .memo import Memo
from .tables import GroupTable, PersonTable

GROUP_KEYS = tuple(f"$group_{i}" for i in range(5))


class EventStore:
    """Events, persons and groups, indexed for trend queries. Build with a ``from_*`` constructor."""

    def __init__(
        self,
        *,
        ts: np.ndarray,
        event: np.ndarray,
        event_names: tuple[str, ...],
        distinct_id: np.ndarray,
        distinct_ids: np.ndarray,
        properties: Mapping[str, PropertyColumn],
        persons: PersonTable,
        groups: Mapping[int, GroupTable],
        uuid: np.ndarray | None = None,
    ):
        self.ts = ts
        self.event = event
        self.event_names = tuple(event_names)
        self.distinct_id = distinct_id
        self.distinct_ids = distinct_ids
        self.properties = dict(properties)
        self.persons = persons
        self.groups = dict(groups)
        self.uuid = uuid
        self.person = persons.person_of_distinct_id[distinct_id] if len(distinct_id) else np.zeros(0, np.int32)
        self.offsets = np.searchsorted(event, np.arange(len(event_names) + 1)).astype(np.int64)
        self._event_code = {name: i for i, name in enumerate(self.event_names)}
        self._memo = Memo()
        for arr in (self.ts, self.event, self.distinct_id, self.person, self.offsets):
            arr.flags.writeable = False
        for col in self.properties.values():
            col.codes.flags.writeable = False

    # --- construction ---------------------------------------------------------------------------
    @classmethod
    def from_records(
        cls,
        events: Iterable[Mapping[str, Any]],
        persons: Iterable[Mapping[str, Any]] | None = None,
        groups: Iterable[Mapping[str, Any]] | None = None,
    ) -> EventStore:
        """Build from dict records (see DESIGN.md); bad input raises ValidationError naming
        ``events[i].field`` (or ``persons[i]...``/``groups[i]...``). Inputs are never mutated."""
        dids = Interner()
        p_ids, p_created, p_builders, owner = build_persons(persons, dids)
        group_tables = build_groups(groups)
        names = Interner()
        ts_list: list[int] = []
        ev_list: list[int] = []
        did_list: list[int] = []
        uuids: list[Any] = []
        builders: dict[str, ColumnBuilder] = {}
        if isinstance(events, (str, bytes, Mapping)):
            raise ValidationError(("events",), "expected an iterable of event objects")
        for i, rec in enumerate(events):
            path = ("events", i)
            if not isinstance(rec, Mapping):
                raise ValidationError(path, f"expected an object, got {type(rec).__name__}")
            name = rec.get("event")
            if not isinstance(name, str) or not name:
                raise ValidationError(path + ("event",), f"expected a non-empty event name, got {name!r}")
            if len(name) > 4096:
                raise ValidationError(path + ("event",), "event name longer than 4096 characters")
            did = _string_id(rec.get("distinct_id"), path + ("distinct_id",), "distinct_id")
            if "timestamp" not in rec or rec["timestamp"] is None:
                raise ValidationError(path + ("timestamp",), "missing timestamp")
            ts_list.append(to_us(rec["timestamp"], path + ("timestamp",)))
            ev_list.append(names(name))
            did_list.append(dids(did))
            u = rec.get("uuid")
            if u is not None and not isinstance(u, str):
                raise ValidationError(path + ("uuid",), "expected a string uuid")
            uuids.append(u)
            for k, v in properties_of(rec, path).items():
                builders.setdefault(k, ColumnBuilder()).add(i, _frozen_copy(v))
        n = len(ts_list)
        sorted_names, new_code = remap_sorted(names)
        event = new_code[np.asarray(ev_list, dtype=np.int64)] if n else np.zeros(0, np.int32)
        ts = np.asarray(ts_list, dtype=np.int64)
        order = np.lexsort((ts, event)) if n else np.zeros(0, np.int64)
        person_table = finish_persons(p_ids, p_created, p_builders, owner, len(dids.values))
        uuid_arr = None
        if any(u is not None for u in uuids):
            uuid_arr = np.array(uuids, dtype=object)[order]
        return cls(
            ts=ts[order],
            event=event[order].astype(np.int32),
            event_names=tuple(sorted_names),
            distinct_id=np.asarray(did_list, dtype=np.int32)[order],
            distinct_ids=np.array(dids.values, dtype=object),
            properties={k: b.build(n, order) for k, b in builders.items()},
            persons=person_table,
            groups=group_tables,
            uuid=uuid_arr,
        )

    @classmethod
    def from_jsonl(
        cls,
        path: str | Path,
        persons: str | Path | Iterable[Mapping[str, Any]] | None = None,
        groups: str | Path | Iterable[Mapping[str, Any]] | None = None,
    ) -> EventStore:
        """Build from a JSON-lines file of events (persons/groups: records or JSON-lines files).

        A line that is not a JSON object raises ValidationError naming the file and line."""
        events = _read_jsonl(path, "events")
        if isinstance(persons, (str, Path)):
            persons = _read_jsonl(persons, "persons")
        if isinstance(groups, (str, Path)):
            groups = _read_jsonl(groups, "groups")
        return cls.from_records(events, persons=persons, groups=groups)

    # --- access ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ts)

    def __repr__(self) -> str:
        if len(self):
            lo, hi = us_to_datetime(self.ts.min()), us_to_datetime(self.ts.max())
            span = f", {lo:%Y-%m-%d}..{hi:%Y-%m-%d}"
        else:
            span = ""
        return (
            f"<EventStore {len(self):,} events, {len(self.event_names)} event names, "
            f"{len(self.persons):,} persons, {len(self.properties)} event properties{span}>"
        )

    def event_code(self, name: str) -> int | None:
        """The code of an event name, None when no event has it."""
        return self._event_code.get(name)

    def event_slice(self, code: int, lo_us: int, hi_us: int) -> slice:
        """Rows of event ``code`` with ``lo_us <= ts < hi_us``: a binary search, no scan."""
        a, b = int(self.offsets[code]), int(self.offsets[code + 1])
        block = self.ts[a:b]
        return slice(a + int(np.searchsorted(block, lo_us, "left")), a + int(np.searchsorted(block, hi_us, "left")))

    def column(self, key: str) -> PropertyColumn | None:
        """The event property column of ``key`` (None when no event has it)."""
        return self.properties.get(key)

    def cached(self, key: Any, build: Callable[[], Any]) -> Any:
        """A value derived once per store (sessions, group row maps, ...), thread-safely."""
        return self._memo.get(key, build)

    def group_rows(self, group_type_index: int) -> np.ndarray:
        """Per event row: the row of its ``$group_N`` group in the group table (-1 = none)."""

        def build() -> np.ndarray:
            col = self.column(GROUP_KEYS[group_type_index])
            table = self.groups.get(group_type_index)
            if col is None:
                return np.full(len(self), -1, dtype=np.int32)
            index = table.index if table is not None else {}
            lut = np.array(
                [index.get(v if isinstance(v, str) else json.dumps(v), -1) for v in col.dictionary.values] + [-1],
                dtype=np.int32,
            )
            return lut[col.codes]

        return self.cached(("group_rows", group_type_index), build)

    def time_range(self) -> tuple[dt.datetime, dt.datetime] | None:
        if not len(self):
            return None
        return us_to_datetime(int(self.ts.min())), us_to_datetime(int(self.ts.max()))


def _read_jsonl(path: str | Path, what: str) -> list[Mapping[str, Any]]:
    out = []
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise ValidationError((what,), f"cannot read {str(path)!r}: {exc.strerror}") from exc
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                raise ValidationError((what, f"{path}:{lineno}"), f"invalid JSON: {exc.msg}") from exc
            if not isinstance(rec, dict):
                raise ValidationError((what, f"{path}:{lineno}"), "expected a JSON object per line")
            out.append(rec)
    return out
