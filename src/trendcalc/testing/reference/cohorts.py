"""Cohorts (filters.md §6): membership of static and dynamic cohorts at the query's clock, a
cohort leaf on a person, and cohort breakdowns (time-math-breakdown.md §6.7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ValidationError
from ...limits import DEFAULT_LIMITS
from ...project import Project
from ...query.model import PropertyFilter, PropertyGroup, TrendsFilter
from ...query.properties import parse_group, parse_leaf
from .channels import VIRTUAL_PERSON_PROPERTIES, virtual_person_property
from .operands import check_constants
from .operators import typed_value, value_holds
from .timeaxis import Query
from .world import ReferenceUnsupported, World


def find_cohort(project: Project, cohort_id: Any) -> Mapping[str, Any]:
    """§6.1: the project's cohort; an unknown or deleted id fails the query."""
    for c in project.cohorts:
        if c.get("id") == cohort_id or str(c.get("id")) == str(cohort_id):
            if c.get("deleted"):
                raise ValidationError(("cohort",), f"cohort {cohort_id!r} is deleted")
            return c
    raise ValidationError(("cohort",), f"cohort {cohort_id!r} does not exist")


def real_persons(world: World) -> list[Any]:
    """Persons with a person row (distinct_ids without one are never cohort members)."""
    return list(world.person_ids)


def cohort_members(world: World, project: Project, cohort_id: Any) -> set[Any]:
    """§6.2–6.3: the members of a cohort at the query's clock: the listed persons of a static
    cohort, or the persons whose current properties pass a dynamic cohort's definition."""
    cohort = find_cohort(project, cohort_id)
    key = ("cohort", str(cohort.get("id")))
    if key in world.memo:
        if world.memo[key] is None:
            raise ValidationError(("cohort",), f"cohort {cohort_id!r} refers to itself")
        return world.memo[key]
    world.memo[key] = None
    try:
        if cohort.get("is_static"):
            members = static_members(world, cohort)
        else:
            definition = cohort_definition(cohort)
            check_definition(world, project, definition)
            members = {p for p in real_persons(world) if person_group_holds(world, project, definition, p)}
    except BaseException:
        del world.memo[key]
        raise
    world.memo[key] = members
    return members


def static_members(world: World, cohort: Mapping[str, Any]) -> set[Any]:
    """A static cohort: the persons of its ``distinct_ids`` and those with one of its ``person_ids``."""
    dids = {str(d) for d in cohort.get("distinct_ids") or ()}
    pids = {str(p) for p in cohort.get("person_ids") or cohort.get("persons") or ()}
    return {p for p in real_persons(world)
            if str(world.person_ids[p]) in pids and world.person_ids[p] is not None
            or any(world.person_of.get(d) == p for d in dids)}


def cohort_definition(cohort: Mapping[str, Any]) -> PropertyGroup:
    """§6.3: ``filters.properties`` (a nested group), or the legacy ``groups`` OR-ed, each an AND
    of its properties, leaves without a type (or typed ``event``) being person properties."""
    filters = cohort.get("filters")
    if isinstance(filters, Mapping) and filters.get("properties") is not None:
        props = filters["properties"]
        if not props.get("values"):
            return PropertyGroup("AND", ())
        return parse_group(props, ("cohort",), DEFAULT_LIMITS, raw=True)
    groups = []
    for g in cohort.get("groups") or ():
        if g.get("action_id") is not None or g.get("event_id") is not None:
            raise ReferenceUnsupported("behavioural cohorts")
        props = g.get("properties") or []
        if isinstance(props, Mapping):
            props = [{"key": k, "value": v, "type": "person"} for k, v in props.items()]
        leaves = []
        for p in props:
            p = {**p, "type": "person"} if p.get("type") in (None, "event", "events") else p
            leaf = parse_leaf(p, ("cohort",), DEFAULT_LIMITS, raw=True)
            if leaf is not None:
                leaves.append(leaf)
        groups.append(PropertyGroup("AND", tuple(leaves)))
    return PropertyGroup("OR", tuple(groups))


def check_definition(world: World, project: Project, group: PropertyGroup) -> None:
    """A cohort definition fails whatever the persons: a leaf that is not a person or cohort
    filter, or a constant its property cannot take."""
    for node in group.values:
        if isinstance(node, PropertyGroup):
            check_definition(world, project, node)
        elif node.type not in ("person", "cohort"):
            raise ValidationError(("cohort",), f"a {node.type!r} filter does not work on persons")
        elif node.type == "cohort":
            cohort_members(world, project, node.value)  # an unknown cohort, or one whose definition fails
        else:
            check_constants(world, project, node)


def person_group_holds(world: World, project: Project, group: PropertyGroup, person: Any) -> bool:
    """A cohort definition on one person: person-property leaves and nested cohort leaves."""
    results = []
    for node in group.values:
        if isinstance(node, PropertyGroup):
            results.append(person_group_holds(world, project, node, person))
        elif node.type == "cohort":
            results.append(cohort_leaf_holds(world, project, node, person))
        elif node.type == "person":
            if node.key == "distinct_id":
                raise ReferenceUnsupported("distinct_id in cohort definitions")
            if node.key in VIRTUAL_PERSON_PROPERTIES:
                kind, x = "string", virtual_person_property(world, node.key, person)
            else:
                raw = world.person_properties.get(person, {}).get(node.key)
                kind, x = typed_value(raw, project.property_type(node.key, "person"), project.tz)
            results.append(value_holds(world, project, node.operator, node.value, kind, x))
        else:
            raise ValidationError(("cohort",), f"a {node.type!r} filter does not work on persons")
    if not group.values:
        return True
    return all(results) if group.type == "AND" else any(results)


def cohort_leaf_holds(world: World, project: Project, leaf: PropertyFilter, person: Any) -> bool:
    """§6.1: the person is (``in``) or is not (``not_in``) a member of the cohort."""
    member = person in cohort_members(world, project, leaf.value)
    return not member if leaf.operator == "not_in" else member


def split_per_cohort(filt: TrendsFilter) -> bool:
    """§6.7: one cohort, or a list with "all", runs one query per cohort × series."""
    b = filt.breakdown
    return b is not None and b.items[0].type == "cohort" and (len(b.items[0].property) == 1 or "all" in b.items[0].property)


def query_cohorts(filt: TrendsFilter, q: Query) -> list[Any]:
    """The cohort ids a query reads (not "all")."""
    if q.cohort is not None:
        return [] if q.cohort == "all" else [q.cohort]
    b = filt.breakdown
    return list(b.items[0].property) if b is not None and b.items[0].type == "cohort" else []


def in_query_cohort(world: World, project: Project, cohort: Any, event: dict[str, Any]) -> bool:
    """A query per cohort keeps the events of its members ("all": every event)."""
    return cohort is None or cohort == "all" or event["person"] in cohort_members(world, project, cohort)


def cohort_grouped(world: World, project: Project, cohorts: tuple[Any, ...],
                   pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> tuple[dict[Any, list[dict[str, Any]]], dict[Any, Any]]:
    """Several cohorts in one query: an event counts in every cohort its person is in."""
    rows: dict[Any, list[dict[str, Any]]] = {}
    for row, source in pairs:
        for c in cohorts:
            if source["person"] in cohort_members(world, project, c):
                rows.setdefault(c, []).append(row)
    return rows, {c: c for c in rows}


def cohort_label(project: Project, cohort: Any) -> str:
    """"all users", or the cohort's name (its id without one)."""
    if cohort == "all":
        return "all users"
    name = find_cohort(project, cohort).get("name")
    return name if isinstance(name, str) else str(cohort)
