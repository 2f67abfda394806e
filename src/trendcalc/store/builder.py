"""One validating builder behind every record-shaped input (dicts, JSON lines, CSV, DataFrames).

Each record is validated completely before anything of it is kept, so ``errors="skip"`` can drop a
bad record whole and the store never holds half of one. Errors raised here carry a path relative
to the record (``("timestamp",)``); ``feed`` puts them where the record came from.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import InputRowError, ValidationError, brief
from ..jsonvalue import check_number, check_text
from ..limits import DEFAULT_LIMITS, Limits
from ..timeutil import UTC, to_us
from .columnrule import RECOGNISED, REQUIRED, missing_columns_error, nearest, role
from .columns import ColumnBuilder
from .ingest import (
    Interner,
    _frozen_copy,
    _string_id,
    check_json_value,
    finish_persons,
    properties_of,
    remap_sorted,
)
from .progress import LARGE_ROWS, progress_bar
from .report import ERRORS_MODES, IngestReport, IngestWarning, SkippedRow, user_stacklevel
from .tables import NO_TIME, GroupTable


class Source:
    """Where records come from: ``name`` (a file path, or events/persons/groups for in-memory
    records) and the ``unit`` their row numbers count in (line, item or index; see SkippedRow)."""

    __slots__ = ("name", "unit")

    def __init__(self, name: str, unit: str = "index"):
        self.name, self.unit = name, unit


# (row, record or the ValidationError met while reading it, timestamp in µs if pre-parsed or None)
Item = tuple[int, Any, "int | None"]


def _column(builders: dict[str, ColumnBuilder], key: str) -> ColumnBuilder:
    b = builders.get(key)
    if b is None:
        b = builders[key] = ColumnBuilder()
    return b


def check_errors_mode(errors: object) -> str:
    if errors not in ERRORS_MODES:
        raise ValidationError(("errors",), f"expected one of {ERRORS_MODES}, got {brief(errors)}")
    return errors  # type: ignore[return-value]


def _person_id(v: Any, path: tuple, limits: Limits = DEFAULT_LIMITS) -> str | int:
    if isinstance(v, bool) or not isinstance(v, (str, int)) or v == "":
        raise ValidationError(path, f"expected a non-empty string or int person id, got {brief(v)}")
    if isinstance(v, str):
        return check_text(v, path, limits.max_name_length, "person id", "max_name_length")
    return check_number(v, path)  # type: ignore[return-value]


class StoreBuilder:
    """Accumulates persons, groups and events; ``build()`` returns the EventStore arguments.

    ``copy=True`` deep-copies container property values (caller-owned records); file readers pass
    freshly parsed values and skip the copy. ``limits``: the ingest caps (see Limits).
    """

    def __init__(self, *, errors: str = "raise", copy: bool = True, limits: Limits = DEFAULT_LIMITS,
                 tz: dt.tzinfo = UTC):
        self.errors = check_errors_mode(errors)
        self.tz = tz  # the zone of naive event timestamps (``timezone=``)
        if not isinstance(limits, Limits):
            raise ValidationError(("limits",), "expected a trendcalc.Limits")
        self.limits = limits
        self.copy = copy
        self.dids = Interner()
        self.skipped: list[SkippedRow] = []
        self.read = {"events": 0, "persons": 0, "groups": 0}
        # persons
        self.p_ids: list[Any] = []
        self.p_created: list[int] = []
        self.p_builders: dict[str, ColumnBuilder] = {}
        self.owner: dict[int, int] = {}  # distinct_id code → explicit person row
        # groups: type → (keys, property builders, created_at by row)
        self.groups: dict[int, tuple[Interner, dict[str, ColumnBuilder], dict[int, int]]] = {}
        # events
        self.names = Interner()
        self.ts: list[int] = []
        self.ev: list[int] = []
        self.did: list[int] = []
        self.uuids: list[Any] = []
        self.e_builders: dict[str, ColumnBuilder] = {}
        # persons named on events (PostHog export shape): latest person_id per distinct_id; per
        # person_id and property key, the latest value
        self.keyless_groups = 0  # group rows with group_key '' left out (one warning)
        self.did_person: dict[int, tuple[int, Any]] = {}
        self.person_props: dict[Any, dict[str, tuple[int, Any]]] = {}

    def _copy(self, v: Any) -> Any:
        return _frozen_copy(v) if self.copy else v

    # --- one record each; raise ValidationError (path relative to the record) and keep nothing --
    def person(self, rec: Any) -> None:
        if not isinstance(rec, Mapping):
            raise ValidationError((), f"expected an object, got {type(rec).__name__}")
        did_list = rec.get("distinct_ids")
        if not isinstance(did_list, (list, tuple)) or not did_list:
            raise ValidationError(("distinct_ids",), "expected a non-empty list of distinct_ids")
        row = len(self.p_ids)
        dids = [_string_id(d, ("distinct_ids", j), "distinct_id", self.limits) for j, d in enumerate(did_list)]
        for j, d in enumerate(dids):
            prev = self.owner.get(self.dids.index.get(d, -1))
            if prev is not None:
                raise ValidationError(("distinct_ids", j), f"distinct_id {d!r} already belongs to persons[{prev}]")
        props = properties_of(rec, (), limits=self.limits)
        ca = rec.get("created_at")
        created = NO_TIME if ca is None else to_us(ca, ("created_at",))
        pid = rec.get("id", rec.get("uuid"))
        if pid is not None and (isinstance(pid, bool) or not isinstance(pid, (str, int))):
            raise ValidationError(("id",), "expected a string or int id")
        if isinstance(pid, str):
            check_text(pid, ("id",), self.limits.max_name_length, "id", "max_name_length")
        elif pid is not None:
            check_number(pid, ("id",))
        for d in dids:
            self.owner[self.dids(d)] = row
        for k, v in props.items():
            _column(self.p_builders, k).add(row, self._copy(v))
        self.p_created.append(created)
        self.p_ids.append(pid)

    def group(self, rec: Any) -> None:
        if not isinstance(rec, Mapping):
            raise ValidationError((), f"expected an object, got {type(rec).__name__}")
        gti = rec.get("group_type_index")
        if isinstance(gti, bool) or not isinstance(gti, int) or not 0 <= gti <= 4:
            raise ValidationError(("group_type_index",), f"expected an int 0..4, got {brief(gti)}")
        if rec.get("group_key") == "":  # PostHog keeps such a row but never counts '' as a group
            self.keyless_groups += 1
            if self.keyless_groups == 1:
                warnings.warn("a group row with group_key '' was left out (and any more like it): PostHog never "
                              "counts '' as a group, and an event's $group_N '' names none", IngestWarning,
                              stacklevel=user_stacklevel())
            return
        key = _string_id(rec.get("group_key"), ("group_key",), "group_key", self.limits)
        keys, builders, created = self.groups.setdefault(gti, (Interner(), {}, {}))
        if key in keys.index:
            raise ValidationError(("group_key",), f"duplicate group {key!r} of type {gti}")
        props = properties_of(rec, (), limits=self.limits)
        ca = rec.get("created_at")
        ca_us = None if ca is None else to_us(ca, ("created_at",))
        row = keys(key)
        for k, v in props.items():
            _column(builders, k).add(row, self._copy(v))
        if ca_us is not None:
            created[row] = ca_us

    def event(self, rec: Any, ts_us: int | None = None) -> None:
        if not isinstance(rec, Mapping):
            raise ValidationError((), f"expected an object, got {type(rec).__name__}")
        if len(rec) < 3 or "event" not in rec or "distinct_id" not in rec or "timestamp" not in rec:
            missing = [k for k in REQUIRED if k not in rec]
            if missing and nearest(missing[0], [str(k) for k in rec]) is not None:  # (a likely rename)
                raise missing_columns_error("record", missing, [str(k) for k in rec])
        name = rec.get("event")
        if not isinstance(name, str) or not name:
            raise ValidationError(("event",), f"expected a non-empty event name, got {brief(name)}")
        limits = self.limits
        check_text(name, ("event",), limits.max_name_length, "event name", "max_name_length")
        did = _string_id(rec.get("distinct_id"), ("distinct_id",), "distinct_id", limits)
        if ts_us is None:
            if rec.get("timestamp") is None:
                raise ValidationError(("timestamp",), "missing timestamp")
            ts_us = to_us(rec["timestamp"], ("timestamp",), default_tz=self.tz)
        u = rec.get("uuid")
        if u is not None:
            if not isinstance(u, str):
                raise ValidationError(("uuid",), "expected a string uuid")
            check_text(u, ("uuid",), limits.max_name_length, "uuid", "max_name_length")
        props = properties_of(rec, (), limits=limits)
        pid = rec.get("person_id")
        pprops = None
        if pid is not None:
            pid = _person_id(pid, ("person_id",), limits)
            if rec.get("person_properties") is not None:
                pprops = properties_of(rec, (), "person_properties", limits)
        if len(rec) > 3 and not _RECOGNISED.issuperset(rec):  # (the column rule: other keys are properties)
            props, pprops = _flat_keys(rec, props, pprops, limits)
        # validated: keep it
        i = len(self.ts)
        self.ts.append(ts_us)
        self.ev.append(self.names(name))
        code = self.dids(did)
        self.did.append(code)
        self.uuids.append(u)
        builders, copy = self.e_builders, self.copy  # the hot loop of every ingest
        for k, v in props.items():
            b = builders.get(k)
            if b is None:
                b = builders[k] = ColumnBuilder()
            b.add(i, _frozen_copy(v) if copy else v)
        if pid is not None:
            seen = self.did_person.get(code)
            if seen is None or ts_us >= seen[0]:
                self.did_person[code] = (ts_us, pid)
            if pprops:
                latest = self.person_props.setdefault(pid, {})
                for k, v in pprops.items():
                    seen_v = latest.get(k)
                    if seen_v is None or ts_us >= seen_v[0]:
                        latest[k] = (ts_us, self._copy(v))

    # --- driving ----------------------------------------------------------------------------------
    def feed(self, kind: str, source: Source, items: Iterable[Item]) -> None:
        """Add every record of ``items``; a bad one raises, or is reported under ``errors="skip"``."""
        add: Callable[..., None] = {"events": self.event, "persons": self.person, "groups": self.group}[kind]
        for row, rec, ts_us in items:
            self.read[kind] += 1
            try:
                if isinstance(rec, ValidationError):
                    raise rec
                if ts_us is None:
                    add(rec)
                else:
                    add(rec, ts_us)
            except ValidationError as exc:
                if self.errors == "skip":
                    self.skipped.append(SkippedRow(source.name, row, exc.path, exc.message, source.unit))
                elif source.unit == "index":
                    raise exc.prefixed((source.name, row)) from None
                else:
                    raise InputRowError.at(kind, source.name, row, source.unit, exc.path, exc.message) from None

    def report(self) -> IngestReport:
        kept = {
            "events": len(self.ts),
            "persons": len(self.p_ids),
            "groups": sum(len(k.values) for k, _, _ in self.groups.values()),
        }
        return IngestReport(dict(self.read), kept, tuple(self.skipped))

    # --- columnarise ------------------------------------------------------------------------------
    def _event_persons(self) -> None:
        """Persons named by events' ``person_id``: each distinct_id not claimed by a persons record
        joins the person of its latest event; each of that person's properties takes its value from
        the latest event whose ``person_properties`` has it (as ``$set`` does). A person_id equal to
        a persons record's ``id`` joins that record (whose properties are kept as given)."""
        if not self.did_person:
            return
        row_of: dict[Any, int] = {pid: r for r, pid in enumerate(self.p_ids) if pid is not None}
        # new persons in the order of their distinct_ids' codes, as the Arrow build numbers them
        for code, (_, pid) in sorted(self.did_person.items()):
            if code in self.owner:
                continue
            row = row_of.get(pid)
            if row is None:
                row = row_of[pid] = len(self.p_ids)
                self.p_ids.append(pid)
                self.p_created.append(NO_TIME)
                for k, (_, v) in self.person_props.get(pid, {}).items():
                    _column(self.p_builders, k).add(row, v)
            self.owner[code] = row

    def build(self) -> dict[str, Any]:
        """Keyword arguments for ``EventStore(...)``."""
        self._event_persons()
        n = len(self.ts)
        sorted_names, new_code = remap_sorted(self.names)
        event = new_code[np.asarray(self.ev, dtype=np.int64)] if n else np.zeros(0, np.int32)
        ts = np.asarray(self.ts, dtype=np.int64)
        order = np.lexsort((ts, event)) if n else np.zeros(0, np.int64)
        persons = finish_persons(self.p_ids, self.p_created, self.p_builders, self.owner, len(self.dids.values))
        uuid_arr = None
        if any(u is not None for u in self.uuids):
            uuid_arr = np.array(self.uuids, dtype=object)[order]
        return dict(
            ts=ts[order],
            event=event[order].astype(np.int32),
            event_names=tuple(sorted_names),
            distinct_id=np.asarray(self.did, dtype=np.int32)[order],
            distinct_ids=np.array(self.dids.values, dtype=object),
            properties={k: b.build(n, order) for k, b in self.e_builders.items()},
            persons=persons,
            groups=self._group_tables(),
            uuid=uuid_arr,
        )

    def _group_tables(self) -> dict[int, GroupTable]:
        out = {}
        for gti, (keys, builders, created) in self.groups.items():
            n = len(keys.values)
            ca = np.full(n, NO_TIME, dtype=np.int64)
            if created:
                ca[np.fromiter(created.keys(), np.int64, len(created))] = np.fromiter(created.values(), np.int64, len(created))
            out[gti] = GroupTable(gti, np.array(keys.values, dtype=object), ca, {k: b.build(n) for k, b in builders.items()})
        return out


