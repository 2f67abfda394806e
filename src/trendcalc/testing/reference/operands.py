"""What a property leaf compares (filters.md §2), by its source: an event or feature property,
the event's person or group, an event column (``event_metadata``, §8) or its session; and the
checks a leaf's constant must pass whatever the data (§0.4)."""

from __future__ import annotations

import json
from typing import Any

from ...errors import ValidationError
from ...project import Project
from ...query.model import PropertyFilter
from .channels import VIRTUAL_PERSON_PROPERTIES, virtual_person_property
from .elements import element_chain
from .operators import (
    IN_LIST_OPERATORS,
    NULL_RESULT,
    OWN_LIST_OPERATORS,
    check_constant,
    constant,
    typed_value,
)
from .sessions import SESSION_ALIASES, SESSION_KINDS, session_field
from .values import float_text, render_text
from .world import EPOCH, ReferenceUnsupported, World

AI_STRING_KEYS = ("$ai_trace_id", "$ai_session_id", "$ai_parent_id", "$ai_span_id", "$ai_generation_id",
                  "$ai_experiment_id")  # fmt: skip


def leaf_operand(world: World, project: Project, leaf: PropertyFilter, event: dict[str, Any]) -> tuple[str, Any]:
    """§2: what a leaf compares, as (kind, x) after the §0.3 cast (x None = NULL), by its source:
    event (and feature) properties, the event's person, its group, an event column, its session."""
    tz = project.tz
    if leaf.type in ("event", "feature"):
        if leaf.key == "$elements_chain":  # §2: the elements_chain column, "" without elements
            return "string", element_chain(event)
        ptype = "String" if leaf.key in AI_STRING_KEYS else project.property_type(leaf.key, "event")
        return typed_value(event["properties"].get(leaf.key), ptype, tz)
    if leaf.type == "person":
        if leaf.key == "distinct_id":  # §2 [version drift]: the event's own distinct_id
            return "string", event["distinct_id"]
        if leaf.key in VIRTUAL_PERSON_PROPERTIES:
            return "string", virtual_person_property(world, leaf.key, event["person"])
        raw = world.person_properties.get(event["person"], {}).get(leaf.key)
        return typed_value(raw, project.property_type(leaf.key, "person"), tz)
    if leaf.type == "group":
        assert leaf.group_type_index is not None  # the parser drops a group leaf without one
        raw = group_property(world, leaf.group_type_index, leaf.key, event)
        return typed_value(raw, project.property_type(leaf.key, "group", leaf.group_type_index), tz)
    if leaf.type == "event_metadata":
        return "string", event_column(world, leaf.key, event)
    if leaf.type == "session":
        return session_field(world, leaf.key, event)
    raise ReferenceUnsupported(f"{leaf.type} property filters")


def leaf_kind(project: Project, leaf: PropertyFilter) -> str:
    """The kind a leaf's values have whatever the data (constants are checked against it)."""
    if leaf.type == "session":
        return SESSION_KINDS.get(SESSION_ALIASES.get(leaf.key, leaf.key), "string")
    if leaf.type in ("event_metadata", "element") or (leaf.type in ("event", "feature") and leaf.key == "$elements_chain"):
        return "string"
    if leaf.type == "person" and (leaf.key == "distinct_id" or leaf.key in VIRTUAL_PERSON_PROPERTIES):
        return "string"
    if leaf.type == "person":
        return typed_value(None, project.property_type(leaf.key, "person"), project.tz)[0]
    if leaf.type == "group":
        return typed_value(None, project.property_type(leaf.key, "group", leaf.group_type_index), project.tz)[0]
    ptype = "String" if leaf.key in AI_STRING_KEYS else project.property_type(leaf.key, "event")
    return typed_value(None, ptype, project.tz)[0]


def group_property(world: World, gti: int, key: str, event: dict[str, Any]) -> Any:
    """A property of the event's ``$group_N`` group (its key as text)."""
    group_key = event["properties"].get(f"$group_{gti}")
    if group_key is None:
        return None
    group_key = group_key if isinstance(group_key, str) else json.dumps(group_key)
    return world.group_properties.get((gti, group_key), {}).get(key)


def leaf_value(leaf: PropertyFilter) -> Any:
    """The constant a leaf compares; numbers for event_metadata ``$group_N`` are their text
    (newest upstream: numeric group keys)."""
    if leaf.type == "event_metadata" and str(leaf.key).startswith("$group_"):
        def text(v: Any) -> Any:
            return float_text(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else v

        return tuple(text(v) for v in leaf.value) if isinstance(leaf.value, tuple) else text(leaf.value)
    return leaf.value


def check_constants(world: World, project: Project, leaf: PropertyFilter) -> None:
    """§0.4: a constant the property's type cannot take fails the whole query — upstream fails
    while compiling it, so whatever the data (even with no row to filter). Cohort leaves are
    checked by their cohort (``properties.check_leaf``, ``cohorts.check_definition``)."""
    if leaf.operator not in NULL_RESULT:
        return
    if leaf.type == "event_metadata" and leaf.key not in METADATA_KEYS:
        raise ValidationError(("properties",), f"unknown event_metadata key {leaf.key!r}")
    kind = leaf_kind(project, leaf)
    op, c = leaf.operator, leaf_value(leaf)
    if leaf.type == "element":
        for m in c if isinstance(c, tuple) else (c,):
            check_constant(op, kind, m, project, world.now or EPOCH)
        return
    if isinstance(c, tuple) and op not in OWN_LIST_OPERATORS:
        if len(c) >= 2 and op in IN_LIST_OPERATORS:
            for m in c:
                constant(kind, m, member=True, tz=project.tz)
            return
        for m in c:
            check_constant(op, kind, m, project, world.now or EPOCH)
        return
    check_constant(op, kind, c, project, world.now or EPOCH)


METADATA_KEYS = ("distinct_id", "event", "person_id", "elements_chain", "$session_id", "$window_id",
                 "$group_0", "$group_1", "$group_2", "$group_3", "$group_4")  # fmt: skip


def event_column(world: World, key: str, event: dict[str, Any]) -> str:
    """§2 ``event_metadata``: an event column, a non-NULL string: the distinct_id, the event name,
    the person's id (``""`` without one), the elements chain, or ``$group_N`` / ``$session_id`` /
    ``$window_id`` as the JSON text of the property with its quotes trimmed (``""`` when absent)."""
    if key == "distinct_id":
        return event["distinct_id"]
    if key == "event":
        return event["event"]
    if key == "person_id":
        pid = world.person_ids.get(event["person"])
        return "" if pid is None else str(pid)
    if key == "elements_chain":
        return element_chain(event)
    if key in METADATA_KEYS:
        v = event["properties"].get(key)
        return "" if v is None else render_text(v)
    raise ValidationError(("properties",), f"unknown event_metadata key {key!r}")
