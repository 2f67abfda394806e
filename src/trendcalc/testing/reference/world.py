"""The reference's world: events, persons and groups as plain dicts (no store, no arrays).

Timestamps are read once into aware UTC datetimes and each event's person is resolved (the
person row listing its distinct_id, else the distinct_id itself); every other module reads
these dicts one at a time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dateutil import parser as du_parser

from ...project import Project

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


class ReferenceUnsupported(NotImplementedError):
    """The query uses a feature the reference does not implement (yet)."""


@dataclass
class World:
    """Events (with resolved UTC datetimes and persons), person and group properties."""

    events: list[dict[str, Any]]
    person_properties: dict[Any, dict[str, Any]]
    group_properties: dict[tuple[int, str], dict[str, Any]]
    person_ids: dict[Any, Any] = field(default_factory=dict)  # a person row's "id" (None when not given)
    person_of: dict[str, Any] = field(default_factory=dict)  # distinct_id → its person row
    now: dt.datetime | None = None  # the query's clock (relative is_date values)
    memo: dict[Any, Any] = field(default_factory=dict)  # sessions and cohort members, computed once


def to_utc(value: Any) -> dt.datetime:
    """A record timestamp (ISO string, naive = UTC; datetime; epoch seconds) as an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        d = value
    elif isinstance(value, (int, float)):
        return EPOCH + dt.timedelta(microseconds=round(value * 1_000_000))
    else:
        text = value.strip()
        try:
            d = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            d = du_parser.isoparse(text)
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.astimezone(UTC)


def properties_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's properties (a dict or JSON text); a JSON null value is the same as absent."""
    props = record.get("properties") or {}
    if isinstance(props, str):
        props = json.loads(props)
    return {k: v for k, v in props.items() if v is not None}


def load_world(events: Iterable[Mapping], persons: Iterable[Mapping] | None = None,
               groups: Iterable[Mapping] | None = None) -> World:
    """Resolve each event's person: the person row listing its distinct_id, else its own person."""
    person_of: dict[str, Any] = {}
    person_properties: dict[Any, dict[str, Any]] = {}
    person_ids: dict[Any, Any] = {}
    for i, p in enumerate(persons or ()):
        for did in p["distinct_ids"]:
            person_of[str(did)] = ("person", i)
        person_properties[("person", i)] = properties_of(p)
        person_ids[("person", i)] = p.get("id", p.get("uuid"))
    group_properties = {}
    for g in groups or ():
        group_properties[(g["group_type_index"], str(g["group_key"]))] = properties_of(g)
    out = []
    for i, e in enumerate(events):
        did = str(e["distinct_id"])
        out.append({
            "index": i,
            "event": e["event"],
            "distinct_id": did,
            "person": person_of.get(did, ("distinct_id", did)),
            "ts": to_utc(e["timestamp"]),
            "properties": properties_of(e),
        })
    return World(out, person_properties, group_properties, person_ids, person_of)


def resolve_now(now: Any) -> dt.datetime:
    return dt.datetime.now(UTC) if now is None else to_utc(now)


def as_project(project: Project | Mapping[str, Any] | None) -> Project:
    """The project a reference entry point reads: a Project, a dict of its fields, or the default."""
    if project is None:
        return Project()
    return Project.from_dict(project) if isinstance(project, Mapping) else project