_RECOGNISED = frozenset(RECOGNISED)


def _flat_keys(rec: Mapping, props: Mapping, pprops: Mapping | None, limits: Limits) -> tuple[Mapping, Mapping | None]:
    """An event record's keys besides the recognised ones, under the column rule: ``<key>`` and
    ``properties.<key>`` are event properties, ``person_properties.<key>`` person properties;
    each overrides the same key inside ``properties``/``person_properties``."""
    props = dict(props)
    for k, v in rec.items():
        if k in _RECOGNISED:
            continue
        if not isinstance(k, str):
            raise ValidationError((), f"expected string keys, got {brief(k)}")
        what, key = role(k)
        if not key:
            raise ValidationError((k,), "expected a property name after the prefix")
        check_text(key, (k,), limits.max_name_length, "property key", "max_name_length")
        check_json_value(v, (k,), 0, limits)
        if v is None:
            continue
        if what == "person":
            if rec.get("person_id") is None:
                raise ValidationError((k,), "a person property needs the event's person_id")
            pprops = dict(pprops or {})
            pprops[key] = v
        else:
            props[key] = v
    return props, pprops


def records(kind: str, recs: Iterable[Any] | None) -> Iterable[Item]:
    """In-memory records as feed items (row = 0-based index)."""
    if recs is None:
        return ()
    if isinstance(recs, (str, bytes, Mapping)) or not hasattr(recs, "__iter__"):
        raise ValidationError((kind,), f"expected an iterable of {kind[:-1]} objects, got {type(recs).__name__}")
    return ((i, rec, None) for i, rec in enumerate(recs))


def counted(items: Iterable[Item], total: int | None, progress: bool | None, desc: str) -> Iterator[Item]:
    """``items`` with a progress bar over ``total`` rows (see progress.progress_bar)."""
    bar = progress_bar(progress, total, LARGE_ROWS, desc, "rows")
    try:
        for k, item in enumerate(items, 1):
            if k % 8192 == 0:
                bar.update(8192)
            yield item
    finally:
        bar.close()
